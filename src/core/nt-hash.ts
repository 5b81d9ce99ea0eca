import md4 from 'js-md4';

/**
 * The NT hash of a password (MS-NLMP NTOWFv1): MD4 of its UTF-16LE encoding. MS-CHAPv2 and
 * therefore PEAP-MSCHAPv2 need it; it is password-equivalent for those protocols, so it is kept
 * sealed and only for orgs that turn it on. OpenSSL 3 no longer offers MD4, hence the library.
 */
export function ntHash(password: string): Buffer {
  return Buffer.from(md4.arrayBuffer(Buffer.from(password, 'utf16le')));
}

import { createHash, randomBytes } from 'node:crypto';

const BLOCK = 16;
// A Vendor-Specific attribute leaves 247 octets for the value: 2 of salt and at most 15 blocks,
// of which the key-length octet takes one.
const MAX_KEY_LENGTH = 15 * BLOCK - 1;

/**
 * The value of an MS-MPPE-Send-Key or MS-MPPE-Recv-Key attribute (RFC 2548 section 2.4.2): the
 * salt, then the key-length octet, the key and zero padding to a multiple of 16, encrypted with
 * b(1) = MD5(secret ‖ Request Authenticator ‖ salt), b(i) = MD5(secret ‖ c(i-1)), c(i) = p(i) xor b(i).
 * The salt's high bit must be set and each salt must be unique within the packet (mppeSalts).
 */
export function encryptMppeKey(key: Buffer, secret: Buffer, requestAuthenticator: Buffer, salt: Buffer): Buffer {
  checkSalt(salt);
  if (key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new RangeError(`an MPPE key must be 1 to ${MAX_KEY_LENGTH} octets, not ${key.length}`);
  }
  const plain = Buffer.alloc(Math.ceil((key.length + 1) / BLOCK) * BLOCK);
  plain[0] = key.length;
  key.copy(plain, 1);
  return Buffer.concat([salt, xorChain(plain, secret, requestAuthenticator, salt, 'encrypt')]);
}

/** The key inside an MS-MPPE key attribute value; throws when the value is malformed. */
export function decryptMppeKey(value: Buffer, secret: Buffer, requestAuthenticator: Buffer): Buffer {
  const salt = value.subarray(0, 2);
  const cipher = value.subarray(2);
  checkSalt(salt);
  if (cipher.length === 0 || cipher.length % BLOCK !== 0) {
    throw new RangeError(`an encrypted MPPE key must be a positive multiple of ${BLOCK} octets, not ${cipher.length}`);
  }
  const plain = xorChain(cipher, secret, requestAuthenticator, salt, 'decrypt');
  const keyLength = plain[0]!;
  if (keyLength === 0 || keyLength > plain.length - 1) {
    throw new RangeError(`MPPE key length ${keyLength} does not fit the ${plain.length - 1} octets that carry it`);
  }
  return plain.subarray(1, 1 + keyLength);
}

/** `count` distinct random salts with the high bit set, one per MPPE key attribute of a packet. */
export function mppeSalts(count: number): Buffer[] {
  const seen = new Set<number>();
  while (seen.size < count) seen.add(randomBytes(2).readUInt16BE(0) | 0x8000);
  return [...seen].map((salt) => {
    const buffer = Buffer.alloc(2);
    buffer.writeUInt16BE(salt);
    return buffer;
  });
}

function checkSalt(salt: Buffer): void {
  if (salt.length !== 2) throw new RangeError(`an MPPE salt must be 2 octets, not ${salt.length}`);
  // RFC 2548 section 2.4.2: "The most significant bit (leftmost) of the Salt field MUST be set (1)."
  if ((salt[0]! & 0x80) === 0) throw new RangeError('the high bit of an MPPE salt must be set');
}

function xorChain(input: Buffer, secret: Buffer, requestAuthenticator: Buffer, salt: Buffer, direction: 'encrypt' | 'decrypt'): Buffer {
  if (requestAuthenticator.length !== 16) {
    throw new RangeError(`a Request Authenticator must be 16 octets, not ${requestAuthenticator.length}`);
  }
  const output = Buffer.alloc(input.length);
  let chain: Buffer = Buffer.concat([requestAuthenticator, salt]);
  for (let offset = 0; offset < input.length; offset += BLOCK) {
    const pad = createHash('md5').update(secret).update(chain).digest();
    for (let i = 0; i < BLOCK; i++) output[offset + i] = input[offset + i]! ^ pad[i]!;
    chain = (direction === 'encrypt' ? output : input).subarray(offset, offset + BLOCK);
  }
  return output;
}

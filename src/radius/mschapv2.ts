import { createCipheriv, createHash, timingSafeEqual } from 'node:crypto';
import md4 from 'js-md4';

// RFC 2759 section 8.7.
const AUTHENTICATOR_MAGIC1 = Buffer.from('Magic server to client signing constant', 'latin1');
const AUTHENTICATOR_MAGIC2 = Buffer.from('Pad to make it do more than one iteration', 'latin1');
// RFC 3079 section 3.4.
const MASTER_KEY_MAGIC = Buffer.from('This is the MPPE Master Key', 'latin1');
const CLIENT_SEND_SERVER_RECEIVE_MAGIC = Buffer.from(
  'On the client side, this is the send key; on the server side, it is the receive key.',
  'latin1',
);
const CLIENT_RECEIVE_SERVER_SEND_MAGIC = Buffer.from(
  'On the client side, this is the receive key; on the server side, it is the send key.',
  'latin1',
);
const SHS_PAD1 = Buffer.alloc(40, 0x00);
const SHS_PAD2 = Buffer.alloc(40, 0xf2);

/**
 * ChallengeHash (RFC 2759 section 8.2): the first 8 octets of SHA-1 over the peer challenge, the
 * authenticator challenge and the user name. The user name is the Name field of the MS-CHAPv2
 * Response as UTF-8, minus any prepended domain: RFC 2759 section 8.2 says "Only the user name (as
 * presented by the peer and excluding any prepended domain name) is used", and Windows peers send
 * "DOMAIN\user", so everything up to the first backslash is dropped (as wpa_supplicant, hostapd
 * and FreeRADIUS's with_ntdomain_hack do). A realm suffix ("user@realm") is not a prepended
 * domain and stays.
 */
export function challengeHash(peerChallenge: Buffer, authenticatorChallenge: Buffer, username: string): Buffer {
  requireLength('peer challenge', peerChallenge, 16);
  requireLength('authenticator challenge', authenticatorChallenge, 16);
  const name = username.slice(username.indexOf('\\') + 1);
  return sha1(peerChallenge, authenticatorChallenge, Buffer.from(name, 'utf8')).subarray(0, 8);
}

/** GenerateNTResponse (RFC 2759 section 8.1) from the NT hash of the password. */
export function ntChallengeResponse(
  authenticatorChallenge: Buffer,
  peerChallenge: Buffer,
  username: string,
  ntHash: Buffer,
): Buffer {
  requireLength('NT hash', ntHash, 16);
  return challengeResponse(challengeHash(peerChallenge, authenticatorChallenge, username), ntHash);
}

/** Whether the peer's 24-octet NT-Response proves knowledge of the password, in constant time. */
export function verifyNtResponse(
  authenticatorChallenge: Buffer,
  peerChallenge: Buffer,
  username: string,
  ntHash: Buffer,
  ntResponse: Buffer,
): boolean {
  const expected = ntChallengeResponse(authenticatorChallenge, peerChallenge, username, ntHash);
  return ntResponse.length === expected.length && timingSafeEqual(ntResponse, expected);
}

/** HashNtPasswordHash (RFC 2759 section 8.4): MD4 of the NT hash. */
export function hashNtPasswordHash(ntHash: Buffer): Buffer {
  requireLength('NT hash', ntHash, 16);
  return Buffer.from(md4.arrayBuffer(ntHash));
}

/**
 * GenerateAuthenticatorResponse (RFC 2759 section 8.7): "S=" and 40 uppercase hex digits, which
 * the server returns in its Success packet (or MS-CHAP2-Success) to prove it knows the password too.
 */
export function authenticatorResponse(
  ntHash: Buffer,
  ntResponse: Buffer,
  peerChallenge: Buffer,
  authenticatorChallenge: Buffer,
  username: string,
): string {
  requireLength('NT-Response', ntResponse, 24);
  const digest = sha1(hashNtPasswordHash(ntHash), ntResponse, AUTHENTICATOR_MAGIC1);
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, username);
  return `S=${sha1(digest, challenge, AUTHENTICATOR_MAGIC2).toString('hex').toUpperCase()}`;
}

/** GetMasterKey (RFC 3079 section 3.4) over PasswordHashHash = MD4(ntHash). */
export function masterKey(ntHash: Buffer, ntResponse: Buffer): Buffer {
  requireLength('NT-Response', ntResponse, 24);
  return sha1(hashNtPasswordHash(ntHash), ntResponse, MASTER_KEY_MAGIC).subarray(0, 16);
}

/**
 * GetAsymmetricStartKey (RFC 3079 section 3.4): the client's send key is the server's receive key,
 * so the magic constant depends on whether isSend and isServer agree.
 */
export function asymmetricStartKey(masterKey: Buffer, keyLength: 8 | 16, isSend: boolean, isServer: boolean): Buffer {
  requireLength('master key', masterKey, 16);
  const magic = isSend === isServer ? CLIENT_RECEIVE_SERVER_SEND_MAGIC : CLIENT_SEND_SERVER_RECEIVE_MAGIC;
  return sha1(masterKey, SHS_PAD1, magic, SHS_PAD2).subarray(0, keyLength);
}

/** The MPPE keys a RADIUS server returns in the Access-Accept after an MS-CHAPv2 authentication. */
export interface MppeKeys {
  /** MS-MPPE-Recv-Key: protects what the NAS receives from the peer. */
  recvKey: Buffer;
  /** MS-MPPE-Send-Key: protects what the NAS sends to the peer. */
  sendKey: Buffer;
}

/**
 * The 128-bit MS-MPPE-Recv-Key and MS-MPPE-Send-Key for an MS-CHAPv2 or EAP-MSCHAPv2 success, from
 * the server's side. [MS-CHAP] section 3.1.5.1 decides it: on an authenticator MS-MPPE-Recv-Key =
 * MasterReceiveKey and MS-MPPE-Send-Key = MasterSendKey, the two keys of RFC 3079 section 3.3 with
 * IsServer true (the receive key takes the "server side ... receive key" magic). The EAP-MSCHAPv2
 * MSK is then MasterReceiveKey ‖ MasterSendKey ‖ 32 zero octets, which is what RFC 5216 section
 * 2.3's MSK(0,31) = MS-MPPE-Recv-Key and MSK(32,63) = MS-MPPE-Send-Key expect of a 32-octet key
 * pair; the peer derives the same 32 octets as its Send-Key ‖ Recv-Key.
 */
export function eapMschapv2Keys(ntHash: Buffer, ntResponse: Buffer): MppeKeys {
  const master = masterKey(ntHash, ntResponse);
  return {
    recvKey: asymmetricStartKey(master, 16, false, true),
    sendKey: asymmetricStartKey(master, 16, true, true),
  };
}

/** ChallengeResponse (RFC 2759 section 8.5): three DES encryptions under the zero-padded hash. */
function challengeResponse(challenge: Buffer, ntHash: Buffer): Buffer {
  const padded = Buffer.alloc(21);
  ntHash.copy(padded);
  return Buffer.concat([0, 7, 14].map((offset) => desEncrypt(challenge, padded.subarray(offset, offset + 7))));
}

/**
 * DesEncrypt (RFC 2759 section 8.6) with a 56-bit key. OpenSSL 3 offers no single DES, but
 * triple DES with K1 = K2 = K3 is single DES (encrypt, decrypt, encrypt under the same key).
 */
function desEncrypt(clear: Buffer, key7: Buffer): Buffer {
  const key = desKeyWithParity(key7);
  const cipher = createCipheriv('des-ede3-ecb', Buffer.concat([key, key, key]), null);
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(clear), cipher.final()]);
}

/**
 * Spreads 56 key bits over 8 octets, 7 bits each in the high bits, and sets the low bit of each
 * octet for odd parity as DES (FIPS 46-3) defines it; RFC 2759 section 8.6 leaves inserting the
 * parity bits to the implementation, and DES itself ignores them.
 */
function desKeyWithParity(key7: Buffer): Buffer {
  const bits = BigInt(`0x${key7.toString('hex')}`);
  const key = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) {
    const high7 = Number((bits >> BigInt(49 - 7 * i)) & 0x7fn) << 1;
    key[i] = high7 | (popcount(high7) % 2 === 0 ? 1 : 0);
  }
  return key;
}

function popcount(byte: number): number {
  let count = 0;
  for (let b = byte; b !== 0; b >>= 1) count += b & 1;
  return count;
}

function sha1(...parts: Buffer[]): Buffer {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

function requireLength(name: string, value: Buffer, length: number): void {
  if (value.length !== length) throw new RangeError(`${name} must be ${length} octets, not ${value.length}`);
}

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptMppeKey, encryptMppeKey, mppeSalts } from './mppe.js';

const SECRET = Buffer.from('a-shared-secret-of-some-length');
const REQUEST_AUTHENTICATOR = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
const SALT = Buffer.from('8a5c', 'hex');
const KEY = Buffer.from('8b7cdc149b993a1ba118cb153f56dccb', 'hex');

/** RFC 2548 section 2.4.2 step by step, written apart from the module under test. */
function rfc2548Encrypt(key: Buffer, secret: Buffer, authenticator: Buffer, salt: Buffer): Buffer {
  const plainLength = Math.ceil((key.length + 1) / 16) * 16;
  const p = Buffer.concat([Buffer.from([key.length]), key, Buffer.alloc(plainLength - key.length - 1)]);
  const blocks: Buffer[] = [];
  for (let i = 0; i < p.length / 16; i++) {
    const b = createHash('md5')
      .update(Buffer.concat(i === 0 ? [secret, authenticator, salt] : [secret, blocks[i - 1]!]))
      .digest();
    const c = Buffer.alloc(16);
    for (let j = 0; j < 16; j++) c[j] = p[i * 16 + j]! ^ b[j]!;
    blocks.push(c);
  }
  return Buffer.concat([salt, ...blocks]);
}

describe('MS-MPPE key attributes (RFC 2548 section 2.4.2)', () => {
  it('encrypts a 16-octet key into salt and two blocks, as the RFC algorithm does', () => {
    const value = encryptMppeKey(KEY, SECRET, REQUEST_AUTHENTICATOR, SALT);
    expect(value).toHaveLength(34);
    expect(value).toEqual(rfc2548Encrypt(KEY, SECRET, REQUEST_AUTHENTICATOR, SALT));
    expect(value.toString('hex')).toBe('8a5c7c172f56bd7ae215cfa893844e86fb7fea36037afae1bf59434dec5958a181df');
  });

  it('round-trips keys of several lengths', () => {
    for (const length of [1, 15, 16, 32, 64, 239]) {
      const key = Buffer.alloc(length, length);
      const value = encryptMppeKey(key, SECRET, REQUEST_AUTHENTICATOR, SALT);
      expect(value).toEqual(rfc2548Encrypt(key, SECRET, REQUEST_AUTHENTICATOR, SALT));
      expect(decryptMppeKey(value, SECRET, REQUEST_AUTHENTICATOR)).toEqual(key);
    }
  });

  it('refuses a salt without the high bit or of the wrong size', () => {
    expect(() => encryptMppeKey(KEY, SECRET, REQUEST_AUTHENTICATOR, Buffer.from('0a5c', 'hex'))).toThrow(/high bit/);
    expect(() => encryptMppeKey(KEY, SECRET, REQUEST_AUTHENTICATOR, Buffer.from('8a', 'hex'))).toThrow(RangeError);
    const value = encryptMppeKey(KEY, SECRET, REQUEST_AUTHENTICATOR, SALT);
    value[0]! &= 0x7f;
    expect(() => decryptMppeKey(value, SECRET, REQUEST_AUTHENTICATOR)).toThrow(/high bit/);
  });

  it('refuses a key that does not fit a Vendor-Specific attribute', () => {
    expect(() => encryptMppeKey(Buffer.alloc(240), SECRET, REQUEST_AUTHENTICATOR, SALT)).toThrow(RangeError);
    expect(() => encryptMppeKey(Buffer.alloc(0), SECRET, REQUEST_AUTHENTICATOR, SALT)).toThrow(RangeError);
  });

  it('rejects a key-length octet longer than the decrypted data', () => {
    // Key-Length 16 in a single block leaves room for 15 octets only.
    const forged = rfc2548Encrypt(Buffer.alloc(15, 7), SECRET, REQUEST_AUTHENTICATOR, SALT);
    const plainFirst = forged[2]! ^ 15;
    forged[2] = plainFirst ^ 16;
    expect(() => decryptMppeKey(forged, SECRET, REQUEST_AUTHENTICATOR)).toThrow(/length 16/);
  });

  it('rejects a key-length octet of zero and a ciphertext that is not whole blocks', () => {
    const zero = rfc2548Encrypt(Buffer.alloc(15, 7), SECRET, REQUEST_AUTHENTICATOR, SALT);
    zero[2] = zero[2]! ^ 15;
    expect(() => decryptMppeKey(zero, SECRET, REQUEST_AUTHENTICATOR)).toThrow(/length 0/);
    const value = encryptMppeKey(KEY, SECRET, REQUEST_AUTHENTICATOR, SALT);
    expect(() => decryptMppeKey(value.subarray(0, 33), SECRET, REQUEST_AUTHENTICATOR)).toThrow(/multiple of 16/);
  });

  it('decrypts to something else under another secret or Request Authenticator', () => {
    const value = encryptMppeKey(KEY, SECRET, REQUEST_AUTHENTICATOR, SALT);
    const attempt = (secret: Buffer, authenticator: Buffer) => {
      try {
        return decryptMppeKey(value, secret, authenticator);
      } catch {
        return undefined;
      }
    };
    expect(attempt(Buffer.from('another-secret'), REQUEST_AUTHENTICATOR)).not.toEqual(KEY);
    expect(attempt(SECRET, Buffer.alloc(16))).not.toEqual(KEY);
  });

  it('draws distinct salts with the high bit set', () => {
    const salts = mppeSalts(2);
    expect(salts).toHaveLength(2);
    expect(salts[0]!.equals(salts[1]!)).toBe(false);
    for (const salt of salts) expect(salt[0]! & 0x80).toBe(0x80);
  });
});

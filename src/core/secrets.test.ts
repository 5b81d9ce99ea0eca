import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DirectoryError } from './errors.js';
import { API_KEY_PREFIX, digestSecret, newApiKeySecret, randomPassword, sameSecret, SecretBox } from './secrets.js';

const key = () => randomBytes(32);

function openFails(box: SecretBox, sealed: string, ad: string) {
  let error: unknown;
  try {
    box.open(sealed, ad);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(DirectoryError);
  expect((error as DirectoryError).kind).toBe('unavailable');
  expect((error as DirectoryError).code).toBe('SECRET_UNREADABLE');
}

/** Flips one bit of the base64url body at `index` (counted from the end of the prefix). */
function tamper(sealed: string, index: number): string {
  const cut = sealed.lastIndexOf(':') + 1;
  const raw = Buffer.from(sealed.slice(cut), 'base64url');
  raw[index] = raw[index]! ^ 0x01;
  return sealed.slice(0, cut) + raw.toString('base64url');
}

describe('SecretBox', () => {
  it('seal then open returns the plaintext, Unicode and empty included', () => {
    const box = SecretBox.fromKey(key());
    for (const text of ['s3cret', '', 'ключ 🔑', 'x'.repeat(100_000)]) {
      const sealed = box.seal(text, 'application:1:config.token');
      expect(SecretBox.isSealed(sealed)).toBe(true);
      expect(sealed).not.toContain(text || '\u0000');
      expect(box.open(sealed, 'application:1:config.token')).toBe(text);
    }
  });

  it('seals the same value differently each time', () => {
    const box = SecretBox.fromKey(key());
    expect(box.seal('same', 'ad')).not.toBe(box.seal('same', 'ad'));
  });

  it('names the key that sealed a value', () => {
    const k = key();
    const box = new SecretBox(new Map([['k2025', k]]), 'k2025');
    expect(box.seal('v', 'ad').startsWith('enc:v1:k2025:')).toBe(true);
    const derived = SecretBox.fromKey(k).seal('v', 'ad');
    expect(derived).toMatch(/^enc:v1:[0-9a-f]{8}:/);
    expect(SecretBox.fromKey(k).seal('v', 'ad').split(':')[2]).toBe(derived.split(':')[2]);
  });

  it('fails with different associated data (a value moved to another row or field)', () => {
    const box = SecretBox.fromKey(key());
    const sealed = box.seal('s3cret', 'application:1:config.token');
    openFails(box, sealed, 'application:2:config.token');
    openFails(box, sealed, 'application:1:config.password');
    openFails(box, sealed, '');
  });

  it('fails on a tampered iv, tag or ciphertext, and on truncation', () => {
    const box = SecretBox.fromKey(key());
    const sealed = box.seal('s3cret value', 'ad');
    openFails(box, tamper(sealed, 0), 'ad');
    openFails(box, tamper(sealed, 12), 'ad');
    openFails(box, tamper(sealed, 30), 'ad');
    openFails(box, sealed.slice(0, -4), 'ad');
    openFails(box, sealed.slice(0, sealed.lastIndexOf(':') + 10), 'ad');
  });

  it('fails with the wrong key, an unknown key id, or a value that is not sealed', () => {
    const sealed = SecretBox.fromKey(key()).seal('s3cret', 'ad');
    openFails(SecretBox.fromKey(key()), sealed, 'ad');
    const k = key();
    const a = new SecretBox(new Map([['a', k]]), 'a');
    const renamed = a.seal('s3cret', 'ad').replace('enc:v1:a:', 'enc:v1:b:');
    openFails(new SecretBox(new Map([['b', key()]]), 'b'), renamed, 'ad');
    openFails(a, renamed, 'ad');
    openFails(a, 's3cret', 'ad');
    openFails(a, 'enc:v1:', 'ad');
    openFails(a, 'enc:v1:a', 'ad');
  });

  it('rotation: a box with a new current key still opens values sealed with the old one', () => {
    const [oldKey, newKey] = [key(), key()];
    const before = new SecretBox(new Map([['old', oldKey]]), 'old');
    const sealedOld = before.seal('legacy', 'ad');
    const rotated = new SecretBox(new Map([['old', oldKey], ['new', newKey]]), 'new');
    expect(rotated.open(sealedOld, 'ad')).toBe('legacy');
    const sealedNew = rotated.seal('fresh', 'ad');
    expect(sealedNew.startsWith('enc:v1:new:')).toBe(true);
    expect(rotated.open(sealedNew, 'ad')).toBe('fresh');
    // The old box alone cannot read what the new key sealed.
    openFails(before, sealedNew, 'ad');
    // Once the old key is dropped, its values are unreadable.
    openFails(new SecretBox(new Map([['new', newKey]]), 'new'), sealedOld, 'ad');
  });

  it('refuses keys of the wrong size, bad ids and a missing current key', () => {
    expect(() => new SecretBox(new Map([['k', randomBytes(16)]]), 'k')).toThrow(/32 bytes/);
    expect(() => new SecretBox(new Map([['bad:id', key()]]), 'bad:id')).toThrow(/alphanumeric/);
    expect(() => new SecretBox(new Map([['k', key()]]), 'other')).toThrow(/no master key/);
  });

  it('isSealed recognises only sealed strings', () => {
    expect(SecretBox.isSealed('enc:v1:k:abc')).toBe(true);
    for (const v of ['plain', '', null, undefined, 42, { value: 'enc:v1:k:abc' }]) expect(SecretBox.isSealed(v)).toBe(false);
  });
});

describe('API key secrets and random passwords', () => {
  it('API keys carry the prefix and 256 random bits; only a digest is kept', () => {
    const a = newApiKeySecret();
    expect(a.startsWith(API_KEY_PREFIX)).toBe(true);
    expect(Buffer.from(a.slice(API_KEY_PREFIX.length), 'base64url')).toHaveLength(32);
    expect(newApiKeySecret()).not.toBe(a);
    expect(digestSecret(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(digestSecret(a)).toBe(digestSecret(a));
    expect(digestSecret(a)).not.toBe(digestSecret(newApiKeySecret()));
  });

  it('sameSecret compares exactly', () => {
    expect(sameSecret('abc', 'abc')).toBe(true);
    expect(sameSecret('abc', 'abd')).toBe(false);
    expect(sameSecret('abc', 'abcd')).toBe(false);
    expect(sameSecret('', '')).toBe(true);
  });

  it('random passwords mix cases and digits in three dash-separated groups', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const p = randomPassword();
      expect(p).toMatch(/^[A-Za-z0-9]{8}-[A-Za-z0-9]{8}-[A-Za-z0-9]{8}$/);
      expect(p).toMatch(/[a-z]/);
      expect(p).toMatch(/[A-Z]/);
      expect(p).toMatch(/\d/);
      expect(p).not.toMatch(/[IOl01]/);
      seen.add(p);
    }
    expect(seen.size).toBe(50);
  });
});

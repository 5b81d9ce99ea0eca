import { describe, expect, it } from 'vitest';
import type { PasswordPolicy } from './model.js';
import {
  DEFAULT_PASSWORD_POLICY,
  hashPassword,
  MAX_PASSWORD_LENGTH,
  passwordExpiration,
  passwordViolations,
  verifyAgainstNothing,
  verifyPassword,
} from './passwords.js';

const OFF: PasswordPolicy = {
  ...DEFAULT_PASSWORD_POLICY,
  minLength: 1,
  needsLowercase: false,
  needsUppercase: false,
  needsNumeric: false,
  needsSymbolic: false,
  allowUsernameSubstring: true,
};

const reasons = (policy: Partial<PasswordPolicy>, password: string, identity?: { username?: string; email?: string }) =>
  passwordViolations({ ...OFF, ...policy }, password, identity).map((d) => d.reason);

describe('passwordViolations', () => {
  it('a compliant password has none under the default policy', () => {
    expect(passwordViolations(DEFAULT_PASSWORD_POLICY, 'CorrectHorse42x', { username: 'ada', email: 'ada@x.test' })).toEqual([]);
  });

  it('reports every broken rule at once, each naming the password field', () => {
    const details = passwordViolations({ ...DEFAULT_PASSWORD_POLICY, needsSymbolic: true }, 'ada');
    expect(details.map((d) => d.reason)).toEqual(['TOO_SHORT', 'NEEDS_UPPERCASE', 'NEEDS_NUMBER', 'NEEDS_SYMBOL']);
    expect(details.every((d) => d.field === 'password' && d.message.length > 0)).toBe(true);
  });

  it('minLength counts characters, not UTF-16 units', () => {
    expect(reasons({ minLength: 4 }, 'abc')).toEqual(['TOO_SHORT']);
    expect(reasons({ minLength: 4 }, 'abcd')).toEqual([]);
    expect(reasons({ minLength: 4 }, '😀😀😀')).toEqual(['TOO_SHORT']);
    expect(reasons({ minLength: 3 }, '😀😀😀')).toEqual([]);
  });

  it(`refuses more than ${MAX_PASSWORD_LENGTH} characters whatever the policy`, () => {
    expect(reasons({}, 'a'.repeat(MAX_PASSWORD_LENGTH))).toEqual([]);
    expect(reasons({}, 'a'.repeat(MAX_PASSWORD_LENGTH + 1))).toEqual(['TOO_LONG']);
  });

  it('lowercase and uppercase in any script', () => {
    expect(reasons({ needsLowercase: true }, 'ABC')).toEqual(['NEEDS_LOWERCASE']);
    expect(reasons({ needsLowercase: true }, 'ABCé')).toEqual([]);
    expect(reasons({ needsUppercase: true }, 'abc')).toEqual(['NEEDS_UPPERCASE']);
    expect(reasons({ needsUppercase: true }, 'abcΩ')).toEqual([]);
  });

  it('digits in any script', () => {
    expect(reasons({ needsNumeric: true }, 'abc')).toEqual(['NEEDS_NUMBER']);
    expect(reasons({ needsNumeric: true }, 'abc7')).toEqual([]);
    expect(reasons({ needsNumeric: true }, 'abc٣')).toEqual([]);
  });

  it('a symbol is anything that is neither letter nor digit, space included', () => {
    expect(reasons({ needsSymbolic: true }, 'abcD3é')).toEqual(['NEEDS_SYMBOL']);
    for (const p of ['abc!', 'abc def', 'abc_', 'abc€']) expect(reasons({ needsSymbolic: true }, p), p).toEqual([]);
  });

  it('the username or the local part of the email, in any case, when 3 characters or more', () => {
    const identity = { username: 'Grace', email: 'ghopper@navy.test' };
    expect(reasons({ allowUsernameSubstring: false }, 'xxGRACExx', identity)).toEqual(['CONTAINS_USERNAME']);
    expect(reasons({ allowUsernameSubstring: false }, 'my-GHopper-1', identity)).toEqual(['CONTAINS_USERNAME']);
    expect(reasons({ allowUsernameSubstring: false }, 'navy.test!', identity)).toEqual([]);
    expect(reasons({ allowUsernameSubstring: false }, 'STRASSE-1', { username: 'straße' })).toEqual(['CONTAINS_USERNAME']);
    expect(reasons({ allowUsernameSubstring: false }, 'xxjoxx', { username: 'jo' })).toEqual([]);
    expect(reasons({ allowUsernameSubstring: true }, 'xxGRACExx', identity)).toEqual([]);
    expect(reasons({ allowUsernameSubstring: false }, 'anything')).toEqual([]);
  });

  it('control characters', () => {
    for (const p of ['abc\u0000', 'a\tb', 'line\n', 'del\u007f']) expect(reasons({}, p), JSON.stringify(p)).toEqual(['CONTROL_CHARACTER']);
    expect(reasons({}, 'no controls here')).toEqual([]);
  });
});

describe('hashing and verification', () => {
  it('hashes with argon2id and the configured cost, salted per hash', async () => {
    const [a, b] = await Promise.all([hashPassword('CorrectHorse42x'), hashPassword('CorrectHorse42x')]);
    expect(a.startsWith('$argon2id$')).toBe(true);
    const params = a.split('$')[3]!.split(',').sort();
    expect(params).toEqual(['m=19456', 'p=1', 't=2']);
    expect(a).not.toBe(b);
    expect(a).not.toContain('CorrectHorse42x');
  });

  it('verifies the right password and refuses others', async () => {
    const hash = await hashPassword('pässwörd-ünïcode');
    expect(await verifyPassword(hash, 'pässwörd-ünïcode')).toBe(true);
    expect(await verifyPassword(hash, 'pässwörd-ünïcodE')).toBe(false);
    expect(await verifyPassword(hash, '')).toBe(false);
    // NFC and NFD spell the same text with different bytes; the hash is over the exact string.
    expect(await verifyPassword(hash, 'pässwörd-ünïcode'.normalize('NFD'))).toBe(false);
  });

  it(`refuses a password over ${MAX_PASSWORD_LENGTH} characters before hashing, even if it matches`, async () => {
    const long = 'x'.repeat(MAX_PASSWORD_LENGTH + 1);
    expect(await verifyPassword(await hashPassword(long), long)).toBe(false);
    const max = 'x'.repeat(MAX_PASSWORD_LENGTH);
    expect(await verifyPassword(await hashPassword(max), max)).toBe(true);
  });

  it('a malformed hash verifies nothing instead of throwing', async () => {
    expect(await verifyPassword('not-a-hash', 'anything')).toBe(false);
    expect(await verifyPassword('', '')).toBe(false);
  });

  it('verifyAgainstNothing always fails', async () => {
    expect(await verifyAgainstNothing('roster-timing-equaliser')).toBe(false);
    expect(await verifyAgainstNothing('')).toBe(false);
  });
});

describe('passwordExpiration', () => {
  const at = new Date('2024-01-31T10:00:00.000Z');

  it('adds the policy days', () => {
    expect(passwordExpiration({ ...OFF, passwordExpirationInDays: 90 }, at, false)).toBe('2024-04-30T10:00:00.000Z');
  });

  it('never, when the policy says 0 or the user never expires', () => {
    expect(passwordExpiration({ ...OFF, passwordExpirationInDays: 0 }, at, false)).toBeNull();
    expect(passwordExpiration({ ...OFF, passwordExpirationInDays: 90 }, at, true)).toBeNull();
  });
});

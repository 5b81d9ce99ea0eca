import argon2 from 'argon2';
import type { ErrorDetail } from './errors.js';
import type { PasswordPolicy } from './model.js';
import { foldCase } from './query.js';

/** OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane. */
const ARGON2_OPTIONS = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Longer inputs are refused before hashing so a request cannot buy seconds of CPU. */
export const MAX_PASSWORD_LENGTH = 256;

export const hashPassword = (password: string): Promise<string> => argon2.hash(password, ARGON2_OPTIONS);

export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  try {
    return await argon2.verify(hash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spends the same time as a real verification, so a missing account is not told apart by timing. */
export async function verifyAgainstNothing(password: string): Promise<false> {
  dummyHash ??= hashPassword('roster-timing-equaliser');
  await verifyPassword(await dummyHash, password);
  return false;
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = {
  minLength: 12,
  needsLowercase: true,
  needsUppercase: true,
  needsNumeric: true,
  needsSymbolic: false,
  allowUsernameSubstring: false,
  maxHistory: 5,
  passwordExpirationInDays: 0,
  maxLoginAttempts: 10,
  lockoutTimeInSeconds: 900,
  resetLockoutCounterMinutes: 15,
};

const detail = (reason: string, message: string): ErrorDetail => ({ field: 'password', reason, message });

/** Every rule of the policy the password breaks; empty when it complies. */
export function passwordViolations(
  policy: PasswordPolicy,
  password: string,
  identity: { username?: string; email?: string } = {},
): ErrorDetail[] {
  const out: ErrorDetail[] = [];
  const length = [...password].length;
  if (length < policy.minLength) {
    out.push(detail('TOO_SHORT', `must be at least ${policy.minLength} characters`));
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    out.push(detail('TOO_LONG', `must be at most ${MAX_PASSWORD_LENGTH} characters`));
  }
  if (policy.needsLowercase && !/\p{Ll}/u.test(password)) {
    out.push(detail('NEEDS_LOWERCASE', 'must contain a lowercase letter'));
  }
  if (policy.needsUppercase && !/\p{Lu}/u.test(password)) {
    out.push(detail('NEEDS_UPPERCASE', 'must contain an uppercase letter'));
  }
  if (policy.needsNumeric && !/\p{Nd}/u.test(password)) {
    out.push(detail('NEEDS_NUMBER', 'must contain a digit'));
  }
  if (policy.needsSymbolic && !/[^\p{L}\p{Nd}]/u.test(password)) {
    out.push(detail('NEEDS_SYMBOL', 'must contain a symbol'));
  }
  if (!policy.allowUsernameSubstring) {
    const folded = foldCase(password);
    const names = [identity.username, identity.email?.split('@')[0]].filter(
      (n): n is string => typeof n === 'string' && n.length >= 3,
    );
    if (names.some((n) => folded.includes(foldCase(n)))) {
      out.push(detail('CONTAINS_USERNAME', 'must not contain the username'));
    }
  }
  if (/[\u0000-\u001f\u007f]/.test(password)) {
    out.push(detail('CONTROL_CHARACTER', 'must not contain control characters'));
  }
  return out;
}

export function passwordExpiration(policy: PasswordPolicy, setAt: Date, neverExpires: boolean): string | null {
  if (neverExpires || policy.passwordExpirationInDays <= 0) return null;
  return new Date(setAt.getTime() + policy.passwordExpirationInDays * 86_400_000).toISOString();
}

import { createHash, randomInt } from 'node:crypto';
import { requirePermission, type Context } from '../context.js';
import { notFound } from '../errors.js';
import type { OrgId, UserId } from '../ids.js';
import type { User } from '../model.js';
import { journal, type Deps } from './deps.js';

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet: no I, L, O or U, so a code read aloud or written down survives. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** Ten characters of 5 bits: 50 bits a code, shown as `XXXXX-XXXXX`. */
const LENGTH = 10;

export interface RecoveryCodeStatus {
  total: number;
  remaining: number;
  created: string | null;
}

/** A code as typed: case, spaces and dashes do not matter, and the letters people confuse read as digits. */
export function normalizeRecoveryCode(code: string): string | undefined {
  const text = code.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  return text.length === LENGTH && [...text].every((c) => ALPHABET.includes(c)) ? text : undefined;
}

const digest = (normalized: string) => createHash('sha256').update(normalized).digest('hex');

function newCode(): string {
  let text = '';
  for (let i = 0; i < LENGTH; i++) text += ALPHABET[randomInt(ALPHABET.length)];
  return `${text.slice(0, 5)}-${text.slice(5)}`;
}

/**
 * One-time recovery codes: a second factor for when the authenticator app is lost. Generated in
 * sets of ten and shown once; only their SHA-256 digests are kept (50 random bits each, so a slow
 * hash adds nothing); each works once; a new set replaces the old.
 */
export class RecoveryCodeService {
  constructor(private readonly deps: Deps) {}

  private async user(ctx: Context, userId: string): Promise<User> {
    const user = await this.deps.store.read.users.findById(ctx.orgId, userId as UserId);
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    return user;
  }

  /** A new set of codes, replacing any earlier set; the codes are in the answer once and never again. */
  async generate(ctx: Context, userId: string): Promise<string[]> {
    requirePermission(ctx, 'users:write');
    const user = await this.user(ctx, userId);
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
    const now = this.deps.clock().toISOString();
    await this.deps.store.transaction(async (tx) => {
      const before = await tx.recoveryCodes.status(ctx.orgId, user.id);
      await tx.recoveryCodes.replace(ctx.orgId, user.id, codes.map((c) => digest(normalizeRecoveryCode(c)!)), now);
      journal(tx, ctx, { objectType: 'user', objectId: user.id, operation: 'mfa_enroll', changes: { recoveryCodes: { before: before?.remaining ?? null, after: codes.length } } });
    });
    return codes;
  }

  async status(ctx: Context, userId: string): Promise<RecoveryCodeStatus> {
    requirePermission(ctx, 'users:read');
    const user = await this.user(ctx, userId);
    return (await this.deps.store.read.recoveryCodes.status(ctx.orgId, user.id)) ?? { total: 0, remaining: 0, created: null };
  }

  /** Removes the user's codes; false when there were none. */
  async remove(ctx: Context, userId: string): Promise<boolean> {
    requirePermission(ctx, 'users:write');
    const user = await this.user(ctx, userId);
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.recoveryCodes.status(ctx.orgId, user.id);
      if (!before) return false;
      await tx.recoveryCodes.deleteAll(ctx.orgId, user.id);
      journal(tx, ctx, { objectType: 'user', objectId: user.id, operation: 'mfa_reset', changes: { recoveryCodes: { before: before.remaining, after: null } } });
      return true;
    });
  }

  /** System: uses one of the user's codes, if `code` is one not used yet. */
  async consume(orgId: OrgId, userId: UserId, code: string): Promise<boolean> {
    const normalized = normalizeRecoveryCode(code);
    if (!normalized) return false;
    return this.deps.store.read.recoveryCodes.use(orgId, userId, digest(normalized), this.deps.clock().toISOString());
  }
}

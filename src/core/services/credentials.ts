import { generateSecret, generateURI, verify } from 'otplib';
import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound } from '../errors.js';
import type { OrgId, UserId } from '../ids.js';
import { REDACTED } from '../journal.js';
import type { TotpEnrollment, User } from '../model.js';
import type { Transaction } from '../ports.js';
import { journal, type Deps } from './deps.js';
import { keepsNtHashes, openNtHash, sealNtHash } from './nt-hashes.js';

/** What a second-factor check found; RADIUS maps each to its own answer. */
export type TotpCheck = 'ok' | 'invalid' | 'replayed' | 'not_enrolled';

/** Shown once, at enrollment: the base32 secret and the URI an authenticator app scans. */
export interface TotpSecret {
  secret: string;
  otpauthUri: string;
}

export interface TotpStatus {
  enrolled: boolean;
  confirmed: boolean;
  /** When the current enrollment began; null when there is none. */
  enrolledAt: string | null;
}

type TotpState = 'pending' | 'confirmed' | null;

// RFC 6238 with the parameters every authenticator app uses: SHA-1, 6 digits, 30-second steps.
const PERIOD = 30;
const ISSUER = 'Roster';
const CODE = /^\d{6}$/;

const stateOf = (e: TotpEnrollment | undefined): TotpState => (e ? (e.confirmed ? 'confirmed' : 'pending') : null);
const totpEntry = (userId: UserId, operation: 'mfa_enroll' | 'mfa_reset', before: TotpState, after: TotpState) => ({
  objectType: 'user' as const,
  objectId: userId,
  operation,
  changes: { totp: { before, after } },
});

/**
 * The 30-second step `code` belongs to, if it is the code of the current step or of one step
 * either side (RFC 6238 §5.2 allows for that much clock drift).
 */
export async function totpStepOf(secret: string, code: string, now: Date): Promise<number | undefined> {
  const token = code.trim();
  if (!CODE.test(token)) return undefined;
  const result = await verify({ secret, token, epoch: Math.floor(now.getTime() / 1000), epochTolerance: PERIOD });
  return result.valid && 'timeStep' in result ? result.timeStep : undefined;
}

/**
 * Users' credentials beside the password: the TOTP second factor and the NT hash that
 * MS-CHAPv2 needs. Secrets are sealed at rest and never journaled.
 */
export class CredentialService {
  constructor(private readonly deps: Deps) {}

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private sealTotp(orgId: OrgId, userId: UserId, secret: string): string {
    return this.deps.secrets.seal(secret, `totp:${orgId}:${userId}`);
  }

  private openTotp(orgId: OrgId, userId: UserId, sealed: string): string {
    return this.deps.secrets.open(sealed, `totp:${orgId}:${userId}`);
  }

  /** The user, locked until `tx` ends, so enrollments and resets of one user happen one at a time. */
  private async lockUser(tx: Transaction, ctx: Context, userId: string): Promise<User> {
    const user = await tx.users.findById(ctx.orgId, userId as UserId, { forUpdate: true });
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    return user;
  }

  private async readUser(ctx: Context, userId: string): Promise<User> {
    requirePermission(ctx, 'users:read');
    const user = await this.deps.store.read.users.findById(ctx.orgId, userId as UserId);
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    return user;
  }

  /** Starts a new TOTP enrollment, replacing any earlier one; the user proves it with confirmTotp. */
  async enrollTotp(ctx: Context, userId: string): Promise<TotpSecret> {
    requirePermission(ctx, 'users:write');
    const secret = generateSecret();
    const now = this.now();
    return this.deps.store.transaction(async (tx) => {
      const user = await this.lockUser(tx, ctx, userId);
      const before = await tx.credentials.findTotp(ctx.orgId, user.id);
      const enrollment: TotpEnrollment = { orgId: ctx.orgId, userId: user.id, confirmed: false, lastUsedStep: 0, created: now, updated: now };
      await tx.credentials.putTotp(enrollment, this.sealTotp(ctx.orgId, user.id, secret));
      journal(tx, ctx, totpEntry(user.id, 'mfa_enroll', stateOf(before?.enrollment), 'pending'));
      return { secret, otpauthUri: this.totpUri(user, secret) };
    });
  }

  /** The otpauth:// URI an authenticator app scans for `secret`. */
  totpUri(user: User, secret: string): string {
    return generateURI({ issuer: ISSUER, label: user.username, secret });
  }

  /** The first good code confirms the enrollment; from then on RADIUS asks for codes. */
  async confirmTotp(ctx: Context, userId: string, code: string): Promise<TotpStatus> {
    requirePermission(ctx, 'users:write');
    return this.deps.store.transaction(async (tx) => {
      const user = await this.lockUser(tx, ctx, userId);
      const found = await tx.credentials.findTotp(ctx.orgId, user.id);
      if (!found) throw notFound('TOTP_NOT_ENROLLED', 'The user has no TOTP enrollment; enroll first');
      if (found.enrollment.confirmed) throw conflict('TOTP_ALREADY_CONFIRMED', 'The TOTP enrollment is already confirmed; reset it to enroll again');
      const step = await totpStepOf(this.openTotp(ctx.orgId, user.id, found.sealedSecret), code, this.deps.clock());
      if (step === undefined) {
        throw invalid('INVALID_TOTP', 'The code is not the current code of this enrollment', [{ field: 'code', reason: 'INVALID_TOTP', message: 'is not the current code' }]);
      }
      const now = this.now();
      if (!(await tx.credentials.confirmTotp(ctx.orgId, user.id, step, now))) {
        throw conflict('TOTP_ALREADY_CONFIRMED', 'The TOTP enrollment is already confirmed; reset it to enroll again');
      }
      journal(tx, ctx, totpEntry(user.id, 'mfa_enroll', 'pending', 'confirmed'));
      return { enrolled: true, confirmed: true, enrolledAt: found.enrollment.created };
    });
  }

  /** Removes the user's TOTP; false when there was none. */
  async resetTotp(ctx: Context, userId: string): Promise<boolean> {
    requirePermission(ctx, 'users:write');
    return this.deps.store.transaction(async (tx) => {
      const user = await this.lockUser(tx, ctx, userId);
      const before = await tx.credentials.findTotp(ctx.orgId, user.id);
      if (!before || !(await tx.credentials.deleteTotp(ctx.orgId, user.id))) return false;
      journal(tx, ctx, totpEntry(user.id, 'mfa_reset', stateOf(before.enrollment), null));
      return true;
    });
  }

  async totpStatus(ctx: Context, userId: string): Promise<TotpStatus> {
    const user = await this.readUser(ctx, userId);
    const found = await this.deps.store.read.credentials.findTotp(ctx.orgId, user.id);
    return { enrolled: found !== undefined, confirmed: found?.enrollment.confirmed ?? false, enrolledAt: found?.enrollment.created ?? null };
  }

  /** Which of these users have a confirmed TOTP, for a page of user objects. */
  async totpConfirmedAmong(ctx: Context, userIds: readonly UserId[]): Promise<Set<UserId>> {
    requirePermission(ctx, 'users:read');
    if (userIds.length === 0) return new Set();
    return this.deps.store.read.credentials.confirmedTotpAmong(ctx.orgId, userIds);
  }

  /**
   * System: checks a code against the user's confirmed TOTP. A code is good for its step and one
   * step either side, and once only: the accepted step is recorded atomically, so the same code,
   * or one of an earlier step, is a replay.
   */
  async checkTotp(orgId: OrgId, userId: UserId, code: string): Promise<TotpCheck> {
    const repos = this.deps.store.read;
    const found = await repos.credentials.findTotp(orgId, userId);
    if (!found?.enrollment.confirmed) return 'not_enrolled';
    const now = this.deps.clock();
    const step = await totpStepOf(this.openTotp(orgId, userId, found.sealedSecret), code, now);
    if (step === undefined) return 'invalid';
    if (step <= found.enrollment.lastUsedStep) return 'replayed';
    return (await repos.credentials.useTotpStep(orgId, userId, step, now.toISOString())) ? 'ok' : 'replayed';
  }

  /** System: whether the user has a confirmed TOTP (RADIUS servers with mfa ENABLED then ask for a code). */
  async totpConfirmed(orgId: OrgId, userId: UserId): Promise<boolean> {
    return (await this.deps.store.read.credentials.findTotp(orgId, userId))?.enrollment.confirmed === true;
  }

  /** System: the user's NT hash (16 bytes), if the org keeps them and the user has one. */
  async ntHashOf(orgId: OrgId, userId: UserId): Promise<Buffer | undefined> {
    const sealed = await this.deps.store.read.credentials.findNtHash(orgId, userId);
    return sealed === undefined ? undefined : openNtHash(this.deps.secrets, orgId, userId, sealed);
  }

  /**
   * System: keeps the NT hash of a password that was just verified, so users whose password was
   * set before the org turned NT hashes on get one at their next login. A no-op when the org keeps
   * none or the user already has one.
   */
  async captureNtHash(orgId: OrgId, userId: UserId, password: string): Promise<void> {
    const repos = this.deps.store.read;
    if ((await repos.orgs.findById(orgId))?.settings.radius.storeNtHashes !== true) return;
    if ((await repos.credentials.findNtHash(orgId, userId)) !== undefined) return;
    await this.deps.store.transaction(async (tx) => {
      if (!(await keepsNtHashes(tx, orgId))) return;
      if ((await tx.credentials.findNtHash(orgId, userId)) !== undefined) return;
      if (!(await tx.users.findById(orgId, userId))) return;
      await tx.credentials.putNtHash(orgId, userId, sealNtHash(this.deps.secrets, orgId, userId, password), this.now());
    });
  }

  /** Removes the user's NT hash (MS-CHAPv2 then fails for them until the next password set or login); false when there was none. */
  async deleteNtHash(ctx: Context, userId: string): Promise<boolean> {
    requirePermission(ctx, 'users:write');
    return this.deps.store.transaction(async (tx) => {
      const user = await this.lockUser(tx, ctx, userId);
      if (!(await tx.credentials.deleteNtHash(ctx.orgId, user.id))) return false;
      journal(tx, ctx, { objectType: 'user', objectId: user.id, operation: 'update', changes: { ntHash: { before: REDACTED, after: null } } });
      return true;
    });
  }
}

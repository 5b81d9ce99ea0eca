import { generateSecret, generateURI } from 'otplib';
import type { Context, Origin } from '../context.js';
import { conflict, invalid, unauthenticated } from '../errors.js';
import type { AdminId, OrgId } from '../ids.js';
import type { AdminSession, Administrator, JournalEntryInput } from '../model.js';
import { verifyAgainstNothing, verifyPassword } from '../passwords.js';
import { permissionsFor } from '../roles.js';
import { selectOrganization } from './api-keys.js';
import { totpStepOf } from './credentials.js';
import type { Deps } from './deps.js';
import { DEFAULT_SESSION_POLICY, isLive, newSessionToken, openedTimes, plausibleToken, seenAt, sessionIdOf, type SessionPolicy } from '../sessions.js';

/** Where an administrator signs in from, for the session record and the audit log. */
export interface AdminSignInContext {
  ip: string;
  userAgent: string;
}

export type AdminSignInRefusal = 'INVALID_CREDENTIALS' | 'ACCOUNT_LOCKED' | 'INVALID_TOTP' | 'TOTP_REPLAYED';

export type AdminSignInStep =
  | { status: 'signed_in'; admin: Administrator; session: AdminSession; token: string }
  /** The administrator has an authenticator app: its code comes next. */
  | { status: 'mfa_required'; admin: Administrator }
  /** Multi-factor is required of the administrator, who has no authenticator app yet: set one up now. */
  | { status: 'enrollment_required'; admin: Administrator; secret: string; otpauthUri: string }
  | { status: 'refused'; reason: AdminSignInRefusal };

/** Between the password and the code, carried sealed by the browser. */
export interface PendingAdminSignIn {
  adminId: AdminId;
  stage: 'mfa' | 'enroll';
}

export interface AdminLockoutPolicy {
  /** Consecutive failed sign-ins (password or code) that lock the account. */
  attempts: number;
  /** How long a lock lasts. */
  minutes: number;
}

export const DEFAULT_ADMIN_LOCKOUT: AdminLockoutPolicy = { attempts: 5, minutes: 15 };

const TOKEN_PREFIX = 'rsa_';
const PENDING_CONTEXT = 'admin-sign-in';
const PENDING_MS = 5 * 60_000;

/**
 * Administrators signing in to the admin portal: email and password, then the code of their
 * authenticator app when they have one (or setting one up, when multi-factor is required of them),
 * then a session that stands in for an API key with the administrator's role. Failed passwords
 * and codes count towards a lock; every sign-in and refusal is in the audit log of the
 * administrator's organizations.
 */
export class AdminSignInService {
  constructor(
    private readonly deps: Deps,
    private readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
    private readonly lockout: AdminLockoutPolicy = DEFAULT_ADMIN_LOCKOUT,
  ) {}

  private sealTotp(adminId: AdminId, secret: string): string {
    return this.deps.secrets.seal(secret, `admin-totp:${adminId}`);
  }

  private openTotp(adminId: AdminId, sealed: string): string {
    return this.deps.secrets.open(sealed, `admin-totp:${adminId}`);
  }

  sealPending(pending: PendingAdminSignIn): string {
    const e = this.deps.clock().getTime() + PENDING_MS;
    return this.deps.secrets.seal(JSON.stringify({ a: pending.adminId, s: pending.stage, e }), PENDING_CONTEXT);
  }

  openPending(sealed: string): PendingAdminSignIn | undefined {
    if (!sealed || sealed.length > 2048) return undefined;
    try {
      const { a, s, e } = JSON.parse(this.deps.secrets.open(sealed, PENDING_CONTEXT)) as { a: string; s: string; e: number };
      if (typeof e !== 'number' || e <= this.deps.clock().getTime()) return undefined;
      if (s !== 'mfa' && s !== 'enroll') return undefined;
      return { adminId: a as AdminId, stage: s };
    } catch {
      return undefined;
    }
  }

  /** Step one: email and password. */
  async password(email: string, password: string, where: AdminSignInContext): Promise<AdminSignInStep> {
    const found = email && email.length <= 256 ? await this.deps.store.read.admins.findByEmail(email) : undefined;
    if (!found?.passwordHash) {
      await verifyAgainstNothing(password);
      return { status: 'refused', reason: 'INVALID_CREDENTIALS' };
    }
    const { admin, passwordHash } = found;
    const state = await this.deps.store.read.adminSessions.stateOf(admin.id);
    const now = this.deps.clock();
    if (state?.lockedUntil && Date.parse(state.lockedUntil) > now.getTime()) {
      await verifyAgainstNothing(password);
      await this.record(admin, where, 'login_failed', { result: 'failure', reason: 'ACCOUNT_LOCKED' });
      return { status: 'refused', reason: 'ACCOUNT_LOCKED' };
    }
    if (!(await verifyPassword(passwordHash, password))) return this.fail(admin, where, 'INVALID_CREDENTIALS');
    if (admin.suspended) {
      await this.record(admin, where, 'login_failed', { result: 'failure', reason: 'SUSPENDED' });
      return { status: 'refused', reason: 'INVALID_CREDENTIALS' };
    }
    if (state?.totpConfirmed) return { status: 'mfa_required', admin };
    if (admin.enableMultiFactor) {
      const secret = generateSecret();
      await this.deps.store.read.adminSessions.setTotp(admin.id, this.sealTotp(admin.id, secret), null, 0);
      return { status: 'enrollment_required', admin, secret, otpauthUri: this.totpUri(admin, secret) };
    }
    return this.open(admin, '', where);
  }

  /** Step two: the authenticator app's code (stage `mfa`), or the first code of a new one (stage `enroll`). */
  async code(pending: PendingAdminSignIn, code: string, where: AdminSignInContext): Promise<AdminSignInStep> {
    const admin = await this.deps.store.read.admins.findById(pending.adminId);
    if (!admin || admin.suspended) return { status: 'refused', reason: 'INVALID_CREDENTIALS' };
    const state = await this.deps.store.read.adminSessions.stateOf(admin.id);
    const now = this.deps.clock();
    if (state?.lockedUntil && Date.parse(state.lockedUntil) > now.getTime()) return { status: 'refused', reason: 'ACCOUNT_LOCKED' };
    if (!state?.totpSecret || (pending.stage === 'mfa') !== (state.totpConfirmed !== null)) return { status: 'refused', reason: 'INVALID_CREDENTIALS' };
    const step = await totpStepOf(this.openTotp(admin.id, state.totpSecret), code, now);
    if (step === undefined) return this.fail(admin, where, 'INVALID_TOTP');
    if (!(await this.deps.store.read.adminSessions.useTotpStep(admin.id, step))) return { status: 'refused', reason: 'TOTP_REPLAYED' };
    if (pending.stage === 'enroll') {
      await this.deps.store.read.adminSessions.setTotp(admin.id, state.totpSecret, now.toISOString(), step);
      await this.record(admin, where, 'mfa_enroll', { method: 'totp' }, { totp: { before: null, after: 'confirmed' } });
    }
    return this.open(admin, 'totp', where);
  }

  /**
   * The Context a session token stands for, as an API key's would: the administrator's role,
   * one of their organizations (x-org-id), origin `portal`. Throws `unauthenticated` otherwise.
   */
  async authenticate(token: string, requestedOrg: string | undefined): Promise<Context> {
    const found = await this.resume(token);
    if (!found) throw unauthenticated('SESSION_EXPIRED', 'Your admin session has ended; sign in again');
    const { admin } = found;
    const orgId = selectOrganization(admin.orgIds, requestedOrg);
    return {
      orgId,
      actor: { type: 'admin', id: admin.id },
      origin: 'portal',
      role: admin.roleName,
      permissions: permissionsFor(admin.roleName, false),
      readOnlyKey: false,
      orgIds: admin.orgIds,
    };
  }

  /** The session a token names and its administrator, while both are good; moves the idle timeout on. */
  async resume(token: string): Promise<{ session: AdminSession; admin: Administrator } | undefined> {
    if (!plausibleToken(token, TOKEN_PREFIX)) return undefined;
    const repos = this.deps.store.read;
    const stored = await repos.adminSessions.findById(sessionIdOf(token));
    const now = this.deps.clock();
    if (!stored || !isLive(stored, now)) return undefined;
    const admin = await repos.admins.findById(stored.adminId);
    if (!admin || admin.suspended) return undefined;
    const { session, touched } = seenAt(stored, now, this.policy);
    if (touched) await repos.adminSessions.touch(session.id, session.lastSeen, session.idleExpires);
    return { session, admin };
  }

  async signOut(token: string, where: AdminSignInContext): Promise<boolean> {
    const found = await this.resume(token);
    if (!found || !(await this.deps.store.read.adminSessions.revoke(found.session.id, this.deps.clock().toISOString()))) return false;
    await this.record(found.admin, where, 'sign_out', {});
    return true;
  }

  /** Forgets sessions that ended more than a day ago. */
  prune(): Promise<number> {
    return this.deps.store.read.adminSessions.prune(new Date(this.deps.clock().getTime() - 86_400_000).toISOString());
  }

  /** Whether the calling administrator has an authenticator app set up. */
  async totpStatus(ctx: Context): Promise<{ enabled: boolean; required: boolean }> {
    const admin = await this.self(ctx);
    const state = await this.deps.store.read.adminSessions.stateOf(admin.id);
    return { enabled: state?.totpConfirmed != null, required: admin.enableMultiFactor };
  }

  /** Starts setting up an authenticator app for the calling administrator; confirmTotp finishes it. */
  async startTotp(ctx: Context): Promise<{ secret: string; otpauthUri: string }> {
    const admin = await this.self(ctx);
    const state = await this.deps.store.read.adminSessions.stateOf(admin.id);
    if (state?.totpConfirmed) throw conflict('TOTP_ALREADY_CONFIRMED', 'An authenticator app is already set up; remove it first');
    const secret = generateSecret();
    await this.deps.store.read.adminSessions.setTotp(admin.id, this.sealTotp(admin.id, secret), null, 0);
    return { secret, otpauthUri: this.totpUri(admin, secret) };
  }

  async confirmTotp(ctx: Context, code: string): Promise<{ enabled: true }> {
    const admin = await this.self(ctx);
    const state = await this.deps.store.read.adminSessions.stateOf(admin.id);
    if (!state?.totpSecret || state.totpConfirmed) throw conflict('TOTP_NOT_PENDING', 'Start setting up an authenticator app first');
    const now = this.deps.clock();
    const step = await totpStepOf(this.openTotp(admin.id, state.totpSecret), code, now);
    if (step === undefined) throw invalid('INVALID_TOTP', 'That code is not correct', [{ field: 'code', reason: 'INVALID_TOTP', message: 'is not the current code' }]);
    await this.deps.store.read.adminSessions.setTotp(admin.id, state.totpSecret, now.toISOString(), step);
    await this.deps.store.transaction(async (tx) => {
      for (const orgId of admin.orgIds) {
        tx.record({ orgId, actor: ctx.actor, origin: ctx.origin }, [this.entry(admin, 'mfa_enroll', {}, { totp: { before: null, after: 'confirmed' } })]);
      }
    });
    return { enabled: true };
  }

  /** Removes the calling administrator's authenticator app; refused while multi-factor is required of them. */
  async removeTotp(ctx: Context): Promise<{ enabled: false }> {
    const admin = await this.self(ctx);
    if (admin.enableMultiFactor) throw conflict('MFA_REQUIRED', 'Multi-factor authentication is required for this administrator; it cannot be removed');
    await this.deps.store.read.adminSessions.setTotp(admin.id, null, null, 0);
    await this.deps.store.transaction(async (tx) => {
      for (const orgId of admin.orgIds) {
        tx.record({ orgId, actor: ctx.actor, origin: ctx.origin }, [this.entry(admin, 'mfa_reset', {}, { totp: { before: 'confirmed', after: null } })]);
      }
    });
    return { enabled: false };
  }

  private totpUri(admin: Administrator, secret: string): string {
    return generateURI({ issuer: 'Roster admin', label: admin.email, secret });
  }

  private async self(ctx: Context): Promise<Administrator> {
    if (ctx.actor.type !== 'admin' || !ctx.actor.id) throw invalid('NOT_AN_ADMINISTRATOR', 'Only an administrator has an admin account to change');
    const admin = await this.deps.store.read.admins.findById(ctx.actor.id as AdminId);
    if (!admin) throw unauthenticated('SESSION_EXPIRED', 'Your admin session has ended; sign in again');
    return admin;
  }

  /** A failed password or code: counted, and the account locked at the policy's count. */
  private async fail(admin: Administrator, where: AdminSignInContext, reason: 'INVALID_CREDENTIALS' | 'INVALID_TOTP'): Promise<AdminSignInStep> {
    const state = await this.deps.store.read.adminSessions.stateOf(admin.id);
    const now = this.deps.clock();
    const expiredLock = state?.lockedUntil && Date.parse(state.lockedUntil) <= now.getTime();
    const failures = (expiredLock ? 0 : (state?.failedLogins ?? 0)) + 1;
    const locks = failures >= this.lockout.attempts;
    await this.deps.store.read.adminSessions.setFailures(admin.id, locks ? 0 : failures, locks ? new Date(now.getTime() + this.lockout.minutes * 60_000).toISOString() : null);
    await this.record(admin, where, 'login_failed', { result: 'failure', reason });
    if (locks) await this.record(admin, where, 'lock', { reason: 'TOO_MANY_FAILED_SIGN_INS', minutes: this.lockout.minutes });
    return { status: 'refused', reason: locks ? 'ACCOUNT_LOCKED' : reason };
  }

  private async open(admin: Administrator, mfa: '' | 'totp', where: AdminSignInContext): Promise<AdminSignInStep> {
    const { token, id } = newSessionToken(TOKEN_PREFIX);
    const session: AdminSession = {
      id,
      adminId: admin.id,
      ...openedTimes(this.deps.clock(), this.policy),
      mfa,
      ip: where.ip.slice(0, 64),
      userAgent: where.userAgent.slice(0, 512),
    };
    await this.deps.store.read.adminSessions.insert(session);
    await this.deps.store.read.adminSessions.setFailures(admin.id, 0, null);
    await this.record(admin, where, 'sign_in', { result: 'success', ...(mfa ? { method: mfa } : {}) });
    return { status: 'signed_in', admin, session, token };
  }

  private entry(admin: Administrator, operation: JournalEntryInput['operation'], details: Record<string, unknown>, changes: JournalEntryInput['changes'] = {}): JournalEntryInput {
    return { objectType: 'administrator', objectId: admin.id, operation, changes, details: { email: admin.email, ...details } };
  }

  /** One row in the audit log of each of the administrator's organizations. */
  private async record(admin: Administrator, where: AdminSignInContext, operation: JournalEntryInput['operation'], details: Record<string, unknown>, changes: JournalEntryInput['changes'] = {}): Promise<void> {
    const origin: Origin = 'portal';
    await this.deps.store.transaction(async (tx) => {
      for (const orgId of admin.orgIds as OrgId[]) {
        tx.record({ orgId, actor: { type: 'admin', id: admin.id }, origin }, [this.entry(admin, operation, { ...details, ip: where.ip }, changes)]);
      }
    });
  }
}

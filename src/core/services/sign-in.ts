import { createHash, randomBytes } from 'node:crypto';
import { requirePermission, systemContext, type Context, type Origin } from '../context.js';
import { notFound } from '../errors.js';
import type { ApplicationId, OrgId, UserId } from '../ids.js';
import type { Application, JournalEntryInput, User, UserSession } from '../model.js';
import type { DirectoryViewService } from './directory-view.js';
import type { AuthenticationService, LoginFailure } from './authentication.js';
import type { CredentialService } from './credentials.js';
import type { RecoveryCodeService } from './recovery-codes.js';
import type { Deps } from './deps.js';

export interface SessionPolicy {
  /** A session unused this long ends. */
  idleMinutes: number;
  /** A session ends this long after sign-in, used or not. */
  maxHours: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMinutes: 30, maxHours: 12 };

/** Where a sign-in comes from, for the session record and the journal. */
export interface SignInContext {
  ip: string;
  userAgent: string;
  origin: Origin;
  /** Whether the resource signed in to accepts the user (an application's associations). */
  admits?: (user: User) => boolean;
}

export type SignInRefusal = LoginFailure | 'INVALID_TOTP' | 'TOTP_REPLAYED' | 'INVALID_RECOVERY_CODE';

export type SignInStep =
  | { status: 'signed_in'; user: User; session: UserSession; token: string }
  | { status: 'mfa_required'; user: User; methods: ['totp'] }
  | { status: 'refused'; reason: SignInRefusal };

/** Session tokens: a recognisable prefix and 256 random bits; only their SHA-256 is stored. */
const TOKEN_PREFIX = 'rst_';
const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const PENDING_CONTEXT = 'sign-in:second-factor';
const PENDING_MS = 5 * 60_000;
/** The idle timeout moves forward at most this often, sparing a write per request. */
const TOUCH_EVERY_MS = 60_000;

const isLocked = (user: User, now: Date) => user.accountLocked && (user.lockedUntil === null || Date.parse(user.lockedUntil) > now.getTime());

/**
 * Users signing in (single sign-on, the user portal): the password through the shared
 * verification and lockout, then the second factor when the user has one, then a session. A
 * session is checked on every use: it ends at its idle or absolute timeout, when revoked, and as
 * soon as its user is suspended, locked, deleted or given a new password.
 */
export class SignInService {
  constructor(
    private readonly deps: Deps,
    private readonly authentication: AuthenticationService,
    private readonly credentials: CredentialService,
    private readonly recoveryCodes: RecoveryCodeService,
    private readonly applications: DirectoryViewService<Application>,
    private readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  ) {}

  /** Step one: the password. A user with a confirmed TOTP must pass `secondFactor` next. */
  async password(orgId: OrgId, username: string, password: string, where: SignInContext): Promise<SignInStep> {
    const result = await this.authentication.verifyCredential(orgId, username, { password }, where.origin, where.admits ? { admits: where.admits } : {});
    if (!result.ok) {
      await this.record(orgId, where, { username, result: 'refused', reason: result.reason, ...(result.user ? { userId: result.user.id } : {}) });
      return { status: 'refused', reason: result.reason };
    }
    if (await this.credentials.totpConfirmed(orgId, result.user.id)) return { status: 'mfa_required', user: result.user, methods: ['totp'] };
    return this.open(result.user, '', where);
  }

  /**
   * What lies between the password step and the second factor, sealed for the browser to carry:
   * only this installation can make or read it, and only for five minutes.
   */
  sealPending(user: User, returnTo: string): string {
    const expires = this.deps.clock().getTime() + PENDING_MS;
    return this.deps.secrets.seal(JSON.stringify({ o: user.orgId, u: user.id, r: returnTo, e: expires }), PENDING_CONTEXT);
  }

  openPending(sealed: string): { orgId: OrgId; userId: UserId; returnTo: string } | undefined {
    try {
      const { o, u, r, e } = JSON.parse(this.deps.secrets.open(sealed, PENDING_CONTEXT)) as { o: string; u: string; r: string; e: number };
      if (typeof e !== 'number' || e <= this.deps.clock().getTime()) return undefined;
      return { orgId: o as OrgId, userId: u as UserId, returnTo: r };
    } catch {
      return undefined;
    }
  }

  /**
   * Step two: a TOTP code, for the user whose password step asked for it (the caller keeps that
   * tamper-proof between the steps). A wrong or replayed code counts towards lockout.
   */
  async secondFactor(orgId: OrgId, userId: UserId, code: string, where: SignInContext): Promise<SignInStep> {
    const user = await this.deps.store.read.users.findById(orgId, userId);
    const now = this.deps.clock();
    const refuse = async (reason: SignInRefusal) => {
      await this.record(orgId, where, { username: user?.username ?? '', userId, result: 'refused', reason, method: 'totp' });
      return { status: 'refused', reason } as const;
    };
    if (!user) return refuse('INVALID_CREDENTIALS');
    if (user.state === 'SUSPENDED') return refuse('SUSPENDED');
    if (isLocked(user, now)) return refuse('ACCOUNT_LOCKED');
    if (where.admits && !where.admits(user)) return refuse('NOT_ASSOCIATED');
    // Six digits are an authenticator's code; anything else may be one of the user's recovery codes.
    if (!/^\d{6}$/.test(code.trim())) {
      if (await this.recoveryCodes.consume(orgId, user.id, code)) return this.open(user, 'recovery_code', where);
      await this.authentication.recordFailure(orgId, user.id, where.origin);
      return refuse('INVALID_RECOVERY_CODE');
    }
    const check = await this.credentials.checkTotp(orgId, user.id, code.trim());
    if (check !== 'ok') {
      await this.authentication.recordFailure(orgId, user.id, where.origin);
      return refuse(check === 'replayed' ? 'TOTP_REPLAYED' : 'INVALID_TOTP');
    }
    return this.open(user, 'totp', where);
  }

  private async open(user: User, mfa: string, where: SignInContext): Promise<SignInStep> {
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const now = this.deps.clock();
    const session: UserSession = {
      id: digest(token),
      orgId: user.orgId,
      userId: user.id,
      created: now.toISOString(),
      lastSeen: now.toISOString(),
      idleExpires: new Date(now.getTime() + this.policy.idleMinutes * 60_000).toISOString(),
      expires: new Date(now.getTime() + this.policy.maxHours * 3_600_000).toISOString(),
      mfa,
      ip: where.ip.slice(0, 64),
      userAgent: where.userAgent.slice(0, 512),
      revokedAt: null,
    };
    await this.deps.store.read.sessions.insert(session);
    await this.record(user.orgId, where, { username: user.username, userId: user.id, result: 'success', ...(mfa ? { method: mfa } : {}) });
    return { status: 'signed_in', user, session, token };
  }

  /**
   * The session a token names and its user, if the session is still good; moves its idle
   * timeout forward. Undefined for a malformed, unknown, revoked or expired token, and for a user
   * who has since been suspended, locked, deleted or given a new password.
   */
  async resume(token: string): Promise<{ session: UserSession; user: User } | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 100) return undefined;
    const repos = this.deps.store.read;
    const session = await repos.sessions.findById(digest(token));
    const now = this.deps.clock();
    const at = now.getTime();
    if (!session || session.revokedAt !== null || Date.parse(session.expires) <= at || Date.parse(session.idleExpires) <= at) return undefined;
    const user = await repos.users.findById(session.orgId, session.userId);
    // Suspension, locking and a new password revoke the user's sessions where they happen; the
    // state is checked again here in case a session outlived a change made some other way.
    if (!user || user.state !== 'ACTIVATED' || isLocked(user, now)) return undefined;
    if (at - Date.parse(session.lastSeen) >= TOUCH_EVERY_MS) {
      const idleExpires = new Date(Math.min(at + this.policy.idleMinutes * 60_000, Date.parse(session.expires))).toISOString();
      await repos.sessions.touch(session.id, now.toISOString(), idleExpires);
      return { session: { ...session, lastSeen: now.toISOString(), idleExpires }, user };
    }
    return { session, user };
  }

  /** Ends the session a token names (sign-out); false when there was none to end. */
  async signOut(token: string, where: SignInContext): Promise<boolean> {
    if (!token.startsWith(TOKEN_PREFIX)) return false;
    const session = await this.deps.store.read.sessions.findById(digest(token));
    if (!session || !(await this.deps.store.read.sessions.revoke(session.id, this.deps.clock().toISOString()))) return false;
    await this.journal(session.orgId, where, session.userId, 'sign_out', { userId: session.userId });
    return true;
  }

  /**
   * Whether a signed-in user may reach an application: associated with it directly or through a
   * group, and the application active. Journaled either way, as a sign-in to the application.
   */
  async applicationAccess(user: User, applicationId: string, where: SignInContext & { protocol: 'saml' | 'oidc' }): Promise<{ ok: true; application: Application } | { ok: false; reason: 'NOT_ASSOCIATED' | 'APPLICATION_NOT_FOUND' | 'APPLICATION_INACTIVE' }> {
    const view = await this.applications.current(user.orgId, applicationId as ApplicationId);
    // The view follows memberships and associations; the application itself is read afresh, as
    // the view does not follow changes to it (an application turned inactive).
    const app = view && (await this.deps.store.read.applications.findById(user.orgId, applicationId as ApplicationId));
    const reason = !view || !app ? 'APPLICATION_NOT_FOUND' : !app.active ? 'APPLICATION_INACTIVE' : !view.users.has(user.id) ? 'NOT_ASSOCIATED' : undefined;
    await this.journal(user.orgId, where, user.id, 'sign_in', {
      userId: user.id,
      username: user.username,
      applicationId,
      protocol: where.protocol,
      result: reason ? 'refused' : 'success',
      ...(reason ? { reason } : {}),
    });
    return reason || !app ? { ok: false, reason: reason ?? 'APPLICATION_NOT_FOUND' } : { ok: true, application: app };
  }

  /** Forgets sessions that ended more than a day ago (they are kept that long for the admin's view and audits). */
  prune(): Promise<number> {
    return this.deps.store.read.sessions.prune(new Date(this.deps.clock().getTime() - 86_400_000).toISOString());
  }

  /** An admin's view of a user's live sessions (never their tokens). */
  async sessionsOf(ctx: Context, userId: string): Promise<UserSession[]> {
    requirePermission(ctx, 'users:read');
    const user = await this.deps.store.read.users.findById(ctx.orgId, userId as UserId);
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    return this.deps.store.read.sessions.listLive(ctx.orgId, user.id, this.deps.clock().toISOString());
  }

  /** Ends every session of a user (an admin signing the user out everywhere); the number ended. */
  async revokeAll(ctx: Context, userId: string): Promise<number> {
    requirePermission(ctx, 'users:write');
    const user = await this.deps.store.read.users.findById(ctx.orgId, userId as UserId);
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    const count = await this.deps.store.read.sessions.revokeUser(ctx.orgId, user.id, this.deps.clock().toISOString());
    if (count > 0) {
      await this.deps.store.transaction(async (tx) => {
        tx.record({ orgId: ctx.orgId, actor: ctx.actor, origin: ctx.origin }, [
          { objectType: 'organization', objectId: ctx.orgId, operation: 'sign_out', changes: {}, details: { userId: user.id, sessions: count, by: 'administrator' } },
        ]);
      });
    }
    return count;
  }

  /**
   * Sign-ins are journaled on the organization (a user's own rows are its versions, which a
   * sign-in does not change), with the user in the details.
   */
  private record(orgId: OrgId, where: SignInContext, details: Record<string, unknown>): Promise<void> {
    return this.journal(orgId, where, (details.userId as string | undefined) ?? null, 'sign_in', details);
  }

  private async journal(orgId: OrgId, where: SignInContext, userId: string | null, operation: 'sign_in' | 'sign_out', details: Record<string, unknown>): Promise<void> {
    const entry: JournalEntryInput = { objectType: 'organization', objectId: orgId, operation, changes: {}, details: { ...details, ip: where.ip } };
    const ctx = systemContext(orgId, where.origin);
    await this.deps.store.transaction(async (tx) => {
      tx.record({ orgId, actor: userId ? { type: 'user', id: userId } : ctx.actor, origin: where.origin }, [entry]);
    });
  }
}

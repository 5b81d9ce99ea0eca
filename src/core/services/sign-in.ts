import { requirePermission, selfContext, systemContext, type Context, type Origin } from '../context.js';
import { notFound } from '../errors.js';
import { DEFAULT_SESSION_POLICY, isLive, newSessionToken, openedTimes, plausibleToken, seenAt, sessionIdOf, type SessionPolicy } from '../sessions.js';
import type { ApplicationId, OrgId, UserId } from '../ids.js';
import type { Application, JournalEntryInput, User, UserSession } from '../model.js';
import type { DirectoryViewService } from './directory-view.js';
import type { AuthenticationService, LoginFailure } from './authentication.js';
import type { CredentialService } from './credentials.js';
import type { RecoveryCodeService } from './recovery-codes.js';
import type { Deps } from './deps.js';
import type { MfaService, SecondFactor } from './mfa.js';
import type { RelyingParty, WebAuthnService } from './webauthn.js';

export { DEFAULT_SESSION_POLICY, type SessionPolicy } from '../sessions.js';

/** Where a sign-in comes from, for the session record and the journal. */
export interface SignInContext {
  ip: string;
  userAgent: string;
  origin: Origin;
  /** Whether the resource signed in to accepts the user (an application's associations). */
  admits?: (user: User) => boolean;
}

export type SignInRefusal =
  | LoginFailure
  | 'INVALID_TOTP'
  | 'TOTP_REPLAYED'
  | 'INVALID_RECOVERY_CODE'
  | 'INVALID_WEBAUTHN'
  | 'WEBAUTHN_CLONED'
  | 'MFA_ENROLLMENT_REQUIRED'
  | 'ALREADY_ENROLLED';

/** How a session's user proved who they are beyond the password; '' for the password alone. */
export type SessionMfa = '' | 'totp' | 'recovery_code' | 'webauthn' | 'passkey';

export type SignInStep =
  /** `recoveryCodes`: a new set, made when the user enrolled a first factor at this sign-in; shown once. */
  | { status: 'signed_in'; user: User; session: UserSession; token: string; recoveryCodes?: string[] }
  | { status: 'mfa_required'; user: User; methods: SecondFactor[] }
  /** The user must enroll a second factor now; `optional` when an enrollment period lets them put it off. */
  | { status: 'enrollment_required'; user: User; methods: SecondFactor[]; optional: boolean; until: string | null }
  | { status: 'refused'; reason: SignInRefusal };

/** What lies between sign-in steps, carried sealed by the browser: whose sign-in, what it waits for. */
export interface PendingSignIn {
  orgId: OrgId;
  /** Null while a passkey sign-in has not yet said whose passkey it is. */
  userId: UserId | null;
  returnTo: string;
  stage: 'mfa' | 'enroll' | 'enroll_optional' | 'passkey';
  /** The WebAuthn challenge the browser was given, when one is outstanding. */
  challenge?: string;
  /** The authenticator-app secret being enrolled, to show its QR code again after a mistyped first code. */
  totpSecret?: string;
}

/** Session tokens: a recognisable prefix and 256 random bits; only their SHA-256 is stored. */
const TOKEN_PREFIX = 'rst_';
const PENDING_CONTEXT = 'sign-in:second-factor';
const PENDING_MS = 5 * 60_000;

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
    private readonly mfa: MfaService,
    private readonly webauthn: WebAuthnService,
    private readonly policy: SessionPolicy = DEFAULT_SESSION_POLICY,
  ) {}

  /**
   * Step one: the password. A user with a second factor must pass it next; a user whom the policy
   * asks for one but who has none enrolls one next (or is refused, when the org does not let users
   * enroll themselves).
   */
  async password(orgId: OrgId, username: string, password: string, where: SignInContext): Promise<SignInStep> {
    const result = await this.authentication.verifyCredential(orgId, username, { password }, where.origin, where.admits ? { admits: where.admits } : {});
    if (!result.ok) {
      await this.record(orgId, where, { username, result: 'refused', reason: result.reason, ...(result.user ? { userId: result.user.id } : {}) });
      return { status: 'refused', reason: result.reason };
    }
    return this.afterPassword(result.user, where);
  }

  private async afterPassword(user: User, where: SignInContext): Promise<SignInStep> {
    const factors = await this.mfa.factorsOf(user.orgId, user.id);
    if (factors.length > 0) return { status: 'mfa_required', user, methods: factors };
    const requirement = await this.mfa.requirementOf(user);
    if (!requirement.applies || (!requirement.required && requirement.exemptUntil === null)) return this.open(user, '', where);
    const org = await this.deps.store.read.orgs.findById(user.orgId);
    if (!org?.settings.mfa.selfEnrollment) {
      if (!requirement.required) return this.open(user, '', where);
      await this.record(user.orgId, where, { username: user.username, userId: user.id, result: 'refused', reason: 'MFA_ENROLLMENT_REQUIRED' });
      return { status: 'refused', reason: 'MFA_ENROLLMENT_REQUIRED' };
    }
    return { status: 'enrollment_required', user, methods: ['totp', 'webauthn'], optional: !requirement.required, until: requirement.exemptUntil };
  }

  /**
   * What lies between sign-in steps, sealed for the browser to carry: only this installation can
   * make or read it, and only for five minutes.
   */
  sealPending(pending: PendingSignIn): string {
    const expires = this.deps.clock().getTime() + PENDING_MS;
    const { orgId: o, userId: u, returnTo: r, stage: s, challenge: c, totpSecret: t } = pending;
    return this.deps.secrets.seal(JSON.stringify({ o, u, r, s, c, t, e: expires }), PENDING_CONTEXT);
  }

  openPending(sealed: string): PendingSignIn | undefined {
    try {
      const { o, u, r, s, c, t, e } = JSON.parse(this.deps.secrets.open(sealed, PENDING_CONTEXT)) as {
        o: string;
        u: string | null;
        r: string;
        s: PendingSignIn['stage'];
        c?: string;
        t?: string;
        e: number;
      };
      if (typeof e !== 'number' || e <= this.deps.clock().getTime()) return undefined;
      if (!['mfa', 'enroll', 'enroll_optional', 'passkey'].includes(s)) return undefined;
      return {
        orgId: o as OrgId,
        userId: u as UserId | null,
        returnTo: r,
        stage: s,
        ...(typeof c === 'string' ? { challenge: c } : {}),
        ...(typeof t === 'string' ? { totpSecret: t } : {}),
      };
    } catch {
      return undefined;
    }
  }

  /** The user of a step after the password, if they may still sign in; else why not. */
  private async stillAdmitted(orgId: OrgId, userId: UserId, where: SignInContext): Promise<{ user: User } | { reason: SignInRefusal; user?: User }> {
    const user = await this.deps.store.read.users.findById(orgId, userId);
    if (!user) return { reason: 'INVALID_CREDENTIALS' };
    if (user.state === 'SUSPENDED') return { reason: 'SUSPENDED', user };
    if (user.state === 'STAGED' || !user.passwordSet) return { reason: 'NOT_ACTIVATED', user };
    if (isLocked(user, this.deps.clock())) return { reason: 'ACCOUNT_LOCKED', user };
    if (where.admits && !where.admits(user)) return { reason: 'NOT_ASSOCIATED', user };
    return { user };
  }

  private async refuseStep(orgId: OrgId, where: SignInContext, reason: SignInRefusal, method: string, user?: User, userId?: UserId): Promise<SignInStep> {
    const id = user?.id ?? userId;
    await this.record(orgId, where, { username: user?.username ?? '', ...(id ? { userId: id } : {}), result: 'refused', reason, method });
    return { status: 'refused', reason };
  }

  /** Options for the browser's WebAuthn prompt: the user's keys, or any passkey of this site when `userId` is null. */
  webauthnOptions(orgId: OrgId, userId: UserId | null, rp: RelyingParty) {
    return this.webauthn.authenticationOptions(orgId, userId, rp);
  }

  /** Step two with a security key or passkey, for the user whose password step asked for a second factor. */
  async securityKey(orgId: OrgId, userId: UserId, response: unknown, challenge: string, rp: RelyingParty, where: SignInContext): Promise<SignInStep> {
    const admitted = await this.stillAdmitted(orgId, userId, where);
    if ('reason' in admitted) return this.refuseStep(orgId, where, admitted.reason, 'webauthn', admitted.user, userId);
    const result = await this.webauthn.authenticate(orgId, response, challenge, rp, { userId, requireUserVerification: false });
    if (!result.ok) {
      await this.authentication.recordFailure(orgId, userId, where.origin);
      return this.refuseStep(orgId, where, result.reason === 'WEBAUTHN_CLONED' ? 'WEBAUTHN_CLONED' : 'INVALID_WEBAUTHN', 'webauthn', admitted.user);
    }
    return this.open(admitted.user, 'webauthn', where);
  }

  /**
   * Sign-in with a passkey alone: the authenticator names the user and verifies them (PIN or
   * biometrics), which is two factors in one. The user must still be active and admitted.
   */
  async passkey(orgId: OrgId, response: unknown, challenge: string, rp: RelyingParty, where: SignInContext): Promise<SignInStep> {
    const result = await this.webauthn.authenticate(orgId, response, challenge, rp, { requireUserVerification: true });
    if (!result.ok) return this.refuseStep(orgId, where, result.reason === 'WEBAUTHN_CLONED' ? 'WEBAUTHN_CLONED' : 'INVALID_WEBAUTHN', 'passkey');
    const admitted = await this.stillAdmitted(orgId, result.userId, where);
    if ('reason' in admitted) return this.refuseStep(orgId, where, admitted.reason, 'passkey', admitted.user, result.userId);
    return this.open(admitted.user, 'passkey', where);
  }

  /**
   * Enrollment at sign-in, for a user the password step sent to enroll: starts a TOTP enrollment.
   * Refused once the user has a second factor, so enrollment never stands in for passing one.
   */
  async startTotpEnrollment(orgId: OrgId, userId: UserId, where: SignInContext): Promise<{ ok: true; secret: string; otpauthUri: string } | { ok: false; reason: SignInRefusal }> {
    const admitted = await this.stillAdmitted(orgId, userId, where);
    if ('reason' in admitted) return { ok: false, reason: admitted.reason };
    if ((await this.mfa.factorsOf(orgId, userId)).length > 0) return { ok: false, reason: 'ALREADY_ENROLLED' };
    return { ok: true, ...(await this.credentials.enrollTotp(selfContext(admitted.user, where.origin), userId)) };
  }

  /** Confirms the TOTP enrollment begun at sign-in with its first code; then a session and a first set of recovery codes. */
  async confirmTotpEnrollment(orgId: OrgId, userId: UserId, code: string, where: SignInContext): Promise<SignInStep> {
    const admitted = await this.stillAdmitted(orgId, userId, where);
    if ('reason' in admitted) return this.refuseStep(orgId, where, admitted.reason, 'totp', admitted.user, userId);
    if ((await this.mfa.factorsOf(orgId, userId)).length > 0) return this.refuseStep(orgId, where, 'ALREADY_ENROLLED', 'totp', admitted.user);
    try {
      await this.credentials.confirmTotp(selfContext(admitted.user, where.origin), userId, code);
    } catch {
      await this.authentication.recordFailure(orgId, userId, where.origin);
      return this.refuseStep(orgId, where, 'INVALID_TOTP', 'totp', admitted.user);
    }
    return this.openEnrolled(admitted.user, 'totp', where);
  }

  /** Enrollment at sign-in with a security key or passkey: the options for the browser's prompt. */
  async webauthnEnrollmentOptions(orgId: OrgId, userId: UserId, rp: RelyingParty, where: SignInContext) {
    const admitted = await this.stillAdmitted(orgId, userId, where);
    if ('reason' in admitted) return { ok: false as const, reason: admitted.reason };
    if ((await this.mfa.factorsOf(orgId, userId)).length > 0) return { ok: false as const, reason: 'ALREADY_ENROLLED' as const };
    return { ok: true as const, ...(await this.webauthn.registrationOptions(orgId, userId, rp)) };
  }

  /** Registers the key the browser made at sign-in; then a session and a first set of recovery codes. */
  async confirmWebauthnEnrollment(orgId: OrgId, userId: UserId, response: unknown, challenge: string, rp: RelyingParty, where: SignInContext, name?: string): Promise<SignInStep> {
    const admitted = await this.stillAdmitted(orgId, userId, where);
    if ('reason' in admitted) return this.refuseStep(orgId, where, admitted.reason, 'webauthn', admitted.user, userId);
    if ((await this.mfa.factorsOf(orgId, userId)).length > 0) return this.refuseStep(orgId, where, 'ALREADY_ENROLLED', 'webauthn', admitted.user);
    const result = await this.webauthn.register(orgId, userId, response, challenge, rp, name, where.origin);
    if (!result.ok) return this.refuseStep(orgId, where, 'INVALID_WEBAUTHN', 'webauthn', admitted.user);
    return this.openEnrolled(admitted.user, 'webauthn', where);
  }

  /** A user in an enrollment period puts enrollment off: signed in with the password alone. */
  async skipEnrollment(orgId: OrgId, userId: UserId, where: SignInContext): Promise<SignInStep> {
    const admitted = await this.stillAdmitted(orgId, userId, where);
    if ('reason' in admitted) return this.refuseStep(orgId, where, admitted.reason, '', admitted.user, userId);
    const requirement = await this.mfa.requirementOf(admitted.user);
    if (requirement.required) return this.refuseStep(orgId, where, 'MFA_ENROLLMENT_REQUIRED', '', admitted.user);
    return this.open(admitted.user, '', where);
  }

  /** A first factor was just enrolled: recovery codes for when it is lost, unless the user has some left, and a session. */
  private async openEnrolled(user: User, mfa: SessionMfa, where: SignInContext): Promise<SignInStep> {
    const ctx = selfContext(user, where.origin);
    const status = await this.recoveryCodes.status(ctx, user.id);
    const recoveryCodes = status.remaining > 0 ? undefined : await this.recoveryCodes.generate(ctx, user.id);
    const step = await this.open(user, mfa, where);
    return step.status === 'signed_in' && recoveryCodes ? { ...step, recoveryCodes } : step;
  }

  /**
   * Step two: a TOTP code, for the user whose password step asked for it (the caller keeps that
   * tamper-proof between the steps). A wrong or replayed code counts towards lockout.
   */
  async secondFactor(orgId: OrgId, userId: UserId, code: string, where: SignInContext): Promise<SignInStep> {
    const admitted = await this.stillAdmitted(orgId, userId, where);
    if ('reason' in admitted) return this.refuseStep(orgId, where, admitted.reason, 'totp', admitted.user, userId);
    const { user } = admitted;
    // Six digits are an authenticator's code; anything else may be one of the user's recovery codes.
    if (!/^\d{6}$/.test(code.trim())) {
      if (await this.recoveryCodes.consume(orgId, user.id, code)) return this.open(user, 'recovery_code', where);
      await this.authentication.recordFailure(orgId, user.id, where.origin);
      return this.refuseStep(orgId, where, 'INVALID_RECOVERY_CODE', 'recovery_code', user);
    }
    const check = await this.credentials.checkTotp(orgId, user.id, code.trim());
    if (check !== 'ok') {
      await this.authentication.recordFailure(orgId, user.id, where.origin);
      return this.refuseStep(orgId, where, check === 'replayed' ? 'TOTP_REPLAYED' : 'INVALID_TOTP', 'totp', user);
    }
    return this.open(user, 'totp', where);
  }

  private async open(user: User, mfa: SessionMfa, where: SignInContext): Promise<SignInStep> {
    const { token, id } = newSessionToken(TOKEN_PREFIX);
    const session: UserSession = {
      id,
      orgId: user.orgId,
      userId: user.id,
      ...openedTimes(this.deps.clock(), this.policy),
      mfa,
      ip: where.ip.slice(0, 64),
      userAgent: where.userAgent.slice(0, 512),
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
    if (!plausibleToken(token, TOKEN_PREFIX)) return undefined;
    const repos = this.deps.store.read;
    const stored = await repos.sessions.findById(sessionIdOf(token));
    const now = this.deps.clock();
    if (!stored || !isLive(stored, now)) return undefined;
    const user = await repos.users.findById(stored.orgId, stored.userId);
    // Suspension, locking and a new password revoke the user's sessions where they happen; the
    // state is checked again here in case a session outlived a change made some other way.
    if (!user || user.state !== 'ACTIVATED' || isLocked(user, now)) return undefined;
    const { session, touched } = seenAt(stored, now, this.policy);
    if (touched) await repos.sessions.touch(session.id, session.lastSeen, session.idleExpires);
    return { session, user };
  }

  /** Ends the session a token names (sign-out); false when there was none to end. */
  async signOut(token: string, where: SignInContext): Promise<boolean> {
    if (!plausibleToken(token, TOKEN_PREFIX)) return false;
    const session = await this.deps.store.read.sessions.findById(sessionIdOf(token));
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

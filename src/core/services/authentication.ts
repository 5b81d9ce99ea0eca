import { systemContext, type Context, type Origin } from '../context.js';
import type { OrgId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { Organization, PasswordPolicy, User } from '../model.js';
import { verifyAgainstNothing, verifyPassword } from '../passwords.js';
import { journal, type Deps } from './deps.js';
import { VerificationCache } from '../verification-cache.js';
import type { CredentialService } from './credentials.js';
import type { DirectoryPasswordService } from './directory-passwords.js';
import type { UserService } from './users.js';

/** Why a login failed; stable values that protocol front-ends map to their own answers. */
export type LoginFailure =
  | 'INVALID_CREDENTIALS'
  | 'ACCOUNT_LOCKED'
  | 'SUSPENDED'
  | 'NOT_ACTIVATED'
  | 'PASSWORD_EXPIRED'
  /** The user exists but is not connected to the resource being logged in to. */
  | 'NOT_ASSOCIATED'
  /** The protocol needs a credential the user does not have (an NT hash for MS-CHAPv2). */
  | 'CREDENTIAL_UNAVAILABLE';

export interface VerifyOptions {
  /** Whether the resource accepts this user at all (connected directly or through a group). */
  admits?: (user: User) => boolean;
  /**
   * Whether a wrong password counts towards lockout (default true). A front-end trying one
   * reading of the input before another (a password with or without a TOTP code appended)
   * passes false for the first try.
   */
  countFailure?: boolean;
  /** The user's organization when the caller already holds it (a front-end's snapshot), saving a read. */
  org?: Organization;
}

/**
 * What proves the user: a password; (MS-CHAPv2) a check over the user's NT hash that says whether
 * the peer's challenge response proves knowledge of the password; or a client certificate the
 * front-end has already verified (EAP-TLS), which leaves only the account checks to do.
 */
export type Credential = { password: string } | { ntHash: (hash: Buffer) => boolean } | { certificate: true };

export type LoginResult = { ok: true; user: User } | { ok: false; reason: LoginFailure; user?: User };

/**
 * Password verification shared by every login path (LDAP bind, RADIUS, SSO, portal), so one
 * lockout counter covers them all.
 */
export class AuthenticationService {
  private delegate: Pick<DirectoryPasswordService, 'verify'> | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly users: UserService,
    private readonly credentials: Pick<CredentialService, 'ntHashOf' | 'captureNtHash'>,
    private readonly cache: VerificationCache = new VerificationCache(0),
  ) {}

  /** Delegated authentication: users whose password authority is a directory are verified against it. */
  useDelegate(delegate: Pick<DirectoryPasswordService, 'verify'>): void {
    this.delegate = delegate;
  }

  /**
   * loadUser → checkAdmitted → liftExpiredLockout → refuseLocked → verifyPassword →
   * countFailure | clearFailures → checkState → checkExpiry. The password is checked before state
   * so a guesser learns nothing about suspended or staged accounts; a user the resource does not
   * admit costs the same time as a wrong password and does not count towards lockout.
   */
  verify(orgId: OrgId, username: string, password: string, origin: Origin, options: VerifyOptions = {}): Promise<LoginResult> {
    return this.verifyCredential(orgId, username, { password }, origin, options);
  }

  /** `verify` for any credential; an NT-hash check fails as a wrong password does. */
  async verifyCredential(orgId: OrgId, username: string, credential: Credential, origin: Origin, options: VerifyOptions = {}): Promise<LoginResult> {
    const repos = this.deps.store.read;
    // Costs what a real check costs, so refusals before the check take as long as a wrong password.
    const decoy = () => ('password' in credential ? verifyAgainstNothing(credential.password) : Promise.resolve(false));
    let user = await repos.users.findByUsername(orgId, username);
    if (!user) {
      await decoy();
      return { ok: false, reason: 'INVALID_CREDENTIALS' };
    }
    if (options.admits && !options.admits(user)) {
      await decoy();
      return { ok: false, reason: 'NOT_ASSOCIATED', user };
    }
    const org = options.org?.id === orgId ? options.org : await this.users.org(orgId);
    const policy = org.settings.passwordPolicy;
    const now = this.deps.clock();
    const ctx = systemContext(orgId, origin);

    if (user.accountLocked && user.lockedUntil && now.getTime() >= Date.parse(user.lockedUntil)) {
      user = await this.clearFailures(ctx, user, 'unlock');
    }
    if (user.accountLocked) {
      await decoy();
      return { ok: false, reason: 'ACCOUNT_LOCKED', user };
    }

    let good: boolean;
    const delegated = 'password' in credential && this.delegate && credential.password !== '' ? await this.delegate.verify(orgId, user, credential.password) : { outcome: 'none' as const };
    if ('password' in credential && (delegated.outcome === 'ok' || delegated.outcome === 'wrong')) {
      // The directory's verdict; Roster keeps a hash of a password it accepted, for when it cannot be asked.
      good = delegated.outcome === 'ok';
      if (good) {
        const hash = await repos.users.passwordHash(orgId, user.id);
        if (!hash || !(await verifyPassword(hash, credential.password))) {
          await this.users.setPassword(systemContext(orgId, `sync:${delegated.directoryId}`), user, credential.password, { fromDirectory: true });
          user = (await repos.users.findById(orgId, user.id)) ?? user;
        }
      }
    } else if ('password' in credential) {
      const hash = await repos.users.passwordHash(orgId, user.id);
      if (hash && this.cache.matches(user.id, hash, credential.password)) good = true;
      else {
        good = hash ? await verifyPassword(hash, credential.password) : await verifyAgainstNothing(credential.password);
        if (good && hash) this.cache.remember(user.id, hash, credential.password);
      }
    } else if ('ntHash' in credential) {
      const ntHash = await this.credentials.ntHashOf(orgId, user.id);
      if (!ntHash) return { ok: false, reason: 'CREDENTIAL_UNAVAILABLE', user };
      good = credential.ntHash(ntHash);
    } else good = true;
    if (!good) {
      if (options.countFailure === false) return { ok: false, reason: 'INVALID_CREDENTIALS', user };
      const locked = await this.countFailure(ctx, user.id, policy, now);
      return { ok: false, reason: locked ? 'ACCOUNT_LOCKED' : 'INVALID_CREDENTIALS', user };
    }
    // Users of an org that keeps NT hashes get one at their first password login after it is turned on.
    if ('password' in credential && org.settings.radius?.storeNtHashes) await this.credentials.captureNtHash(orgId, user.id, credential.password);
    if (user.badLoginAttempts > 0) user = await this.clearFailures(ctx, user, 'update');

    if (user.state === 'SUSPENDED') return { ok: false, reason: 'SUSPENDED', user };
    if (user.state === 'STAGED') return { ok: false, reason: 'NOT_ACTIVATED', user };
    // An expired password does not invalidate a certificate.
    if (!('certificate' in credential) && user.passwordExpirationDate && Date.parse(user.passwordExpirationDate) <= now.getTime()) {
      return { ok: false, reason: 'PASSWORD_EXPIRED', user };
    }
    return { ok: true, user };
  }

  /** Self-service change: the old password must verify (and counts towards lockout). */
  async changePassword(
    orgId: OrgId,
    username: string,
    oldPassword: string,
    newPassword: string,
    origin: Origin,
    options: VerifyOptions = {},
  ): Promise<LoginResult> {
    const result = await this.verify(orgId, username, oldPassword, origin, options);
    const allowed = result.ok || result.reason === 'PASSWORD_EXPIRED';
    if (!allowed || !result.user) return result;
    const ctx = { ...systemContext(orgId, origin), actor: { type: 'user' as const, id: result.user.id } };
    await this.users.setPassword(ctx, result.user, newPassword);
    return { ok: true, user: result.user };
  }

  /** Counts a failed second factor (a wrong TOTP code) like a wrong password; true when it locked the account. */
  async recordFailure(orgId: OrgId, userId: User['id'], origin: Origin): Promise<boolean> {
    const org = await this.users.org(orgId);
    return this.countFailure(systemContext(orgId, origin), userId, org.settings.passwordPolicy, this.deps.clock());
  }

  private async countFailure(ctx: Context, userId: User['id'], policy: PasswordPolicy, now: Date): Promise<boolean> {
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.users.findById(ctx.orgId, userId, { forUpdate: true });
      if (!before) return false;
      const windowStart = now.getTime() - policy.resetLockoutCounterMinutes * 60_000;
      const stale = !before.lastFailedLogin || Date.parse(before.lastFailedLogin) < windowStart;
      const attempts = (stale ? 0 : before.badLoginAttempts) + 1;
      const lock = policy.maxLoginAttempts > 0 && attempts >= policy.maxLoginAttempts && !before.accountLocked;
      const after: User = {
        ...before,
        badLoginAttempts: attempts,
        lastFailedLogin: now.toISOString(),
        accountLocked: before.accountLocked || lock,
        accountLockedDate: lock ? now.toISOString() : before.accountLockedDate,
        lockedUntil: lock && policy.lockoutTimeInSeconds > 0 ? new Date(now.getTime() + policy.lockoutTimeInSeconds * 1000).toISOString() : before.lockedUntil,
        updated: now.toISOString(),
      };
      await tx.users.update(after);
      if (lock) await tx.sessions.revokeUser(ctx.orgId, before.id, now.toISOString());
      journal(tx, ctx, {
        objectType: 'user',
        objectId: before.id,
        operation: lock ? 'lock' : 'login_failed',
        changes: changesBetween(before, after),
      });
      return after.accountLocked;
    });
  }

  private async clearFailures(ctx: Context, user: User, operation: 'unlock' | 'update'): Promise<User> {
    return this.deps.store.transaction(async (tx) => {
      const before = (await tx.users.findById(ctx.orgId, user.id, { forUpdate: true })) ?? user;
      const after: User = {
        ...before,
        accountLocked: false,
        accountLockedDate: null,
        lockedUntil: null,
        badLoginAttempts: 0,
        updated: this.deps.clock().toISOString(),
      };
      await tx.users.update(after);
      journal(tx, ctx, { objectType: 'user', objectId: before.id, operation, changes: changesBetween(before, after) });
      return after;
    });
  }
}

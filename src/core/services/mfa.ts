import { requirePermission, type Context } from '../context.js';
import { invalid, notFound } from '../errors.js';
import type { OrgId, UserId } from '../ids.js';
import type { Organization, User } from '../model.js';
import { journal, type Deps } from './deps.js';

/** The second factors a user can pass at sign-in. Recovery codes stand in for them; they are not one. */
export type SecondFactor = 'totp' | 'webauthn';

/** Where a user stands with the organization's second-factor policy. */
export interface MfaRequirement {
  /** The org's policy or the user's own flag asks for a second factor. */
  applies: boolean;
  /** It applies and the user is not exempt now: sign-in needs a second factor. */
  required: boolean;
  /** An exemption that ends (an enrollment period): the user is asked to enroll and may put it off until then. */
  exemptUntil: string | null;
}

export interface MfaResetOptions {
  /** Exempt the user from the requirement (an enrollment period when it ends). */
  exclusion?: boolean;
  exclusionUntil?: string | null;
  /** The exemption ends this many days from now. */
  exclusionDays?: number;
}

export interface MfaResetResult {
  totp: boolean;
  webauthn: number;
  recoveryCodes: number;
}

const MAX_EXCLUSION_DAYS = 3650;

/** Whether the org's policy or the user's flag asks `user` for a second factor at `now`. */
export function mfaRequirement(org: Organization, user: User, now: Date): MfaRequirement {
  const applies = org.settings.mfa.required || user.mfaRequired;
  const until = user.mfaExclusionUntil;
  const exempt = user.mfaExclusion && (until === null || Date.parse(until) > now.getTime());
  return { applies, required: applies && !exempt, exemptUntil: applies && exempt && until !== null ? until : null };
}

/**
 * The second-factor policy (the org's `settings.mfa` and each user's flag and exemption), which
 * factors users have, and an administrator's reset of them all.
 */
export class MfaService {
  constructor(private readonly deps: Deps) {}

  /** System: the confirmed second factors of a user. */
  async factorsOf(orgId: OrgId, userId: UserId): Promise<SecondFactor[]> {
    const repos = this.deps.store.read;
    const [totp, keys] = await Promise.all([repos.credentials.findTotp(orgId, userId), repos.webauthnCredentials.listByUser(orgId, userId)]);
    const factors: SecondFactor[] = [];
    if (totp?.enrollment.confirmed) factors.push('totp');
    if (keys.length > 0) factors.push('webauthn');
    return factors;
  }

  /** Which of these users have each factor, for a page of user objects. */
  async factorsAmong(ctx: Context, userIds: readonly UserId[]): Promise<{ totp: Set<UserId>; webauthn: Set<UserId> }> {
    requirePermission(ctx, 'users:read');
    if (userIds.length === 0) return { totp: new Set(), webauthn: new Set() };
    const repos = this.deps.store.read;
    const [totp, webauthn] = await Promise.all([
      repos.credentials.confirmedTotpAmong(ctx.orgId, userIds),
      repos.webauthnCredentials.usersWithCredentialsAmong(ctx.orgId, userIds),
    ]);
    return { totp, webauthn };
  }

  /** System: the user's place under the org's policy now. */
  async requirementOf(user: User): Promise<MfaRequirement> {
    const org = await this.deps.store.read.orgs.findById(user.orgId);
    if (!org) return { applies: false, required: false, exemptUntil: null };
    return mfaRequirement(org, user, this.deps.clock());
  }

  /**
   * An administrator's reset: removes the user's TOTP, security keys and passkeys, and recovery
   * codes, so the user enrolls again (at the next sign-in when the policy asks for a second
   * factor). The options set an exemption at the same time, giving the user an enrollment period.
   */
  async reset(ctx: Context, userId: string, options: MfaResetOptions = {}): Promise<MfaResetResult> {
    requirePermission(ctx, 'users:write');
    const now = this.deps.clock();
    let exclusionUntil: string | null | undefined = options.exclusionUntil;
    if (options.exclusionDays !== undefined) {
      if (!Number.isInteger(options.exclusionDays) || options.exclusionDays < 1 || options.exclusionDays > MAX_EXCLUSION_DAYS) {
        throw invalid('INVALID_INPUT', `exclusionDays must be a whole number from 1 to ${MAX_EXCLUSION_DAYS}`, [
          { field: 'exclusionDays', reason: 'OUT_OF_RANGE', message: `must be a whole number from 1 to ${MAX_EXCLUSION_DAYS}` },
        ]);
      }
      exclusionUntil = new Date(now.getTime() + options.exclusionDays * 86_400_000).toISOString();
    }
    if (exclusionUntil !== undefined && exclusionUntil !== null) {
      const at = Date.parse(exclusionUntil);
      if (Number.isNaN(at)) throw invalid('INVALID_INPUT', 'exclusionUntil must be an ISO 8601 date-time', [{ field: 'exclusionUntil', reason: 'INVALID_DATE', message: 'must be an ISO 8601 date-time' }]);
      exclusionUntil = new Date(at).toISOString();
    }
    return this.deps.store.transaction(async (tx) => {
      const user = await tx.users.findById(ctx.orgId, userId as UserId, { forUpdate: true });
      if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
      const totp = await tx.credentials.findTotp(ctx.orgId, user.id);
      const codes = await tx.recoveryCodes.status(ctx.orgId, user.id);
      const result: MfaResetResult = {
        totp: totp !== undefined && (await tx.credentials.deleteTotp(ctx.orgId, user.id)),
        webauthn: await tx.webauthnCredentials.deleteAllOf(ctx.orgId, user.id),
        recoveryCodes: codes ? await tx.recoveryCodes.deleteAll(ctx.orgId, user.id) : 0,
      };
      const changes: Record<string, { before: unknown; after: unknown }> = {};
      if (result.totp) changes.totp = { before: totp?.enrollment.confirmed ? 'confirmed' : 'pending', after: null };
      if (result.webauthn > 0) changes.webauthn = { before: result.webauthn, after: 0 };
      if (codes) changes.recoveryCodes = { before: codes.remaining, after: null };
      const exclusion = options.exclusion ?? (exclusionUntil ? true : user.mfaExclusion);
      const until = exclusion ? (exclusionUntil !== undefined ? exclusionUntil : user.mfaExclusionUntil) : null;
      if (exclusion !== user.mfaExclusion || until !== user.mfaExclusionUntil) {
        await tx.users.update({ ...user, mfaExclusion: exclusion, mfaExclusionUntil: until, updated: now.toISOString() });
        if (exclusion !== user.mfaExclusion) changes.mfaExclusion = { before: user.mfaExclusion, after: exclusion };
        if (until !== user.mfaExclusionUntil) changes.mfaExclusionUntil = { before: user.mfaExclusionUntil, after: until };
      }
      // A reset that found nothing to remove or change leaves no entry.
      if (Object.keys(changes).length > 0) journal(tx, ctx, { objectType: 'user', objectId: user.id, operation: 'mfa_reset', changes });
      return result;
    });
  }
}

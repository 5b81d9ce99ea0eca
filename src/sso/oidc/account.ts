import type { Account, AccountClaims, FindAccount, KoaContextWithOIDC } from 'oidc-provider';
import type { DirectoryCore } from '../../core/directory.js';
import { SESSION_COOKIE } from '../sign-in.js';

/** Scopes Roster grants and the claims each releases. */
export const CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'preferred_username'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
} as const;

export const SCOPES = ['openid', 'profile', 'email', 'groups', 'offline_access'] as const;

/** Routes where the browser is present: the user's Roster session must still be good, and theirs. */
const BROWSER_ROUTES = new Set(['authorization', 'resume']);

/**
 * findAccount: the user (sub = user id) of the application the request's client belongs to.
 * Undefined — so the provider refuses the token, the refresh or the session — once the user is
 * suspended, locked, deleted or no longer associated with the application, and, where the
 * browser is present, once their Roster session has ended (signed out, expired, new password).
 */
export function findAccount(core: DirectoryCore): FindAccount {
  return async (ctx: KoaContextWithOIDC, sub: string, token?: { clientId?: string | undefined }): Promise<Account | undefined> => {
    const clientId = ctx.oidc.client?.clientId ?? token?.clientId;
    const client = clientId ? await core.oidc.clientForProvider(clientId) : undefined;
    if (!client) return undefined;
    if (BROWSER_ROUTES.has(ctx.oidc.route ?? '')) {
      const session = await core.signIn.resume(ctx.cookies.get(SESSION_COOKIE, { signed: false }) ?? '');
      if (!session || session.user.id !== sub) return undefined;
    }
    const found = await core.oidc.account(client.record.orgId, client.record.applicationId, sub);
    if (!found) return undefined;
    const { user, groups } = found;
    return {
      accountId: user.id,
      claims: (): AccountClaims => ({
        sub: user.id,
        name: user.displayname || [user.firstname, user.lastname].filter(Boolean).join(' ') || user.username,
        ...(user.firstname ? { given_name: user.firstname } : {}),
        ...(user.lastname ? { family_name: user.lastname } : {}),
        preferred_username: user.username,
        // Addresses in Roster are set by administrators or the authoritative directory, never self-asserted.
        ...(user.email ? { email: user.email, email_verified: true } : {}),
        groups,
      }),
    };
  };
}

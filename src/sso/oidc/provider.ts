import Provider, { errors, interactionPolicy, type Configuration, type Grant, type KoaContextWithOIDC } from 'oidc-provider';
import type { DirectoryCore } from '../../core/directory.js';
import { OIDC_ID_TOKEN_TTL_SECONDS, type OidcKeys } from '../../core/services/oidc.js';
import { messagePage } from '../pages.js';
import { SESSION_COOKIE } from '../sign-in.js';
import { findAccount, CLAIMS, SCOPES } from './account.js';
import { adapterFactory } from './adapter.js';

/** Where the provider lives on the HTTP server; the issuer is the public URL plus this. */
export const OIDC_PATH = '/oidc';

export const interactionPath = (uid: string) => `${OIDC_PATH}/interaction/${encodeURIComponent(uid)}`;

/** The scopes of a request that Roster grants; the provider has already dropped offline_access where it does not apply. */
export const grantableScopes = (scope: unknown) => String(scope ?? '').split(' ').filter((s) => (SCOPES as readonly string[]).includes(s));

/**
 * The login prompt also fires when the session's account can no longer be loaded (the user was
 * suspended, lost access to this client's application, or their Roster session ended): the
 * interaction then signs them in again or tells the client access_denied.
 */
function policy() {
  const { Check, base } = interactionPolicy;
  const prompts = base();
  prompts.get('login')!.checks.add(
    new Check('account_unavailable', 'End-User authentication is required', (ctx) =>
      ctx.oidc.session?.accountId && !ctx.oidc.account ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT,
    ),
  );
  return prompts;
}

/**
 * The applications are the organization's own: a user with access has consented to the scopes
 * Roster offers, so a grant covering the requested ones is made (or extended) without asking.
 */
async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
  const { client, session, params, provider } = ctx.oidc;
  if (!client || !session?.accountId) return undefined;
  const grantId = (ctx.oidc.result?.consent as { grantId?: string } | undefined)?.grantId ?? session.grantIdFor(client.clientId);
  let grant = grantId ? await provider.Grant.find(grantId) : undefined;
  if (grant && (grant.accountId !== session.accountId || grant.clientId !== client.clientId)) grant = undefined;
  grant ??= new provider.Grant({ accountId: session.accountId, clientId: client.clientId });
  grant.addOIDCScope(grantableScopes(params?.scope).join(' '));
  await grant.save();
  return grant;
}

export interface ProviderOptions {
  /** Trust X-Forwarded-Proto and X-Forwarded-For from a TLS-terminating proxy (ROSTER_TRUST_PROXY). */
  proxy: boolean;
  log: { error(fields: object, message: string): void; warn(fields: object, message: string): void };
}

/**
 * The client id a request authenticated as, never its secret: the client the provider found, or
 * (for an unknown one) the client_id parameter or the user part of HTTP Basic credentials.
 */
function presentedClientId(ctx: KoaContextWithOIDC): string | undefined {
  if (ctx.oidc.client) return ctx.oidc.client.clientId;
  const param = ctx.oidc.params?.client_id;
  if (typeof param === 'string' && param) return param;
  const [scheme, credentials] = String(ctx.headers.authorization ?? '').split(' ');
  if (scheme?.toLowerCase() !== 'basic' || !credentials) return undefined;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  try {
    // RFC 6749 §2.3.1: the id is form-urlencoded before Basic encoding.
    return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, '%20'));
  } catch {
    return undefined;
  }
}

/**
 * Journals every failed client authentication (a wrong secret, an unknown or inactive client) at
 * the endpoints where clients authenticate, one entry per failed request, on the organization
 * of the client's application. A client id no organization has is only logged.
 */
function journalClientAuthFailures(provider: Provider, core: DirectoryCore, log: ProviderOptions['log']): void {
  const failed = (endpoint: string) => (ctx: KoaContextWithOIDC, err: Error) => {
    if (!(err instanceof errors.InvalidClientAuth)) return;
    const clientId = presentedClientId(ctx)?.slice(0, 100) ?? '';
    void core.oidc
      .recordClientAuthFailure(clientId, { ip: ctx.ip, endpoint })
      .then((journaled) => {
        if (!journaled) log.warn({ clientId, endpoint, ip: ctx.ip }, 'OpenID Connect client authentication failed for an unknown client');
      })
      .catch((e: unknown) => log.error({ err: e }, 'journaling a failed OpenID Connect client authentication failed'));
  };
  // The endpoints where clients authenticate, by the events their errors emit.
  provider.on('grant.error', failed('token'));
  provider.on('introspection.error', failed('introspection'));
  provider.on('revocation.error', failed('revocation'));
}

/**
 * RP-initiated logout ends the Roster session too: when the user confirms at the end_session
 * endpoint ("Yes, sign me out"), the roster_session cookie's session is ended and the cookie
 * cleared, so that the next sign-in anywhere asks for the password again. Only after the
 * confirmation page, which the provider shows when its session has a user: an end_session
 * request from any site to a browser without one is confirmed automatically, and must not sign
 * the user out of Roster.
 */
function endRosterSessionOnLogout(provider: Provider, core: DirectoryCore, log: ProviderOptions['log']): void {
  provider.use(async (koa, next) => {
    await next();
    const ctx = koa as unknown as KoaContextWithOIDC;
    const oidc = ctx.oidc as KoaContextWithOIDC['oidc'] | undefined;
    if (oidc?.route !== 'end_session_confirm' || ctx.status !== 303 || !oidc.params?.logout || !oidc.session?.accountId) return;
    const token = ctx.cookies.get(SESSION_COOKIE, { signed: false });
    if (token) {
      // The provider's session is already gone and the browser on its way back to the client: a failure here is logged, the cookie cleared anyway.
      await core.signIn.signOut(token, { ip: ctx.ip, userAgent: String(ctx.headers['user-agent'] ?? ''), origin: 'sso' }).catch((e: unknown) => log.error({ err: e }, 'ending the Roster session at OpenID Connect logout failed'));
    }
    ctx.cookies.set(SESSION_COOKIE, null, { path: '/', signed: false, httpOnly: true, sameSite: 'lax', secure: ctx.secure, overwrite: true });
  });
}

/** node-oidc-provider, wired to Roster: storage, accounts, the keys given, the sign-in pages and policy. */
export function createProvider(core: DirectoryCore, issuer: string, options: ProviderOptions, keys: OidcKeys): Provider {
  const configuration: Configuration = {
    adapter: adapterFactory(core),
    findAccount: findAccount(core),
    jwks: { keys: keys.signing as never },
    cookies: {
      keys: keys.cookies,
      names: { session: 'roster_oidc_session', interaction: 'roster_oidc_interaction', resume: 'roster_oidc_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    claims: Object.fromEntries(Object.entries(CLAIMS).map(([scope, claims]) => [scope, [...claims]])),
    scopes: [...SCOPES],
    // The ID token carries the claims of the granted scopes, not only `sub`: most RPs read them there.
    conformIdTokenClaims: false,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = 'html';
          ctx.body = messagePage('Sign out', 'Do you want to sign out?').replace(
            '</main>',
            `${form}<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button><button type="submit" form="op.logoutForm">No, stay signed in</button></main>`,
          );
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = messagePage('Signed out', 'You have signed out.');
        },
      },
    },
    interactions: { url: (_ctx, interaction) => interactionPath(interaction.uid), policy: policy() },
    loadExistingGrant,
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      ClientCredentials: 3600,
      IdToken: OIDC_ID_TOKEN_TTL_SECONDS,
      Interaction: 3600,
      RefreshToken: 14 * 86_400,
      Grant: 14 * 86_400,
      Session: 14 * 86_400,
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = messagePage('Sign-in failed', `${out.error}: ${out.error_description ?? ''}`);
    },
  };
  const provider = new Provider(issuer, configuration);
  provider.proxy = options.proxy;
  provider.on('server_error', (_ctx: unknown, err: Error) => options.log.error({ err }, 'OpenID Connect provider error'));
  journalClientAuthFailures(provider, core, options.log);
  endRosterSessionOnLogout(provider, core, options.log);
  return provider;
}

import Provider, { interactionPolicy, type Configuration, type Grant, type KoaContextWithOIDC } from 'oidc-provider';
import type { DirectoryCore } from '../../core/directory.js';
import { messagePage } from '../pages.js';
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
  log: { error(fields: object, message: string): void };
}

/** node-oidc-provider, wired to Roster: storage, accounts, keys, the sign-in pages and policy. */
export async function createProvider(core: DirectoryCore, issuer: string, options: ProviderOptions): Promise<Provider> {
  const keys = await core.oidc.keys();
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
      IdToken: 3600,
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
  return provider;
}

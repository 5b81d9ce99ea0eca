import { createPublicKey, verify, type JsonWebKey } from 'node:crypto';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, tlsFetch } from '../support/browser.js';
import { startTestRoster, waitFor, type TestRoster } from '../support/test-roster.js';

const PASSWORD = 'CorrectHorse42x';
const REDIRECT = 'https://rp.example.test/callback';
const LOGGED_OUT = 'https://rp.example.test/logged-out';
const SCOPE = 'openid profile email groups offline_access';

/** Verifies a JWT's RS256 signature with the key its header names in `keys` (a JWKS); its kid. */
function verifiedKid(jwt: string, keys: JsonWebKey[]): string {
  const [header, payload, signature] = jwt.split('.') as [string, string, string];
  const { kid, alg } = JSON.parse(Buffer.from(header, 'base64url').toString()) as { kid: string; alg: string };
  expect(alg).toBe('RS256');
  const jwk = keys.find((k) => (k as { kid?: string }).kid === kid);
  if (!jwk) throw new Error(`the JWKS has no key ${kid}`);
  if (!verify('RSA-SHA256', Buffer.from(`${header}.${payload}`), createPublicKey({ key: jwk, format: 'jwk' }), Buffer.from(signature, 'base64url'))) {
    throw new Error(`the signature does not verify with ${kid}`);
  }
  return kid;
}

/**
 * The OAuth error code a failed openid-client call carries: in the body (`error`) or, for a 401
 * with a Basic challenge, in the WWW-Authenticate header's parameters.
 */
async function oauthError(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (e) {
    const err = e as { error?: string; cause?: { parameters?: { error?: string } }[] };
    return err.error ?? (Array.isArray(err.cause) ? err.cause[0]?.parameters?.error : undefined);
  }
  throw new Error('expected the call to fail');
}

describe('OpenID Connect provider (end to end, openid-client as the RP)', () => {
  let roster: TestRoster;
  let fetcher: ReturnType<typeof tlsFetch>;
  let issuer: URL;
  let appId: string;
  let secret: string;
  let aliceId: string;
  let config: oidc.Configuration;

  const discover = (clientSecret = secret, clientId = appId) =>
    oidc.discovery(issuer, clientId, { client_secret: clientSecret }, oidc.ClientSecretBasic(clientSecret), { [oidc.customFetch]: fetcher as never });

  /** A full authorization code + PKCE flow for a user; the tokens, or the error the RP received. */
  const signIn = async (username: string, browser = new Browser(roster.apiUrl, roster.certs.ca), conf = config) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(conf, {
      redirect_uri: REDIRECT,
      scope: SCOPE,
      prompt: 'consent',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
    const page = await browser.signInThrough(url.href, username, PASSWORD, 'https://rp.example.test/');
    if (!page.location?.startsWith('https://rp.example.test/')) throw new Error(`the flow ended at ${page.url}: ${page.status} ${page.body.slice(0, 500)}`);
    const landed = new URL(page.location);
    return { landed, verifier, state, nonce, browser };
  };

  beforeAll(async () => {
    // Keys are read again every second, so a rotated key signs a second after the rotation.
    roster = await startTestRoster({ prefix: 'roster-oidc-', orgName: 'OIDC Org', domain: 'oidc.example.com', env: { ROSTER_OIDC_KEY_REFRESH_SECONDS: '1' } });
    fetcher = tlsFetch(roster.certs.ca);
    issuer = new URL(`${roster.apiUrl}/oidc`);
    const app = await roster.must<{ _id: string }>('POST', '/api/applications', { name: 'Wiki', sso: { type: 'oidc' } }, 200, 201);
    appId = app._id;
    const client = await roster.must<{ clientId: string; clientSecret: string; hasSecret: boolean }>(
      'PUT',
      `/api/v2/applications/${appId}/oidc`,
      { redirectUris: [REDIRECT], postLogoutRedirectUris: [LOGGED_OUT], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'] },
      200,
    );
    expect(client.clientId).toBe(appId);
    expect(client.hasSecret).toBe(true);
    secret = client.clientSecret;
    expect(secret).toMatch(/^[\w-]{40,}$/);

    aliceId = await roster.createUser({ username: 'alice', firstname: 'Alice', lastname: 'Liddell', password: PASSWORD, state: 'ACTIVATED' });
    const engineers = await roster.createGroup('engineers');
    const staff = await roster.createGroup('staff');
    await roster.addMember(engineers, 'user', aliceId);
    await roster.addMember(staff, 'user_group', engineers);
    await roster.must('POST', `/api/v2/applications/${appId}/associations`, { op: 'add', type: 'user_group', id: engineers }, 204);
    await roster.createUser({ username: 'mallory', password: PASSWORD, state: 'ACTIVATED' });
    config = await discover();
  }, 120_000);

  afterAll(async () => {
    await roster?.stop();
  });

  it('publishes discovery metadata and keys under the issuer', async () => {
    const meta = config.serverMetadata();
    expect(meta.issuer).toBe(issuer.href);
    expect(meta.authorization_endpoint).toBe(`${issuer.href}/auth`);
    expect(meta.code_challenge_methods_supported).toContain('S256');
    expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'groups', 'offline_access']));
    const jwks = (await (await fetcher(meta.jwks_uri!)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('never returns the client secret again', async () => {
    const client = await roster.must('GET', `/api/v2/applications/${appId}/oidc`, undefined, 200);
    expect(client).not.toHaveProperty('clientSecret');
    expect(client.redirectUris).toEqual([REDIRECT]);
  });

  it('signs a user in with code + PKCE through the sign-in pages: ID token, userinfo with groups, refresh', async () => {
    const { landed, verifier, state, nonce } = await signIn('alice');
    expect(landed.searchParams.get('code')).toBeTruthy();
    const tokens = await oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe(aliceId);
    expect(claims.iss).toBe(issuer.href);
    expect(claims.aud).toBe(appId);
    expect(claims).toMatchObject({ preferred_username: 'alice', given_name: 'Alice', family_name: 'Liddell', email: 'alice@oidc.example.com', email_verified: true });
    expect(tokens.refresh_token).toBeTruthy();

    const info = await oidc.fetchUserInfo(config, tokens.access_token, aliceId);
    expect(info.email).toBe('alice@oidc.example.com');
    expect(info.groups).toEqual(['engineers', 'staff']);

    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
    expect(refreshed.claims()?.sub).toBe(aliceId);

    const journal = await roster.waitForJournal(['operation:eq:sign_in'], (e) => e.details?.protocol === 'oidc' && e.details?.result === 'success');
    expect(journal.details).toMatchObject({ applicationId: appId, userId: aliceId });
  });

  it('issues client_credentials tokens to the confidential client', async () => {
    const tokens = await oidc.clientCredentialsGrant(config);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
  });

  /** Signs alice in, then answers the provider's logout page: "Yes, sign me out" (`logout`) or "No, stay signed in". */
  const logOut = async (logout: boolean) => {
    const { landed, verifier, state, nonce, browser } = await signIn('alice');
    const tokens = await oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const rosterSession = browser.cookie('roster_session');
    expect(rosterSession).toBeTruthy();
    expect((await browser.get('/sso/session')).status).toBe(200);
    const end = oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: LOGGED_OUT, state: 'bye' });
    const page = await browser.get(end.href);
    expect(page.status).toBe(200);
    const html = page.body;
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    expect(action && xsrf, html).toBeTruthy();
    const confirmed = await browser.post(new URL(action!.replace(/&amp;/g, '&'), end).href, { xsrf: xsrf!, ...(logout ? { logout: 'yes' } : {}) });
    expect(confirmed.status).toBe(303);
    const location = new URL(confirmed.location!);
    expect(`${location.origin}${location.pathname}`).toBe(LOGGED_OUT);
    expect(location.searchParams.get('state')).toBe('bye');
    return { browser, rosterSession: rosterSession! };
  };

  it('logs out at the RP’s request, returns to its post-logout URI, and ends the Roster session too', async () => {
    const since = await roster.journalHead();
    const { browser, rosterSession } = await logOut(true);
    // The cookie is cleared, and the session it named is over even if a browser still sends it.
    expect(browser.cookie('roster_session')).toBeUndefined();
    expect((await browser.get('/sso/session')).status).toBe(401);
    expect((await new Browser(roster.apiUrl, roster.certs.ca).get('/sso/session', { cookie: `roster_session=${rosterSession}` })).status).toBe(401);
    await roster.waitForJournal(['operation:eq:sign_out'], (e) => e.details?.userId === aliceId, { since });

    // A new authorization request asks for the password again.
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT,
      scope: 'openid',
      state: oidc.randomState(),
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const landing = await browser.follow(await browser.get(url.href));
    expect(landing.status).toBe(200);
    expect(new URL(landing.url).pathname).toMatch(/^\/sso\/[0-9a-f]{24}\/sign-in$/);
  });

  it('keeps the Roster session when the user chooses to stay signed in at the logout page', async () => {
    const { browser } = await logOut(false);
    expect(browser.cookie('roster_session')).toBeTruthy();
    expect((await browser.get('/sso/session')).status).toBe(200);
  });

  it('answers access_denied to the client for a user without access, and journals it', async () => {
    const since = await roster.journalHead();
    const { landed } = await signIn('mallory');
    expect(landed.searchParams.get('error')).toBe('access_denied');
    expect(landed.searchParams.get('error_description')).toMatch(/does not have access/);
    expect(landed.searchParams.get('code')).toBeNull();
    await roster.waitForJournal(['operation:eq:sign_in'], (e) => e.details?.protocol === 'oidc' && e.details?.reason === 'NOT_ASSOCIATED', { since });
  });

  it('refuses a wrong client secret (invalid_client), and journals each failure on the organization without the secret', async () => {
    const since = await roster.journalHead();
    // An unknown client: refused, and there is no organization to journal it on.
    expect(await oauthError(oidc.clientCredentialsGrant(await discover('not-the-secret', 'ffffffffffffffffffffffff')))).toBe('invalid_client');
    const wrong = await discover('not-the-secret');
    expect(await oauthError(oidc.clientCredentialsGrant(wrong))).toBe('invalid_client');
    expect(await oauthError(oidc.tokenIntrospection(wrong, 'some-token'))).toBe('invalid_client');
    const failures = async () => (await roster.journal(['operation:eq:sign_in'], since)).filter((e) => e.details?.reason === 'INVALID_CLIENT_AUTH');
    await roster.waitForJournal(['operation:eq:sign_in'], (e) => e.details?.reason === 'INVALID_CLIENT_AUTH' && e.details?.endpoint === 'introspection', { since });
    await new Promise((r) => setTimeout(r, 200));
    const entries = await failures();
    expect(entries.map((e) => e.details?.endpoint).sort()).toEqual(['introspection', 'token']);
    for (const entry of entries) {
      expect(entry).toMatchObject({ objectType: 'organization', objectId: roster.orgId, origin: 'sso', actor: { type: 'system' } });
      expect(entry.details).toMatchObject({ protocol: 'oidc', clientId: appId, applicationId: appId, result: 'refused', reason: 'INVALID_CLIENT_AUTH', ip: expect.any(String) });
    }
    expect(JSON.stringify(entries)).not.toContain('not-the-secret');
    expect(roster.process.stdout()).not.toContain('not-the-secret');
  });

  it('refuses a code with the wrong PKCE verifier (invalid_grant)', async () => {
    const { landed, state, nonce } = await signIn('alice');
    expect(
      await oauthError(oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: oidc.randomPKCECodeVerifier(), expectedState: state, expectedNonce: nonce })),
    ).toBe('invalid_grant');
  });

  it('rotates the client secret: the old one stops working, the new one works', async () => {
    const rotated = await roster.must<{ clientSecret: string }>('POST', `/api/v2/applications/${appId}/oidc/secret`, undefined, 200);
    expect(rotated.clientSecret).not.toBe(secret);
    expect(await oauthError(oidc.clientCredentialsGrant(await discover(secret)))).toBe('invalid_client');
    secret = rotated.clientSecret;
    config = await discover();
    expect((await oidc.clientCredentialsGrant(config)).access_token).toBeTruthy();
  });

  it('ends tokens when the user is suspended: refresh and userinfo fail', async () => {
    const bobId = await roster.createUser({ username: 'bob', password: PASSWORD, state: 'ACTIVATED' });
    await roster.must('POST', `/api/v2/applications/${appId}/associations`, { op: 'add', type: 'user', id: bobId }, 204);
    const { landed, verifier, state, nonce } = await signIn('bob');
    const tokens = await oidc.authorizationCodeGrant(config, landed, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    expect((await oidc.fetchUserInfo(config, tokens.access_token, bobId)).preferred_username).toBe('bob');

    await roster.suspend(bobId);
    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).toBe('invalid_grant');
    expect(await oauthError(oidc.fetchUserInfo(config, tokens.access_token, bobId))).toBe('invalid_token');
  });

  it('rotates the signing key through the API without a restart: earlier ID tokens still verify with the JWKS, new ones carry the new key', async () => {
    const jwks = async () => ((await (await fetcher(config.serverMetadata().jwks_uri!)).json()) as { keys: JsonWebKey[] }).keys;
    const before = await signIn('alice');
    const oldTokens = await oidc.authorizationCodeGrant(config, before.landed, { pkceCodeVerifier: before.verifier, expectedState: before.state, expectedNonce: before.nonce });
    const oldKid = verifiedKid(oldTokens.id_token!, await jwks());
    const listed = await roster.must<{ kid: string; state: string; retires: string | null }[]>('GET', '/api/v2/oidc/keys', undefined, 200);
    expect(listed.find((k) => k.state === 'active')?.kid).toBe(oldKid);
    expect(JSON.stringify(listed)).not.toMatch(/"(d|p|q|dp|dq|qi)"/);

    const since = await roster.journalHead();
    const rotated = await roster.must<{ kid: string; state: string; activates: string; retires: string | null }[]>('POST', '/api/v2/oidc/keys/rotate', undefined, 200);
    const next = rotated.find((k) => k.state === 'next')!;
    expect(next.kid).not.toBe(oldKid);
    expect(rotated.find((k) => k.kid === oldKid)).toMatchObject({ state: 'active', retires: expect.any(String) });
    await roster.waitForJournal(['operation:eq:update'], (e) => (e.changes['oidc.signingKey'] as { after?: string } | undefined)?.after === next.kid, { since });

    // Published at once; signing from its activation, a second later.
    expect((await jwks()).map((k) => (k as { kid?: string }).kid)).toEqual(expect.arrayContaining([oldKid, next.kid]));
    await waitFor(
      async () => ((await roster.must<{ kid: string; state: string }[]>('GET', '/api/v2/oidc/keys', undefined, 200)).find((k) => k.state === 'active')?.kid === next.kid ? true : undefined),
      5_000,
      () => 'the new key never became active',
    );
    await new Promise((r) => setTimeout(r, 300));

    const after = await signIn('alice');
    const newTokens = await oidc.authorizationCodeGrant(config, after.landed, { pkceCodeVerifier: after.verifier, expectedState: after.state, expectedNonce: after.nonce });
    const keys = await jwks();
    expect(verifiedKid(newTokens.id_token!, keys)).toBe(next.kid);
    // The token signed before the rotation still verifies with the JWKS served now.
    expect(verifiedKid(oldTokens.id_token!, keys)).toBe(oldKid);
    // And the tokens made before the rotation still work.
    expect((await oidc.refreshTokenGrant(config, oldTokens.refresh_token!)).access_token).toBeTruthy();
    expect(keys.every((k) => !('d' in k))).toBe(true);
  });
});

/**
 * npm run bench:sso — single sign-on throughput of a real `roster serve` over HTTPS:
 *  - OpenID Connect: authorization codes exchanged at the token endpoint per second (code + PKCE,
 *    confidential client), and refresh-token grants per second, with openid-client as the client;
 *  - SAML 2.0: signed responses issued per second (IdP-initiated, a signed-in browser session),
 *    one of them checked by node-saml.
 * No SSO server is installed here to compare with, so there is no peer figure. A benchmark, not a
 * test: it prints figures and asserts nothing.
 */
import { performance } from 'node:perf_hooks';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import * as oidc from 'openid-client';
import { Browser, samlForm, tlsFetch } from '../test/support/browser.js';
import { startTestRoster } from '../test/support/test-roster.js';
import { percentile } from './support.js';

const CODES = Number(process.env.BENCH_CODES ?? 400);
const REFRESHES = Number(process.env.BENCH_REFRESHES ?? 1000);
const RESPONSES = Number(process.env.BENCH_SAML_RESPONSES ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const PASSWORD = 'CorrectHorse42x';
const REDIRECT = 'https://rp.bench.example/callback';
const ACS = 'https://sp.bench.example/acs';
const SP_ENTITY = 'https://sp.bench.example/metadata';

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Runs `task` `count` times with `width` in flight; per-call latencies (ms) and calls per second. */
async function load(count: number, width: number, task: (i: number, worker: number) => Promise<void>): Promise<{ rate: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: width }, async (_, worker) => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await task(i, worker);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { rate: count / ((performance.now() - started) / 1000), latencies };
}

const report = (label: string, r: { rate: number; latencies: number[] }, unit: string) =>
  console.log(`  ${label.padEnd(34)} ${fmt(r.rate, 1).padStart(8)} ${unit}/s   p50 ${fmt(percentile(r.latencies, 50), 1)} ms   p99 ${fmt(percentile(r.latencies, 99), 1)} ms`);

async function main(): Promise<void> {
  console.log(`bench:sso — ${CODES} code exchanges, ${REFRESHES} refreshes, ${RESPONSES} SAML responses, ${CONCURRENCY} in flight`);
  const roster = await startTestRoster({ prefix: 'roster-bench-sso-', orgName: 'Bench SSO', domain: 'sso.bench.example' });
  try {
    const userId = await roster.createUser({ username: 'ada', firstname: 'Ada', lastname: 'Lovelace', password: PASSWORD, state: 'ACTIVATED' });
    const group = await roster.createGroup('everyone');
    await roster.addMember(group, 'user', userId);

    // ---- OpenID Connect ----
    const app = await roster.must<{ _id: string }>('POST', '/api/applications', { name: 'Bench RP', sso: { type: 'oidc' } }, 200, 201);
    const client = await roster.must<{ clientSecret: string }>('PUT', `/api/v2/applications/${app._id}/oidc`, { redirectUris: [REDIRECT], grantTypes: ['authorization_code', 'refresh_token'] }, 200);
    await roster.must('POST', `/api/v2/applications/${app._id}/associations`, { op: 'add', type: 'user_group', id: group }, 204);
    const fetcher = tlsFetch(roster.certs.ca);
    const config = await oidc.discovery(new URL(`${roster.apiUrl}/oidc`), app._id, { client_secret: client.clientSecret }, oidc.ClientSecretBasic(client.clientSecret), {
      [oidc.customFetch]: fetcher as never,
    });
    // Authorization codes, each through the browser (signed in once), before the clock starts.
    const browser = new Browser(roster.apiUrl, roster.certs.ca);
    const grants: { url: URL; verifier: string; state: string }[] = [];
    for (let i = 0; i < CODES; i++) {
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const start = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT,
        scope: 'openid profile email groups offline_access',
        prompt: 'consent',
        state,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
      const landed = await browser.signInThrough(start.href, 'ada', PASSWORD, REDIRECT);
      if (!landed.location?.startsWith(REDIRECT)) throw new Error(`no code: ${landed.status} ${landed.body.slice(0, 300)}`);
      grants.push({ url: new URL(landed.location), verifier, state });
    }
    const refreshTokens: string[] = [];
    const exchanges = await load(CODES, CONCURRENCY, async (i) => {
      const g = grants[i]!;
      const tokens = await oidc.authorizationCodeGrant(config, g.url, { pkceCodeVerifier: g.verifier, expectedState: g.state });
      if (tokens.refresh_token) refreshTokens.push(tokens.refresh_token);
    });
    if (refreshTokens.length < CONCURRENCY) throw new Error('too few refresh tokens');
    // One refresh chain per worker: a refresh may rotate the token, so each worker uses what it got back.
    const chains = refreshTokens.slice(0, CONCURRENCY);
    const refreshes = await load(REFRESHES, CONCURRENCY, async (_i, worker) => {
      const tokens = await oidc.refreshTokenGrant(config, chains[worker]!);
      if (tokens.refresh_token) chains[worker] = tokens.refresh_token;
    });

    // ---- SAML 2.0 ----
    const samlApp = await roster.must<{ _id: string; config: Record<string, { value: unknown }> }>(
      'POST',
      '/api/applications',
      { name: 'Bench SP', sso: { type: 'saml' }, config: { acsUrl: { value: ACS }, spEntityId: { value: SP_ENTITY } } },
      200,
      201,
    );
    await roster.must('POST', `/api/v2/applications/${samlApp._id}/associations`, { op: 'add', type: 'user_group', id: group }, 204);
    const samlBrowser = new Browser(roster.apiUrl, roster.certs.ca);
    const first = await samlBrowser.signInThrough(`/saml/${samlApp._id}/start`, 'ada', PASSWORD, ACS);
    if (first.status !== 200) throw new Error(`SAML sign-on failed: ${first.status} ${first.body.slice(0, 300)}`);
    const sp = new SAML({
      entryPoint: `${roster.apiUrl}/saml/${samlApp._id}/sso`,
      issuer: SP_ENTITY,
      callbackUrl: ACS,
      audience: SP_ENTITY,
      idpIssuer: String(samlApp.config.idpEntityId?.value),
      idpCert: String(samlApp.config.idpCertificate?.value),
      wantAssertionsSigned: true,
      // Roster signs the assertion by default; the response envelope is signed only when the app asks.
      wantAuthnResponseSigned: false,
      validateInResponseTo: ValidateInResponseTo.never,
    });
    const checked = await sp.validatePostResponseAsync({ SAMLResponse: samlForm(first.body).SAMLResponse });
    if (!checked.profile?.nameID) throw new Error('node-saml did not accept the response');
    const responses = await load(RESPONSES, CONCURRENCY, async () => {
      const page = await samlBrowser.get(`/saml/${samlApp._id}/start`);
      if (page.status !== 200 || !page.body.includes('SAMLResponse')) throw new Error(`no SAML response: ${page.status}`);
    });

    console.log(`\nroster serve over HTTPS (store: SQLite), ${CONCURRENCY} requests in flight`);
    report('OIDC authorization-code exchanges', exchanges, 'codes');
    report('OIDC refresh-token grants', refreshes, 'grants');
    report('SAML responses (signed assertion)', responses, 'responses');
  } finally {
    await roster.stop();
  }
}

await main();

/**
 * Roster as a SAML identity provider, end to end: the real `roster serve` over HTTPS, node-saml as
 * the service provider, and a cookie-keeping client standing in for the browser, through the real
 * sign-in pages.
 */
import { SAML, ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/sso/saml/index.js';
import { startTestRoster, type JournalEntryWire, type TestRoster } from '../support/test-roster.js';
import { Browser, samlForm, type Page } from '../support/browser.js';

const PASSWORD = 'Correct-Horse-42x';
const DOMAIN = 'saml.test';
const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';
const DS = 'http://www.w3.org/2000/09/xmldsig#';

interface SamlApp {
  id: string;
  entityId: string;
  cert: string;
  spEntityId: string;
  acsUrl: string;
}

let roster: TestRoster;
let spKeys: SigningKeyPair;
/** Signs requests open to anyone; requires none. */
let open: SamlApp;
/** Requires signed AuthnRequests. */
let strict: SamlApp;
const users: Record<'ada' | 'bob' | 'carol', string> = { ada: '', bob: '', carol: '' };

async function createApp(name: string, spEntityId: string, acsUrl: string, extra: Record<string, unknown> = {}): Promise<SamlApp> {
  const app = await roster.must<{ _id: string; config: Record<string, { value: string }> }>(
    'POST',
    '/api/applications',
    { name, sso: { type: 'saml' }, config: { acsUrl: { value: acsUrl }, spEntityId: { value: spEntityId }, constantAttributes: { value: [{ name: 'tenant', value: 'acme' }] }, ...extra } },
    200,
  );
  expect(app.config.idpPrivateKey!.value).toBe('[REDACTED]');
  return { id: app._id, entityId: app.config.idpEntityId!.value, cert: app.config.idpCertificate!.value, spEntityId, acsUrl };
}

beforeAll(async () => {
  roster = await startTestRoster({ prefix: 'roster-saml-', orgName: 'Saml Org', domain: DOMAIN });
  spKeys = await generateSigningKeyPair({ entityId: 'https://signed-sp.example.net/metadata' });
  for (const name of Object.keys(users) as (keyof typeof users)[]) {
    users[name] = await roster.createUser({ username: name, password: PASSWORD, state: 'ACTIVATED' });
  }
  const engineering = await roster.createGroup('engineering');
  const backend = await roster.createGroup('backend');
  const staff = await roster.createGroup('staff');
  await roster.addMember(engineering, 'user_group', backend);
  await roster.addMember(backend, 'user', users.ada);
  await roster.addMember(engineering, 'user', users.carol);
  await roster.addMember(staff, 'user', users.ada);
  await roster.addMember(staff, 'user', users.bob);

  open = await createApp('wiki', 'https://sp.example.net/saml/metadata', 'https://sp.example.net/saml/acs');
  strict = await createApp('payroll', 'https://signed-sp.example.net/metadata', 'https://signed-sp.example.net/acs', {
    requireSignedAuthnRequests: { value: true },
    spCertificates: { value: [spKeys.certificatePem] },
    nameIdFormat: { value: 'persistent' },
    signResponse: { value: true },
  });
  for (const app of [open, strict]) await roster.must('POST', `/api/v2/applications/${app.id}/associations`, { op: 'add', type: 'user_group', id: engineering }, 204);
});

afterAll(async () => {
  await roster?.stop();
});

/** node-saml as the application's service provider, trusting the certificate Roster published. */
function serviceProvider(app: SamlApp, config: Partial<SamlConfig> = {}): SAML {
  return new SAML({
    entryPoint: `${roster.apiUrl}/saml/${app.id}/sso`,
    issuer: app.spEntityId,
    callbackUrl: app.acsUrl,
    audience: app.spEntityId,
    idpIssuer: app.entityId,
    idpCert: app.cert,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: app === strict,
    validateInResponseTo: ValidateInResponseTo.always,
    ...config,
  });
}

const signing = (): Partial<SamlConfig> => ({ privateKey: spKeys.privateKeyPem, publicCert: spKeys.certificatePem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });

const browser = () => new Browser(roster.apiUrl, roster.certs.ca);

const unescape = (s: string) => s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** From a redirect to the sign-in page: the form, filled in and posted; then every redirect after it. */
async function signIn(b: Browser, redirect: Page, username: string): Promise<Page> {
  expect(redirect.status, redirect.body).toBe(303);
  expect(new URL(redirect.location!).pathname).toBe(`/sso/${roster.orgId}/sign-in`);
  const form = await b.follow(redirect);
  expect(form.status).toBe(200);
  expect(form.body).toContain('Sign in to Saml Org');
  const returnTo = unescape(/name="return" value="([^"]*)"/.exec(form.body)![1]!);
  const posted = await b.post(`/sso/${roster.orgId}/sign-in`, { username, password: PASSWORD, return: returnTo }, { origin: roster.apiUrl });
  expect(posted.status, posted.body).toBe(303);
  expect(b.cookie('roster_session')).toMatch(/^rst_/);
  return b.follow(posted);
}

/** A browser signed in as `username` (through an IdP-initiated sign-on to the open application). */
async function signedInBrowser(username: string): Promise<Browser> {
  const b = browser();
  const page = await signIn(b, await b.get(`/saml/${open.id}/start`), username);
  expect(page.status, page.body).toBe(200);
  return b;
}

function expectRefusalPage(page: Page, status: number, text: RegExp) {
  expect(page.status, page.body).toBe(status);
  expect(page.headers['content-type']).toMatch(/^text\/html/);
  expect(page.body).toMatch(text);
  expect(page.body).not.toMatch(/\bat .*\.(ts|js):\d+/);
  expect(page.headers['content-security-policy']).toContain("default-src 'none'");
}

const journalSince = async (since: number, match: (e: JournalEntryWire) => boolean) =>
  roster.waitForJournal(['operation:eq:sign_in'], match, { since });

describe('SAML single sign-on against roster serve', () => {
  it('serves metadata with the application entity id, its certificate and both SSO bindings', async () => {
    for (const app of [open, strict]) {
      const page = await browser().get(`/saml/${app.id}/metadata`);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toMatch(/^application\/samlmetadata\+xml/);
      const doc = new DOMParser().parseFromString(page.body, 'text/xml');
      const root = doc.documentElement!;
      expect(root.getAttribute('entityID')).toBe(app.entityId);
      const idp = root.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0]!;
      expect(idp.getAttribute('WantAuthnRequestsSigned')).toBe(String(app === strict));
      const certs = Array.from(root.getElementsByTagNameNS(DS, 'X509Certificate')).map((c) => c.textContent);
      expect(certs).toEqual([app.cert.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, '')]);
      const services = Array.from(idp.getElementsByTagNameNS(MD, 'SingleSignOnService')).map((s) => [s.getAttribute('Binding'), s.getAttribute('Location')]);
      expect(services).toEqual([
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', `${roster.apiUrl}/saml/${app.id}/sso`],
        ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', `${roster.apiUrl}/saml/${app.id}/sso`],
      ]);
    }
  });

  it('SP-initiated over HTTP-Redirect: the request waits through the sign-in pages and node-saml accepts the answer', async () => {
    const sp = serviceProvider(open);
    const b = browser();
    const first = await b.get(await sp.getAuthorizeUrlAsync('/wiki/page?x=1', undefined, {}));
    const formPage = await signIn(b, first, 'ada');
    expect(formPage.status, formPage.body).toBe(200);
    const form = samlForm(formPage.body);
    expect(form.action).toBe(open.acsUrl);
    expect(form.RelayState).toBe('/wiki/page?x=1');
    expect(formPage.headers['content-security-policy']).toBe(`default-src 'none'; script-src 'nonce-${form.nonce}'; frame-ancestors 'none'; base-uri 'none'`);
    expect(b.cookieNames().filter((n) => n.startsWith('roster_saml_'))).toEqual([]);

    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse, RelayState: form.RelayState! });
    expect(profile).toMatchObject({
      issuer: open.entityId,
      nameID: `ada@${DOMAIN}`,
      nameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      email: `ada@${DOMAIN}`,
      username: 'ada',
      firstName: 'ada',
      lastName: 'Tester',
      // Groups that reach the application, nested ones included; not "staff".
      groups: ['backend', 'engineering'],
      tenant: 'acme',
    });

    // Signed in now: the next request is answered at once.
    const again = await b.get(await sp.getAuthorizeUrlAsync('', undefined, {}));
    expect(again.status).toBe(200);
    expect((await sp.validatePostResponseAsync({ SAMLResponse: samlForm(again.body).SAMLResponse })).profile?.nameID).toBe(`ada@${DOMAIN}`);
  });

  it('SP-initiated over HTTP-POST with a signed request: persistent NameID, signed response and assertion', async () => {
    const sp = serviceProvider(strict, { ...signing(), authnRequestBinding: 'HTTP-POST', identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent' });
    const message = await sp.getAuthorizeMessageAsync('post-relay');
    const b = browser();
    const posted = await b.post(`/saml/${strict.id}/sso`, { SAMLRequest: String(message.SAMLRequest), RelayState: String(message.RelayState) });
    // No SameSite=Lax session cookie comes with a cross-site POST: a GET back here looks for one first.
    expect(posted.status, posted.body).toBe(303);
    expect(new URL(posted.location!).pathname).toBe(`/saml/${strict.id}/continue`);
    const formPage = await signIn(b, await b.get(posted.location!), 'ada');
    const form = samlForm(formPage.body);
    expect(form).toMatchObject({ action: strict.acsUrl, RelayState: 'post-relay' });
    const xml = Buffer.from(form.SAMLResponse, 'base64').toString();
    expect(xml.match(/<ds:Signature /g)).toHaveLength(2);
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse });
    expect(profile).toMatchObject({ nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent', spNameQualifier: strict.spEntityId, email: `ada@${DOMAIN}` });
    expect(profile!.nameID).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(profile!.nameID).not.toContain(users.ada);

    // The same user gets the same persistent NameID next time.
    const again = await b.post(`/saml/${strict.id}/sso`, Object.fromEntries(Object.entries(await sp.getAuthorizeMessageAsync('')).map(([k, v]) => [k, String(v)])));
    const next = await b.follow(again);
    expect((await sp.validatePostResponseAsync({ SAMLResponse: samlForm(next.body).SAMLResponse })).profile?.nameID).toBe(profile!.nameID);
  });

  it('accepts a signed HTTP-Redirect request where signatures are required; refuses tampered and unsigned ones (400, journaled)', async () => {
    const b = await signedInBrowser('ada');
    const sp = serviceProvider(strict, signing());
    const good = await b.get(await sp.getAuthorizeUrlAsync('relay', undefined, {}));
    expect(good.status, good.body).toBe(200);
    expect((await sp.validatePostResponseAsync({ SAMLResponse: samlForm(good.body).SAMLResponse })).profile?.email).toBe(`ada@${DOMAIN}`);

    const since = await roster.journalHead();
    const signedUrl = await sp.getAuthorizeUrlAsync('relay', undefined, {});
    const tampered = await b.get(signedUrl.replace('RelayState=relay', 'RelayState=other'));
    expectRefusalPage(tampered, 400, /BAD_SIGNATURE/);
    const unsigned = await b.get(await serviceProvider(strict).getAuthorizeUrlAsync('', undefined, {}));
    expectRefusalPage(unsigned, 400, /SIGNATURE_REQUIRED/);
    const postUnsigned = await b.post(`/saml/${strict.id}/sso`, Object.fromEntries(Object.entries(await serviceProvider(strict, { authnRequestBinding: 'HTTP-POST' }).getAuthorizeMessageAsync('')).map(([k, v]) => [k, String(v)])));
    expectRefusalPage(postUnsigned, 400, /SIGNATURE_REQUIRED/);

    for (const error of ['BAD_SIGNATURE', 'SIGNATURE_REQUIRED']) {
      const entry = await journalSince(since, (e) => e.details?.applicationId === strict.id && e.details?.error === error);
      expect(entry).toMatchObject({ objectType: 'organization', origin: 'sso', details: { protocol: 'saml', result: 'refused', reason: 'AUTHN_REQUEST_REFUSED' } });
    }
  });

  it('refuses an ACS URL the application did not register, and a replayed request id', async () => {
    const b = await signedInBrowser('ada');
    const evil = await b.get(await serviceProvider(open, { callbackUrl: 'https://evil.example/acs' }).getAuthorizeUrlAsync('', undefined, {}));
    expectRefusalPage(evil, 400, /ACS_NOT_REGISTERED/);

    const url = await serviceProvider(open).getAuthorizeUrlAsync('', undefined, {});
    expect((await b.get(url)).status).toBe(200);
    expectRefusalPage(await b.get(url), 400, /REPLAYED/);
  });

  it('IdP-initiated: /start sends a response without InResponseTo to the first ACS URL, after sign-in if needed', async () => {
    const b = browser();
    const first = await b.get(`/saml/${open.id}/start?RelayState=${encodeURIComponent('/home')}`);
    const formPage = await signIn(b, first, 'carol');
    const form = samlForm(formPage.body);
    expect(form).toMatchObject({ action: open.acsUrl, RelayState: '/home' });
    expect(Buffer.from(form.SAMLResponse, 'base64').toString()).not.toContain('InResponseTo');
    const sp = serviceProvider(open, { validateInResponseTo: ValidateInResponseTo.never });
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse });
    expect(profile).toMatchObject({ nameID: `carol@${DOMAIN}`, groups: 'engineering' });
  });

  it('shows an unassociated user a 403 page and journals the refusal', async () => {
    const since = await roster.journalHead();
    const b = browser();
    const page = await signIn(b, await b.get(await serviceProvider(open).getAuthorizeUrlAsync('', undefined, {})), 'bob');
    expectRefusalPage(page, 403, /does not have access to this application/);
    expect(page.body).not.toContain('SAMLResponse');
    const entry = await journalSince(since, (e) => e.details?.userId === users.bob && e.details?.applicationId === open.id);
    expect(entry).toMatchObject({ actor: { type: 'user', id: users.bob }, details: { protocol: 'saml', result: 'refused', reason: 'NOT_ASSOCIATED' } });
  });

  it('sends a user suspended mid-session back to the sign-in page on the next request', async () => {
    const b = await signedInBrowser('carol');
    const sp = serviceProvider(open);
    expect((await b.get(await sp.getAuthorizeUrlAsync('', undefined, {}))).status).toBe(200);
    await roster.suspend(users.carol);
    try {
      const next = await b.get(await sp.getAuthorizeUrlAsync('', undefined, {}));
      expect(next.status).toBe(303);
      expect(new URL(next.location!).pathname).toBe(`/sso/${roster.orgId}/sign-in`);
      const start = await b.get(`/saml/${open.id}/start`);
      expect(new URL(start.location!).pathname).toBe(`/sso/${roster.orgId}/sign-in`);
    } finally {
      await roster.updateUser(users.carol, { state: 'ACTIVATED' });
    }
  });

  it('rotates the signing key: both certificates in the metadata, the old key signs until the switch', async () => {
    const b = await signedInBrowser('ada');
    const sign = async (cert: string) => {
      const sp = serviceProvider({ ...open, cert });
      const page = await b.get(await sp.getAuthorizeUrlAsync('', undefined, {}));
      return sp.validatePostResponseAsync({ SAMLResponse: samlForm(page.body).SAMLResponse });
    };
    const rotated = await roster.must<{ certificates: { use: string; certificate: string }[] }>('POST', `/api/v2/applications/${open.id}/saml/rotate`, undefined, 200);
    const next = rotated.certificates.find((c) => c.use === 'next')!.certificate;
    const metadata = await browser().get(`/saml/${open.id}/metadata`);
    expect(metadata.body.match(/<ds:X509Certificate>/g)).toHaveLength(2);
    expect((await sign(open.cert)).profile?.nameID).toBe(`ada@${DOMAIN}`);

    await roster.must('POST', `/api/v2/applications/${open.id}/saml/retire`, undefined, 200);
    expect((await sign(next)).profile?.nameID).toBe(`ada@${DOMAIN}`);
    await expect(sign(open.cert)).rejects.toThrow(/signature/i);
    const app = await roster.must<{ config: Record<string, { value: string }>; sso: { idpCertExpirationAt: string } }>('GET', `/api/applications/${open.id}`, undefined, 200);
    expect(app.config.idpCertificate!.value).toBe(next);
    open = { ...open, cert: next };
  });
});

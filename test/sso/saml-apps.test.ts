import { randomBytes, X509Certificate } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi, type Api } from '../../src/api/server.js';
import { createDirectoryCore, type DirectoryCore } from '../../src/core/directory.js';
import type { User } from '../../src/core/model.js';
import { SecretBox } from '../../src/core/secrets.js';
import { readSamlConfig, userAttributeValues } from '../../src/sso/saml-app-config.js';
import { SamlApplications } from '../../src/sso/saml-apps.js';
import { openPending, sealPending } from '../../src/sso/saml-pending.js';
import { registerSaml } from '../../src/sso/saml-routes.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../src/sso/saml/index.js';
import { registerSignIn } from '../../src/sso/sign-in.js';
import { openTestStore, type TestStore } from '../support/stores.js';

const HOST = 'roster.test';
const BASE = `http://${HOST}`;
const SP_ENTITY_ID = 'https://sp.example.net/metadata';
const ACS_URL = 'https://sp.example.net/acs';
const PASSWORD = 'CorrectHorse42x';

let testStore: TestStore;
let core: DirectoryCore;
let app: Api;
let key: string;
let spKeys: SigningKeyPair;
let otherKeys: SigningKeyPair;

beforeAll(async () => {
  testStore = await openTestStore('sqlite');
  core = createDirectoryCore(testStore.store, SecretBox.fromKey(randomBytes(32)));
  const first = await core.bootstrap({ orgName: 'Acme', adminEmail: 'root@acme.test' });
  key = first!.apiKey;
  app = await buildApi({ core, version: 'test', saml: new SamlApplications(core) });
  await registerSignIn(app, core);
  await registerSaml(app, core);
  await app.ready();
  [spKeys, otherKeys] = await Promise.all([generateSigningKeyPair({ entityId: SP_ENTITY_ID }), generateSigningKeyPair({ entityId: 'https://other.example' })]);
});
afterAll(async () => {
  await app?.close();
  await testStore?.dispose();
});

const api = (method: string, url: string, body?: unknown) =>
  app.inject({
    method: method as 'GET',
    url,
    headers: { host: HOST, 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
  });
const get = (url: string, cookies: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers: { host: HOST }, cookies });

const samlConfig = (extra: Record<string, unknown> = {}) => ({
  acsUrl: { value: ACS_URL },
  spEntityId: { value: SP_ENTITY_ID },
  ...extra,
});

async function createSamlApp(name: string, extra: Record<string, unknown> = {}) {
  const res = await api('POST', '/api/applications', { name, sso: { type: 'saml' }, config: samlConfig(extra) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ _id: string; config: Record<string, { value: any }>; sso: Record<string, unknown> }>();
}

function sp(appId: string, idpCert: string, options: Record<string, unknown> = {}) {
  return new SAML({
    entryPoint: `${BASE}/saml/${appId}/sso`,
    issuer: SP_ENTITY_ID,
    callbackUrl: ACS_URL,
    audience: SP_ENTITY_ID,
    idpIssuer: `${BASE}/saml/${appId}`,
    idpCert,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    ...options,
  });
}

const fieldOf = (html: string, name: string) => {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  return m?.[1]?.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');
};
const pathOf = (url: string) => {
  const u = new URL(url);
  return `${u.pathname}${u.search}`;
};
const cookiesOf = (res: LightMyRequestResponse) => Object.fromEntries(res.cookies.filter((c) => c.value !== '').map((c) => [c.name, c.value]));

describe('SAML application configuration', () => {
  it('reports every problem of a SAML config at once', () => {
    const { errors } = readSamlConfig({
      acsUrl: { value: 'http://sp.example.net/acs' },
      additionalAcsUrls: { value: ['https://sp.example.net/acs#x', 'not a url'] },
      requireSignedAuthnRequests: { value: true },
      nameIdFormat: { value: 'toString' },
      spCertificates: { value: ['not a certificate'] },
      signAssertion: { value: false },
      idpPrivateKey: { value: spKeys.privateKeyPem },
    });
    const fields = errors.map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'config.spEntityId',
        'config.acsUrl',
        'config.additionalAcsUrls',
        'config.nameIdFormat',
        'config.spCertificates',
        'config.signAssertion',
        'config.idpCertificate',
      ]),
    );
    expect(errors.find((e) => e.field === 'config.acsUrl')!.message).toMatch(/https/);
  });

  it('accepts http ACS URLs on loopback, bare values and NameID format URNs', () => {
    const { settings, errors } = readSamlConfig({
      acsUrl: 'http://127.0.0.1:3000/acs',
      spEntityId: 'sp',
      nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      additionalAcsUrls: ['https://sp.example.net/acs2'],
    });
    expect(errors).toEqual([]);
    expect(settings).toMatchObject({ acsUrls: ['http://127.0.0.1:3000/acs', 'https://sp.example.net/acs2'], nameIdFormat: 'persistent', groupsAttribute: 'groups', signAssertion: true });
  });

  it('maps user fields, custom attributes, group names and constants to attributes', () => {
    const { settings } = readSamlConfig({
      acsUrl: ACS_URL,
      spEntityId: 'sp',
      userAttributes: { value: [{ name: 'mail', field: 'email' }, { name: 'costCentre', field: 'attributes.costCentre' }, { name: 'dept', field: 'department' }] },
      groupsAttribute: { value: 'memberOf' },
      constantAttributes: { value: [{ name: 'tenant', value: 'acme' }, { name: 'mail', value: 'shared@acme.test' }, { name: '__proto__', value: 'x' }] },
    });
    const user = { id: 'u1', email: 'ada@acme.test', department: '', attributes: [{ name: 'costCentre', value: 'R&D' }] } as unknown as User;
    const values = userAttributeValues(settings, user, ['zeta', 'alpha']);
    expect(values).toEqual({ mail: ['ada@acme.test', 'shared@acme.test'], costCentre: ['R&D'], memberOf: ['alpha', 'zeta'], tenant: ['acme'], ['__proto__']: ['x'] });
    expect(Object.getPrototypeOf(values)).toBe(Object.prototype);
  });

  it('refuses an invalid SAML application through the API, naming each field', async () => {
    const res = await api('POST', '/api/applications', { name: 'broken', sso: { type: 'saml' }, config: { acsUrl: { value: 'ftp://x' } } });
    expect(res.statusCode).toBe(400);
    expect(res.json().details.map((d: { field: string }) => d.field)).toEqual(expect.arrayContaining(['config.spEntityId', 'config.acsUrl']));
    const mismatched = await api('POST', '/api/applications', {
      name: 'mismatched',
      sso: { type: 'saml' },
      config: samlConfig({ idpCertificate: { value: spKeys.certificatePem }, idpPrivateKey: { value: otherKeys.privateKeyPem } }),
    });
    expect(mismatched.statusCode).toBe(400);
    expect(mismatched.json().message).toMatch(/idpPrivateKey/);
  });

  it('makes a signing key pair, entity id and NameID secret for a new SAML application, sealed and journaled redacted', async () => {
    const created = await createSamlApp('made');
    const cert = created.config.idpCertificate!.value as string;
    expect(new X509Certificate(cert).subject).toContain(`CN=${BASE}/saml/${created._id}`);
    expect(created.config.idpPrivateKey!.value).toBe('[REDACTED]');
    expect(created.config.persistentNameIdSecret!.value).toBe('[REDACTED]');
    expect(created.config.idpEntityId!.value).toBe(`${BASE}/saml/${created._id}`);
    expect(created.sso.idpCertExpirationAt).toBe(new Date(new X509Certificate(cert).validTo).toISOString());
    const journal = await api('GET', `/api/v2/journal?filter=objectId:eq:${created._id}`);
    const update = journal.json<{ operation: string; changes: Record<string, unknown> }[]>().find((e) => e.operation === 'update')!;
    expect(update.changes['config.idpPrivateKey.value']).toEqual({ before: null, after: '[REDACTED]' });
    expect(JSON.stringify(journal.json())).not.toContain('PRIVATE KEY');
  });

  it('keeps the keys when a PUT leaves them out, and checks a new certificate against the kept key', async () => {
    const created = await createSamlApp('kept');
    const cert = created.config.idpCertificate!.value;
    const put = await api('PUT', `/api/applications/${created._id}`, { config: samlConfig({ acsUrl: { value: 'https://sp.example.net/acs-new' } }) });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json().config).toMatchObject({ acsUrl: { value: 'https://sp.example.net/acs-new' }, idpCertificate: { value: cert }, idpPrivateKey: { value: '[REDACTED]' } });
    const wrong = await api('PUT', `/api/applications/${created._id}`, { config: samlConfig({ idpCertificate: { value: otherKeys.certificatePem }, idpPrivateKey: { value: '[REDACTED]' } }) });
    expect(wrong.statusCode).toBe(400);
    expect(wrong.json().message).toMatch(/idpPrivateKey must be the PEM private key/);
  });

  it('rotates: the next certificate is published beside the current one, which signs until retired', async () => {
    const created = await createSamlApp('rotated');
    const current = created.config.idpCertificate!.value as string;
    expect((await api('POST', `/api/v2/applications/${created._id}/saml/retire`)).statusCode).toBe(409);
    const rotated = await api('POST', `/api/v2/applications/${created._id}/saml/rotate`);
    expect(rotated.statusCode, rotated.body).toBe(200);
    const [signing, next] = rotated.json().certificates;
    expect(signing).toMatchObject({ use: 'signing', certificate: current });
    expect(next.use).toBe('next');
    expect(rotated.json()).toMatchObject({ metadataUrl: `${BASE}/saml/${created._id}/metadata`, ssoUrl: `${BASE}/saml/${created._id}/sso` });

    const metadata = await get(`/saml/${created._id}/metadata`);
    expect(metadata.statusCode).toBe(200);
    expect(metadata.headers['content-type']).toMatch(/^application\/samlmetadata\+xml/);
    expect(metadata.body.match(/<ds:X509Certificate>/g)).toHaveLength(2);

    const retired = await api('POST', `/api/v2/applications/${created._id}/saml/retire`);
    expect(retired.json().certificates).toEqual([{ ...next, use: 'signing' }]);
    expect((await get(`/saml/${created._id}/metadata`)).body.match(/<ds:X509Certificate>/g)).toHaveLength(1);
    expect((await api('GET', `/api/applications/${created._id}`)).json().config.idpNextCertificate).toBeUndefined();
  });

  it('builds entity ids and endpoint URLs on ROSTER_PUBLIC_URL when it is set', async () => {
    const publicApp = await buildApi({ core, version: 'test', publicUrl: 'https://id.example.com/', saml: new SamlApplications(core) });
    await registerSaml(publicApp, core, { publicUrl: 'https://id.example.com/' });
    await publicApp.ready();
    try {
      const res = await publicApp.inject({
        method: 'POST',
        url: '/api/applications',
        headers: { host: HOST, 'x-api-key': key, 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'public', sso: { type: 'saml' }, config: samlConfig() }),
      });
      const id = res.json()._id;
      expect(res.json().config.idpEntityId.value).toBe(`https://id.example.com/saml/${id}`);
      const metadata = await publicApp.inject({ method: 'GET', url: `/saml/${id}/metadata`, headers: { host: HOST } });
      expect(metadata.body).toContain(`Location="https://id.example.com/saml/${id}/sso"`);
    } finally {
      await publicApp.close();
    }
  });

  it('answers 404 pages for unknown and non-SAML applications, and 409 for SAML endpoints of a non-SAML application', async () => {
    const plain = (await api('POST', '/api/applications', { name: 'plain' })).json();
    for (const url of ['/saml/0123456789abcdef01234567/metadata', '/saml/not-an-id/sso', `/saml/${plain._id}/metadata`]) {
      const res = await get(url);
      expect(res.statusCode).toBe(404);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    }
    expect((await api('POST', `/api/v2/applications/${plain._id}/saml/rotate`)).statusCode).toBe(409);
  });
});

describe('SAML single sign-on (inject)', () => {
  let appId: string;
  let idpCert: string;
  let ada: User;

  beforeAll(async () => {
    const created = await createSamlApp('sso');
    appId = created._id;
    idpCert = created.config.idpCertificate!.value;
    const ctx = await core.apiKeys.authenticate(key, undefined, 'api');
    ada = await core.users.create(ctx, { username: 'ada', email: 'ada@acme.test', password: PASSWORD, state: 'ACTIVATED' });
    await core.associations.change(ctx, { type: 'user', id: ada.id }, { type: 'application', id: appId }, 'add');
  });

  const signIn = async (returnTo: string) => {
    const orgs = await core.store.read.orgs.listAll({ sort: [], page: { limit: 1, skip: 0 } });
    const res = await app.inject({
      method: 'POST',
      url: `/sso/${orgs.items[0]!.id}/sign-in`,
      headers: { host: HOST, origin: BASE, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: 'ada', password: PASSWORD, return: returnTo }).toString(),
    });
    expect(res.statusCode).toBe(303);
    return cookiesOf(res).roster_session!;
  };

  it('answers IsPassive without a session with a signed NoPassive response', async () => {
    const saml = sp(appId, idpCert);
    const url = await saml.getAuthorizeUrlAsync('', undefined, {});
    const passive = url.replace(/SAMLRequest=([^&]*)/, (_m, v: string) => {
      const xml = inflateRawSync(Buffer.from(decodeURIComponent(v), 'base64')).toString().replace('<samlp:AuthnRequest ', '<samlp:AuthnRequest IsPassive="true" ');
      return `SAMLRequest=${encodeURIComponent(deflateRawSync(xml).toString('base64'))}`;
    });
    const res = await get(pathOf(passive));
    expect(res.statusCode).toBe(200);
    const xml = Buffer.from(fieldOf(res.body, 'SAMLResponse')!, 'base64').toString();
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:status:NoPassive');
    expect(xml).toContain('<ds:Signature');
    // node-saml reads NoPassive as "not signed in" (it checks the signature first).
    expect(await saml.validatePostResponseAsync({ SAMLResponse: fieldOf(res.body, 'SAMLResponse')! })).toEqual({ profile: null, loggedOut: false });
  });

  it('keeps the request in a cookie across sign-in, then answers it; the kept request is refused when tampered with', async () => {
    const saml = sp(appId, idpCert, { validateInResponseTo: ValidateInResponseTo.always });
    const first = await get(pathOf(await saml.getAuthorizeUrlAsync('state-1', undefined, {})));
    expect(first.statusCode).toBe(303);
    const location = new URL(first.headers.location as string, BASE);
    expect(location.pathname).toMatch(/^\/sso\/[0-9a-f]{24}\/sign-in$/);
    const back = location.searchParams.get('return')!;
    expect(back).toMatch(new RegExp(`^/saml/${appId}/continue\\?k=[A-Za-z0-9_-]{22}$`));
    const pending = first.cookies.find((c) => c.name.startsWith('roster_saml_'))!;
    expect(pending).toMatchObject({ httpOnly: true, sameSite: 'Lax', path: `/saml/${appId}` });

    const session = await signIn(back);
    const tampered = await get(back, { roster_session: session, [pending.name]: `${pending.value.slice(0, -2)}AA` });
    expect(tampered.statusCode).toBe(400);
    const res = await get(back, { roster_session: session, [pending.name]: pending.value });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'nonce-[^']+'/);
    expect(res.cookies.find((c) => c.name === pending.name)?.value).toBe('');
    const { profile } = await saml.validatePostResponseAsync({ SAMLResponse: fieldOf(res.body, 'SAMLResponse')! });
    expect(profile).toMatchObject({ nameID: 'ada@acme.test', email: 'ada@acme.test', username: 'ada' });
    expect(fieldOf(res.body, 'RelayState')).toBe('state-1');
  });

  it('sends a ForceAuthn request to sign in again even with a session', async () => {
    const session = await signIn('/');
    const saml = sp(appId, idpCert, { forceAuthn: true });
    const res = await get(pathOf(await saml.getAuthorizeUrlAsync('', undefined, {})), { roster_session: session });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toMatch(/\/sign-in\?return=/);
  });

  it('MACs the kept request to its application, its cookie and ten minutes', () => {
    const request = { id: '_r', issuer: SP_ENTITY_ID, acsUrl: ACS_URL, relayState: 'x\u0001"', forceAuthn: false, isPassive: false, signed: false, binding: 'redirect' as const };
    const now = Date.now();
    const sealed = sealPending('s'.repeat(32), 'app1', request, now)!;
    expect(openPending('s'.repeat(32), 'app1', sealed.key, sealed.value, now + 1000)?.request).toEqual(request);
    expect(openPending('s'.repeat(32), 'app2', sealed.key, sealed.value, now)).toBeUndefined();
    expect(openPending('t'.repeat(32), 'app1', sealed.key, sealed.value, now)).toBeUndefined();
    expect(openPending('s'.repeat(32), 'app1', 'A'.repeat(22), sealed.value, now)).toBeUndefined();
    expect(openPending('s'.repeat(32), 'app1', sealed.key, sealed.value, now + 10 * 60_000 + 1)).toBeUndefined();
    expect(sealPending('s'.repeat(32), 'app1', { ...request, relayState: 'x'.repeat(3000) }, now)).toBeUndefined();
  });
});

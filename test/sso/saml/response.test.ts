import { ValidateInResponseTo } from '@node-saml/node-saml';
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeAuthnRequest, validateAuthnRequest } from '../../../src/sso/saml/authn-request.js';
import { renderPostForm } from '../../../src/sso/saml/post-form.js';
import { buildSamlResponse, persistentNameId, SamlResponseError, type BuildResponseInput } from '../../../src/sso/saml/response.js';
import {
  ACS_URL,
  IDP_ENTITY_ID,
  newReplayCache,
  rawQuery,
  serviceProvider,
  SP_ENTITY_ID,
  spConfig,
  testCredentials,
  type Credentials,
} from './fixtures.js';

let creds: Credentials;
beforeAll(async () => {
  creds = await testCredentials();
});

const USER = { id: 'u-42', username: 'ada', email: 'ada@example.com' };
const ATTRIBUTES = { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace & <Byron>', groups: ['engineering', 'admins'] };
const SECRET = 'a persistent-id secret of enough length';

function response(overrides: Partial<BuildResponseInput> = {}) {
  return buildSamlResponse({
    idp: { entityId: IDP_ENTITY_ID, credential: creds.idp },
    sp: { entityId: SP_ENTITY_ID, acsUrl: ACS_URL },
    user: USER,
    nameIdFormat: 'emailAddress',
    persistentIdSecret: SECRET,
    attributes: ATTRIBUTES,
    ...overrides,
  });
}

describe('SAML Response validated by node-saml', () => {
  it('completes SP-initiated SSO: node-saml request → Roster → node-saml checks InResponseTo, signature, NameID, attributes', async () => {
    const sp = serviceProvider(creds, { validateInResponseTo: ValidateInResponseTo.always });
    const url = await sp.getAuthorizeUrlAsync('relay', undefined, {});
    const decoded = decodeAuthnRequest({ binding: 'redirect', query: rawQuery(url) });
    if (!decoded.ok) throw decoded.error;
    const request = validateAuthnRequest(decoded.value, spConfig(creds), { replayCache: newReplayCache() });
    if (!request.ok) throw request.error;

    const built = response({ inResponseTo: request.value.id, sp: { entityId: request.value.issuer, acsUrl: request.value.acsUrl } });
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: built.samlResponse });
    expect(profile).toMatchObject({
      issuer: IDP_ENTITY_ID,
      nameID: USER.email,
      nameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      sessionIndex: built.sessionIndex,
      inResponseTo: request.value.id,
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace & <Byron>',
      groups: ['engineering', 'admins'],
    });
  });

  it('is refused by node-saml when InResponseTo names a request it never sent', async () => {
    const sp = serviceProvider(creds, { validateInResponseTo: ValidateInResponseTo.always });
    await expect(sp.validatePostResponseAsync({ SAMLResponse: response({ inResponseTo: '_never-sent' }).samlResponse })).rejects.toThrow(/InResponseTo/);
  });

  it('supports IdP-initiated SSO (no InResponseTo)', async () => {
    const built = response();
    expect(built.xml).not.toContain('InResponseTo');
    const { profile } = await serviceProvider(creds).validatePostResponseAsync({ SAMLResponse: built.samlResponse });
    expect(profile?.nameID).toBe(USER.email);
  });

  it('signs the response only, when asked', async () => {
    const built = response({ sign: { assertion: false, response: true } });
    const sp = serviceProvider(creds, { wantAssertionsSigned: false, wantAuthnResponseSigned: true });
    expect((await sp.validatePostResponseAsync({ SAMLResponse: built.samlResponse })).profile?.nameID).toBe(USER.email);
    // An SP that insists on a signed assertion refuses it.
    await expect(serviceProvider(creds).validatePostResponseAsync({ SAMLResponse: built.samlResponse })).rejects.toThrow();
  });

  it('signs both the assertion and the response', async () => {
    const built = response({ sign: { assertion: true, response: true } });
    expect(built.xml.match(/<ds:Signature /g)).toHaveLength(2);
    const sp = serviceProvider(creds, { wantAssertionsSigned: true, wantAuthnResponseSigned: true });
    expect((await sp.validatePostResponseAsync({ SAMLResponse: built.samlResponse })).profile?.nameID).toBe(USER.email);
  });

  it('refuses to build an unsigned response', () => {
    expect(() => response({ sign: { assertion: false, response: false } })).toThrow(SamlResponseError);
  });

  it('issues a persistent NameID that is stable per SP and differs between SPs', async () => {
    const built = response({ nameIdFormat: 'persistent' });
    const { profile } = await serviceProvider(creds).validatePostResponseAsync({ SAMLResponse: built.samlResponse });
    expect(profile).toMatchObject({
      nameID: persistentNameId(SECRET, USER.id, SP_ENTITY_ID),
      nameIDFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      spNameQualifier: SP_ENTITY_ID,
    });
    expect(response({ nameIdFormat: 'persistent' }).nameId).toBe(built.nameId);
    expect(persistentNameId(SECRET, USER.id, 'https://other-sp.example')).not.toBe(built.nameId);
    expect(built.nameId).not.toContain(USER.id);
    expect(() => response({ nameIdFormat: 'persistent', persistentIdSecret: undefined })).toThrow(SamlResponseError);
  });

  it('issues the username as an unspecified NameID', async () => {
    const { profile } = await serviceProvider(creds).validatePostResponseAsync({ SAMLResponse: response({ nameIdFormat: 'unspecified' }).samlResponse });
    expect(profile).toMatchObject({ nameID: 'ada', nameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified' });
  });

  it('refuses an emailAddress NameID for a user without email', () => {
    expect(() => response({ user: { ...USER, email: '' } })).toThrow(expect.objectContaining({ code: 'NAME_ID_UNAVAILABLE' }));
  });

  it('is rejected by node-saml when tampered with', async () => {
    for (const sign of [{ assertion: true }, { assertion: false, response: true }]) {
      const built = response({ sign });
      const tampered = built.xml.replace(`>${USER.email}</saml:NameID>`, '>mallory@example.com</saml:NameID>');
      expect(tampered).not.toBe(built.xml);
      const sp = serviceProvider(creds, { wantAssertionsSigned: sign.assertion, wantAuthnResponseSigned: !sign.assertion });
      await expect(sp.validatePostResponseAsync({ SAMLResponse: Buffer.from(tampered).toString('base64') })).rejects.toThrow(/signature/i);
    }
  });

  it('is rejected by node-saml when signed with a key the SP does not trust', async () => {
    const sp = serviceProvider(creds, { idpCert: creds.stranger.certificatePem });
    await expect(sp.validatePostResponseAsync({ SAMLResponse: response().samlResponse })).rejects.toThrow(/signature/i);
  });

  it('is rejected by node-saml once expired', async () => {
    const built = response({ now: new Date(Date.now() - 60 * 60 * 1000) });
    await expect(serviceProvider(creds).validatePostResponseAsync({ SAMLResponse: built.samlResponse })).rejects.toThrow(/expired/i);
  });

  it('is rejected by node-saml at another audience', async () => {
    const built = response({ sp: { entityId: 'https://other-sp.example', acsUrl: ACS_URL } });
    await expect(serviceProvider(creds).validatePostResponseAsync({ SAMLResponse: built.samlResponse })).rejects.toThrow(/audience/i);
  });

  it('encrypts the assertion to the SP certificate (AES-256-GCM, RSA-OAEP), which node-saml decrypts and verifies', async () => {
    const built = response({ encryption: { spCertificate: creds.sp.certificatePem } });
    expect(built.xml).toContain('<saml:EncryptedAssertion');
    expect(built.xml).not.toContain(USER.email);
    const sp = serviceProvider(creds, { decryptionPvk: creds.sp.privateKeyPem });
    const { profile } = await sp.validatePostResponseAsync({ SAMLResponse: built.samlResponse });
    expect(profile).toMatchObject({ nameID: USER.email, groups: ['engineering', 'admins'] });
  });

  it('carries the bearer confirmation, conditions and authentication statement the profile requires', () => {
    const now = new Date('2030-01-02T03:04:05.000Z');
    const { xml } = response({ now, inResponseTo: '_req1', lifetimeMs: 120_000 });
    expect(xml).toContain(`<saml:SubjectConfirmationData InResponseTo="_req1" Recipient="${ACS_URL}" NotOnOrAfter="2030-01-02T03:06:05.000Z"/>`);
    expect(xml).toContain('<saml:Conditions NotBefore="2030-01-02T03:04:05.000Z" NotOnOrAfter="2030-01-02T03:06:05.000Z">');
    expect(xml).toContain(`<saml:Audience>${SP_ENTITY_ID}</saml:Audience>`);
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport');
    expect(xml).toContain('Lovelace &amp; &lt;Byron&gt;');
  });
});

describe('HTTP-POST binding form', () => {
  it('escapes every value and submits itself', () => {
    const html = renderPostForm({ action: 'https://sp.example.net/acs?a=1&b="2"', samlResponse: 'PHNhbWw+', relayState: '"><script>alert(1)</script>', nonce: 'n0nce' });
    expect(html).toContain('action="https://sp.example.net/acs?a=1&amp;b=&quot;2&quot;"');
    expect(html).toContain('name="RelayState" value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('<script nonce="n0nce">document.forms[0].submit();</script>');
  });

  it('refuses a non-http action', () => {
    expect(() => renderPostForm({ action: 'javascript:alert(1)', samlResponse: 'x' })).toThrow(TypeError);
    expect(() => renderPostForm({ action: '/relative', samlResponse: 'x' })).toThrow(TypeError);
  });
});

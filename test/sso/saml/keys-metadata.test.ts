import { X509Certificate } from 'node:crypto';
import { DOMParser } from '@xmldom/xmldom';
import { beforeAll, describe, expect, it } from 'vitest';
import { certificateFingerprint, fingerprintsEqual, generateSigningKeyPair } from '../../../src/sso/saml/keys.js';
import { buildIdpMetadata } from '../../../src/sso/saml/metadata.js';
import { ReplayCache } from '../../../src/sso/saml/replay-cache.js';
import { verifyEnvelopedSignature } from '../../../src/sso/saml/signature.js';
import { IDP_ENTITY_ID, SSO_URL, testCredentials, type Credentials } from './fixtures.js';

let creds: Credentials;
beforeAll(async () => {
  creds = await testCredentials();
});

describe('signing keys', () => {
  it('makes an RSA-2048 key and a self-signed SHA-256 certificate for the IdP entity id', async () => {
    const now = new Date('2030-06-01T00:00:00Z');
    const pair = await generateSigningKeyPair({ entityId: IDP_ENTITY_ID, validityDays: 30, now });
    const cert = new X509Certificate(pair.certificatePem);
    expect(cert.subject).toBe(`CN=${IDP_ENTITY_ID}`);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(cert.checkPrivateKey(await import('node:crypto').then((c) => c.createPrivateKey(pair.privateKeyPem)))).toBe(true);
    expect(new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()).toBe(30 * 24 * 3600 * 1000);
    expect(Math.abs(new Date(cert.validFrom).getTime() - now.getTime())).toBeLessThanOrEqual(60_000);
    expect(pair.notAfter.getTime()).toBe(new Date(cert.validTo).getTime());
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(cert.serialNumber).not.toMatch(/^[89A-F]/);
  });

  it('computes the SHA-256 fingerprint SPs display', () => {
    const fingerprint = certificateFingerprint(creds.idp.certificatePem);
    expect(fingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(fingerprint).toBe(creds.idp.fingerprintSha256);
    expect(fingerprintsEqual(fingerprint, fingerprint.replace(/:/g, '').toLowerCase())).toBe(true);
    expect(fingerprintsEqual(fingerprint, creds.sp.fingerprintSha256)).toBe(false);
    expect(fingerprintsEqual('', '')).toBe(false);
  });

  it('refuses a non-positive validity', async () => {
    await expect(generateSigningKeyPair({ entityId: IDP_ENTITY_ID, validityDays: 0 })).rejects.toThrow(RangeError);
  });
});

describe('IdP metadata', () => {
  const parse = (xml: string) => new DOMParser().parseFromString(xml, 'text/xml');
  const MD = 'urn:oasis:names:tc:SAML:2.0:metadata';

  it('describes the IdP with every signing certificate during rotation, NameID formats and both SSO bindings', () => {
    const xml = buildIdpMetadata({
      entityId: IDP_ENTITY_ID,
      certificates: [creds.idp.certificatePem, creds.sp.certificatePem],
      ssoUrls: { redirect: SSO_URL, post: `${SSO_URL}?binding=post&x=1` },
      wantAuthnRequestsSigned: true,
    });
    const doc = parse(xml);
    expect(doc.documentElement.getAttribute('entityID')).toBe(IDP_ENTITY_ID);
    const idp = doc.getElementsByTagNameNS(MD, 'IDPSSODescriptor')[0]!;
    expect(idp.getAttribute('WantAuthnRequestsSigned')).toBe('true');
    expect(idp.getAttribute('protocolSupportEnumeration')).toBe('urn:oasis:names:tc:SAML:2.0:protocol');
    const certs = Array.from(doc.getElementsByTagNameNS('http://www.w3.org/2000/09/xmldsig#', 'X509Certificate')).map((e) => e.textContent);
    expect(certs).toHaveLength(2);
    expect(certificateFingerprint(`-----BEGIN CERTIFICATE-----\n${certs[0]}\n-----END CERTIFICATE-----`)).toBe(creds.idp.fingerprintSha256);
    expect(Array.from(doc.getElementsByTagNameNS(MD, 'NameIDFormat')).map((e) => e.textContent)).toEqual([
      'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
      'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
      'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
    ]);
    const sso = Array.from(doc.getElementsByTagNameNS(MD, 'SingleSignOnService')).map((e) => [e.getAttribute('Binding'), e.getAttribute('Location')]);
    expect(sso).toEqual([
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', SSO_URL],
      ['urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', `${SSO_URL}?binding=post&x=1`],
    ]);
  });

  it('signs the metadata when asked, first child of EntityDescriptor, verifiable with the IdP certificate', () => {
    const xml = buildIdpMetadata({ entityId: IDP_ENTITY_ID, certificates: [creds.idp.certificatePem], ssoUrls: { redirect: SSO_URL, post: SSO_URL }, sign: creds.idp });
    const doc = parse(xml);
    const first = Array.from(doc.documentElement.childNodes).find((n) => n.nodeType === 1) as Element;
    expect(first.localName).toBe('Signature');
    expect(verifyEnvelopedSignature(xml, doc, doc.documentElement, [creds.idp.certificatePem]).ok).toBe(true);
    expect(verifyEnvelopedSignature(xml, doc, doc.documentElement, [creds.sp.certificatePem]).ok).toBe(false);
    const tampered = xml.replace(SSO_URL, 'https://evil.example/sso');
    expect(verifyEnvelopedSignature(tampered, parse(tampered), parse(tampered).documentElement, [creds.idp.certificatePem]).ok).toBe(false);
  });
});

describe('ReplayCache', () => {
  it('remembers IDs per issuer within the window, then forgets them', () => {
    let now = 0;
    const cache = new ReplayCache({ windowMs: 1000, now: () => now });
    expect(cache.checkAndRecord('sp1', 'a')).toBe(true);
    expect(cache.checkAndRecord('sp1', 'a')).toBe(false);
    expect(cache.checkAndRecord('sp2', 'a')).toBe(true);
    now = 999;
    expect(cache.checkAndRecord('sp1', 'a')).toBe(false);
    now = 1000;
    expect(cache.checkAndRecord('sp1', 'a')).toBe(true);
    expect(cache.size).toBe(1);
  });

  it('keeps issuer and ID apart when their concatenations collide', () => {
    const cache = new ReplayCache({ windowMs: 1000 });
    expect(cache.checkAndRecord('ab', 'c')).toBe(true);
    expect(cache.checkAndRecord('a', 'bc')).toBe(true);
  });

  it('stays within its bound by evicting the oldest', () => {
    const cache = new ReplayCache({ windowMs: 60_000, maxEntries: 3 });
    for (const id of ['1', '2', '3', '4']) expect(cache.checkAndRecord('sp', id)).toBe(true);
    expect(cache.size).toBe(3);
    expect(cache.checkAndRecord('sp', '4')).toBe(false);
    expect(cache.checkAndRecord('sp', '1')).toBe(true);
  });
});

import { SAML, ValidateInResponseTo, type SamlConfig } from '@node-saml/node-saml';
import { generateSigningKeyPair, type SigningKeyPair } from '../../../src/sso/saml/keys.js';
import { ReplayCache } from '../../../src/sso/saml/replay-cache.js';
import type { ServiceProviderConfig } from '../../../src/sso/saml/authn-request.js';

export const IDP_ENTITY_ID = 'https://roster.example.com/saml/app-1';
export const SSO_URL = 'https://roster.example.com/saml/app-1/sso';
export const SP_ENTITY_ID = 'https://sp.example.net/saml/metadata';
export const ACS_URL = 'https://sp.example.net/saml/acs';
export const OTHER_ACS_URL = 'https://sp.example.net/saml/acs-2';

export interface Credentials {
  idp: SigningKeyPair;
  /** The SP's request-signing (and encryption) key. */
  sp: SigningKeyPair;
  /** A key nobody registered. */
  stranger: SigningKeyPair;
}

let credentials: Promise<Credentials> | undefined;

/** Keys made once per test file: RSA generation is the slow part. */
export function testCredentials(): Promise<Credentials> {
  credentials ??= Promise.all([
    generateSigningKeyPair({ entityId: IDP_ENTITY_ID }),
    generateSigningKeyPair({ entityId: SP_ENTITY_ID }),
    generateSigningKeyPair({ entityId: 'https://stranger.example.org' }),
  ]).then(([idp, sp, stranger]) => ({ idp, sp, stranger }));
  return credentials;
}

/** node-saml as the service provider, trusting the IdP certificate. */
export function serviceProvider(creds: Credentials, config: Partial<SamlConfig> = {}): SAML {
  return new SAML({
    entryPoint: SSO_URL,
    issuer: SP_ENTITY_ID,
    callbackUrl: ACS_URL,
    audience: SP_ENTITY_ID,
    idpIssuer: IDP_ENTITY_ID,
    idpCert: creds.idp.certificatePem,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.ifPresent,
    identifierFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    ...config,
  });
}

/** Signing options for a node-saml SP that signs its AuthnRequests. */
export const signingSp = (creds: Credentials, algorithm: 'sha1' | 'sha256' = 'sha256'): Partial<SamlConfig> => ({
  privateKey: creds.sp.privateKeyPem,
  publicCert: creds.sp.certificatePem,
  signatureAlgorithm: algorithm,
  digestAlgorithm: algorithm,
});

export function spConfig(creds: Credentials, overrides: Partial<ServiceProviderConfig> = {}): ServiceProviderConfig {
  return {
    entityId: SP_ENTITY_ID,
    acsUrls: [ACS_URL, OTHER_ACS_URL],
    requireSignedRequests: false,
    spCertificates: [creds.sp.certificatePem],
    ...overrides,
  };
}

export const newReplayCache = () => new ReplayCache({ windowMs: 10 * 60 * 1000 });

/** The raw query string of a URL node-saml built, as the IdP's HTTP server would receive it. */
export const rawQuery = (url: string): string => new URL(url).search.slice(1);

import { createHmac } from 'node:crypto';
import {
  ATTRNAME_FORMAT_BASIC,
  AUTHN_CONTEXT_PASSWORD_PROTECTED_TRANSPORT,
  CONFIRMATION_BEARER,
  NAME_ID_FORMATS,
  NS,
  STATUS_SUCCESS,
  type NameIdFormat,
} from './constants.js';
import { encryptAssertion, type AssertionEncryption } from './encryption.js';
import { signEnveloped, xpathStep, type SigningCredential } from './signature.js';
import { escapeXml, instant, newSamlId } from './xml.js';

/** The user as the SAML response describes them. */
export interface SamlSubject {
  id: string;
  username: string;
  email: string;
}

export type AttributeValues = string | readonly string[];

export interface BuildResponseInput {
  idp: { entityId: string; credential: SigningCredential };
  sp: { entityId: string; acsUrl: string };
  user: SamlSubject;
  nameIdFormat: NameIdFormat;
  /** Key for persistent NameIDs (required for `persistent`); keep it stable, or every SP sees new users. */
  persistentIdSecret?: string | Buffer;
  attributes?: Record<string, AttributeValues>;
  /** The AuthnRequest ID; omitted for IdP-initiated SSO. */
  inResponseTo?: string;
  sessionIndex?: string;
  authnInstant?: Date;
  now?: Date;
  /** How long the assertion may be used; 5 minutes by default. */
  lifetimeMs?: number;
  /** Which elements to sign; the assertion only by default. At least one must be signed. */
  sign?: { assertion?: boolean; response?: boolean };
  /** Encrypt the assertion to the SP's certificate (EncryptedAssertion). */
  encryption?: AssertionEncryption;
}

export interface BuiltResponse {
  xml: string;
  /** The value of the SAMLResponse form field (HTTP-POST binding). */
  samlResponse: string;
  responseId: string;
  assertionId: string;
  sessionIndex: string;
  nameId: string;
}

export type SamlResponseErrorCode = 'NAME_ID_UNAVAILABLE' | 'INVALID_OPTIONS';

export class SamlResponseError extends Error {
  override readonly name = 'SamlResponseError';
  constructor(
    readonly code: SamlResponseErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_LIFETIME_MS = 5 * 60 * 1000;

/**
 * A pairwise persistent NameID (SAML core §8.3.7): the same user gets the same opaque value at one
 * SP and unrelated values at different SPs.
 */
export function persistentNameId(secret: string | Buffer, userId: string, spEntityId: string): string {
  return createHmac('sha256', secret).update(`${spEntityId.length}:${spEntityId}:${userId}`, 'utf8').digest('base64url');
}

function nameIdValue(input: BuildResponseInput): string {
  const { user, nameIdFormat } = input;
  if (nameIdFormat === 'emailAddress') {
    if (!user.email) throw new SamlResponseError('NAME_ID_UNAVAILABLE', 'The user has no email address for an emailAddress NameID');
    return user.email;
  }
  if (nameIdFormat === 'persistent') {
    if (!input.persistentIdSecret || input.persistentIdSecret.length < 16) {
      throw new SamlResponseError('INVALID_OPTIONS', 'persistentIdSecret of at least 16 bytes is required for persistent NameIDs');
    }
    return persistentNameId(input.persistentIdSecret, user.id, input.sp.entityId);
  }
  if (nameIdFormat === 'unspecified') {
    if (!user.username) throw new SamlResponseError('NAME_ID_UNAVAILABLE', 'The user has no username');
    return user.username;
  }
  throw new SamlResponseError('INVALID_OPTIONS', `Unknown NameID format ${String(nameIdFormat)}`);
}

function attributeStatement(attributes: Record<string, AttributeValues>): string {
  const entries = Object.entries(attributes);
  if (entries.length === 0) return '';
  const rendered = entries.map(([name, value]) => {
    const values = typeof value === 'string' ? [value] : value;
    // No xsi:type="xs:string": exclusive c14n would drop the unused xs prefix from the signed form.
    const body = values.map((v) => `<saml:AttributeValue>${escapeXml(v)}</saml:AttributeValue>`).join('');
    return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="${ATTRNAME_FORMAT_BASIC}">${body}</saml:Attribute>`;
  });
  return `<saml:AttributeStatement>${rendered.join('')}</saml:AttributeStatement>`;
}

/**
 * A SAML Response carrying one bearer assertion for the Web Browser SSO profile (SAML profiles
 * §4.1.4.2), signed with RSA-SHA256 and exclusive c14n. The assertion is built and signed as a
 * document of its own (it declares every namespace it uses), then optionally encrypted, then placed
 * in the Response, which is signed last so its signature covers the assertion as sent.
 */
export function buildSamlResponse(input: BuildResponseInput): BuiltResponse {
  const sign = { assertion: input.sign?.assertion ?? true, response: input.sign?.response ?? false };
  if (!sign.assertion && !sign.response) throw new SamlResponseError('INVALID_OPTIONS', 'The assertion, the response or both must be signed');
  if (!input.sp.entityId || !input.sp.acsUrl || !input.idp.entityId) throw new SamlResponseError('INVALID_OPTIONS', 'Entity ids and the ACS URL are required');
  const lifetimeMs = input.lifetimeMs ?? DEFAULT_LIFETIME_MS;
  if (!(lifetimeMs > 0)) throw new SamlResponseError('INVALID_OPTIONS', 'lifetimeMs must be positive');

  const now = input.now ?? new Date();
  const issued = instant(now);
  const notOnOrAfter = instant(new Date(now.getTime() + lifetimeMs));
  const responseId = newSamlId();
  const assertionId = newSamlId();
  const sessionIndex = input.sessionIndex ?? newSamlId();
  const nameId = nameIdValue(input);
  const idp = escapeXml(input.idp.entityId);
  const sp = escapeXml(input.sp.entityId);
  const acs = escapeXml(input.sp.acsUrl);
  const inResponseTo = input.inResponseTo === undefined ? '' : ` InResponseTo="${escapeXml(input.inResponseTo)}"`;
  const qualifiers = input.nameIdFormat === 'persistent' ? ` NameQualifier="${idp}" SPNameQualifier="${sp}"` : '';

  let assertion =
    `<saml:Assertion xmlns:saml="${NS.assertion}" ID="${assertionId}" Version="2.0" IssueInstant="${issued}">` +
    `<saml:Issuer>${idp}</saml:Issuer>` +
    `<saml:Subject>` +
    `<saml:NameID Format="${NAME_ID_FORMATS[input.nameIdFormat]}"${qualifiers}>${escapeXml(nameId)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="${CONFIRMATION_BEARER}">` +
    `<saml:SubjectConfirmationData${inResponseTo} Recipient="${acs}" NotOnOrAfter="${notOnOrAfter}"/>` +
    `</saml:SubjectConfirmation>` +
    `</saml:Subject>` +
    `<saml:Conditions NotBefore="${issued}" NotOnOrAfter="${notOnOrAfter}">` +
    `<saml:AudienceRestriction><saml:Audience>${sp}</saml:Audience></saml:AudienceRestriction>` +
    `</saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${instant(input.authnInstant ?? now)}" SessionIndex="${escapeXml(sessionIndex)}">` +
    `<saml:AuthnContext><saml:AuthnContextClassRef>${AUTHN_CONTEXT_PASSWORD_PROTECTED_TRANSPORT}</saml:AuthnContextClassRef></saml:AuthnContext>` +
    `</saml:AuthnStatement>` +
    attributeStatement(input.attributes ?? {}) +
    `</saml:Assertion>`;

  if (sign.assertion) {
    const assertionPath = `/${xpathStep(NS.assertion, 'Assertion')}`;
    assertion = signEnveloped(assertion, assertionPath, { reference: `${assertionPath}/${xpathStep(NS.assertion, 'Issuer')}`, action: 'after' }, input.idp.credential);
  }
  const assertionElement = input.encryption ? encryptAssertion(assertion, input.encryption) : assertion;

  let xml =
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${responseId}" Version="2.0" IssueInstant="${issued}" Destination="${acs}"${inResponseTo}>` +
    `<saml:Issuer>${idp}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${STATUS_SUCCESS}"/></samlp:Status>` +
    assertionElement +
    `</samlp:Response>`;

  if (sign.response) {
    const responsePath = `/${xpathStep(NS.protocol, 'Response')}`;
    xml = signEnveloped(xml, responsePath, { reference: `${responsePath}/${xpathStep(NS.assertion, 'Issuer')}`, action: 'after' }, input.idp.credential);
  }
  return { xml, samlResponse: Buffer.from(xml, 'utf8').toString('base64'), responseId, assertionId, sessionIndex, nameId };
}

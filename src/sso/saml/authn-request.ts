import { inflateRawSync } from 'node:zlib';
import { BINDINGS, NS } from './constants.js';
import type { ReplayCache } from './replay-cache.js';
import { verifyDetachedSignature, verifyEnvelopedSignature } from './signature.js';
import { attributeOf, childElements, DEFAULT_MAX_XML_BYTES, parseUntrustedXml, textOf } from './xml.js';

/** Why an AuthnRequest was refused. */
export type AuthnRequestErrorCode =
  | 'MALFORMED'
  | 'UNKNOWN_ISSUER'
  | 'ACS_NOT_REGISTERED'
  | 'SIGNATURE_REQUIRED'
  | 'BAD_SIGNATURE'
  | 'STALE'
  | 'REPLAYED'
  | 'WRONG_DESTINATION';

export class AuthnRequestError extends Error {
  override readonly name = 'AuthnRequestError';
  constructor(
    readonly code: AuthnRequestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export type AuthnRequestResult<T> = { ok: true; value: T } | { ok: false; error: AuthnRequestError };

const fail = (code: AuthnRequestErrorCode, message: string): { ok: false; error: AuthnRequestError } => ({
  ok: false,
  error: new AuthnRequestError(code, message),
});

/** A service provider as the IdP knows it (from the application's configuration). */
export interface ServiceProviderConfig {
  entityId: string;
  /** Registered AssertionConsumerService URLs; the first is the default. */
  acsUrls: string[];
  requireSignedRequests: boolean;
  /** PEM or bare base64 DER certificates that may sign the SP's requests (several during rotation). */
  spCertificates: string[];
  /** Accept RSA-SHA1 signatures and SHA-1 digests; off by default. */
  allowSha1?: boolean;
}

/** An HTTP-Redirect binding message: the raw query string as received (with or without the leading `?`). */
export interface RedirectBindingMessage {
  binding: 'redirect';
  query: string;
}

/** An HTTP-POST binding message: the decoded form fields. */
export interface PostBindingMessage {
  binding: 'post';
  samlRequest: string;
  relayState?: string;
}

export interface DecodeLimits {
  /** Bound on the encoded message (query string or SAMLRequest field). */
  maxEncodedBytes?: number;
  /** Bound on the XML after base64 and DEFLATE decoding. */
  maxXmlBytes?: number;
  maxRelayStateBytes?: number;
}

/** The fields of an AuthnRequest the IdP acts on. Unauthenticated until validated. */
export interface AuthnRequest {
  id: string;
  issuer: string;
  issueInstant: Date;
  destination?: string;
  acsUrl?: string;
  acsIndex?: number;
  protocolBinding?: string;
  nameIdFormat?: string;
  forceAuthn: boolean;
  isPassive: boolean;
}

export interface DecodedAuthnRequest {
  binding: 'redirect' | 'post';
  xml: string;
  relayState?: string;
  request: AuthnRequest;
  /** The HTTP-Redirect signature and the exact octets it covers (SAML bindings §3.4.4.1). */
  redirectSignature?: { sigAlg: string; signature: Buffer; signedOctets: Buffer };
}

/** A request that passed every check, ready for the login flow. */
export interface ValidatedAuthnRequest {
  id: string;
  issuer: string;
  /** Where the Response goes: the requested URL when registered, else the SP's default. */
  acsUrl: string;
  relayState?: string;
  nameIdFormat?: string;
  forceAuthn: boolean;
  isPassive: boolean;
  signed: boolean;
  binding: 'redirect' | 'post';
}

export interface ValidateOptions {
  replayCache: ReplayCache;
  /** Accepted difference between IssueInstant and now, both ways; 5 minutes by default. The replay window must be at least twice this. */
  clockSkewMs?: number;
  /** The IdP's SSO endpoint URLs; when given, a Destination attribute must name one of them. */
  ssoUrls?: string[];
  now?: Date;
}

const DEFAULT_MAX_ENCODED_BYTES = 128 * 1024;
const DEFAULT_MAX_RELAY_STATE_BYTES = 1024;
export const DEFAULT_CLOCK_SKEW_MS = 5 * 60 * 1000;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const XS_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const XS_ID = /^[A-Za-z_][A-Za-z0-9_.-]{0,255}$/;

function decodeBase64(value: string): Buffer | undefined {
  const compact = value.replace(/[\r\n\t ]/g, '');
  return BASE64.test(compact) ? Buffer.from(compact, 'base64') : undefined;
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** SAML bindings §3.4.4.1: raw DEFLATE, bounded so a small input cannot expand without limit. */
function inflateBounded(bytes: Buffer, maxBytes: number): Buffer | undefined {
  try {
    return inflateRawSync(bytes, { maxOutputLength: maxBytes });
  } catch {
    return undefined;
  }
}

/**
 * The POST binding carries plain XML (SAML bindings §3.5.4), but node-saml and passport-saml
 * DEFLATE it there too unless told not to; anything not starting like XML is tried as DEFLATE.
 */
function looksLikeXml(bytes: Buffer): boolean {
  const start = bytes.subarray(0, 64).toString('utf8').replace(/^\uFEFF/, '').trimStart();
  return start.startsWith('<');
}

/** application/x-www-form-urlencoded value decoding. */
function decodeFormValue(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/**
 * Decodes an AuthnRequest from either binding and reads its fields. Nothing is trusted yet: pass
 * the result to `validateAuthnRequest` with the configuration of the SP its `request.issuer` names.
 * Never throws; every failure is a MALFORMED error.
 */
export function decodeAuthnRequest(message: RedirectBindingMessage | PostBindingMessage, limits: DecodeLimits = {}): AuthnRequestResult<DecodedAuthnRequest> {
  const maxEncoded = limits.maxEncodedBytes ?? DEFAULT_MAX_ENCODED_BYTES;
  const maxXml = limits.maxXmlBytes ?? DEFAULT_MAX_XML_BYTES;
  const maxRelayState = limits.maxRelayStateBytes ?? DEFAULT_MAX_RELAY_STATE_BYTES;

  let xml: string | undefined;
  let relayState: string | undefined;
  let redirectSignature: DecodedAuthnRequest['redirectSignature'];

  if (message.binding === 'redirect') {
    const decoded = decodeRedirectQuery(message.query, maxEncoded, maxXml);
    if (!decoded.ok) return decoded;
    ({ xml, relayState, redirectSignature } = decoded.value);
  } else if (message.binding === 'post') {
    if (typeof message.samlRequest !== 'string') return fail('MALFORMED', 'SAMLRequest is missing');
    if (message.samlRequest.length > maxEncoded) return fail('MALFORMED', 'SAMLRequest is too large');
    const bytes = decodeBase64(message.samlRequest);
    if (!bytes) return fail('MALFORMED', 'SAMLRequest is not base64');
    if (bytes.length > maxXml) return fail('MALFORMED', 'SAMLRequest is too large');
    const inflated = looksLikeXml(bytes) ? bytes : inflateBounded(bytes, maxXml);
    if (!inflated) return fail('MALFORMED', 'SAMLRequest is neither XML nor DEFLATE-compressed XML');
    xml = decodeUtf8(inflated);
    if (message.relayState !== undefined && typeof message.relayState !== 'string') return fail('MALFORMED', 'RelayState must be a string');
    relayState = message.relayState;
  } else {
    return fail('MALFORMED', 'Unknown binding');
  }

  if (xml === undefined) return fail('MALFORMED', 'SAMLRequest is not UTF-8');
  if (relayState !== undefined && Buffer.byteLength(relayState, 'utf8') > maxRelayState) {
    return fail('MALFORMED', `RelayState exceeds ${maxRelayState} bytes`);
  }
  const request = parseAuthnRequestXml(xml, maxXml);
  if (!request.ok) return request;
  return {
    ok: true,
    value: {
      binding: message.binding,
      xml,
      request: request.value,
      ...(relayState !== undefined && { relayState }),
      ...(redirectSignature && { redirectSignature }),
    },
  };
}

const REDIRECT_PARAMS = new Set(['SAMLRequest', 'RelayState', 'SigAlg', 'Signature']);

function decodeRedirectQuery(
  query: string,
  maxEncoded: number,
  maxXml: number,
): AuthnRequestResult<{ xml: string | undefined; relayState?: string; redirectSignature?: DecodedAuthnRequest['redirectSignature'] }> {
  if (typeof query !== 'string') return fail('MALFORMED', 'The query string is missing');
  if (query.length > maxEncoded) return fail('MALFORMED', 'The query string is too large');
  const raw = new Map<string, string>();
  for (const part of (query.startsWith('?') ? query.slice(1) : query).split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (!REDIRECT_PARAMS.has(name)) continue;
    if (raw.has(name)) return fail('MALFORMED', `${name} appears more than once`);
    raw.set(name, eq < 0 ? '' : part.slice(eq + 1));
  }

  const rawRequest = raw.get('SAMLRequest');
  if (!rawRequest) return fail('MALFORMED', 'SAMLRequest is missing');
  const encoded = decodeFormValue(rawRequest);
  const deflated = encoded === undefined ? undefined : decodeBase64(encoded);
  if (!deflated) return fail('MALFORMED', 'SAMLRequest is not base64');
  const inflated = inflateBounded(deflated, maxXml);
  if (!inflated) return fail('MALFORMED', 'SAMLRequest is not DEFLATE-compressed or is too large');

  const rawRelayState = raw.get('RelayState');
  const relayState = rawRelayState === undefined ? undefined : decodeFormValue(rawRelayState);
  if (rawRelayState !== undefined && relayState === undefined) return fail('MALFORMED', 'RelayState is not URL-encoded');

  const rawSigAlg = raw.get('SigAlg');
  const rawSignature = raw.get('Signature');
  if ((rawSigAlg === undefined) !== (rawSignature === undefined)) return fail('MALFORMED', 'SigAlg and Signature come together');
  let redirectSignature: DecodedAuthnRequest['redirectSignature'];
  if (rawSigAlg !== undefined && rawSignature !== undefined) {
    const sigAlg = decodeFormValue(rawSigAlg);
    const signatureText = decodeFormValue(rawSignature);
    const signature = signatureText === undefined ? undefined : decodeBase64(signatureText);
    if (sigAlg === undefined || !signature || signature.length === 0) return fail('MALFORMED', 'SigAlg or Signature is malformed');
    // SAML bindings §3.4.4.1: the signature covers the parameters as received, in this order.
    const octets = `SAMLRequest=${rawRequest}${rawRelayState !== undefined ? `&RelayState=${rawRelayState}` : ''}&SigAlg=${rawSigAlg}`;
    redirectSignature = { sigAlg, signature, signedOctets: Buffer.from(octets, 'utf8') };
  }
  return {
    ok: true,
    value: { xml: decodeUtf8(inflated), ...(relayState !== undefined && { relayState }), ...(redirectSignature && { redirectSignature }) },
  };
}

function parseBoolean(value: string | undefined): boolean | undefined {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  return undefined;
}

/** Reads the fields of an AuthnRequest document (SAML core §3.4.1). */
export function parseAuthnRequestXml(xml: string, maxXmlBytes = DEFAULT_MAX_XML_BYTES): AuthnRequestResult<AuthnRequest> {
  const parsed = parseUntrustedXml(xml, maxXmlBytes);
  if (!parsed.ok) return fail('MALFORMED', parsed.reason);
  return readAuthnRequestElement(parsed.root);
}

function readAuthnRequestElement(root: Element): AuthnRequestResult<AuthnRequest> {
  if (root.namespaceURI !== NS.protocol || root.localName !== 'AuthnRequest') return fail('MALFORMED', 'The message is not an AuthnRequest');
  if (attributeOf(root, 'Version') !== '2.0') return fail('MALFORMED', 'Version must be 2.0');
  const id = attributeOf(root, 'ID');
  if (!id || !XS_ID.test(id)) return fail('MALFORMED', 'ID is missing or not an xs:ID');
  const issueInstantText = attributeOf(root, 'IssueInstant') ?? '';
  const issueInstant = new Date(issueInstantText);
  if (!XS_DATE_TIME.test(issueInstantText) || Number.isNaN(issueInstant.getTime())) return fail('MALFORMED', 'IssueInstant is missing or invalid');

  // SAML profiles §4.1.4.1: the Issuer is required in a Web Browser SSO AuthnRequest.
  const issuers = childElements(root, NS.assertion, 'Issuer');
  const issuer = issuers.length === 1 ? textOf(issuers[0]!) : '';
  if (!issuer) return fail('MALFORMED', 'Exactly one non-empty Issuer is required');
  const issuerFormat = attributeOf(issuers[0]!, 'Format');
  if (issuerFormat !== undefined && issuerFormat !== 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity') {
    return fail('MALFORMED', 'Issuer Format must be entity');
  }

  const acsUrl = attributeOf(root, 'AssertionConsumerServiceURL');
  const acsIndexText = attributeOf(root, 'AssertionConsumerServiceIndex');
  const acsIndex = acsIndexText === undefined ? undefined : /^\d{1,5}$/.test(acsIndexText) ? Number(acsIndexText) : NaN;
  if (acsIndex !== undefined && Number.isNaN(acsIndex)) return fail('MALFORMED', 'AssertionConsumerServiceIndex is invalid');
  if (acsUrl !== undefined && acsIndex !== undefined) return fail('MALFORMED', 'AssertionConsumerServiceURL and Index are mutually exclusive');
  const protocolBinding = attributeOf(root, 'ProtocolBinding');
  if (protocolBinding !== undefined && protocolBinding !== BINDINGS.post) return fail('MALFORMED', 'Only the HTTP-POST response binding is supported');

  const forceAuthn = parseBoolean(attributeOf(root, 'ForceAuthn'));
  const isPassive = parseBoolean(attributeOf(root, 'IsPassive'));
  if (forceAuthn === undefined || isPassive === undefined) return fail('MALFORMED', 'ForceAuthn and IsPassive must be booleans');
  const [policy] = childElements(root, NS.protocol, 'NameIDPolicy');
  const nameIdFormat = policy ? attributeOf(policy, 'Format') : undefined;
  const destination = attributeOf(root, 'Destination');

  return {
    ok: true,
    value: {
      id,
      issuer,
      issueInstant,
      forceAuthn,
      isPassive,
      ...(destination !== undefined && { destination }),
      ...(acsUrl !== undefined && { acsUrl }),
      ...(acsIndex !== undefined && { acsIndex }),
      ...(protocolBinding !== undefined && { protocolBinding }),
      ...(nameIdFormat !== undefined && { nameIdFormat }),
    },
  };
}

type Step = (state: { decoded: DecodedAuthnRequest; request: AuthnRequest; signed: boolean; acsUrl?: string }) => AuthnRequestResult<void>;

/**
 * Checks a decoded AuthnRequest against the configuration of the SP it claims to come from:
 * checkIssuer → checkSignature → checkDestination → resolveAcsUrl → checkFreshness → checkReplay.
 * Never throws.
 */
export function validateAuthnRequest(
  decoded: DecodedAuthnRequest,
  sp: ServiceProviderConfig,
  options: ValidateOptions,
): AuthnRequestResult<ValidatedAuthnRequest> {
  const now = (options.now ?? new Date()).getTime();
  const skew = options.clockSkewMs ?? DEFAULT_CLOCK_SKEW_MS;
  const state: Parameters<Step>[0] = { decoded, request: decoded.request, signed: false };

  /** The Issuer names this SP. */
  const checkIssuer: Step = ({ request }) =>
    request.issuer === sp.entityId ? { ok: true, value: undefined } : fail('UNKNOWN_ISSUER', 'The Issuer is not this service provider');

  /**
   * A signature, when present, verifies with a registered SP certificate; one is present when the SP
   * requires it. For POST the fields are re-read from the signed content (no signature wrapping).
   */
  const checkSignature: Step = (s) => {
    const certificates = sp.spCertificates;
    const verifyOptions = { allowSha1: sp.allowSha1 ?? false };
    if (decoded.binding === 'redirect') {
      const signature = decoded.redirectSignature;
      if (!signature) return sp.requireSignedRequests ? fail('SIGNATURE_REQUIRED', 'The request must be signed') : { ok: true, value: undefined };
      if (certificates.length === 0) return fail('BAD_SIGNATURE', 'No certificate is registered for this service provider');
      const check = verifyDetachedSignature(signature.signedOctets, signature.signature, signature.sigAlg, certificates, verifyOptions);
      if (!check.ok) return fail('BAD_SIGNATURE', check.message);
      s.signed = true;
      return { ok: true, value: undefined };
    }
    const parsed = parseUntrustedXml(decoded.xml, Number.MAX_SAFE_INTEGER);
    if (!parsed.ok) return fail('MALFORMED', parsed.reason);
    const hasSignature = childElements(parsed.root, NS.dsig, 'Signature').length > 0;
    if (!hasSignature) return sp.requireSignedRequests ? fail('SIGNATURE_REQUIRED', 'The request must be signed') : { ok: true, value: undefined };
    if (certificates.length === 0) return fail('BAD_SIGNATURE', 'No certificate is registered for this service provider');
    const check = verifyEnvelopedSignature(decoded.xml, parsed.document, parsed.root, certificates, verifyOptions);
    if (!check.ok) return fail('BAD_SIGNATURE', check.message);
    const signedDoc = parseUntrustedXml(check.signedXml, Number.MAX_SAFE_INTEGER);
    const signedRequest = signedDoc.ok ? readAuthnRequestElement(signedDoc.root) : fail('MALFORMED', 'The signed content does not parse');
    if (!signedRequest.ok) return fail('BAD_SIGNATURE', `The signed content is not a valid AuthnRequest: ${signedRequest.error.message}`);
    if (signedRequest.value.id !== decoded.request.id) return fail('BAD_SIGNATURE', 'The signed request is not the request received');
    s.request = signedRequest.value;
    s.signed = true;
    return { ok: true, value: undefined };
  };

  /** SAML core §3.2.1: a Destination, when present, is this endpoint. */
  const checkDestination: Step = ({ request }) =>
    request.destination === undefined || !options.ssoUrls || options.ssoUrls.includes(request.destination)
      ? { ok: true, value: undefined }
      : fail('WRONG_DESTINATION', 'The Destination is not this identity provider');

  /** The Response goes only to a registered ACS URL: the one requested, or the SP's default. */
  const resolveAcsUrl: Step = (s) => {
    const { request } = s;
    const acsUrl =
      request.acsUrl !== undefined ? (sp.acsUrls.includes(request.acsUrl) ? request.acsUrl : undefined)
      : request.acsIndex !== undefined ? sp.acsUrls[request.acsIndex]
      : sp.acsUrls[0];
    if (acsUrl === undefined) return fail('ACS_NOT_REGISTERED', 'The AssertionConsumerService is not registered for this service provider');
    s.acsUrl = acsUrl;
    return { ok: true, value: undefined };
  };

  /** IssueInstant is within the accepted clock skew of now. */
  const checkFreshness: Step = ({ request }) =>
    Math.abs(now - request.issueInstant.getTime()) <= skew ? { ok: true, value: undefined } : fail('STALE', 'IssueInstant is outside the accepted window');

  /** The request ID has not been seen from this SP within the window; recorded last, so only valid requests use up IDs. */
  const checkReplay: Step = ({ request }) =>
    options.replayCache.checkAndRecord(request.issuer, request.id) ? { ok: true, value: undefined } : fail('REPLAYED', 'The request ID was already used');

  for (const step of [checkIssuer, checkSignature, checkDestination, resolveAcsUrl, checkFreshness, checkReplay]) {
    const result = step(state);
    if (!result.ok) return result;
  }
  const { request } = state;
  return {
    ok: true,
    value: {
      id: request.id,
      issuer: request.issuer,
      acsUrl: state.acsUrl!,
      forceAuthn: request.forceAuthn,
      isPassive: request.isPassive,
      signed: state.signed,
      binding: decoded.binding,
      ...(decoded.relayState !== undefined && { relayState: decoded.relayState }),
      ...(request.nameIdFormat !== undefined && { nameIdFormat: request.nameIdFormat }),
    },
  };
}

/**
 * Decodes and validates in one call: `findServiceProvider` is the port to the application store,
 * looked up by the request's Issuer.
 */
export function readAuthnRequest(
  message: RedirectBindingMessage | PostBindingMessage,
  findServiceProvider: (entityId: string) => ServiceProviderConfig | undefined,
  options: ValidateOptions & { limits?: DecodeLimits },
): AuthnRequestResult<ValidatedAuthnRequest> {
  const decoded = decodeAuthnRequest(message, options.limits);
  if (!decoded.ok) return decoded;
  const sp = findServiceProvider(decoded.value.request.issuer);
  if (!sp) return fail('UNKNOWN_ISSUER', 'No service provider has this entity id');
  return validateAuthnRequest(decoded.value, sp, options);
}

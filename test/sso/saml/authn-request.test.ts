import { sign } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  decodeAuthnRequest,
  readAuthnRequest,
  validateAuthnRequest,
  type AuthnRequestResult,
  type DecodedAuthnRequest,
  type PostBindingMessage,
  type RedirectBindingMessage,
  type ServiceProviderConfig,
  type ValidateOptions,
} from '../../../src/sso/saml/authn-request.js';
import {
  ACS_URL,
  newReplayCache,
  OTHER_ACS_URL,
  rawQuery,
  serviceProvider,
  signingSp,
  SP_ENTITY_ID,
  spConfig,
  SSO_URL,
  testCredentials,
  type Credentials,
} from './fixtures.js';

let creds: Credentials;
beforeAll(async () => {
  creds = await testCredentials();
});

type SpOptions = Parameters<typeof serviceProvider>[1];

async function redirectMessage(options: SpOptions = {}, relayState = 'state-123'): Promise<RedirectBindingMessage> {
  const url = await serviceProvider(creds, options).getAuthorizeUrlAsync(relayState, undefined, {});
  return { binding: 'redirect', query: rawQuery(url) };
}

async function postMessage(options: SpOptions = {}, relayState = 'state-123'): Promise<PostBindingMessage> {
  const form = await serviceProvider(creds, { authnRequestBinding: 'HTTP-POST', skipRequestCompression: true, ...options }).getAuthorizeMessageAsync(relayState);
  return { binding: 'post', samlRequest: String(form.SAMLRequest), relayState: String(form.RelayState) };
}

function decode(message: RedirectBindingMessage | PostBindingMessage): DecodedAuthnRequest {
  const decoded = decodeAuthnRequest(message);
  if (!decoded.ok) throw new Error(`decode failed: ${decoded.error.code} ${decoded.error.message}`);
  return decoded.value;
}

function validate(
  message: RedirectBindingMessage | PostBindingMessage,
  sp: Partial<ServiceProviderConfig> = {},
  options: Partial<ValidateOptions> = {},
) {
  return readAuthnRequest(message, (id) => (id === SP_ENTITY_ID ? spConfig(creds, sp) : undefined), {
    replayCache: newReplayCache(),
    ssoUrls: [SSO_URL],
    ...options,
  });
}

function expectError(result: AuthnRequestResult<unknown>, code: string) {
  expect(result.ok, result.ok ? 'expected a failure' : result.error.message).toBe(false);
  if (!result.ok) expect(result.error.code).toBe(code);
}

/** Re-encodes an HTTP-Redirect query with its SAMLRequest XML edited, keeping the other parameters verbatim. */
function editRedirectXml(message: RedirectBindingMessage, edit: (xml: string) => string): RedirectBindingMessage {
  const params = message.query.split('&').map((part) => {
    if (!part.startsWith('SAMLRequest=')) return part;
    const xml = inflateRawSync(Buffer.from(decodeURIComponent(part.slice(12)), 'base64')).toString('utf8');
    return `SAMLRequest=${encodeURIComponent(deflateRawSync(edit(xml)).toString('base64'))}`;
  });
  return { binding: 'redirect', query: params.join('&') };
}

function editPostXml(message: PostBindingMessage, edit: (xml: string) => string): PostBindingMessage {
  const xml = Buffer.from(message.samlRequest, 'base64').toString('utf8');
  return { ...message, samlRequest: Buffer.from(edit(xml), 'utf8').toString('base64') };
}

describe('AuthnRequest from node-saml, HTTP-Redirect binding', () => {
  it('accepts an unsigned request and reads its fields', async () => {
    const result = validate(await redirectMessage());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value).toMatchObject({
      issuer: SP_ENTITY_ID,
      acsUrl: ACS_URL,
      relayState: 'state-123',
      signed: false,
      binding: 'redirect',
      forceAuthn: false,
      isPassive: false,
      nameIdFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
    });
    expect(result.value.id).toMatch(/^_/);
  });

  it('accepts a request signed with RSA-SHA256 when signatures are required', async () => {
    const message = await redirectMessage(signingSp(creds));
    expect(message.query).toContain('SigAlg=');
    const result = validate(message, { requireSignedRequests: true });
    expect(result.ok && result.value.signed).toBe(true);
  });

  it('verifies a RelayState with reserved characters', async () => {
    // Not a space: node-saml signs it as %20 but sends it as '+', which no IdP following §3.4.4.1 accepts.
    const result = validate(await redirectMessage(signingSp(creds), '/app?x=1&y=a/b'), { requireSignedRequests: true });
    expect(result.ok && result.value.relayState).toBe('/app?x=1&y=a/b');
  });

  it('verifies the signature over the octets as received, not a re-encoding (bindings §3.4.4.1)', async () => {
    const message = await redirectMessage();
    const samlRequest = /SAMLRequest=([^&]*)/.exec(message.query)![1]!;
    // Lower-case percent escapes and an escaped letter: valid encodings no re-encoder would produce.
    const octets = `SAMLRequest=${samlRequest.replace(/%2F/g, '%2f')}&RelayState=%2fapp%3fa%3d1%20%41&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}`;
    const signature = sign('sha256', Buffer.from(octets), creds.sp.privateKeyPem).toString('base64');
    const result = validate({ binding: 'redirect', query: `${octets}&Signature=${encodeURIComponent(signature)}` }, { requireSignedRequests: true });
    expect(result.ok && result.value).toMatchObject({ signed: true, relayState: '/app?a=1 A' });
  });

  it('checks a signature that is present even when signatures are optional', async () => {
    const message = await redirectMessage(signingSp(creds));
    expectError(validate({ binding: 'redirect', query: message.query.replace('RelayState=state-123', 'RelayState=state-124') }), 'BAD_SIGNATURE');
  });

  it('rejects a tampered RelayState', async () => {
    const message = await redirectMessage(signingSp(creds));
    const tampered = { binding: 'redirect' as const, query: message.query.replace('RelayState=state-123', 'RelayState=evil') };
    expectError(validate(tampered, { requireSignedRequests: true }), 'BAD_SIGNATURE');
  });

  it('rejects a tampered SAMLRequest', async () => {
    const message = await redirectMessage(signingSp(creds));
    const tampered = editRedirectXml(message, (xml) => xml.replace(ACS_URL, OTHER_ACS_URL));
    expectError(validate(tampered, { requireSignedRequests: true }), 'BAD_SIGNATURE');
  });

  it('rejects a request signed by a key the SP did not register', async () => {
    const message = await redirectMessage({ ...signingSp(creds), privateKey: creds.stranger.privateKeyPem });
    expectError(validate(message, { requireSignedRequests: true }), 'BAD_SIGNATURE');
  });

  it('accepts a signature from any registered certificate during rotation', async () => {
    const message = await redirectMessage({ ...signingSp(creds), privateKey: creds.stranger.privateKeyPem });
    const result = validate(message, { requireSignedRequests: true, spCertificates: [creds.sp.certificatePem, creds.stranger.certificatePem] });
    expect(result.ok).toBe(true);
  });

  it('rejects RSA-SHA1 unless the SP allows it', async () => {
    const message = await redirectMessage(signingSp(creds, 'sha1'));
    expectError(validate(message, { requireSignedRequests: true }), 'BAD_SIGNATURE');
    expect(validate(message, { requireSignedRequests: true, allowSha1: true }).ok).toBe(true);
  });

  it('rejects an unsigned request when signatures are required', async () => {
    expectError(validate(await redirectMessage(), { requireSignedRequests: true }), 'SIGNATURE_REQUIRED');
  });

  it('rejects a Signature without SigAlg', async () => {
    const message = await redirectMessage(signingSp(creds));
    const stripped = { binding: 'redirect' as const, query: message.query.replace(/&?SigAlg=[^&]*/, '') };
    expectError(decodeAuthnRequest(stripped), 'MALFORMED');
  });

  it('rejects a repeated parameter', async () => {
    const message = await redirectMessage();
    expectError(decodeAuthnRequest({ binding: 'redirect', query: `${message.query}&RelayState=again` }), 'MALFORMED');
  });
});

describe('AuthnRequest from node-saml, HTTP-POST binding', () => {
  it('accepts an unsigned request', async () => {
    const result = validate(await postMessage());
    expect(result.ok && result.value).toMatchObject({ acsUrl: ACS_URL, signed: false, binding: 'post', relayState: 'state-123' });
  });

  it('accepts an enveloped RSA-SHA256 signature when signatures are required', async () => {
    const message = await postMessage(signingSp(creds));
    expect(Buffer.from(message.samlRequest, 'base64').toString()).toContain('SignatureValue');
    const result = validate(message, { requireSignedRequests: true });
    expect(result.ok && result.value.signed).toBe(true);
  });

  it('accepts a DEFLATE-compressed request, which node-saml sends by default', async () => {
    const message = await postMessage({ ...signingSp(creds), skipRequestCompression: false });
    expect(Buffer.from(message.samlRequest, 'base64').toString()).not.toContain('AuthnRequest');
    const result = validate(message, { requireSignedRequests: true });
    expect(result.ok && result.value.signed).toBe(true);
  });

  it('rejects a signed request whose ACS URL was changed after signing', async () => {
    const tampered = editPostXml(await postMessage(signingSp(creds)), (xml) => xml.replace(ACS_URL, OTHER_ACS_URL));
    expectError(validate(tampered, { requireSignedRequests: true }), 'BAD_SIGNATURE');
    expectError(validate(tampered), 'BAD_SIGNATURE');
  });

  it('rejects an unsigned request when signatures are required', async () => {
    expectError(validate(await postMessage(), { requireSignedRequests: true }), 'SIGNATURE_REQUIRED');
  });

  it('rejects an enveloped RSA-SHA1 signature', async () => {
    expectError(validate(await postMessage(signingSp(creds, 'sha1')), { requireSignedRequests: true }), 'BAD_SIGNATURE');
  });

  it('rejects a signature wrapped around a forged request (signed original moved into Extensions)', async () => {
    const message = await postMessage(signingSp(creds));
    const original = Buffer.from(message.samlRequest, 'base64').toString('utf8');
    const signatureStart = original.indexOf('<Signature');
    const signatureEnd = original.indexOf('</Signature>') + '</Signature>'.length;
    const signature = original.slice(signatureStart, signatureEnd);
    const unsignedOriginal = original.slice(0, signatureStart) + original.slice(signatureEnd);
    const forged = unsignedOriginal
      .replace(ACS_URL, 'https://evil.example/acs')
      .replace(/<saml:Issuer([^>]*)>([^<]*)<\/saml:Issuer>/, (issuer) => `${issuer}${signature}<samlp:Extensions>${original.replace(/^<\?xml[^>]*>/, '')}</samlp:Extensions>`);
    const result = validate({ ...message, samlRequest: Buffer.from(forged).toString('base64') }, { requireSignedRequests: true, acsUrls: [ACS_URL, 'https://evil.example/acs'] });
    expectError(result, 'BAD_SIGNATURE');
  });
});

describe('AuthnRequest validation rules', () => {
  it('rejects an ACS URL the SP did not register', async () => {
    const message = await redirectMessage({ callbackUrl: 'https://evil.example/acs' });
    expectError(validate(message), 'ACS_NOT_REGISTERED');
  });

  it('uses the first registered ACS URL when the request names none', async () => {
    const result = validate(await redirectMessage({ disableRequestAcsUrl: true }), { acsUrls: [OTHER_ACS_URL, ACS_URL] });
    expect(result.ok && result.value.acsUrl).toBe(OTHER_ACS_URL);
  });

  it('honours a registered non-default ACS URL', async () => {
    const result = validate(await redirectMessage({ callbackUrl: OTHER_ACS_URL }));
    expect(result.ok && result.value.acsUrl).toBe(OTHER_ACS_URL);
  });

  it('rejects a replayed request ID', async () => {
    const message = await redirectMessage(signingSp(creds));
    const decoded = decode(message);
    const options = { replayCache: newReplayCache() };
    const sp = spConfig(creds, { requireSignedRequests: true });
    expect(validateAuthnRequest(decoded, sp, options).ok).toBe(true);
    expectError(validateAuthnRequest(decode(message), sp, options), 'REPLAYED');
  });

  it('does not spend a request ID on a request that fails validation', async () => {
    const message = await redirectMessage();
    const options = { replayCache: newReplayCache() };
    expectError(validateAuthnRequest(decode(message), spConfig(creds, { requireSignedRequests: true }), options), 'SIGNATURE_REQUIRED');
    expect(validateAuthnRequest(decode(message), spConfig(creds), options).ok).toBe(true);
  });

  it('rejects an issuer that is not a known SP', async () => {
    expectError(validate(await redirectMessage({ issuer: 'https://unknown.example' })), 'UNKNOWN_ISSUER');
  });

  it('rejects an issuer that differs from the SP configuration it is validated against', async () => {
    const decoded = decode(await redirectMessage());
    expectError(validateAuthnRequest(decoded, spConfig(creds, { entityId: 'https://other.example' }), { replayCache: newReplayCache() }), 'UNKNOWN_ISSUER');
  });

  it('rejects a request issued outside the clock-skew window', async () => {
    const message = await redirectMessage();
    expectError(validate(message, {}, { now: new Date(Date.now() + 10 * 60 * 1000) }), 'STALE');
    expectError(validate(message, {}, { now: new Date(Date.now() - 10 * 60 * 1000) }), 'STALE');
    expect(validate(message, {}, { now: new Date(Date.now() + 60 * 1000) }).ok).toBe(true);
  });

  it('rejects a Destination that is not this IdP', async () => {
    expectError(validate(await redirectMessage({ entryPoint: 'https://elsewhere.example/sso' })), 'WRONG_DESTINATION');
  });

  it('rejects XML with a DOCTYPE (entity expansion) in either binding', async () => {
    const withDoctype = (xml: string) =>
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>${xml.replace(SP_ENTITY_ID, '&b;')}`;
    expectError(decodeAuthnRequest(editRedirectXml(await redirectMessage(), withDoctype)), 'MALFORMED');
    expectError(decodeAuthnRequest(editPostXml(await postMessage(), withDoctype)), 'MALFORMED');
    const external = (xml: string) => `<!DOCTYPE r SYSTEM "file:///etc/passwd">${xml}`;
    expectError(decodeAuthnRequest(editPostXml(await postMessage(), external)), 'MALFORMED');
  });

  it('rejects a DEFLATE bomb beyond the XML size limit', () => {
    const bomb = deflateRawSync(Buffer.alloc(10 * 1024 * 1024, 0x20)).toString('base64');
    expectError(decodeAuthnRequest({ binding: 'redirect', query: `SAMLRequest=${encodeURIComponent(bomb)}` }), 'MALFORMED');
  });

  it('rejects messages that are not AuthnRequests', () => {
    const logout = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_1" Version="2.0" IssueInstant="${new Date().toISOString()}"/>`;
    expectError(decodeAuthnRequest({ binding: 'post', samlRequest: Buffer.from(logout).toString('base64') }), 'MALFORMED');
    expectError(decodeAuthnRequest({ binding: 'post', samlRequest: 'not base64!' }), 'MALFORMED');
    expectError(decodeAuthnRequest({ binding: 'redirect', query: 'RelayState=x' }), 'MALFORMED');
  });
});

describe('AuthnRequest signature scope', () => {
  it('rejects a signed request when another element claims the same ID through Id', async () => {
    const message = await postMessage(signingSp(creds));
    const xml = Buffer.from(message.samlRequest, 'base64').toString('utf8');
    const id = /ID="([^"]+)"/.exec(xml)![1]!;
    const tampered = editPostXml(message, (x) => x.replace('</samlp:AuthnRequest>', `<samlp:Extensions><x Id="${id}"/></samlp:Extensions></samlp:AuthnRequest>`));
    const result = validate(tampered, { requireSignedRequests: true });
    expectError(result, 'BAD_SIGNATURE');
    expect(!result.ok && result.error.message).toMatch(/not unique/);
  });
});

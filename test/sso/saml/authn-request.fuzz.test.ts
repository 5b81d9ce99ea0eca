import { deflateRawSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  AuthnRequestError,
  decodeAuthnRequest,
  validateAuthnRequest,
  type PostBindingMessage,
  type RedirectBindingMessage,
} from '../../../src/sso/saml/authn-request.js';
import { XorShift } from '../../support/random.js';
import { newReplayCache, rawQuery, serviceProvider, signingSp, spConfig, testCredentials, type Credentials } from './fixtures.js';

const CODES = new Set(['MALFORMED', 'UNKNOWN_ISSUER', 'ACS_NOT_REGISTERED', 'SIGNATURE_REQUIRED', 'BAD_SIGNATURE', 'STALE', 'REPLAYED', 'WRONG_DESTINATION']);
const TOKENS = ['<', '>', '&', '&amp;', '&#0;', '&x;', '"', "'", '<!DOCTYPE x [<!ENTITY x "y">]>', '<![CDATA[', ']]>', '<?pi x?>', '<!--', '-->', 'xmlns:samlp=""', 'ID="_dup"', '\u0000', '\uFFFE', '\uD800', '💥', '=', '%', '%zz', '+', '&SAMLRequest=', '\n'];

let creds: Credentials;
let seeds: { redirect: RedirectBindingMessage[]; post: PostBindingMessage[]; xml: string[] };

beforeAll(async () => {
  creds = await testCredentials();
  const redirect = [
    rawQuery(await serviceProvider(creds).getAuthorizeUrlAsync('rs', undefined, {})),
    rawQuery(await serviceProvider(creds, signingSp(creds)).getAuthorizeUrlAsync('rs', undefined, {})),
  ].map((query) => ({ binding: 'redirect' as const, query }));
  const post: PostBindingMessage[] = [];
  const xml: string[] = [];
  for (const options of [{}, signingSp(creds)]) {
    const form = await serviceProvider(creds, { ...options, skipRequestCompression: true, authnRequestBinding: 'HTTP-POST' }).getAuthorizeMessageAsync('rs');
    post.push({ binding: 'post', samlRequest: String(form.SAMLRequest), relayState: 'rs' });
    xml.push(Buffer.from(String(form.SAMLRequest), 'base64').toString('utf8'));
  }
  seeds = { redirect, post, xml };
});

function mutateString(rng: XorShift, input: string): string {
  let s = input;
  for (let n = 1 + rng.int(4); n > 0; n--) {
    const at = rng.int(s.length + 1);
    switch (rng.int(5)) {
      case 0:
        s = s.slice(0, at) + s.slice(at + 1 + rng.int(16));
        break;
      case 1:
        s = s.slice(0, at) + rng.pick(TOKENS) + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + String.fromCharCode(rng.int(0x10000)) + s.slice(at + 1);
        break;
      case 3: {
        const from = rng.int(s.length + 1);
        s = s.slice(0, at) + s.slice(from, from + rng.int(64)) + s.slice(at);
        break;
      }
      default:
        s = s.slice(0, at);
    }
  }
  return s;
}

function randomText(rng: XorShift): string {
  return Array.from({ length: rng.int(300) }, () => (rng.chance(0.3) ? rng.pick(TOKENS) : String.fromCharCode(rng.int(rng.chance(0.8) ? 128 : 0x10000)))).join('');
}

/** The decoder's contract: a typed result for every input, never an exception. */
function check(message: RedirectBindingMessage | PostBindingMessage): void {
  let decoded: ReturnType<typeof decodeAuthnRequest>;
  try {
    decoded = decodeAuthnRequest(message);
  } catch (err) {
    throw new Error(`decodeAuthnRequest threw for ${JSON.stringify(message).slice(0, 500)}: ${String(err)}`);
  }
  if (!decoded.ok) {
    expect(decoded.error).toBeInstanceOf(AuthnRequestError);
    expect(CODES.has(decoded.error.code)).toBe(true);
    return;
  }
  for (const requireSignedRequests of [false, true]) {
    const validated = validateAuthnRequest(decoded.value, spConfig(creds, { requireSignedRequests }), { replayCache: newReplayCache() });
    if (!validated.ok) expect(CODES.has(validated.error.code)).toBe(true);
  }
}

describe('AuthnRequest decoder fuzzing', () => {
  it('survives random inputs in both bindings', () => {
    const rng = new XorShift(0x5a41);
    for (let i = 0; i < 1500; i++) {
      check({ binding: 'redirect', query: randomText(rng) });
      check({ binding: 'post', samlRequest: rng.chance(0.5) ? randomText(rng) : Buffer.from(randomText(rng)).toString('base64'), relayState: randomText(rng) });
    }
  });

  it('survives mutated query strings and base64', () => {
    const rng = new XorShift(0x5a42);
    for (let i = 0; i < 1500; i++) {
      check({ binding: 'redirect', query: mutateString(rng, rng.pick(seeds.redirect).query) });
      const post = rng.pick(seeds.post);
      check({ ...post, samlRequest: mutateString(rng, post.samlRequest) });
    }
  });

  it('survives mutated XML, well-encoded, in both bindings', () => {
    const rng = new XorShift(0x5a43);
    for (let i = 0; i < 1500; i++) {
      const xml = mutateString(rng, rng.pick(seeds.xml));
      check({ binding: 'post', samlRequest: Buffer.from(xml, 'utf8').toString('base64') });
      const deflated = encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'));
      check({ binding: 'redirect', query: `SAMLRequest=${deflated}&RelayState=rs` });
    }
  });

  it('survives wrong types from a careless caller', () => {
    for (const value of [undefined, null, 42, {}, [], Symbol('x')]) {
      check({ binding: 'redirect', query: value as never });
      check({ binding: 'post', samlRequest: value as never, relayState: value as never });
      check({ binding: value as never, query: '' } as never);
    }
  });
});

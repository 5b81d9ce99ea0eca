import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ValidatedAuthnRequest } from './saml/index.js';

/** A validated AuthnRequest waiting for its user to sign in. */
export interface PendingRequest {
  request: ValidatedAuthnRequest;
  /** When Roster accepted the request (ms); a ForceAuthn request needs a session from after it. */
  received: number;
}

/** How long a sign-in may take between the AuthnRequest and its answer. */
export const PENDING_MAX_AGE_MS = 10 * 60_000;
const KEY = /^[A-Za-z0-9_-]{22}$/;
/** Browsers keep cookies of up to 4096 bytes, name included. */
const MAX_COOKIE_BYTES = 4000;

export const pendingCookieName = (key: string) => `roster_saml_${key}`;
export const isPendingKey = (key: unknown): key is string => typeof key === 'string' && KEY.test(key);

/**
 * The MAC key: derived from the application's `persistentNameIdSecret` (random, per application,
 * sealed in its config), so every Roster process sharing the database accepts what another issued.
 */
const macKey = (secret: string) => createHmac('sha256', secret).update('roster/saml/pending-request').digest();
const mac = (secret: string, appId: string, key: string, payload: string) =>
  createHmac('sha256', macKey(secret)).update(`${appId}.${key}.${payload}`).digest('base64url');

/**
 * The request as a cookie value (base64url JSON and an HMAC-SHA256 over the application, the
 * cookie's own key and the payload), so it survives the sign-in pages without server-side state.
 * Undefined when it would not fit in a cookie.
 */
export function sealPending(secret: string, appId: string, request: ValidatedAuthnRequest, now: number): { key: string; value: string } | undefined {
  const key = randomBytes(16).toString('base64url');
  const body = {
    i: request.id,
    s: request.issuer,
    u: request.acsUrl,
    ...(request.relayState !== undefined && { r: Buffer.from(request.relayState, 'utf8').toString('base64url') }),
    ...(request.nameIdFormat !== undefined && { n: request.nameIdFormat }),
    f: request.forceAuthn,
    p: request.isPassive,
    g: request.signed,
    b: request.binding,
    t: now,
  };
  const payload = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
  const value = `${payload}.${mac(secret, appId, key, payload)}`;
  return value.length + pendingCookieName(key).length > MAX_COOKIE_BYTES ? undefined : { key, value };
}

/** The request back, when the value is intact, for this application and cookie, and not expired. */
export function openPending(secret: string, appId: string, key: string, value: string | undefined, now: number): PendingRequest | undefined {
  if (!value || !isPendingKey(key)) return undefined;
  const dot = value.indexOf('.');
  if (dot < 0) return undefined;
  const payload = value.slice(0, dot);
  const expected = Buffer.from(mac(secret, appId, key, payload));
  const given = Buffer.from(value.slice(dot + 1));
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  try {
    const b = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof b.t !== 'number' || now - b.t > PENDING_MAX_AGE_MS || b.t - now > 60_000) return undefined;
    const request: ValidatedAuthnRequest = {
      id: String(b.i),
      issuer: String(b.s),
      acsUrl: String(b.u),
      forceAuthn: b.f === true,
      isPassive: b.p === true,
      signed: b.g === true,
      binding: b.b === 'post' ? 'post' : 'redirect',
      ...(typeof b.r === 'string' && { relayState: Buffer.from(b.r, 'base64url').toString('utf8') }),
      ...(typeof b.n === 'string' && { nameIdFormat: b.n }),
    };
    return { request, received: b.t };
  } catch {
    return undefined;
  }
}

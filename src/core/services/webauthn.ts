import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { cose, decodeCredentialPublicKey, isoBase64URL, isoUint8Array } from '@simplewebauthn/server/helpers';
import { requirePermission, type Context, type Origin } from '../context.js';
import { isDirectoryError, notFound } from '../errors.js';
import type { OrgId, UserId } from '../ids.js';
import type { JournalEntryInput, User } from '../model.js';
import type { Transaction, WebAuthnCredentialRecord } from '../ports.js';
import { journal, type Deps } from './deps.js';

/** The site users register and use credentials on. */
export interface RelyingParty {
  /** The RP ID: the host name (no scheme, no port) credentials are bound to. */
  id: string;
  /** The name authenticators show. */
  name: string;
  /** The origin the browser reports: `https://host[:port]`. */
  origin: string;
}

/** A credential as administrators and users see it: never its key or counter. */
export interface WebAuthnCredentialInfo {
  id: string;
  name: string;
  created: string;
  lastUsedAt: string | null;
  transports: string[];
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  aaguid: string;
}

export type WebAuthnRefusal = 'INVALID_WEBAUTHN' | 'UNKNOWN_CREDENTIAL' | 'WEBAUTHN_CLONED';

export type WebAuthnRegistration = { ok: true; credential: WebAuthnCredentialInfo } | { ok: false; reason: 'INVALID_WEBAUTHN'; message: string };

export type WebAuthnAuthentication =
  | { ok: true; userId: UserId; credentialId: string; userVerified: boolean }
  | { ok: false; reason: WebAuthnRefusal };

export interface WebAuthnExpectation {
  /** The user the caller already identified; the credential must be theirs. Absent for a passkey sign-in without a username. */
  userId?: UserId;
  requireUserVerification: boolean;
}

// ES256, EdDSA, RS256.
const ALGORITHMS = [-7, -8, -257];
const TIMEOUT_MS = 5 * 60_000;
const NAME_MAX = 64;
const TRANSPORTS: readonly AuthenticatorTransportFuture[] = ['ble', 'cable', 'hybrid', 'internal', 'nfc', 'smart-card', 'usb'];

// Size limits for untrusted input, each well above what real authenticators send. Credential ids
// are at most 1023 bytes; user handles at most 64; attestation statements with certificate chains
// run to a few kilobytes.
const MAX_ID = 1400;
const MAX_CLIENT_DATA = 8_192;
const MAX_ATTESTATION = 65_536;
const MAX_AUTHENTICATOR_DATA = 16_384;
const MAX_SIGNATURE = 2_048;
const MAX_USER_HANDLE = 128;

const B64URL_ID = /^[A-Za-z0-9_-]+$/;
const B64URL = /^[A-Za-z0-9_-]+={0,2}$/;

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const b64url = (value: unknown, max: number): value is string => typeof value === 'string' && value.length <= max && B64URL.test(value);

/** Ids, type and client extension results, common to both ceremonies; undefined when malformed. */
function credentialShape(value: unknown): { id: string; response: Json; authenticatorAttachment?: 'platform' | 'cross-platform' } | undefined {
  if (!isObject(value)) return undefined;
  const { id, rawId, type, response, clientExtensionResults, authenticatorAttachment } = value;
  if (typeof id !== 'string' || id.length > MAX_ID || !B64URL_ID.test(id) || rawId !== id) return undefined;
  if (type !== 'public-key' || !isObject(response)) return undefined;
  if (clientExtensionResults !== undefined && !isObject(clientExtensionResults)) return undefined;
  if (authenticatorAttachment !== undefined && authenticatorAttachment !== null && authenticatorAttachment !== 'platform' && authenticatorAttachment !== 'cross-platform') return undefined;
  return { id, response, ...(authenticatorAttachment ? { authenticatorAttachment } : {}) };
}

/**
 * The client data of a ceremony of this type, checked for shape: the library compares type,
 * challenge and origin; this also refuses a ceremony run in a cross-origin frame.
 */
function clientDataOk(encoded: string, type: 'webauthn.create' | 'webauthn.get'): boolean {
  try {
    const data: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    if (!isObject(data)) return false;
    if (data.type !== type || typeof data.challenge !== 'string' || typeof data.origin !== 'string') return false;
    return data.crossOrigin === undefined || data.crossOrigin === false;
  } catch {
    return false;
  }
}

function registrationShape(value: unknown): RegistrationResponseJSON | undefined {
  const base = credentialShape(value);
  if (!base) return undefined;
  const { clientDataJSON, attestationObject, transports } = base.response;
  if (!b64url(clientDataJSON, MAX_CLIENT_DATA) || !b64url(attestationObject, MAX_ATTESTATION)) return undefined;
  if (!clientDataOk(clientDataJSON, 'webauthn.create')) return undefined;
  if (transports !== undefined && (!Array.isArray(transports) || transports.length > 16 || !transports.every((t) => typeof t === 'string' && t.length <= 32))) {
    return undefined;
  }
  const known = [...new Set((transports ?? []) as string[])].filter((t): t is AuthenticatorTransportFuture => (TRANSPORTS as readonly string[]).includes(t));
  return {
    id: base.id,
    rawId: base.id,
    type: 'public-key',
    response: { clientDataJSON, attestationObject, transports: known },
    clientExtensionResults: {},
    ...(base.authenticatorAttachment ? { authenticatorAttachment: base.authenticatorAttachment } : {}),
  };
}

function authenticationShape(value: unknown): AuthenticationResponseJSON | undefined {
  const base = credentialShape(value);
  if (!base) return undefined;
  const { clientDataJSON, authenticatorData, signature, userHandle } = base.response;
  if (!b64url(clientDataJSON, MAX_CLIENT_DATA) || !b64url(authenticatorData, MAX_AUTHENTICATOR_DATA) || !b64url(signature, MAX_SIGNATURE)) return undefined;
  if (userHandle !== undefined && userHandle !== null && !b64url(userHandle, MAX_USER_HANDLE)) return undefined;
  if (!clientDataOk(clientDataJSON, 'webauthn.get')) return undefined;
  return {
    id: base.id,
    rawId: base.id,
    type: 'public-key',
    response: { clientDataJSON, authenticatorData, signature, ...(typeof userHandle === 'string' ? { userHandle } : {}) },
    clientExtensionResults: {},
    ...(base.authenticatorAttachment ? { authenticatorAttachment: base.authenticatorAttachment } : {}),
  };
}

/** One DER INTEGER at `at`, minimally encoded and positive; the offset after it, or -1. */
function derInteger(b: Uint8Array, at: number): number {
  if (b[at] !== 0x02 || at + 2 > b.length) return -1;
  const length = b[at + 1]!;
  const start = at + 2;
  if (length === 0 || length >= 0x80 || start + length > b.length) return -1;
  if (b[start]! & 0x80) return -1;
  if (length > 1 && b[start] === 0 && !(b[start + 1]! & 0x80)) return -1;
  return start + length;
}

/**
 * Whether an ECDSA signature is DER (WebAuthn §6.5.6), exactly: one SEQUENCE of two INTEGERs and
 * nothing after it. The verifier would also take BER and trailing bytes, so one signature could be
 * sent in many forms.
 */
function strictDerSignature(b: Uint8Array): boolean {
  if (b.length < 8 || b[0] !== 0x30) return false;
  let start = 2;
  let length = b[1]!;
  if (length === 0x81) {
    length = b[2]!;
    start = 3;
    if (length < 0x80) return false;
  } else if (length >= 0x80) {
    return false;
  }
  if (start + length !== b.length) return false;
  const afterR = derInteger(b, start);
  return afterR > 0 && derInteger(b, afterR) === b.length;
}

/** Whether a signature has the form the credential's key type signs in. */
function signatureFormOk(publicKey: ReturnType<typeof isoBase64URL.toBuffer>, signature: string): boolean {
  try {
    if (decodeCredentialPublicKey(publicKey).get(cose.COSEKEYS.kty) !== cose.COSEKTY.EC2) return true;
    return strictDerSignature(isoBase64URL.toBuffer(signature));
  } catch {
    return false;
  }
}

/** A challenge the caller kept: never empty, so a response without one cannot match it. */
const challengeOk = (challenge: unknown): challenge is string => typeof challenge === 'string' && challenge.length >= 16 && challenge.length <= 512 && B64URL_ID.test(challenge);

const info = (c: WebAuthnCredentialRecord): WebAuthnCredentialInfo => ({
  id: c.id,
  name: c.name,
  created: c.created,
  lastUsedAt: c.lastUsedAt,
  transports: [...c.transports],
  deviceType: c.deviceType,
  backedUp: c.backedUp,
  aaguid: c.aaguid,
});

const transportsOf = (c: WebAuthnCredentialRecord): AuthenticatorTransportFuture[] =>
  c.transports.filter((t): t is AuthenticatorTransportFuture => (TRANSPORTS as readonly string[]).includes(t));

/** A name as given, on one line, trimmed and at most 64 characters; empty when none was given. */
function cleanName(name: string | undefined): string {
  if (typeof name !== 'string') return '';
  const oneLine = name.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ').replace(/[\u202a-\u202e\u2066-\u2069]/g, '');
  return [...oneLine.trim()].slice(0, NAME_MAX).join('').trim();
}

/**
 * "Passkey 2" (synced, or built into the device), "Security key 1" (a roaming authenticator): the
 * first number not already taken among the user's names.
 */
function defaultName(passkey: boolean, existing: readonly WebAuthnCredentialRecord[]): string {
  const base = passkey ? 'Passkey' : 'Security key';
  const taken = new Set(existing.map((c) => c.name));
  let n = existing.filter((c) => c.name.startsWith(`${base} `)).length + 1;
  while (taken.has(`${base} ${n}`)) n++;
  return `${base} ${n}`;
}

const userEntry = (userId: UserId, operation: 'mfa_enroll' | 'mfa_reset', before: unknown, after: unknown, details?: Record<string, unknown>): JournalEntryInput => ({
  objectType: 'user',
  objectId: userId,
  operation,
  changes: { webauthn: { before, after } },
  ...(details ? { details } : {}),
});

/**
 * Users' security keys and passkeys (WebAuthn), for sign-in with or without a password. Only
 * each credential's public key is kept, with its signature counter: a use whose counter does not
 * move forward is refused as a possible clone. Challenges are the caller's to keep (sealed in the
 * browser, say) and to use once; every response from the network is checked for shape before it
 * reaches the verifier, and a malformed one is refused, never thrown.
 */
export class WebAuthnService {
  constructor(private readonly deps: Deps) {}

  private now(): string {
    return this.deps.clock().toISOString();
  }

  private async readUser(ctx: Context, userId: string): Promise<User> {
    requirePermission(ctx, 'users:read');
    const user = await this.deps.store.read.users.findById(ctx.orgId, userId as UserId);
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    return user;
  }

  /** The user, locked until `tx` ends, so changes to one user's credentials happen one at a time. */
  private async lockUser(tx: Transaction, orgId: OrgId, userId: string): Promise<User> {
    const user = await tx.users.findById(orgId, userId as UserId, { forUpdate: true });
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    return user;
  }

  async list(ctx: Context, userId: string): Promise<WebAuthnCredentialInfo[]> {
    const user = await this.readUser(ctx, userId);
    return (await this.deps.store.read.webauthnCredentials.listByUser(ctx.orgId, user.id)).map(info);
  }

  /** Removes one of the user's credentials; false when the user has no such credential. */
  async remove(ctx: Context, userId: string, credentialId: string): Promise<boolean> {
    requirePermission(ctx, 'users:write');
    return this.deps.store.transaction(async (tx) => {
      const user = await this.lockUser(tx, ctx.orgId, userId);
      const found = (await tx.webauthnCredentials.listByUser(ctx.orgId, user.id)).find((c) => c.id === credentialId);
      if (!found || !(await tx.webauthnCredentials.delete(ctx.orgId, user.id, found.id))) return false;
      journal(tx, ctx, userEntry(user.id, 'mfa_reset', found.name, null, { credentialId: found.id }));
      return true;
    });
  }

  /** Removes every credential of the user; the number removed. */
  async removeAll(ctx: Context, userId: string): Promise<number> {
    requirePermission(ctx, 'users:write');
    return this.deps.store.transaction(async (tx) => {
      const user = await this.lockUser(tx, ctx.orgId, userId);
      const before = await tx.webauthnCredentials.listByUser(ctx.orgId, user.id);
      if (before.length === 0) return 0;
      const count = await tx.webauthnCredentials.deleteAllOf(ctx.orgId, user.id);
      if (count > 0) journal(tx, ctx, userEntry(user.id, 'mfa_reset', before.map((c) => c.name), null));
      return count;
    });
  }

  /** Which of these users have a credential, for a page of user objects. */
  async withCredentialsAmong(ctx: Context, userIds: readonly UserId[]): Promise<Set<UserId>> {
    requirePermission(ctx, 'users:read');
    if (userIds.length === 0) return new Set();
    return this.deps.store.read.webauthnCredentials.usersWithCredentialsAmong(ctx.orgId, userIds);
  }

  /** System: whether the user has a credential. */
  async hasCredentials(orgId: OrgId, userId: UserId): Promise<boolean> {
    return (await this.deps.store.read.webauthnCredentials.usersWithCredentialsAmong(orgId, [userId])).has(userId);
  }

  /**
   * System: what the browser needs to create a credential for the user, and the challenge the
   * caller keeps for `register`. The user handle is the Roster user id, so a passkey names its
   * user at sign-in; the user's credentials are excluded, so one authenticator registers once.
   */
  async registrationOptions(orgId: OrgId, userId: UserId, rp: RelyingParty): Promise<{ options: PublicKeyCredentialCreationOptionsJSON; challenge: string }> {
    const repos = this.deps.store.read;
    const user = await repos.users.findById(orgId, userId);
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    const existing = await repos.webauthnCredentials.listByUser(orgId, user.id);
    const options = await generateRegistrationOptions({
      rpName: rp.name,
      rpID: rp.id,
      userName: user.username,
      userID: isoUint8Array.fromUTF8String(user.id),
      userDisplayName: user.displayname.trim() || `${user.firstname} ${user.lastname}`.trim() || user.username,
      timeout: TIMEOUT_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((c) => ({ id: c.id, transports: transportsOf(c) })),
      authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      supportedAlgorithmIDs: [...ALGORITHMS],
    });
    return { options, challenge: options.challenge };
  }

  /**
   * System: verifies the browser's answer to `registrationOptions` and keeps the new credential,
   * journaled with the user as the actor. `name` defaults to "Security key n" or "Passkey n".
   */
  async register(
    orgId: OrgId,
    userId: UserId,
    response: unknown,
    expectedChallenge: string,
    rp: RelyingParty,
    name?: string,
    origin: Origin = 'portal',
  ): Promise<WebAuthnRegistration> {
    const refuse = (message: string): WebAuthnRegistration => ({ ok: false, reason: 'INVALID_WEBAUTHN', message });
    const shaped = registrationShape(response);
    if (!shaped) return refuse('The response is not a WebAuthn registration');
    if (!challengeOk(expectedChallenge)) return refuse('No registration was started');
    let verified;
    try {
      verified = await verifyRegistrationResponse({
        response: shaped,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        requireUserPresence: true,
        requireUserVerification: false,
        supportedAlgorithmIDs: [...ALGORITHMS],
      });
    } catch {
      return refuse('The registration could not be verified');
    }
    if (!verified.verified) return refuse('The registration could not be verified');
    const { credential, credentialDeviceType, credentialBackedUp, aaguid } = verified.registrationInfo;
    // The id the browser reports must be the one the authenticator attested.
    if (credential.id !== shaped.id) return refuse('The registration could not be verified');
    try {
      return await this.deps.store.transaction(async (tx): Promise<WebAuthnRegistration> => {
        const user = await this.lockUser(tx, orgId, userId);
        if (await tx.webauthnCredentials.findById(credential.id)) return refuse('This security key or passkey is already registered');
        const existing = await tx.webauthnCredentials.listByUser(orgId, user.id);
        const record: WebAuthnCredentialRecord = {
          id: credential.id,
          orgId,
          userId: user.id,
          publicKey: isoBase64URL.fromBuffer(credential.publicKey),
          counter: credential.counter,
          transports: shaped.response.transports ?? [],
          deviceType: credentialDeviceType,
          backedUp: credentialBackedUp,
          aaguid,
          name: cleanName(name) || defaultName(credentialDeviceType === 'multiDevice' || shaped.authenticatorAttachment === 'platform', existing),
          created: this.now(),
          lastUsedAt: null,
        };
        await tx.webauthnCredentials.insert(record);
        tx.record({ orgId, actor: { type: 'user', id: user.id }, origin }, [userEntry(user.id, 'mfa_enroll', null, record.name, { credentialId: record.id })]);
        return { ok: true, credential: info(record) };
      });
    } catch (e) {
      // Registered at the same moment elsewhere.
      if (isDirectoryError(e) && e.kind === 'conflict') return refuse('This security key or passkey is already registered');
      throw e;
    }
  }

  /**
   * System: what the browser needs to sign in with a credential. For a known user, their
   * credentials; for a passkey sign-in without a username (`userId` null), none listed and user
   * verification required, since the passkey alone then stands for the user.
   */
  async authenticationOptions(orgId: OrgId, userId: UserId | null, rp: RelyingParty): Promise<{ options: PublicKeyCredentialRequestOptionsJSON; challenge: string }> {
    const existing = userId === null ? [] : await this.deps.store.read.webauthnCredentials.listByUser(orgId, userId);
    const options = await generateAuthenticationOptions({
      rpID: rp.id,
      allowCredentials: existing.map((c) => ({ id: c.id, transports: transportsOf(c) })),
      userVerification: userId === null ? 'required' : 'preferred',
      timeout: TIMEOUT_MS,
    });
    return { options, challenge: options.challenge };
  }

  /**
   * System: verifies the browser's answer to `authenticationOptions` and records the use. The
   * credential must be of this org, and of `expect.userId` when given; a passkey's user handle
   * must name the credential's user. Without `expect.userId` (a passkey alone) the user handle and
   * user verification are required whatever `expect.requireUserVerification` says. A signature
   * counter that does not move forward is refused as a possible clone, and changes nothing. The
   * caller uses each challenge once: an authenticator without a counter cannot tell a replay.
   */
  async authenticate(orgId: OrgId, response: unknown, expectedChallenge: string, rp: RelyingParty, expect: WebAuthnExpectation): Promise<WebAuthnAuthentication> {
    const refuse = (reason: WebAuthnRefusal): WebAuthnAuthentication => ({ ok: false, reason });
    const shaped = authenticationShape(response);
    if (!shaped || !challengeOk(expectedChallenge)) return refuse('INVALID_WEBAUTHN');
    const repos = this.deps.store.read;
    const stored = await repos.webauthnCredentials.findById(shaped.id);
    if (!stored || stored.orgId !== orgId) return refuse('UNKNOWN_CREDENTIAL');
    if (expect.userId !== undefined && stored.userId !== expect.userId) return refuse('UNKNOWN_CREDENTIAL');
    const handle = shaped.response.userHandle;
    // Without a user named beforehand, the authenticator must name one (a discoverable credential).
    if (handle === undefined && expect.userId === undefined) return refuse('INVALID_WEBAUTHN');
    if (handle !== undefined && Buffer.from(handle, 'base64url').toString('utf8') !== stored.userId) return refuse('INVALID_WEBAUTHN');
    const publicKey = isoBase64URL.toBuffer(stored.publicKey);
    if (!signatureFormOk(publicKey, shaped.response.signature)) return refuse('INVALID_WEBAUTHN');
    let verified;
    try {
      verified = await verifyAuthenticationResponse({
        response: shaped,
        expectedChallenge,
        expectedOrigin: rp.origin,
        expectedRPID: rp.id,
        // The counter is compared below, after the signature: a response that is not signed is
        // invalid whatever its counter says.
        credential: { id: stored.id, publicKey, counter: 0, transports: transportsOf(stored) },
        requireUserVerification: expect.requireUserVerification || expect.userId === undefined,
      });
    } catch {
      return refuse('INVALID_WEBAUTHN');
    }
    if (!verified.verified) return refuse('INVALID_WEBAUTHN');
    const { newCounter, credentialBackedUp, userVerified } = verified.authenticationInfo;
    if ((stored.counter > 0 || newCounter > 0) && newCounter <= stored.counter) return refuse('WEBAUTHN_CLONED');
    if (!(await repos.webauthnCredentials.recordUse(stored.id, { counter: newCounter, backedUp: credentialBackedUp, at: this.now() }))) {
      // Another use moved the counter first (the same assertion twice), or the credential is gone.
      return refuse((await repos.webauthnCredentials.findById(stored.id)) ? 'WEBAUTHN_CLONED' : 'UNKNOWN_CREDENTIAL');
    }
    return { ok: true, userId: stored.userId, credentialId: stored.id, userVerified };
  }
}

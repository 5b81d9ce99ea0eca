/**
 * A software WebAuthn authenticator for tests: ES256 (P-256) keys from node:crypto, attestation
 * format "none", and the browser's part too (clientDataJSON, the JSON encoding of the answer).
 * Each ceremony can be bent the ways a test needs: no user verification, another origin or RP ID,
 * another challenge, a forced (replayed) signature counter, backup flags.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { isoCBOR } from '@simplewebauthn/server/helpers';

/** What isoCBOR.encode takes. */
type CBORType = Parameters<typeof isoCBOR.encode>[0];

export interface SoftAuthenticatorOptions {
  origin: string;
  rpId: string;
  /** Whether the authenticator keeps a signature counter (default true); passkeys often keep none (always 0). */
  counter?: boolean;
  /** AAGUID, 16 bytes as hex (default all zeros, as many authenticators send with "none"). */
  aaguid?: string;
  transports?: string[];
}

/** What a test may bend in one ceremony. */
export interface CeremonyOptions {
  /** UV flag (default true). */
  userVerified?: boolean;
  /** UP flag (default true). */
  userPresent?: boolean;
  /** The origin in clientDataJSON (default the authenticator's). */
  origin?: string;
  /** The RP ID whose hash goes into authenticatorData (default the options' or the authenticator's). */
  rpId?: string;
  /** The challenge in clientDataJSON (default the options'). */
  challenge?: string;
  /** clientDataJSON's type (default webauthn.create / webauthn.get). */
  type?: string;
  /** The signature counter to report, e.g. one already used (default: the next one, or 0 without a counter). */
  signCount?: number;
  /** Backup eligible / backed up (BE, BS): a synced passkey has both. */
  backupEligible?: boolean;
  backedUp?: boolean;
}

export interface CreateOptions extends CeremonyOptions {
  /** Make the credential even if the options exclude one of ours (a browser would refuse). */
  ignoreExclude?: boolean;
  /** A discoverable (resident) credential, which names its user at sign-in (default: as the options ask). */
  resident?: boolean;
}

export interface GetOptions extends CeremonyOptions {
  /** Use this credential (base64url id) rather than the first that matches. */
  credentialId?: string;
  /** The user handle to report: a base64url string, or null for none (default: the credential's, for a resident one). */
  userHandle?: string | null;
}

export interface SoftCredential {
  id: string;
  rpId: string;
  /** base64url, as the RP gave it at registration. */
  userHandle: string;
  privateKey: KeyObject;
  signCount: number;
  resident: boolean;
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

const FLAG_UP = 0x01;
const FLAG_UV = 0x04;
const FLAG_BE = 0x08;
const FLAG_BS = 0x10;
const FLAG_AT = 0x40;

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];
  private readonly counts: boolean;
  private readonly aaguid: Buffer;

  constructor(private readonly options: SoftAuthenticatorOptions) {
    this.counts = options.counter ?? true;
    this.aaguid = Buffer.from(options.aaguid ?? '00'.repeat(16), 'hex');
  }

  private flags(o: CeremonyOptions, attested: boolean): number {
    let flags = 0;
    if (o.userPresent ?? true) flags |= FLAG_UP;
    if (o.userVerified ?? true) flags |= FLAG_UV;
    if (o.backupEligible || o.backedUp) flags |= FLAG_BE;
    if (o.backedUp) flags |= FLAG_BS;
    if (attested) flags |= FLAG_AT;
    return flags;
  }

  private clientData(type: string, challenge: string, o: CeremonyOptions): Buffer {
    return Buffer.from(JSON.stringify({ type: o.type ?? type, challenge: o.challenge ?? challenge, origin: o.origin ?? this.options.origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): a new P-256 credential, attested with "none". */
  create(options: PublicKeyCredentialCreationOptionsJSON, o: CreateOptions = {}): RegistrationResponseJSON {
    const rpId = options.rp.id ?? this.options.rpId;
    const ours = new Set(this.credentials.map((c) => c.id));
    if (!o.ignoreExclude && (options.excludeCredentials ?? []).some((c) => ours.has(c.id))) {
      throw new Error('InvalidStateError: the authenticator already holds an excluded credential');
    }
    if (!options.pubKeyCredParams.some((p) => p.alg === -7)) throw new Error('NotSupportedError: ES256 not offered');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const cose = isoCBOR.encode(
      new Map<number, CBORType>([
        [1, 2], // kty: EC2
        [3, -7], // alg: ES256
        [-1, 1], // crv: P-256
        [-2, new Uint8Array(Buffer.from(jwk.x!, 'base64url'))],
        [-3, new Uint8Array(Buffer.from(jwk.y!, 'base64url'))],
      ]),
    );
    const id = randomBytes(32);
    const resident = o.resident ?? options.authenticatorSelection?.residentKey !== 'discouraged';
    const credential: SoftCredential = { id: b64url(id), rpId, userHandle: options.user.id, privateKey, signCount: 0, resident };
    const signCount = o.signCount ?? 0;
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(id.length);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(signCount);
    const authData = Buffer.concat([sha256(o.rpId ?? rpId), Buffer.from([this.flags(o, true)]), counter, this.aaguid, idLength, id, Buffer.from(cose)]);
    const attestationObject = isoCBOR.encode(
      new Map<string, CBORType>([
        ['fmt', 'none'],
        ['attStmt', new Map<string, CBORType>()],
        ['authData', new Uint8Array(authData)],
      ]),
    );
    this.credentials.push(credential);
    credential.signCount = signCount;
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', options.challenge, o)),
        attestationObject: b64url(attestationObject),
        transports: (this.options.transports ?? ['usb']) as RegistrationResponseJSON['response']['transports'],
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /** navigator.credentials.get(): an assertion by a credential the options allow (any of ours for this RP when they list none). */
  get(options: PublicKeyCredentialRequestOptionsJSON, o: GetOptions = {}): AuthenticationResponseJSON {
    const rpId = options.rpId ?? this.options.rpId;
    const allowed = options.allowCredentials ?? [];
    const candidates = this.credentials.filter((c) =>
      o.credentialId !== undefined ? c.id === o.credentialId : c.rpId === rpId && (allowed.length === 0 ? c.resident : allowed.some((a) => a.id === c.id)),
    );
    const credential = candidates[0];
    if (!credential) throw new Error('NotAllowedError: no credential for this request');
    let signCount = 0;
    if (o.signCount !== undefined) signCount = o.signCount;
    else if (this.counts) signCount = ++credential.signCount;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(signCount);
    const authData = Buffer.concat([sha256(o.rpId ?? rpId), Buffer.from([this.flags(o, false)]), counter]);
    const clientDataJSON = this.clientData('webauthn.get', options.challenge, o);
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), credential.privateKey);
    const userHandle = o.userHandle !== undefined ? o.userHandle : credential.resident ? credential.userHandle : null;
    return {
      id: credential.id,
      rawId: credential.id,
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authData),
        signature: b64url(signature),
        ...(userHandle !== null ? { userHandle } : {}),
      },
      clientExtensionResults: {},
      authenticatorAttachment: 'cross-platform',
    };
  }

  /** A second authenticator holding copies of this one's credentials and counters: a clone. */
  clone(): SoftAuthenticator {
    const copy = new SoftAuthenticator(this.options);
    for (const c of this.credentials) copy.credentials.push({ ...c });
    return copy;
  }
}

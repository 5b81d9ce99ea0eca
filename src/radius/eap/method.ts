import type { Attribute } from '../packet.js';
import type { CertificateNames } from './eap-tls.js';
import type { EapPacket } from './eap.js';

/** The session keys an Access-Accept carries as MS-MPPE-Recv-Key and MS-MPPE-Send-Key (RFC 2548). */
export interface SessionKeys {
  recvKey: Buffer;
  sendKey: Buffer;
}

/** What checking a user's credentials inside an EAP method came to. */
export type AuthResult =
  | { ok: true; username: string; attributes: Attribute[] }
  | { ok: false; reason: string; username?: string };

/**
 * How EAP methods reach the directory: the access handler supplies these per request, bound to
 * the RADIUS server (authorization, lockout, MFA and journaling happen there).
 */
export interface Authenticator {
  /** A cleartext password (EAP-TTLS/PAP), possibly with a TOTP code appended. */
  password(username: string, password: string): Promise<AuthResult>;
  /**
   * A challenge-response over the NT hash (MS-CHAPv2): `check` gets the user's NT hash and says
   * whether the peer's response proves knowledge of the password.
   */
  ntHash(username: string, check: (ntHash: Buffer) => boolean): Promise<AuthResult>;
  /** A client certificate that chains to the server's CAs (EAP-TLS): which user it names, and whether they may in. */
  certificate(names: CertificateNames): Promise<AuthResult>;
}

export type MethodStep =
  /** Send this EAP request in an Access-Challenge and wait for the next response. */
  | { kind: 'continue'; request: EapPacket }
  | { kind: 'accept'; username: string; attributes: Attribute[]; keys: SessionKeys }
  | { kind: 'reject'; reason: string; username?: string };

/** One EAP method's side of a conversation. */
export interface EapMethod {
  readonly type: number;
  /** The first request of the method (after the peer's identity or a Nak). */
  start(identifier: number): EapPacket;
  /** The peer's response to the last request; `identifier` is the one the next request gets. */
  handle(response: EapPacket, identifier: number): Promise<MethodStep>;
  /** Frees what the method holds (a TLS session) when the conversation ends or expires. */
  close(): void;
}

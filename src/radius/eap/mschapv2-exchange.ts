import { randomBytes } from 'node:crypto';
import { authenticatorResponse, eapMschapv2Keys, verifyNtResponse } from '../mschapv2.js';
import type { AuthResult, Authenticator, SessionKeys } from './method.js';

const OP_CHALLENGE = 1;
const OP_RESPONSE = 2;
const OP_SUCCESS = 3;
const OP_FAILURE = 4;
const RESPONSE_VALUE_SIZE = 49;
const SERVER_NAME = Buffer.from('roster');

/** MS-CHAP error codes a Failure request or an MS-CHAP-Error carries (RFC 2759 §6). */
export const failureCode = (reason: string) => (reason === 'SUSPENDED' || reason === 'NOT_ACTIVATED' ? 647 : reason === 'PASSWORD_EXPIRED' ? 648 : 691);

/** "DOMAIN\\user" → "user": MS-CHAPv2 hashes the name without its domain (RFC 2759 §4). */
export const withoutDomain = (name: string) => name.slice(name.lastIndexOf('\\') + 1);

export type ExchangeStep = { reply: Buffer } | { done: AuthResult; keys?: SessionKeys };

/**
 * The server side of EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2), over the method's type
 * data (what follows the EAP Type octet), so PEAP's header-less inner packets and plain
 * EAP-MSCHAPv2 share it: Challenge → Response → Success or Failure request → the peer's ack.
 */
export class MsChapV2Exchange {
  private readonly challenge = randomBytes(16);
  private readonly id = randomBytes(1)[0]!;
  private outcome: { result: AuthResult; keys?: SessionKeys } | undefined;

  constructor(private readonly auth: Authenticator) {}

  /** The Challenge request's type data. */
  start(): Buffer {
    return this.packet(OP_CHALLENGE, Buffer.concat([Buffer.from([16]), this.challenge, SERVER_NAME]));
  }

  async handle(data: Buffer): Promise<ExchangeStep> {
    const opcode = data[0];
    if (this.outcome) {
      // The peer acknowledges our Success (opcode 3) or Failure (opcode 4) request.
      const expected = this.outcome.result.ok ? OP_SUCCESS : OP_FAILURE;
      if (opcode !== expected) return { done: { ok: false, reason: 'MSCHAPV2_UNEXPECTED_OPCODE' } };
      return { done: this.outcome.result, ...(this.outcome.keys ? { keys: this.outcome.keys } : {}) };
    }
    if (opcode !== OP_RESPONSE || data.length < 5 + RESPONSE_VALUE_SIZE || data[1] !== this.id || data[4] !== RESPONSE_VALUE_SIZE) {
      return { done: { ok: false, reason: 'MSCHAPV2_MALFORMED' } };
    }
    const value = data.subarray(5, 5 + RESPONSE_VALUE_SIZE);
    const peerChallenge = value.subarray(0, 16);
    const ntResponse = value.subarray(24, 48);
    const name = withoutDomain(data.subarray(5 + RESPONSE_VALUE_SIZE).toString('utf8'));
    let success: string | undefined;
    let keys: SessionKeys | undefined;
    const result = await this.auth.ntHash(name, (ntHash) => {
      if (!verifyNtResponse(this.challenge, peerChallenge, name, ntHash, ntResponse)) return false;
      success = authenticatorResponse(ntHash, ntResponse, peerChallenge, this.challenge, name);
      keys = eapMschapv2Keys(ntHash, ntResponse);
      return true;
    });
    if (result.ok && success) {
      this.outcome = { result, ...(keys ? { keys } : {}) };
      return { reply: this.packet(OP_SUCCESS, Buffer.from(`${success} M=Authentication succeeded`)) };
    }
    const failed: AuthResult = result.ok ? { ok: false, reason: 'INVALID_CREDENTIALS', username: name } : result;
    this.outcome = { result: failed };
    const message = `E=${failureCode(failed.ok ? '' : failed.reason)} R=0 C=${randomBytes(16).toString('hex').toUpperCase()} V=3 M=Authentication failed`;
    return { reply: this.packet(OP_FAILURE, Buffer.from(message)) };
  }

  /** OpCode, MS-CHAPv2-ID, MS-Length (from OpCode to the end), then the body. */
  private packet(opcode: number, body: Buffer): Buffer {
    const out = Buffer.alloc(4 + body.length);
    out[0] = opcode;
    out[1] = this.id;
    out.writeUInt16BE(out.length, 2);
    body.copy(out, 4);
    return out;
  }
}

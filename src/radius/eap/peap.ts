import type { SecureContext } from 'node:tls';
import { EapCode, EapType, encodeEap, type EapPacket } from './eap.js';
import type { AuthResult, Authenticator, EapMethod, MethodStep } from './method.js';
import { MsChapV2Exchange } from './mschapv2-exchange.js';
import { TunneledMethod, type InnerStep } from './tunneled.js';

/** The Result TLV (type 3, mandatory) of an EAP-TLV / Extensions packet: 1 success, 2 failure. */
const resultTlv = (success: boolean) => Buffer.from([0x80, 0x03, 0x00, 0x02, 0x00, success ? 1 : 2]);

/**
 * PEAPv0 with EAP-MSCHAPv2 inside ([MS-PEAP], draft-kamath-pppext-peapv0). Inner EAP packets
 * travel without their 4-octet header, except the Extensions packet that carries the Result
 * TLV, which the server sends once the inner method is over. Keys come from the label
 * "client EAP encryption", as for EAP-TLS (RFC 5216 §2.3).
 */
export class PeapMethod extends TunneledMethod {
  private phase: 'identity' | 'mschapv2' | 'result' = 'identity';
  private readonly exchange: MsChapV2Exchange;
  private result: AuthResult | undefined;
  private innerId = 0;

  constructor(context: SecureContext, auth: Authenticator) {
    super(EapType.Peap, { context }, 'client EAP encryption');
    this.exchange = new MsChapV2Exchange(auth);
  }

  protected async begin(): Promise<InnerStep | undefined> {
    return { send: Buffer.from([EapType.Identity]) };
  }

  protected async inner(raw: Buffer): Promise<InnerStep> {
    const data = this.stripHeader(raw);
    if (this.phase === 'result') {
      const acknowledged = data[0] === EapType.Extensions && data.subarray(1).equals(resultTlv(this.result!.ok));
      return { done: acknowledged ? this.result! : { ok: false, reason: 'PEAP_RESULT_NOT_ACKNOWLEDGED' } };
    }
    if (data.length === 0) return { done: { ok: false, reason: 'PEAP_MALFORMED' } };
    if (this.phase === 'identity') {
      if (data[0] !== EapType.Identity) return { done: { ok: false, reason: 'PEAP_MALFORMED' } };
      this.phase = 'mschapv2';
      return { send: Buffer.concat([Buffer.from([EapType.MsChapV2]), this.exchange.start()]) };
    }
    if (data[0] !== EapType.MsChapV2) return { done: { ok: false, reason: data[0] === EapType.Nak ? 'PEAP_INNER_METHOD_REFUSED' : 'PEAP_MALFORMED' } };
    const step = await this.exchange.handle(data.subarray(1));
    if ('reply' in step) return { send: Buffer.concat([Buffer.from([EapType.MsChapV2]), step.reply]) };
    this.result = step.done;
    this.phase = 'result';
    const tlv: EapPacket = { code: EapCode.Request, identifier: ++this.innerId & 0xff, type: EapType.Extensions, data: resultTlv(step.done.ok) };
    return { send: encodeEap(tlv) };
  }

  /** Accepts both the header-less form PEAPv0 uses and a full EAP Response header. */
  private stripHeader(data: Buffer): Buffer {
    if (data.length >= 5 && data[0] === EapCode.Response && data.readUInt16BE(2) === data.length) return data.subarray(4);
    return data;
  }
}

/** EAP-MSCHAPv2 on its own, outside a tunnel; keys as RFC 3079 derives them. */
export class MsChapV2Method implements EapMethod {
  readonly type = EapType.MsChapV2;
  private readonly exchange: MsChapV2Exchange;

  constructor(auth: Authenticator) {
    this.exchange = new MsChapV2Exchange(auth);
  }

  start(identifier: number): EapPacket {
    return { code: EapCode.Request, identifier, type: this.type, data: this.exchange.start() };
  }

  async handle(response: EapPacket, identifier: number): Promise<MethodStep> {
    if (response.type !== this.type) return { kind: 'reject', reason: 'EAP_UNEXPECTED_TYPE' };
    const step = await this.exchange.handle(response.data);
    if ('reply' in step) return { kind: 'continue', request: { code: EapCode.Request, identifier, type: this.type, data: step.reply } };
    const r = step.done;
    if (!r.ok || !step.keys) return { kind: 'reject', reason: r.ok ? 'MSCHAPV2_NO_KEYS' : r.reason, ...(r.username !== undefined ? { username: r.username } : {}) };
    return { kind: 'accept', username: r.username, attributes: r.attributes, keys: step.keys };
  }

  close(): void {}
}

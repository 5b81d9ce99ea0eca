import type { SecureContext } from 'node:tls';
import { authenticatorResponse, verifyNtResponse } from '../mschapv2.js';
import { MsAttr, VENDOR_MICROSOFT } from '../packet.js';
import { EapType } from './eap.js';
import type { AuthResult, Authenticator } from './method.js';
import { withoutDomain } from './mschapv2-exchange.js';
import { TunneledMethod, type InnerStep } from './tunneled.js';

/** Diameter AVP codes the TTLS inner phase carries (RFC 5281 §10: RADIUS attribute numbers). */
const AVP_USER_NAME = 1;
const AVP_USER_PASSWORD = 2;
const AVP_VENDOR_FLAG = 0x80;

export interface Avp {
  code: number;
  vendorId?: number;
  mandatory: boolean;
  data: Buffer;
}

/** Decodes the AVPs of a TTLS inner message (RFC 5281 §10.1); undefined when malformed. */
export function decodeAvps(buf: Buffer): Avp[] | undefined {
  const avps: Avp[] = [];
  let at = 0;
  while (at < buf.length) {
    if (at + 8 > buf.length) return undefined;
    const code = buf.readUInt32BE(at);
    const flags = buf[at + 4]!;
    const length = buf.readUIntBE(at + 5, 3);
    const header = flags & AVP_VENDOR_FLAG ? 12 : 8;
    if (length < header || at + length > buf.length) return undefined;
    avps.push({
      code,
      mandatory: (flags & 0x40) !== 0,
      data: buf.subarray(at + header, at + length),
      ...(header === 12 ? { vendorId: buf.readUInt32BE(at + 8) } : {}),
    });
    at += (length + 3) & ~3;
  }
  return avps;
}

export function encodeAvp(code: number, data: Buffer, vendorId?: number): Buffer {
  const header = vendorId === undefined ? 8 : 12;
  const length = header + data.length;
  const out = Buffer.alloc((length + 3) & ~3);
  out.writeUInt32BE(code, 0);
  out[4] = 0x40 | (vendorId === undefined ? 0 : AVP_VENDOR_FLAG);
  out.writeUIntBE(length, 5, 3);
  if (vendorId !== undefined) out.writeUInt32BE(vendorId, 8);
  data.copy(out, header);
  return out;
}

/**
 * EAP-TTLSv0 with PAP or MS-CHAP-V2 inside (RFC 5281 §11.2.5, §11.2.4): the peer sends its
 * credentials as AVPs through the tunnel and the server answers with the outcome. Keys come from
 * the label "ttls keying material" (RFC 5281 §8).
 */
export class TtlsMethod extends TunneledMethod {
  constructor(
    context: SecureContext,
    private readonly auth: Authenticator,
  ) {
    super(EapType.Ttls, { context }, 'ttls keying material');
  }

  protected async begin(): Promise<InnerStep | undefined> {
    return undefined;
  }

  /** Set once MS-CHAP2-Success went out: the peer's empty answer acknowledges it. */
  private acknowledged: AuthResult | undefined;

  protected async inner(data: Buffer): Promise<InnerStep> {
    if (this.acknowledged) return { done: data.length === 0 ? this.acknowledged : { ok: false, reason: 'TTLS_MALFORMED_AVPS' } };
    const avps = decodeAvps(data);
    if (!avps || avps.length === 0) return { done: { ok: false, reason: 'TTLS_MALFORMED_AVPS' } };
    const standard = (code: number) => avps.find((a) => a.code === code && a.vendorId === undefined)?.data;
    const microsoft = (code: number) => avps.find((a) => a.code === code && a.vendorId === VENDOR_MICROSOFT)?.data;
    const name = standard(AVP_USER_NAME);
    const challenge = microsoft(MsAttr.ChapChallenge);
    const response = microsoft(MsAttr.Chap2Response);
    if (name && challenge && response) return this.msChapV2(name.toString('utf8'), challenge, response);
    const known = (a: Avp) => a.vendorId === undefined && (a.code === AVP_USER_NAME || a.code === AVP_USER_PASSWORD);
    const unknownMandatory = avps.find((a) => a.mandatory && !known(a));
    const password = standard(AVP_USER_PASSWORD);
    if (!name || !password) {
      return { done: { ok: false, reason: unknownMandatory ? 'TTLS_INNER_METHOD_UNSUPPORTED' : 'TTLS_MALFORMED_AVPS' } };
    }
    // Peers pad the password with NULs to a multiple of 16 octets (RFC 5281 §11.2.5).
    let end = password.length;
    while (end > 0 && password[end - 1] === 0) end--;
    return { done: await this.auth.password(name.toString('utf8'), password.subarray(0, end).toString('utf8')) };
  }

  /**
   * MS-CHAP-V2 inside TTLS (RFC 5281 §11.2.4): the challenge is not sent by the server but
   * derived from the TLS keys ("ttls challenge": 16 octets of challenge, then the identifier),
   * so a peer that sends another one is refused. Success goes back as an MS-CHAP2-Success AVP.
   */
  private async msChapV2(name: string, challenge: Buffer, response: Buffer): Promise<InnerStep> {
    const implicit = this.keyingMaterial(17, 'ttls challenge');
    if (challenge.length !== 16 || response.length !== 50 || !challenge.equals(implicit.subarray(0, 16)) || response[0] !== implicit[16]) {
      return { done: { ok: false, reason: 'TTLS_MSCHAPV2_BAD_CHALLENGE' } };
    }
    const username = withoutDomain(name);
    const peerChallenge = response.subarray(2, 18);
    const ntResponse = response.subarray(26, 50);
    let success: string | undefined;
    const result = await this.auth.ntHash(username, (ntHash) => {
      if (!verifyNtResponse(challenge, peerChallenge, username, ntHash, ntResponse)) return false;
      success = authenticatorResponse(ntHash, ntResponse, peerChallenge, challenge, username);
      return true;
    });
    if (!result.ok || success === undefined) return { done: result.ok ? { ok: false, reason: 'INVALID_CREDENTIALS', username } : result };
    this.acknowledged = result;
    return { send: encodeAvp(MsAttr.Chap2Success, Buffer.concat([response.subarray(0, 1), Buffer.from(success)]), VENDOR_MICROSOFT) };
  }
}

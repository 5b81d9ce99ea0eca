/** EAP packets (RFC 3748 §4) as RADIUS carries them in EAP-Message attributes (RFC 3579). */

export const EapCode = { Request: 1, Response: 2, Success: 3, Failure: 4 } as const;

export const EapType = {
  Identity: 1,
  Notification: 2,
  Nak: 3,
  Md5Challenge: 4,
  Tls: 13,
  Ttls: 21,
  Peap: 25,
  MsChapV2: 26,
  Extensions: 33,
} as const;

export interface EapPacket {
  code: number;
  identifier: number;
  /** Absent for Success and Failure. */
  type?: number;
  data: Buffer;
}

export class MalformedEap extends Error {}

/** Decodes one EAP packet; its Length must match what was carried exactly (RFC 3579 §3.1 reassembly). */
export function decodeEap(buf: Buffer): EapPacket {
  if (buf.length < 4) throw new MalformedEap('EAP packet shorter than its header');
  const code = buf[0]!;
  const identifier = buf[1]!;
  const length = buf.readUInt16BE(2);
  if (length !== buf.length) throw new MalformedEap(`EAP length ${length} does not match the ${buf.length} octets carried`);
  if (code === EapCode.Success || code === EapCode.Failure) {
    if (length !== 4) throw new MalformedEap('EAP Success or Failure with data');
    return { code, identifier, data: Buffer.alloc(0) };
  }
  if (code !== EapCode.Request && code !== EapCode.Response) throw new MalformedEap(`unknown EAP code ${code}`);
  if (length < 5) throw new MalformedEap('EAP request or response without a type');
  return { code, identifier, type: buf[4]!, data: buf.subarray(5) };
}

export function encodeEap(packet: EapPacket): Buffer {
  const hasType = packet.type !== undefined;
  const length = 4 + (hasType ? 1 + packet.data.length : 0);
  const out = Buffer.alloc(length);
  out[0] = packet.code;
  out[1] = packet.identifier;
  out.writeUInt16BE(length, 2);
  if (hasType) {
    out[4] = packet.type!;
    packet.data.copy(out, 5);
  }
  return out;
}

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** RADIUS packet codes (RFC 2865 §3, RFC 2866 §3, RFC 5997). */
export const Code = {
  AccessRequest: 1,
  AccessAccept: 2,
  AccessReject: 3,
  AccountingRequest: 4,
  AccountingResponse: 5,
  AccessChallenge: 11,
  StatusServer: 12,
} as const;

/** Attribute types used here (RFC 2865 §5, RFC 2866 §5, RFC 2868, RFC 2869, RFC 3579). */
export const Attr = {
  UserName: 1,
  UserPassword: 2,
  ChapPassword: 3,
  NasIpAddress: 4,
  NasPort: 5,
  ServiceType: 6,
  FramedIpAddress: 8,
  FilterId: 11,
  ReplyMessage: 18,
  State: 24,
  Class: 25,
  VendorSpecific: 26,
  SessionTimeout: 27,
  IdleTimeout: 28,
  CalledStationId: 30,
  CallingStationId: 31,
  NasIdentifier: 32,
  ProxyState: 33,
  AcctStatusType: 40,
  AcctInputOctets: 42,
  AcctOutputOctets: 43,
  AcctSessionId: 44,
  AcctSessionTime: 46,
  AcctTerminateCause: 49,
  ChapChallenge: 60,
  NasPortType: 61,
  TunnelType: 64,
  TunnelMediumType: 65,
  EapMessage: 79,
  MessageAuthenticator: 80,
  TunnelPrivateGroupId: 81,
  NasIpv6Address: 95,
} as const;

export const VENDOR_MICROSOFT = 311;
export const MsAttr = {
  ChapError: 2,
  ChapChallenge: 11,
  MppeEncryptionPolicy: 7,
  MppeEncryptionTypes: 8,
  MppeSendKey: 16,
  MppeRecvKey: 17,
  Chap2Response: 25,
  Chap2Success: 26,
} as const;

export const HEADER_LENGTH = 20;
export const MAX_PACKET_LENGTH = 4096;
const MAX_ATTRIBUTE_VALUE = 253;

export interface Attribute {
  type: number;
  value: Buffer;
}

export interface Packet {
  code: number;
  identifier: number;
  authenticator: Buffer;
  attributes: Attribute[];
}

/** Why a datagram was not a well-formed RADIUS packet; such packets are silently discarded (RFC 2865 §3). */
export class MalformedPacket extends Error {}

/**
 * Decodes a datagram. Octets past the Length field are padding and ignored; a datagram shorter
 * than its Length, an attribute that overruns the packet, or one shorter than 3 octets makes the
 * whole packet malformed (RFC 2865 §3 and §5; RFC 8044 §2 forbids empty attributes).
 */
export function decodePacket(datagram: Buffer): Packet {
  if (datagram.length < HEADER_LENGTH) throw new MalformedPacket(`packet of ${datagram.length} octets is shorter than the header`);
  const length = datagram.readUInt16BE(2);
  if (length < HEADER_LENGTH || length > MAX_PACKET_LENGTH) throw new MalformedPacket(`length field ${length} is out of range`);
  if (datagram.length < length) throw new MalformedPacket(`length field ${length} exceeds the ${datagram.length} octets received`);
  const attributes: Attribute[] = [];
  let at = HEADER_LENGTH;
  while (at < length) {
    if (at + 2 > length) throw new MalformedPacket('truncated attribute header');
    const type = datagram[at]!;
    const attrLength = datagram[at + 1]!;
    if (attrLength < 3) throw new MalformedPacket(`attribute ${type} has length ${attrLength}`);
    if (at + attrLength > length) throw new MalformedPacket(`attribute ${type} overruns the packet`);
    attributes.push({ type, value: datagram.subarray(at + 2, at + attrLength) });
    at += attrLength;
  }
  return {
    code: datagram[0]!,
    identifier: datagram[1]!,
    authenticator: datagram.subarray(4, 20),
    attributes,
  };
}

/** Encodes a packet as it stands (authenticator included); attributes over 253 octets are refused. */
export function encodePacket(packet: Packet): Buffer {
  let length = HEADER_LENGTH;
  for (const a of packet.attributes) {
    if (a.value.length < 1 || a.value.length > MAX_ATTRIBUTE_VALUE) throw new RangeError(`attribute ${a.type} value of ${a.value.length} octets`);
    length += 2 + a.value.length;
  }
  if (length > MAX_PACKET_LENGTH) throw new RangeError(`packet of ${length} octets exceeds ${MAX_PACKET_LENGTH}`);
  const out = Buffer.alloc(length);
  out[0] = packet.code;
  out[1] = packet.identifier;
  out.writeUInt16BE(length, 2);
  packet.authenticator.copy(out, 4);
  let at = HEADER_LENGTH;
  for (const a of packet.attributes) {
    out[at] = a.type;
    out[at + 1] = a.value.length + 2;
    a.value.copy(out, at + 2);
    at += 2 + a.value.length;
  }
  return out;
}

export const attribute = (packet: Packet, type: number): Buffer | undefined => packet.attributes.find((a) => a.type === type)?.value;

export const attributes = (packet: Packet, type: number): Buffer[] => packet.attributes.filter((a) => a.type === type).map((a) => a.value);

export const textAttribute = (packet: Packet, type: number): string | undefined => attribute(packet, type)?.toString('utf8');

export const integerAttribute = (packet: Packet, type: number): number | undefined => {
  const v = attribute(packet, type);
  return v?.length === 4 ? v.readUInt32BE(0) : undefined;
};

export const integerValue = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
};

/** Splits a long value (an EAP message) into consecutive attributes of at most 253 octets. */
export function splitAttribute(type: number, value: Buffer): Attribute[] {
  const out: Attribute[] = [];
  for (let at = 0; at < value.length; at += MAX_ATTRIBUTE_VALUE) out.push({ type, value: value.subarray(at, at + MAX_ATTRIBUTE_VALUE) });
  return out;
}

/** Vendor-Specific attributes of one vendor, as (vendor type, value) pairs (RFC 2865 §5.26). */
export function vendorAttributes(packet: Packet, vendorId: number): Attribute[] {
  const out: Attribute[] = [];
  for (const vsa of attributes(packet, Attr.VendorSpecific)) {
    if (vsa.length < 6 || vsa.readUInt32BE(0) !== vendorId) continue;
    let at = 4;
    while (at + 2 <= vsa.length) {
      const len = vsa[at + 1]!;
      if (len < 2 || at + len > vsa.length) break;
      out.push({ type: vsa[at]!, value: vsa.subarray(at + 2, at + len) });
      at += len;
    }
  }
  return out;
}

export function vendorAttribute(vendorId: number, type: number, value: Buffer): Attribute {
  const v = Buffer.alloc(6 + value.length);
  v.writeUInt32BE(vendorId, 0);
  v[4] = type;
  v[5] = value.length + 2;
  value.copy(v, 6);
  return { type: Attr.VendorSpecific, value: v };
}

const md5 = (...parts: Buffer[]) => {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
};

/**
 * Checks the Message-Authenticator of a request: HMAC-MD5 over the packet with the attribute's
 * value zeroed (RFC 3579 §3.2). For Accounting-Request the Request Authenticator is taken as zeros,
 * as it is computed after the HMAC (RFC 5080 §2.2.1 style). Absent → false. `packet` is the
 * datagram already decoded.
 */
export function verifyMessageAuthenticator(datagram: Buffer, packet: Packet, secret: Buffer): boolean {
  const length = datagram.readUInt16BE(2);
  const copy = Buffer.from(datagram.subarray(0, length));
  let offset = -1;
  let at = HEADER_LENGTH;
  for (const a of packet.attributes) {
    if (a.type === Attr.MessageAuthenticator) {
      if (offset !== -1 || a.value.length !== 16) return false;
      offset = at + 2;
    }
    at += 2 + a.value.length;
  }
  if (offset === -1) return false;
  const given = Buffer.from(copy.subarray(offset, offset + 16));
  copy.fill(0, offset, offset + 16);
  if (packet.code === Code.AccountingRequest) copy.fill(0, 4, 20);
  const expected = createHmac('md5', secret).update(copy).digest();
  return timingSafeEqual(given, expected);
}

/** Accounting-Request authenticator: MD5(Code+Identifier+Length+16 zero octets+Attributes+Secret) (RFC 2866 §3). */
export function verifyAccountingRequest(datagram: Buffer, secret: Buffer): boolean {
  const length = datagram.readUInt16BE(2);
  const copy = Buffer.from(datagram.subarray(0, length));
  const given = Buffer.from(copy.subarray(4, 20));
  copy.fill(0, 4, 20);
  return timingSafeEqual(given, md5(copy, secret));
}

/**
 * Encodes a response to `request`: the Message-Authenticator goes first (the BlastRADIUS
 * hardening) and is computed with the Request Authenticator in place, then the Response
 * Authenticator MD5(Code+ID+Length+RequestAuth+Attributes+Secret) (RFC 2865 §3, RFC 3579 §3.2).
 */
export function encodeResponse(request: Packet, code: number, attrs: Attribute[], secret: Buffer, withMessageAuthenticator = true): Buffer {
  const list = withMessageAuthenticator ? [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }, ...attrs] : attrs;
  const out = encodePacket({ code, identifier: request.identifier, authenticator: request.authenticator, attributes: list });
  if (withMessageAuthenticator) createHmac('md5', secret).update(out).digest().copy(out, HEADER_LENGTH + 2);
  md5(out, secret).copy(out, 4);
  return out;
}

/** Encodes a request (for clients and tests): a random Request Authenticator and a Message-Authenticator. */
export function encodeAccessRequest(identifier: number, attrs: Attribute[], secret: Buffer, authenticator = randomBytes(16)): Buffer {
  const out = encodePacket({
    code: Code.AccessRequest,
    identifier,
    authenticator,
    attributes: [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }, ...attrs],
  });
  createHmac('md5', secret).update(out).digest().copy(out, HEADER_LENGTH + 2);
  return out;
}

/**
 * Recovers a User-Password (RFC 2865 §5.2): 16..128 octets in blocks of 16, each XORed with
 * MD5(secret + previous block), the first with the Request Authenticator. Trailing NULs are padding.
 */
export function decodeUserPassword(value: Buffer, secret: Buffer, authenticator: Buffer): Buffer | undefined {
  if (value.length < 16 || value.length > 128 || value.length % 16 !== 0) return undefined;
  const out = Buffer.alloc(value.length);
  let previous = authenticator;
  for (let at = 0; at < value.length; at += 16) {
    const key = md5(secret, previous);
    for (let i = 0; i < 16; i++) out[at + i] = value[at + i]! ^ key[i]!;
    previous = value.subarray(at, at + 16);
  }
  let end = out.length;
  while (end > 0 && out[end - 1] === 0) end--;
  return out.subarray(0, end);
}

export function encodeUserPassword(password: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  const padded = Buffer.alloc(Math.max(16, Math.ceil(password.length / 16) * 16));
  password.copy(padded);
  const out = Buffer.alloc(padded.length);
  let previous = authenticator;
  for (let at = 0; at < padded.length; at += 16) {
    const key = md5(secret, previous);
    for (let i = 0; i < 16; i++) out[at + i] = padded[at + i]! ^ key[i]!;
    previous = out.subarray(at, at + 16);
  }
  return out;
}

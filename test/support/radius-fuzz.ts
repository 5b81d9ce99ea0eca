/**
 * Seeded generators of bad RADIUS datagrams for test/radius/fuzz.test.ts, the oracle that says how
 * RFC 2865 §3 wants each one handled, and a peer that drives EAP conversations and checks every
 * reply. Everything here is deterministic in the Rng's seed.
 */
import { createHash, createHmac } from 'node:crypto';
import { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { EapCode, EapType, decodeEap, encodeEap, type EapPacket } from '../../src/radius/eap/eap.js';
import { Attr, Code, attribute, attributes, decodePacket, encodePacket, encodeUserPassword, splitAttribute, type Attribute } from '../../src/radius/packet.js';
import { accountingRequest } from './radius-client.js';

// ---- Deterministic randomness (splitmix32) ------------------------------------------------------

export interface Rng {
  u32(): number;
  /** 0 ≤ n < below */
  int(below: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
  bytes(n: number): Buffer;
}

export function seeded(seed: number): Rng {
  let s = seed >>> 0;
  const u32 = () => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x21f0aafd);
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
    return (z ^ (z >>> 15)) >>> 0;
  };
  const int = (below: number) => Math.floor((u32() / 2 ** 32) * below);
  return {
    u32,
    int,
    chance: (p) => u32() / 2 ** 32 < p,
    pick: (items) => items[int(items.length)]!,
    bytes(n) {
      const out = Buffer.allocUnsafe(n + 3);
      for (let at = 0; at < n; at += 4) out.writeUInt32LE(u32(), at);
      return out.subarray(0, n);
    },
  };
}

// ---- Building packets octet by octet --------------------------------------------------------------

export type Port = 'auth' | 'acct';
export type DropCounter = 'malformed' | 'badAuthenticator' | 'unknownClient';

const md5 = (...parts: Buffer[]) => parts.reduce((h, p) => h.update(p), createHash('md5')).digest();
const hmac = (secret: Buffer, data: Buffer) => createHmac('md5', secret).update(data).digest();

/** One attribute as it goes on the wire, with whatever Length octet it is given. */
export const rawAttribute = (type: number, value: Buffer, length = value.length + 2) => Buffer.concat([Buffer.from([type, length & 0xff]), value]);

/** A header (Length = 20 + body unless given) and the body as it is. */
export function rawPacket(code: number, identifier: number, authenticator: Buffer, body: Buffer, length = 20 + body.length): Buffer {
  const out = Buffer.concat([Buffer.from([code, identifier, 0, 0]), authenticator, body]);
  out.writeUInt16BE(length & 0xffff, 2);
  return out;
}

/** Types whose content nothing here interprets (NAS details, unassigned numbers). */
const INERT_TYPES = [4, 5, 6, 30, 31, 32, 61, 77, 87, 100, 150, 200, 241, 255];

/** Well-formed attributes of inert types, up to `budget` octets. */
function inertAttributes(r: Rng, budget: number): Buffer {
  const parts: Buffer[] = [];
  let size = 0;
  while (size < budget && r.chance(0.8)) {
    const value = r.bytes(1 + r.int(Math.min(253, budget - size + 1)));
    parts.push(rawAttribute(r.pick(INERT_TYPES), value));
    size += value.length + 2;
  }
  return Buffer.concat(parts);
}

/** A request of `code` with a Message-Authenticator over `secret` (RFC 3579 §3.2), first as BlastRADIUS wants. */
export function signedAccess(code: number, identifier: number, authenticator: Buffer, attrs: Attribute[], secret: Buffer): Buffer {
  const out = encodePacket({ code, identifier, authenticator, attributes: [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }, ...attrs] });
  hmac(secret, out).copy(out, 22);
  return out;
}

/** An Accounting-Request with its MD5 Request Authenticator (RFC 2866 §3). */
const signedAccounting = (identifier: number, attrs: Attribute[], secret: Buffer) => accountingRequest(secret.toString('latin1'), attrs, identifier);

export const eapResponse = (identifier: number, type: number, data: Buffer) => encodeEap({ code: EapCode.Response, identifier, type, data });

const userName = (r: Rng) => ({ type: Attr.UserName, value: Buffer.from(`fuzz-${r.u32().toString(36)}`) });

/** A request a NAS could send, signed with `secret`: PAP, EAP-Response/Identity or Status-Server; or accounting. */
export function validRequest(r: Rng, secret: Buffer, port: Port): Buffer {
  const id = r.int(256);
  if (port === 'acct') return signedAccounting(id, [{ type: Attr.AcctStatusType, value: Buffer.from([0, 0, 0, 1 + r.int(3)]) }, userName(r)], secret);
  const authenticator = r.bytes(16);
  const kind = r.int(3);
  if (kind === 2) return signedAccess(Code.StatusServer, id, authenticator, [], secret);
  const credential: Attribute[] =
    kind === 0
      ? [{ type: Attr.UserPassword, value: encodeUserPassword(r.bytes(1 + r.int(60)), secret, authenticator) }]
      : splitAttribute(Attr.EapMessage, eapResponse(r.int(256), EapType.Identity, Buffer.from('fuzz')));
  return signedAccess(Code.AccessRequest, id, authenticator, [userName(r), ...credential], secret);
}

// ---- Category 1: never authentic, so never answered -----------------------------------------

export interface Garbage {
  label: string;
  bytes: Buffer;
  port: Port;
  /** Sent from an address no RADIUS server lists. */
  unknownSource: boolean;
}

export interface Keys {
  secret: Buffer;
  wrongSecret: Buffer;
}

const UNKNOWN_CODES = [0, 6, 7, 8, 9, 10, ...Array.from({ length: 243 }, (_, i) => 13 + i)];
/** Codes that exist but are not requests for that port (not Status-Server to the accounting port, which RFC 5997 lets a server answer). */
const WRONG_CODES: Record<Port, number[]> = { auth: [2, 3, 4, 5, 11], acct: [1, 2, 3, 5, 11] };

type Make = (r: Rng, keys: Keys, port: Port) => Buffer | { bytes: Buffer; port?: Port; unknownSource?: boolean };

const body = (r: Rng, budget = 300) => inertAttributes(r, r.int(budget));
const anyCode = (r: Rng, port: Port) => (port === 'auth' ? r.pick([Code.AccessRequest, Code.StatusServer]) : Code.AccountingRequest);

/** Changes 1–3 distinct octets of `bytes` (a copy) at or after `from`. */
function flip(r: Rng, bytes: Buffer, from = 0): Buffer {
  const out = Buffer.from(bytes);
  const positions = new Set(Array.from({ length: 1 + r.int(3) }, () => from + r.int(out.length - from)));
  for (const at of positions) out[at] = out[at]! ^ (1 + r.int(255));
  return out;
}

/** Replaces the Message-Authenticator value (always the first attribute here) with `value`. */
const withAuthenticatorValue = (packet: Buffer, value: Buffer) => {
  const p = decodePacket(packet);
  return encodePacket({ ...p, attributes: [{ type: Attr.MessageAuthenticator, value }, ...p.attributes.slice(1)] });
};

const GARBAGE: Record<string, Make> = {
  'random octets, 0 to 4200': (r) => r.bytes(r.int(4201)),
  'random attribute octets': (r, _k, port) => rawPacket(anyCode(r, port), r.int(256), r.bytes(16), r.bytes(r.int(600))),
  'Length field under 20': (r, _k, port) => rawPacket(anyCode(r, port), r.int(256), r.bytes(16), body(r), r.int(20)),
  'Length field over 4096': (r, _k, port) => rawPacket(anyCode(r, port), r.int(256), r.bytes(16), body(r), 4097 + r.int(61_439)),
  'Length field past the datagram': (r, _k, port) => {
    const attrs = body(r);
    return rawPacket(anyCode(r, port), r.int(256), r.bytes(16), attrs, 21 + attrs.length + r.int(4076 - attrs.length));
  },
  'datagram over 4096 octets': (r, _k, port) => {
    const attrs = body(r);
    return rawPacket(anyCode(r, port), r.int(256), r.bytes(16), Buffer.concat([attrs, r.bytes(4077 + r.int(104))]), 20 + attrs.length);
  },
  'attribute of length 0, 1 or 2': (r, _k, port) => {
    const bad = Buffer.concat([Buffer.from([r.int(256), r.int(3)]), r.bytes(r.int(40))]);
    return rawPacket(anyCode(r, port), r.int(256), r.bytes(16), Buffer.concat([body(r), bad, body(r)]));
  },
  'attribute overrunning the packet': (r, _k, port) => {
    const value = r.bytes(r.int(200));
    return rawPacket(anyCode(r, port), r.int(256), r.bytes(16), Buffer.concat([body(r), rawAttribute(r.int(256), value, value.length + 3 + r.int(253 - value.length))]));
  },
  'Length cutting through the last attribute': (r, _k, port) => {
    const attrs = Buffer.concat([body(r), rawAttribute(r.int(256), r.bytes(2 + r.int(200)))]);
    return rawPacket(anyCode(r, port), r.int(256), r.bytes(16), attrs, 20 + attrs.length - 1 - r.int(2));
  },
  'truncated attribute header': (r, _k, port) => {
    const attrs = Buffer.concat([body(r), Buffer.from([r.int(256)])]);
    return rawPacket(anyCode(r, port), r.int(256), r.bytes(16), Buffer.concat([attrs, r.bytes(r.int(3))]), 20 + attrs.length);
  },
  'unknown code (0, 6-10, 13-255)': (r, k) => signedAccess(r.pick(UNKNOWN_CODES), r.int(256), r.bytes(16), [userName(r)], k.secret),
  'a response code, or a request for the other port': (r, k, port) => {
    const other = validRequest(r, k.secret, port === 'auth' ? 'acct' : 'auth');
    return r.chance(0.3) && other[0] !== Code.StatusServer ? other : signedAccess(r.pick(WRONG_CODES[port]), r.int(256), r.bytes(16), [userName(r)], k.secret);
  },
  'Access-Request or Status-Server without Message-Authenticator': (r, k) => {
    const p = decodePacket(validRequest(r, k.secret, 'auth'));
    return encodePacket({ ...p, attributes: p.attributes.filter((a) => a.type !== Attr.MessageAuthenticator) });
  },
  'wrong Message-Authenticator': (r, k) => {
    const valid = validRequest(r, k.secret, 'auth');
    return r.chance(0.5) ? withAuthenticatorValue(valid, r.bytes(16)) : flip(r, valid, 4);
  },
  'Message-Authenticator of the wrong length': (r, k) => withAuthenticatorValue(validRequest(r, k.secret, 'auth'), r.bytes(r.chance(0.5) ? 1 + r.int(15) : 17 + r.int(100))),
  'two Message-Authenticators': (r, k) => {
    const p = decodePacket(validRequest(r, k.secret, 'auth'));
    // The first one is right for the packet with the second present: only counting them shows the problem.
    const second = { type: Attr.MessageAuthenticator, value: r.chance(0.5) ? Buffer.alloc(16) : r.bytes(16) };
    const out = encodePacket({ ...p, attributes: [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }, ...p.attributes.slice(1), second] });
    hmac(k.secret, out).copy(out, 22);
    return out;
  },
  'Accounting-Request with a wrong authenticator': (r, k) => {
    const valid = validRequest(r, k.secret, 'acct');
    const p = decodePacket(valid);
    const variants = [
      () => flip(r, valid, 4),
      () => encodePacket({ ...p, authenticator: r.bytes(16) }),
      // A right Request Authenticator, but a Message-Authenticator that is not.
      () => signedAccounting(p.identifier, [...p.attributes, { type: Attr.MessageAuthenticator, value: r.bytes(16) }], k.secret),
    ];
    return { bytes: r.pick(variants)(), port: 'acct' };
  },
  'wrong shared secret': (r, k, port) => validRequest(r, k.wrongSecret, port),
  'valid request with octets flipped': (r, k, port) => flip(r, validRequest(r, k.secret, port)),
  'from an unknown client': (r, k, port) => ({ bytes: r.chance(0.5) ? validRequest(r, k.secret, port) : r.bytes(r.int(700)), unknownSource: true }),
};

export const GARBAGE_LABELS = Object.keys(GARBAGE);

export function garbage(r: Rng, keys: Keys, label = r.pick(GARBAGE_LABELS)): Garbage {
  const port: Port = r.chance(0.75) ? 'auth' : 'acct';
  const made = GARBAGE[label]!(r, keys, port);
  return Buffer.isBuffer(made) ? { label, bytes: made, port, unknownSource: false } : { label, port, unknownSource: false, ...made };
}

/**
 * How a datagram that is not authentic must be dropped, by RFC 2865 §3 and §5 (and the size
 * limit of 4096 octets): out-of-range sizes, an unknown source, broken framing and codes the port
 * does not serve are malformed; a well-formed request whose authenticator fails is not authentic.
 */
export function expectedDrop(g: Garbage): DropCounter {
  const d = g.bytes;
  if (d.length < 20 || d.length > 4096) return 'malformed';
  if (g.unknownSource) return 'unknownClient';
  const length = d.readUInt16BE(2);
  if (length < 20 || length > 4096 || length > d.length) return 'malformed';
  for (let at = 20; at < length; at += d[at + 1]!) if (at + 2 > length || d[at + 1]! < 3 || at + d[at + 1]! > length) return 'malformed';
  const served: number[] = g.port === 'auth' ? [Code.AccessRequest, Code.StatusServer] : [Code.AccountingRequest];
  return served.includes(d[0]!) ? 'badAuthenticator' : 'malformed';
}

// ---- Category 2: authentic, but the content is broken ----------------------------------------

export type Verdict = 'reject' | 'eap-reject' | 'accounting-response';

export interface Broken {
  label: string;
  bytes: Buffer;
  port: Port;
  expect: Verdict;
}

/** Everything but the lengths PAP allows: 16..128 in steps of 16. */
const BAD_PASSWORD_LENGTHS = Array.from({ length: 253 }, (_, i) => i + 1).filter((n) => n % 16 !== 0 || n > 128);

/** EAP that cannot be decoded: too short, a Length that disagrees with what is carried, or an unknown code. */
function undecodableEap(r: Rng): Buffer {
  const kind = r.int(3);
  if (kind === 0) return r.bytes(1 + r.int(3));
  const out = Buffer.concat([Buffer.from([EapCode.Response, r.int(256), 0, 0, r.int(256)]), r.bytes(r.int(1500))]);
  if (kind === 1) out.writeUInt16BE((out.length + 1 + r.int(65_000)) % 65_536 || 1, 2);
  else {
    out[0] = r.pick([0, 5, 6, 100, 255]);
    out.writeUInt16BE(out.length, 2);
  }
  return out;
}

type Body = (r: Rng, secret: Buffer, authenticator: Buffer) => { attrs: Attribute[]; expect: Exclude<Verdict, 'accounting-response'> };
const eapAttrs = (eap: Buffer, ...more: Attribute[]) => [...splitAttribute(Attr.EapMessage, eap), ...more];
const pap = (r: Rng, length: number, secret: Buffer, authenticator: Buffer) => ({ type: Attr.UserPassword, value: encodeUserPassword(r.bytes(length), secret, authenticator) });

const BROKEN: Record<string, Body> = {
  'User-Password of a bad length': (r) => ({ attrs: [userName(r), { type: Attr.UserPassword, value: r.bytes(r.pick(BAD_PASSWORD_LENGTHS)) }], expect: 'reject' }),
  'PAP without User-Name': (r, s, a) => ({ attrs: [pap(r, 1 + r.int(120), s, a)], expect: 'reject' }),
  'PAP answering an unknown State': (r, s, a) => ({ attrs: [userName(r), pap(r, 6, s, a), { type: Attr.State, value: r.bytes(1 + r.int(253)) }], expect: 'reject' }),
  'no credentials at all': (r) => ({ attrs: decodePacket(rawPacket(1, 0, Buffer.alloc(16), inertAttributes(r, 1000))).attributes, expect: 'reject' }),
  'undecodable EAP-Message': (r) => ({ attrs: eapAttrs(undecodableEap(r), userName(r)), expect: 'eap-reject' }),
  'EAP Request, Success or Failure from the peer': (r) => {
    const code = r.pick([EapCode.Request, EapCode.Success, EapCode.Failure]);
    const eap = code === EapCode.Request ? encodeEap({ code, identifier: r.int(256), type: r.int(256), data: r.bytes(r.int(100)) }) : encodeEap({ code, identifier: r.int(256), data: Buffer.alloc(0) });
    return { attrs: eapAttrs(eap), expect: 'eap-reject' };
  },
  'EAP-Response other than Identity without State': (r) => ({
    attrs: eapAttrs(eapResponse(r.int(256), r.pick([EapType.Nak, EapType.Ttls, EapType.Peap, EapType.MsChapV2, 0, 2, 4, 13, 254, 255]), r.bytes(r.int(400)))),
    expect: 'eap-reject',
  }),
  'EAP-Response with a State never issued': (r) => ({
    attrs: eapAttrs(eapResponse(r.int(256), r.pick([EapType.Identity, EapType.Nak, EapType.Peap, EapType.Ttls]), r.bytes(r.int(400))), { type: Attr.State, value: r.bytes(1 + r.int(253)) }),
    expect: 'eap-reject',
  }),
};

export const ACCOUNTING_LABEL = 'Accounting-Request with odd attribute values';
export const BROKEN_LABELS = [...Object.keys(BROKEN), ACCOUNTING_LABEL];

/** An authentic request whose content is broken, with the answer RFC 2865/2866/3579 permit for it. */
export function broken(r: Rng, secret: Buffer, identifier: number, label = r.pick(BROKEN_LABELS)): Broken {
  const make = BROKEN[label];
  if (!make) {
    // Values of the wrong size for their types: recorded as they are, and acknowledged (RFC 2866 §4.1).
    const attrs = decodePacket(rawPacket(4, 0, Buffer.alloc(16), Buffer.concat([40, 42, 44, 46, 49].map((t) => rawAttribute(t, r.bytes(1 + r.int(9))))))).attributes;
    return { label, bytes: signedAccounting(identifier, attrs, secret), port: 'acct', expect: 'accounting-response' };
  }
  const authenticator = r.bytes(16);
  const { attrs, expect } = make(r, secret, authenticator);
  return { label, bytes: signedAccess(Code.AccessRequest, identifier, authenticator, attrs, secret), port: 'auth', expect };
}

/**
 * What is wrong with a reply to `request`, if anything: it must be well formed, carry the
 * request's identifier, a right Response Authenticator (RFC 2865 §3) and, when it has one (it must
 * when EAP is involved), a right Message-Authenticator (RFC 3579 §3.2).
 */
export function replyProblem(reply: Buffer, request: Buffer, secret: Buffer): string | undefined {
  let packet;
  try {
    packet = decodePacket(reply);
  } catch (e) {
    return `malformed reply: ${(e as Error).message}`;
  }
  if (packet.identifier !== request[1]) return `reply identifier ${packet.identifier} to request ${request[1]}`;
  const withRequestAuth = Buffer.from(reply.subarray(0, reply.readUInt16BE(2)));
  request.copy(withRequestAuth, 4, 4, 20);
  if (!md5(withRequestAuth, secret).equals(packet.authenticator)) return 'wrong Response Authenticator';
  const ma = packet.attributes.findIndex((a) => a.type === Attr.MessageAuthenticator);
  const hasEap = decodePacket(request).attributes.some((a) => a.type === Attr.EapMessage);
  if (ma === -1) return hasEap ? 'EAP reply without Message-Authenticator' : undefined;
  let at = 20;
  for (const a of packet.attributes.slice(0, ma)) at += a.value.length + 2;
  const given = Buffer.from(withRequestAuth.subarray(at + 2, at + 18));
  withRequestAuth.fill(0, at + 2, at + 18);
  return hmac(secret, withRequestAuth).equals(given) ? undefined : 'wrong Message-Authenticator in the reply';
}

// ---- Category 3: EAP conversations, driven straight into the service --------------------------

/** What RadiusService.access offers: the response to a datagram, or undefined to drop it. */
export interface AccessHandler {
  access(datagram: Buffer, address: string): Promise<Buffer | undefined>;
}

export interface Outcome {
  kind: 'accept' | 'reject' | 'challenge' | 'drop';
  eap?: EapPacket;
  state?: Buffer;
}

const KINDS = new Map<number, Outcome['kind']>([
  [Code.AccessAccept, 'accept'],
  [Code.AccessReject, 'reject'],
  [Code.AccessChallenge, 'challenge'],
]);
/** EAP-TLS style flags (RFC 5216 §3.1). */
export const LENGTH_INCLUDED = 0x80;
export const MORE_FRAGMENTS = 0x40;
export const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

/**
 * One peer's EAP conversation: it tracks what the server expects next (identifier, method, State)
 * and checks every reply: authentic, an EAP-Failure with the response's identifier in each reject
 * (RFC 3748 §4.2), a new EAP-Request and the same State in each challenge (RFC 3748 §4.1).
 */
export class Conversation {
  id = 0;
  type = 0;
  state: Buffer | undefined;
  requests = 0;
  /** Whether the server ended the conversation with a reject. */
  ended = false;

  constructor(
    private readonly service: AccessHandler,
    private readonly secret: Buffer,
    readonly r: Rng,
  ) {}

  /** EAP-Response/Identity; false when the service dropped it (too many conversations). */
  async start(firstType: number): Promise<boolean> {
    const out = await this.ask(eapResponse(this.r.int(256), EapType.Identity, Buffer.from('anonymous')), undefined);
    if (out.kind === 'drop') return false;
    expectOutcome(out, 'challenge');
    if (this.type !== firstType || !out.eap!.data.equals(Buffer.from([0x20]))) throw new Error(`the first request is of type ${this.type}, not a ${firstType} Start`);
    return true;
  }

  /** A response of `type`, by default with the identifier and State the server expects. */
  send(type: number, data: Buffer, options: { id?: number; state?: Buffer } = {}): Promise<Outcome> {
    return this.ask(eapResponse(options.id ?? this.id, type, data), options.state ?? this.state);
  }

  /** A response of the method in progress with TLS flags and data. */
  tls(flags: number, ...data: Buffer[]): Promise<Outcome> {
    return this.send(this.type, Buffer.concat([Buffer.from([flags]), ...data]));
  }

  private async ask(eap: Buffer, state: Buffer | undefined): Promise<Outcome> {
    const attrs: Attribute[] = [{ type: Attr.UserName, value: Buffer.from('anonymous') }, ...splitAttribute(Attr.EapMessage, eap)];
    if (state) attrs.push({ type: Attr.State, value: state });
    const request = signedAccess(Code.AccessRequest, this.r.int(256), this.r.bytes(16), attrs, this.secret);
    this.requests++;
    const reply = await this.service.access(request, '127.0.0.1');
    if (!reply) return { kind: 'drop' };
    const problem = replyProblem(reply, request, this.secret);
    if (problem) throw new Error(problem);
    const packet = decodePacket(reply);
    const kind = KINDS.get(packet.code);
    if (!kind) throw new Error(`reply code ${packet.code}`);
    const out: Outcome = { kind, eap: decodeEap(Buffer.concat(attributes(packet, Attr.EapMessage))) };
    if (kind === 'reject' && (out.eap!.code !== EapCode.Failure || out.eap!.identifier !== eap[1])) throw new Error('an Access-Reject without the EAP-Failure due');
    if (kind === 'reject' && state === this.state) this.ended = true;
    if (kind === 'challenge') {
      out.state = attribute(packet, Attr.State);
      if (out.eap!.code !== EapCode.Request || out.eap!.identifier === eap[1] || !out.state) throw new Error('an Access-Challenge without a new EAP-Request and a State');
      if (this.state && !out.state.equals(this.state)) throw new Error('the State changed mid-conversation');
      [this.id, this.type, this.state] = [out.eap!.identifier, out.eap!.type!, out.state];
    }
    return out;
  }
}

export function expectOutcome(out: Outcome, ...allowed: Outcome['kind'][]): void {
  if (!allowed.includes(out.kind)) throw new Error(`${out.kind} where ${allowed.join(' or ')} was due`);
}

/** An empty acknowledgement of a fragment (RFC 5216 §2.1.5). */
export function expectAck(c: Conversation, out: Outcome): void {
  expectOutcome(out, 'challenge');
  if (out.eap!.type !== c.type || !out.eap!.data.equals(Buffer.from([0]))) throw new Error(`not an acknowledgement: ${out.eap!.data.toString('hex')}`);
}

let hello: Promise<Buffer> | undefined;
/** A genuine TLS 1.2 ClientHello from Node's client, which a server can answer. */
function realClientHello(): Promise<Buffer> {
  hello ??= new Promise((resolve) => {
    const transport = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        resolve(chunk);
        // The first write can come from inside tlsConnect, before `socket` is assigned.
        setImmediate(() => socket.destroy());
        done();
      },
    });
    const socket = tlsConnect({ socket: transport, rejectUnauthorized: false, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' }).on('error', () => undefined);
  });
  return hello;
}

/** A genuine ClientHello in 1–4 fragments, each acknowledged, up to the first fragment of the server's flight. */
export async function helloInFragments(c: Conversation): Promise<void> {
  const bytes = await realClientHello();
  const cuts = [...new Set([0, ...Array.from({ length: c.r.int(4) }, () => 1 + c.r.int(bytes.length - 1)), bytes.length])].sort((a, b) => a - b);
  let out: Outcome = { kind: 'drop' };
  for (let i = 0; i + 1 < cuts.length; i++) {
    const more = i + 2 < cuts.length;
    const piece = bytes.subarray(cuts[i], cuts[i + 1]);
    out = await (i === 0 && more ? c.tls(LENGTH_INCLUDED | MORE_FRAGMENTS, u32(bytes.length), piece) : c.tls(more ? MORE_FRAGMENTS : 0, piece));
    if (more) expectAck(c, out);
  }
  // ServerHello, Certificate, ServerKeyExchange and ServerHelloDone take more than one fragment.
  expectOutcome(out, 'challenge');
  if ((out.eap!.data[0]! & 0xc0) !== 0xc0) throw new Error(`the server's first fragment has flags ${out.eap!.data[0]}`);
}

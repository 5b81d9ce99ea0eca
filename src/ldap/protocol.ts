import { parseError, parsed, type Parsed } from '../core/errors.js';
import { BerError, BerReader, BerWriter, Tag } from './ber.js';
import { readFilter, type LdapFilter } from './filter.js';
import type { ResultCodeValue } from './result-codes.js';

/** RFC 4511 §4.1.11 */
export interface Control {
  type: string;
  critical: boolean;
  value?: Buffer;
}

export type Scope = 'base' | 'one' | 'sub' | 'children';

export type Request =
  | { op: 'bind'; version: number; name: string; auth: { kind: 'simple'; password: Buffer } | { kind: 'sasl'; mechanism: string } }
  | { op: 'unbind' }
  | {
      op: 'search';
      base: string;
      scope: Scope;
      sizeLimit: number;
      timeLimit: number;
      typesOnly: boolean;
      filter: LdapFilter;
      attributes: string[];
    }
  | { op: 'modify' | 'add' | 'delete' | 'modifyDn'; dn: string }
  | { op: 'compare'; dn: string; attribute: string; value: string }
  | { op: 'abandon'; id: number }
  | { op: 'extended'; name: string; value?: Buffer };

export interface Message {
  id: number;
  request: Request;
  controls: Control[];
}

/** What a client can be told about an undecodable PDU: the message id when it was readable. */
export interface DecodeFailure {
  id: number | undefined;
  reason: string;
}

const SCOPES: Scope[] = ['base', 'one', 'sub', 'children'];

/** Decodes one LDAPMessage (the whole PDU). */
export function decodeMessage(pdu: Buffer): { ok: true; value: Message } | { ok: false; error: DecodeFailure } {
  let id: number | undefined;
  try {
    const outer = new BerReader(pdu);
    const { body } = outer.element(Tag.Sequence);
    outer.finish();
    id = body.integer();
    // RFC 4511 §4.1.1.1: 0 belongs to unsolicited notifications, so a request uses 1..maxInt.
    if (id < 1 || id > 2147483647) throw new BerError('message id out of range');
    const request = readRequest(body);
    const controls: Control[] = [];
    if (!body.done) {
      const { body: list } = body.element(0xa0);
      while (!list.done) controls.push(readControl(list));
    }
    body.finish();
    return { ok: true, value: { id, request, controls } };
  } catch (e) {
    if (e instanceof BerError) return { ok: false, error: { id, reason: e.message } };
    throw e;
  }
}

function readControl(list: BerReader): Control {
  const { body } = list.element(Tag.Sequence);
  const type = body.string();
  let critical = false;
  if (body.peekTag() === Tag.Boolean) critical = body.boolean();
  const value = body.peekTag() === Tag.OctetString ? body.octets() : undefined;
  body.finish();
  return { type, critical, value };
}

function readRequest(body: BerReader): Request {
  const tag = body.peekTag();
  switch (tag) {
    case 0x60: {
      const { body: b } = body.element();
      const version = b.integer();
      const name = b.string();
      const authTag = b.peekTag();
      if (authTag === 0x80) {
        const password = b.octets(0x80);
        b.finish();
        return { op: 'bind', version, name, auth: { kind: 'simple', password } };
      }
      if (authTag === 0xa3) {
        const { body: sasl } = b.element(0xa3);
        const mechanism = sasl.string();
        if (sasl.peekTag() === Tag.OctetString) sasl.octets();
        sasl.finish();
        b.finish();
        return { op: 'bind', version, name, auth: { kind: 'sasl', mechanism } };
      }
      throw new BerError('unknown bind authentication choice');
    }
    case 0x42:
      body.null(0x42);
      return { op: 'unbind' };
    case 0x63: {
      const { body: b } = body.element();
      const base = b.string();
      const scopeValue = b.integer(Tag.Enumerated);
      const scope = SCOPES[scopeValue];
      if (!scope) throw new BerError('unknown search scope');
      const deref = b.integer(Tag.Enumerated);
      if (deref < 0 || deref > 3) throw new BerError('unknown derefAliases value');
      const sizeLimit = b.integer();
      const timeLimit = b.integer();
      if (sizeLimit < 0 || timeLimit < 0) throw new BerError('negative limit');
      const typesOnly = b.boolean();
      const filter = readFilter(b);
      const { body: list } = b.element(Tag.Sequence);
      const attributes: string[] = [];
      while (!list.done) attributes.push(list.string());
      b.finish();
      return { op: 'search', base, scope, sizeLimit, timeLimit, typesOnly, filter, attributes };
    }
    case 0x66:
    case 0x68:
    case 0x6c: {
      const { body: b } = body.element();
      const dn = b.string();
      return { op: tag === 0x66 ? 'modify' : tag === 0x68 ? 'add' : 'modifyDn', dn };
    }
    case 0x4a:
      return { op: 'delete', dn: body.string(0x4a) };
    case 0x6e: {
      const { body: b } = body.element();
      const dn = b.string();
      const { body: ava } = b.element(Tag.Sequence);
      const attribute = ava.string();
      const value = ava.string();
      ava.finish();
      b.finish();
      return { op: 'compare', dn, attribute, value };
    }
    case 0x50:
      return { op: 'abandon', id: body.integer(0x50) };
    case 0x77: {
      const { body: b } = body.element();
      const name = b.string(0x80);
      const value = b.peekTag() === 0x81 ? b.octets(0x81) : undefined;
      b.finish();
      return { op: 'extended', name, value };
    }
    default:
      throw new BerError(`unknown protocol operation 0x${(tag ?? 0).toString(16)}`);
  }
}

/** Response protocolOp tags (RFC 4511 §4.2–4.14). */
export const ResponseTag = {
  bind: 0x61,
  searchDone: 0x65,
  modify: 0x67,
  add: 0x69,
  delete: 0x6b,
  modifyDn: 0x6d,
  compare: 0x6f,
  extended: 0x78,
} as const;

export interface Result {
  code: ResultCodeValue;
  matchedDn?: string;
  message?: string;
}

function writeResult(w: BerWriter, result: Result): void {
  w.enumerated(result.code).octets(result.matchedDn ?? '').octets(result.message ?? '');
}

function writeControls(w: BerWriter, controls: readonly Control[] | undefined): void {
  if (!controls || controls.length === 0) return;
  w.start(0xa0);
  for (const c of controls) {
    w.start().octets(c.type);
    if (c.critical) w.boolean(true);
    if (c.value) w.octets(c.value);
    w.end();
  }
  w.end();
}

export function encodeResult(id: number, tag: number, result: Result, controls?: readonly Control[]): Buffer {
  const w = new BerWriter(64);
  w.start().integer(id).start(tag);
  writeResult(w, result);
  w.end();
  writeControls(w, controls);
  return w.end().toBuffer();
}

export function encodeExtendedResult(id: number, result: Result, name?: string, value?: Buffer): Buffer {
  const w = new BerWriter(64);
  w.start().integer(id).start(ResponseTag.extended);
  writeResult(w, result);
  if (name) w.octets(name, 0x8a);
  if (value) w.octets(value, 0x8b);
  return w.end().end().toBuffer();
}

export interface EntryAttribute {
  name: string;
  values: readonly string[];
}

/** RFC 4511 §4.5.2 SearchResultEntry. */
export function encodeEntry(id: number, dn: string, attributes: readonly EntryAttribute[], typesOnly: boolean): Buffer {
  const w = new BerWriter(512);
  w.start().integer(id).start(0x64).octets(dn).start();
  for (const a of attributes) {
    w.start().octets(a.name).start(Tag.Set);
    if (!typesOnly) for (const v of a.values) w.octets(v);
    w.end().end();
  }
  return w.end().end().end().toBuffer();
}

/** RFC 2696 paged results control value. */
export function decodePagedControl(value: Buffer | undefined): Parsed<{ size: number; cookie: Buffer }> {
  if (!value) return parseError('the paged results control needs a value');
  try {
    const r = new BerReader(value);
    const { body } = r.element(Tag.Sequence);
    r.finish();
    const size = body.integer();
    const cookie = body.octets();
    body.finish();
    if (size < 0) return parseError('negative page size');
    return parsed({ size, cookie: Buffer.from(cookie) });
  } catch (e) {
    if (e instanceof BerError) return parseError(`malformed paged results control: ${e.message}`);
    throw e;
  }
}

export function encodePagedControl(size: number, cookie: Buffer): Control {
  const w = new BerWriter(32);
  w.start().integer(size).octets(cookie).end();
  return { type: PAGED_RESULTS_OID, critical: false, value: Buffer.from(w.toBuffer()) };
}

/** RFC 3062 PasswdModifyRequestValue. */
export function decodePasswordModify(value: Buffer | undefined): Parsed<{ user?: string; oldPassword?: string; newPassword?: string }> {
  if (!value || value.length === 0) return parsed({});
  try {
    const r = new BerReader(value);
    const { body } = r.element(Tag.Sequence);
    r.finish();
    const out: { user?: string; oldPassword?: string; newPassword?: string } = {};
    if (body.peekTag() === 0x80) out.user = body.string(0x80);
    if (body.peekTag() === 0x81) out.oldPassword = body.string(0x81);
    if (body.peekTag() === 0x82) out.newPassword = body.string(0x82);
    body.finish();
    return parsed(out);
  } catch (e) {
    if (e instanceof BerError) return parseError(`malformed password modify request: ${e.message}`);
    throw e;
  }
}

export function encodeGeneratedPassword(password: string): Buffer {
  return Buffer.from(new BerWriter(64).start().octets(password, 0x80).end().toBuffer());
}

export const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';
export const START_TLS_OID = '1.3.6.1.4.1.1466.20037';
export const WHO_AM_I_OID = '1.3.6.1.4.1.4203.1.11.3';
export const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';
export const NOTICE_OF_DISCONNECTION_OID = '1.3.6.1.4.1.1466.20036';

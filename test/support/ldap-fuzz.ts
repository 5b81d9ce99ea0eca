/**
 * The pieces of test/ldap/fuzz.test.ts and test/ldap/fuzz-regressions.test.ts: a seeded Rng, a tiny BER
 * tree with its encoder, generators of valid requests and their structural and byte mutations, the
 * connection framing replayed to classify a write, a strict check of every response, a client
 * connection that frames what the server sends, and the fixture (an in-process LdapServer over a
 * real core with a small org). Everything here is deterministic in LDAP_FUZZ_SEED.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll } from 'vitest';
import { operatorContext, type Context } from '../../src/core/context.js';
import { createDirectoryCore, type DirectoryCore } from '../../src/core/directory.js';
import type { Directory } from '../../src/core/model.js';
import { ALL_ROWS } from '../../src/core/query.js';
import { SecretBox } from '../../src/core/secrets.js';
import { BerError, BerReader, pduLength, readLength, Tag } from '../../src/ldap/ber.js';
import {
  decodeMessage,
  NOTICE_OF_DISCONNECTION_OID,
  PAGED_RESULTS_OID as PAGED,
  PASSWORD_MODIFY_OID as PASSWORD_MODIFY,
  START_TLS_OID as START_TLS,
  WHO_AM_I_OID as WHO_AM_I,
  type Message,
} from '../../src/ldap/protocol.js';
import { LdapServer, type LdapServerOptions } from '../../src/ldap/server.js';
import { openTestStore, type TestStore } from './stores.js';

export const SEED = Number(process.env.LDAP_FUZZ_SEED ?? 0x1d4f5eed) >>> 0;
export const MAX_PDU = 64 * 1024;
export const SUFFIX = 'dc=roster';
export const PASSWORD = 'Fuzz-Passw0rd!-correct-horse';

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 1;
  }
  /** mulberry32 */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Message ids, per generator so that a worker's inputs depend on its seed alone. */
  private lastId = 1;
  id(): number {
    this.lastId = this.lastId >= 1_000_000 ? 2 : this.lastId + 1;
    return this.lastId;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ---------------------------------------------------------------------------------------------
// A tiny BER tree, so that mutations can work on structure as well as on bytes
// ---------------------------------------------------------------------------------------------

export type Node = { tag: number; kids: Node[] } | { tag: number; raw: Buffer };

export const cons = (tag: number, ...kids: Node[]): Node => ({ tag, kids });
export const prim = (tag: number, content: Buffer | string): Node => ({ tag, raw: Buffer.from(content) });
export const str = (s: string | Buffer, tag: number = Tag.OctetString) => prim(tag, typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
export const seq = (...kids: Node[]) => cons(Tag.Sequence, ...kids);

function intBytes(n: number): Buffer {
  const out: number[] = [];
  let v = BigInt(n);
  for (;;) {
    out.unshift(Number(v & 0xffn));
    const next = v >> 8n;
    const sign = (out[0]! & 0x80) !== 0;
    if ((next === 0n && !sign) || (next === -1n && sign)) break;
    v = next;
  }
  return Buffer.from(out);
}
export const int = (n: number, tag: number = Tag.Integer) => prim(tag, intBytes(n));
export const enumerated = (n: number) => int(n, Tag.Enumerated);
export const bool = (b: boolean, tag: number = Tag.Boolean) => prim(tag, Buffer.from([b ? 0xff : 0]));

function lengthBytes(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  while (n > 0) {
    out.unshift(n & 0xff);
    n = Math.floor(n / 256);
  }
  return [0x80 | out.length, ...out];
}

interface Header {
  /** Offset of the tag byte. */
  at: number;
  /** How many length octets follow the tag. */
  lengthSize: number;
}

export function encode(node: Node, headers?: Header[]): Buffer {
  // One pass for the content sizes, one to write: no re-encoding of subtrees.
  const sizes = new Map<Node, number>();
  const contentSize = (n: Node): number => {
    let size = 0;
    if ('raw' in n) size = n.raw.length;
    else for (const k of n.kids) size += elementSize(k);
    sizes.set(n, size);
    return size;
  };
  const elementSize = (n: Node): number => {
    const c = contentSize(n);
    return 1 + lengthBytes(c).length + c;
  };
  const out = Buffer.allocUnsafe(elementSize(node));
  const write = (n: Node, at: number): number => {
    const len = lengthBytes(sizes.get(n)!);
    headers?.push({ at, lengthSize: len.length });
    out[at++] = n.tag;
    for (const b of len) out[at++] = b;
    if ('raw' in n) {
      n.raw.copy(out, at);
      return at + n.raw.length;
    }
    for (const k of n.kids) at = write(k, at);
    return at;
  };
  write(node, 0);
  return out;
}

function clone(node: Node): Node {
  return 'raw' in node ? { tag: node.tag, raw: Buffer.from(node.raw) } : { tag: node.tag, kids: node.kids.map(clone) };
}

function allNodes(node: Node, out: { node: Node; parent?: Node }[] = [], parent?: Node): { node: Node; parent?: Node }[] {
  out.push({ node, parent });
  if ('kids' in node) for (const k of node.kids) allNodes(k, out, node);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Valid requests
// ---------------------------------------------------------------------------------------------

export interface World {
  orgDn: string;
  userDns: string[];
  groupDns: string[];
}

const ATTRIBUTES = [
  'objectClass', 'cn', 'sn', 'uid', 'mail', 'givenName', 'displayName', 'uidNumber', 'gidNumber', 'member', 'memberOf',
  'memberUid', 'entryUUID', 'createTimestamp', 'modifyTimestamp', 'telephoneNumber', 'description', 'homeDirectory',
  'userPassword', 'sshPublicKey', 'hasSubordinates', 'entryDN', 'supportedLDAPVersion', 'namingContexts', 'vendorName',
  'CN', '2.5.4.3', '0.9.2342.19200300.100.1.1', 'cn;lang-en', 'noSuchAttribute', 'x-unknown', '1.2.3.4.5', '',
];
const RULES = ['2.5.13.2', 'caseIgnoreMatch', '2.5.13.5', 'caseExactMatch', '2.5.13.14', 'integerMatch', 'generalizedTimeMatch', 'distinguishedNameMatch', '1.2.840.113556.1.4.1941', '1.2.840.113556.1.4.803', '1.2.840.113556.1.4.804', '9.9.9', 'caseIgnoreOrderingMatch'];

const valuesCache = new WeakMap<World, string[]>();
const dnsCache = new WeakMap<World, string[]>();

function values(w: World): string[] {
  let cached = valuesCache.get(w);
  if (!cached) valuesCache.set(w, (cached = valueList(w)));
  return cached;
}

function dns(w: World): string[] {
  let cached = dnsCache.get(w);
  if (!cached) dnsCache.set(w, (cached = dnList(w)));
  return cached;
}

function valueList(w: World): string[] {
  return [
    'alice', 'Alice', 'ALICE ', 'bob', 'b*', '*', '', ' ', 'Zoë 日本 😀', 'a\u0000b', '\\', '(', ')', '0', '1000', '-1', '007', '99999999999999999999999',
    '20240301123015Z', '20240301123015.5+0200', '19700101000000Z', 'TRUE', 'FALSE', 'inetOrgPerson', 'groupOfNames', 'top', '2.5.6.0',
    w.orgDn, w.userDns[0]!, w.groupDns[0]!, 'cn=nobody,dc=roster', 'not a dn', '+1 555-0100', '6f1c2b8e-8a0e-5b7d-9c3f-0123456789ab', 'x'.repeat(300),
  ];
}

function dnList(w: World): string[] {
  return ['', 'cn=Subschema', SUFFIX, 'DC=Roster', w.orgDn, `ou=Users,${w.orgDn}`, `ou=Groups,${w.orgDn}`, ...w.userDns, ...w.groupDns, 'o=nope,dc=roster', 'dc=example,dc=com', 'cn=a\\,b,dc=roster', 'uid=#04024869,dc=roster', 'not a dn', 'cn=x,'];
}

function randomFilter(rng: Rng, w: World, depth = 0): Node {
  const attr = () => str(rng.pick(ATTRIBUTES));
  const val = () => str(rng.pick(values(w)));
  const choice = depth > 4 ? rng.range(3, 9) : rng.int(10);
  switch (choice) {
    case 0:
    case 1: {
      const n = rng.int(4);
      return cons(choice === 0 ? 0xa0 : 0xa1, ...Array.from({ length: n }, () => randomFilter(rng, w, depth + 1)));
    }
    case 2:
      return cons(0xa2, randomFilter(rng, w, depth + 1));
    case 3:
      return cons(0xa3, attr(), val());
    case 4: {
      const parts: Node[] = [];
      if (rng.chance(0.6)) parts.push(str(rng.pick(['a', 'Al', 'b', '', 'x y']), 0x80));
      for (let i = rng.int(3); i > 0; i--) parts.push(str(rng.pick(['l', 'i', 'o', ' ', 'ce']), 0x81));
      if (parts.length === 0 || rng.chance(0.5)) parts.push(str(rng.pick(['e', 'b', 'ice', '']), 0x82));
      return cons(0xa4, attr(), seq(...parts));
    }
    case 5:
      return cons(0xa5, attr(), val());
    case 6:
      return cons(0xa6, attr(), val());
    case 7:
      return str(rng.pick(ATTRIBUTES), 0x87);
    case 8:
      return cons(0xa8, attr(), val());
    default: {
      const kids: Node[] = [];
      const rule = rng.chance(0.6);
      const type = !rule || rng.chance(0.6);
      if (rule) kids.push(str(rng.pick(RULES), 0x81));
      if (type) kids.push(str(rng.pick(ATTRIBUTES), 0x82));
      kids.push(str(rng.pick(values(w)), 0x83));
      if (rng.chance(0.5)) kids.push(bool(rng.chance(0.5), 0x84));
      return cons(0xa9, ...kids);
    }
  }
}

function randomControls(rng: Rng): Node | undefined {
  if (!rng.chance(0.25)) return undefined;
  const controls: Node[] = [];
  for (let i = rng.range(1, 2); i > 0; i--) {
    if (rng.chance(0.6)) {
      const value = encode(seq(int(rng.pick([0, 1, 2, 10, 1000])), str(rng.chance(0.8) ? '' : rng.bytes(12))));
      controls.push(seq(str(PAGED), ...(rng.chance(0.5) ? [bool(true)] : []), str(value)));
    } else {
      controls.push(seq(str(rng.pick(['1.2.3.4', '2.16.840.1.113730.3.4.2', '1.3.6.1.4.1.42.2.27.8.5.1'])), ...(rng.chance(0.5) ? [bool(rng.chance(0.5))] : [])));
    }
  }
  return cons(0xa0, ...controls);
}

type Template = 'bind' | 'sasl' | 'rootDse' | 'subschema' | 'search' | 'compare' | 'whoami' | 'extended' | 'passwordModify' | 'abandon' | 'write' | 'unbind';

function request(rng: Rng, w: World, kind: Template, id: number): Node {
  let op: Node;
  switch (kind) {
    case 'bind':
      op = cons(
        0x60,
        int(3),
        str(rng.pick(['', 'cn=admin,dc=example,dc=com', ...w.userDns, 'uid=nobody,ou=Users,' + w.orgDn])),
        str(rng.pick(['', 'wrong', PASSWORD.slice(0, 5)]), 0x80),
      );
      break;
    case 'sasl':
      op = cons(0x60, int(3), str(''), cons(0xa3, str(rng.pick(['EXTERNAL', 'PLAIN', 'GSSAPI'])), ...(rng.chance(0.5) ? [str('\u0000user\u0000pw')] : [])));
      break;
    case 'rootDse':
      op = cons(0x63, str(''), enumerated(0), enumerated(0), int(0), int(0), bool(false), rng.chance(0.5) ? str('objectClass', 0x87) : randomFilter(rng, w), seq(...['namingContexts', 'supportedControl', '+', '*', '1.1'].filter(() => rng.chance(0.4)).map((a) => str(a))));
      break;
    case 'subschema':
      op = cons(0x63, str('cn=Subschema'), enumerated(0), enumerated(0), int(0), int(0), bool(rng.chance(0.2)), str('objectClass', 0x87), seq(str('attributeTypes'), str('objectClasses')));
      break;
    case 'search':
      op = cons(
        0x63,
        str(rng.pick(dns(w))),
        enumerated(rng.int(4)),
        enumerated(rng.int(4)),
        int(rng.pick([0, 1, 5, 1000])),
        int(rng.pick([0, 1, 30])),
        bool(rng.chance(0.2)),
        randomFilter(rng, w),
        seq(...ATTRIBUTES.filter(() => rng.chance(0.1)).map((a) => str(a))),
      );
      break;
    case 'compare':
      op = cons(0x6e, str(rng.pick(dns(w))), seq(str(rng.pick(ATTRIBUTES)), str(rng.pick(values(w)))));
      break;
    case 'whoami':
      op = cons(0x77, str(WHO_AM_I, 0x80));
      break;
    case 'extended':
      op = cons(0x77, str(rng.pick(['1.2.3.4', START_TLS, '1.3.6.1.4.1.1466.20036', 'x']), 0x80), ...(rng.chance(0.5) ? [str(rng.bytes(rng.int(20)), 0x81)] : []));
      break;
    case 'passwordModify':
      op = cons(0x77, str(PASSWORD_MODIFY, 0x80), str(encode(seq(str('dn:' + w.userDns[0]!, 0x80), str('old', 0x81), str('new', 0x82))), 0x81));
      break;
    case 'abandon':
      op = int(rng.range(1, 1000), 0x50);
      break;
    case 'write': {
      const tag = rng.pick([0x66, 0x68, 0x4a, 0x6c]);
      op = tag === 0x4a ? str(rng.pick(dns(w)), 0x4a) : cons(tag, str(rng.pick(dns(w))), seq());
      break;
    }
    case 'unbind':
      op = prim(0x42, '');
      break;
  }
  const controls = kind === 'abandon' || kind === 'unbind' ? undefined : randomControls(rng);
  return seq(int(id), op, ...(controls ? [controls] : []));
}

export const ANONYMOUS_TEMPLATES: Template[] = ['bind', 'bind', 'sasl', 'rootDse', 'rootDse', 'subschema', 'search', 'search', 'search', 'compare', 'compare', 'whoami', 'extended', 'passwordModify', 'abandon', 'write', 'unbind'];
export const BOUND_TEMPLATES: Template[] = ['search', 'search', 'search', 'search', 'compare', 'compare', 'whoami', 'abandon', 'rootDse'];

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

const INVALID_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from([0xe2, 0x82])];
const TAGS = [0x00, 0x01, 0x02, 0x04, 0x05, 0x0a, 0x30, 0x31, 0x42, 0x4a, 0x50, 0x60, 0x61, 0x63, 0x64, 0x65, 0x66, 0x68, 0x6c, 0x6e, 0x77, 0x78, 0x80, 0x81, 0x82, 0x83, 0x84, 0x87, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0x1f, 0xff];

/** A filter nested `depth` levels deep (AND, OR and NOT around (cn=*)), encoded without recursion in one pass. */
export function deepFilter(rng: Rng, depth: number): Buffer {
  const leaf = encode(str('cn', 0x87));
  // Sizes from the inside out: the element at level i wraps everything inside it.
  const tags: number[] = [];
  const lengths: number[][] = [];
  let size = leaf.length;
  for (let i = 0; i < depth; i++) {
    const len = lengthBytes(size);
    tags.push(rng.pick([0xa0, 0xa1, 0xa2]));
    lengths.push(len);
    size += 1 + len.length;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = depth - 1; i >= 0; i--) {
    out[at++] = tags[i]!;
    for (const b of lengths[i]!) out[at++] = b;
  }
  leaf.copy(out, at);
  return out;
}

/** Deep filters take a while to build: a few variants of each depth, made once per seed. */
const deepFilters = new Map<number, Buffer[]>();
function deepFilterVariant(rng: Rng, depth: number): Buffer {
  let variants = deepFilters.get(depth);
  if (!variants) deepFilters.set(depth, (variants = []));
  const i = rng.int(8);
  variants[i] ??= deepFilter(new Rng(SEED + depth * 8 + i), depth);
  return variants[i];
}

function structuralMutation(rng: Rng, root: Node): string {
  const nodes = allNodes(root);
  const { node, parent } = rng.pick(nodes);
  const m = rng.int(12);
  switch (m) {
    case 0:
      node.tag = rng.pick(TAGS);
      return 'tag';
    case 1:
      if ('raw' in node) node.raw = Buffer.alloc(0);
      else node.kids = [];
      return 'empty';
    case 2:
      if ('raw' in node) {
        const bad = rng.pick(INVALID_UTF8);
        const at = rng.int(node.raw.length + 1);
        node.raw = Buffer.concat([node.raw.subarray(0, at), bad, node.raw.subarray(at)]);
        return 'utf8';
      }
      return 'utf8-miss';
    case 3:
      if ('raw' in node) {
        node.raw = Buffer.alloc(rng.pick([200, 5000, 40_000, 70_000]), 0x61);
        return 'oversize';
      }
      return 'oversize-miss';
    case 4:
      if (parent && 'kids' in parent) {
        parent.kids.splice(parent.kids.indexOf(node), 1);
        return 'delete';
      }
      return 'delete-miss';
    case 5:
      if (parent && 'kids' in parent) {
        parent.kids.splice(rng.int(parent.kids.length + 1), 0, clone(node));
        return 'duplicate';
      }
      return 'duplicate-miss';
    case 6:
      if ('kids' in node && node.kids.length > 1) {
        node.kids.reverse();
        return 'swap';
      }
      return 'swap-miss';
    case 7:
      if (parent && 'kids' in parent) {
        parent.kids[parent.kids.indexOf(node)] = seq(node);
        return 'wrap';
      }
      return 'wrap-miss';
    case 8:
      if ('raw' in node && (node.tag === Tag.Integer || node.tag === Tag.Enumerated || node.tag === 0x50)) {
        node.raw = rng.pick([Buffer.alloc(0), Buffer.from([0x80]), Buffer.from([0xff, 0xff, 0xff, 0xff]), Buffer.alloc(9, 0x7f), Buffer.from([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]), Buffer.from([0x7f, 0xff, 0xff, 0xff, 0xff])]);
        return 'integer';
      }
      return 'integer-miss';
    case 9:
      if ('kids' in node) {
        node.kids.push(prim(rng.pick(TAGS), rng.bytes(rng.int(8))));
        return 'append';
      }
      return 'append-miss';
    case 10:
      if ('raw' in node && node.raw.length > 0) {
        node.raw = node.raw.subarray(0, rng.int(node.raw.length));
        return 'shorten';
      }
      return 'shorten-miss';
    default:
      if ('raw' in node) {
        node.raw = Buffer.from(rng.pick(['\u0000', 'é', '😀', 'a'.repeat(1000), '\\', '=', ',', '#00']));
        return 'text';
      }
      return 'text-miss';
  }
}

function byteMutation(rng: Rng, bytes: Buffer, headers: Header[]): { bytes: Buffer; name: string } {
  const m = rng.int(8);
  const b = Buffer.from(bytes);
  switch (m) {
    case 0: {
      for (let i = rng.range(1, 8); i > 0 && b.length > 0; i--) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      return { bytes: b, name: 'bitflip' };
    }
    case 1: {
      const at = rng.int(b.length + 1);
      return { bytes: Buffer.concat([b.subarray(0, at), rng.bytes(rng.range(1, 8)), b.subarray(at)]), name: 'insert' };
    }
    case 2: {
      const at = rng.int(b.length);
      return { bytes: Buffer.concat([b.subarray(0, at), b.subarray(at + rng.range(1, 8))]), name: 'delete' };
    }
    case 3:
      return { bytes: b.subarray(0, rng.int(b.length)), name: 'truncate' };
    case 4:
    case 5: {
      const h = rng.pick(headers);
      const replacement = rng.pick([[0x84, 0xff, 0xff, 0xff, 0xff], [0x80], [0x85, 1, 0, 0, 0, 0], [0x83, 0xff, 0xff, 0xff], [0x00], [0x7f], [0x81, 0x00], [0x84, 0x05, 0xf5, 0xe1, 0x00]]);
      const out = Buffer.concat([b.subarray(0, h.at + 1), Buffer.from(replacement), b.subarray(h.at + 1 + h.lengthSize)]);
      return { bytes: out, name: `length-${replacement.length === 1 && replacement[0] === 0x80 ? 'indefinite' : 'bad'}` };
    }
    case 6: {
      const x = rng.pick(headers);
      const y = rng.pick(headers);
      const t = b[x.at]!;
      b[x.at] = b[y.at]!;
      b[y.at] = t;
      return { bytes: b, name: 'tag-swap' };
    }
    default: {
      const h = rng.pick(headers);
      b[h.at] = rng.pick(TAGS);
      return { bytes: b, name: 'tag' };
    }
  }
}

interface Case {
  bytes: Buffer;
  label: string;
}

export function makeCase(rng: Rng, w: World, templates: readonly Template[]): Case {
  const r = rng.next();
  if (r < 0.1) {
    // Purely random bytes; half of them framed as a SEQUENCE so they reach the decoder.
    const body = rng.bytes(rng.int(300));
    if (rng.chance(0.5)) return { bytes: body, label: 'random' };
    return { bytes: Buffer.concat([Buffer.from([0x30, ...lengthBytes(body.length)]), body]), label: 'random-framed' };
  }
  if (r < 0.13) {
    // Filters nested far deeper than the decoder allows.
    const depth = rng.pick([65, 100, 1000, 10_000]);
    return { bytes: searchPdu(rng.id(), deepFilterVariant(rng, depth), rng.pick(['', w.orgDn])), label: `deep-${depth}` };
  }
  if (r < 0.15) {
    // A valid request followed by a malformed one on the same write.
    const good = encode(request(rng, w, rng.pick(templates), rng.id()));
    const bad = makeCase(rng, w, templates);
    return { bytes: Buffer.concat([good, bad.bytes]), label: `pipelined+${bad.label}` };
  }
  const tree = request(rng, w, rng.pick(templates), rng.id());
  const labels: string[] = [];
  if (r < 0.2) {
    labels.push('valid');
  } else if (r < 0.6) {
    for (let i = rng.range(1, 3); i > 0; i--) labels.push(structuralMutation(rng, tree));
  }
  const headers: Header[] = [];
  let bytes = encode(tree, headers);
  if (r >= 0.45) {
    for (let i = rng.range(1, 2); i > 0; i--) {
      const m = byteMutation(rng, bytes, headers);
      bytes = m.bytes;
      labels.push(m.name);
    }
  }
  return { bytes, label: labels.join('+') };
}

/** A search request around an already encoded filter (which may be too deep for the tree encoder). */
export function searchPdu(id: number, filter: Buffer, base = ''): Buffer {
  const op = Buffer.concat([encode(str(base)), encode(enumerated(0)), encode(enumerated(0)), encode(int(0)), encode(int(0)), encode(bool(false)), filter, encode(seq())]);
  const content = Buffer.concat([encode(int(id)), Buffer.from([0x63, ...lengthBytes(op.length)]), op]);
  return Buffer.concat([Buffer.from([0x30, ...lengthBytes(content.length)]), content]);
}

// ---------------------------------------------------------------------------------------------
// What the server should do with a write: the connection's framing, replayed
// ---------------------------------------------------------------------------------------------

export type Verdict = 'answer' | 'reject' | 'incomplete' | 'closes';

export function classify(bytes: Buffer): { verdict: Verdict; messages: Message[] } {
  const messages: Message[] = [];
  let rest = bytes;
  for (;;) {
    if (rest.length === 0) return { verdict: 'answer', messages };
    let length: number | undefined;
    try {
      length = pduLength(rest, MAX_PDU);
    } catch (e) {
      if (e instanceof BerError) return { verdict: 'reject', messages };
      throw e;
    }
    if (length === undefined || rest.length < length) return { verdict: 'incomplete', messages };
    const decoded = decodeMessage(rest.subarray(0, length));
    if (!decoded.ok) return { verdict: 'reject', messages };
    if (decoded.value.request.op === 'unbind') return { verdict: 'closes', messages };
    messages.push(decoded.value);
    rest = rest.subarray(length);
  }
}

// ---------------------------------------------------------------------------------------------
// Responses: each must be a well-formed LDAPMessage
// ---------------------------------------------------------------------------------------------

export interface Response {
  id: number;
  tag: number;
  code?: number;
  responseName?: string;
}

const RESULT_TAGS = new Set([0x61, 0x65, 0x67, 0x69, 0x6b, 0x6d, 0x6f, 0x78]);

/** Decodes one response PDU strictly; throws (with the hex) when it is not a well-formed LDAPMessage. */
function checkResponse(pdu: Buffer): Response {
  try {
    const outer = new BerReader(pdu);
    const { body } = outer.element(Tag.Sequence);
    outer.finish();
    const id = body.integer();
    if (id < 0 || id > 2147483647) throw new Error('message id out of range');
    const tag = body.peekTag()!;
    const { body: op } = body.element();
    const out: Response = { id, tag };
    if (tag === 0x64) {
      op.string();
      const { body: attrs } = op.element(Tag.Sequence);
      while (!attrs.done) {
        const { body: a } = attrs.element(Tag.Sequence);
        a.string();
        const { body: set } = a.element(Tag.Set);
        while (!set.done) set.octets();
        a.finish();
      }
      op.finish();
    } else if (RESULT_TAGS.has(tag)) {
      out.code = op.integer(Tag.Enumerated);
      op.string();
      op.string();
      if (op.peekTag() === 0xa3) op.skip(); // referral
      if (tag === 0x61 && op.peekTag() === 0x87) op.octets(0x87);
      if (tag === 0x78 && op.peekTag() === 0x8a) out.responseName = op.string(0x8a);
      if (tag === 0x78 && op.peekTag() === 0x8b) op.octets(0x8b);
      op.finish();
    } else {
      throw new Error(`unexpected protocolOp 0x${tag.toString(16)}`);
    }
    if (!body.done) {
      const { body: controls } = body.element(0xa0);
      while (!controls.done) {
        const { body: c } = controls.element(Tag.Sequence);
        c.string();
        if (c.peekTag() === Tag.Boolean) c.boolean();
        if (c.peekTag() === Tag.OctetString) c.octets();
        c.finish();
      }
    }
    body.finish();
    return out;
  } catch (e) {
    throw new Error(`malformed response from the server (${(e as Error).message}): ${pdu.toString('hex').slice(0, 400)}`);
  }
}

export const RESPONSE_FOR: Record<Message['request']['op'], number[]> = {
  bind: [0x61],
  unbind: [],
  search: [0x64, 0x65],
  modify: [0x67],
  add: [0x69],
  delete: [0x6b],
  modifyDn: [0x6d],
  compare: [0x6f],
  abandon: [],
  extended: [0x78],
};

// ---------------------------------------------------------------------------------------------
// A client connection that frames and checks what the server sends
// ---------------------------------------------------------------------------------------------

export class Conn {
  readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  closed = false;
  readonly responses: Response[] = [];
  notices: Response[] = [];
  problem: string | undefined;
  private waiters: (() => void)[] = [];
  readonly closedPromise: Promise<void>;
  readonly connected: Promise<void>;

  constructor(port: number) {
    this.socket = connect({ port, host: '127.0.0.1', noDelay: true });
    this.connected = new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
    this.socket.on('error', () => undefined);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closedPromise = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closed = true;
        this.wake();
        resolve();
      }),
    );
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    while (this.buffer.length > 0) {
      if (this.buffer[0] !== 0x30) {
        this.problem ??= `the server sent a PDU that is not a SEQUENCE: ${this.buffer.subarray(0, 64).toString('hex')}`;
        this.buffer = Buffer.alloc(0);
        break;
      }
      let parsed: { length: number; next: number } | undefined;
      try {
        parsed = readLength(this.buffer, 1, this.buffer.length);
      } catch (e) {
        this.problem ??= `the server sent an invalid length: ${(e as Error).message}`;
        this.buffer = Buffer.alloc(0);
        break;
      }
      if (!parsed || this.buffer.length < parsed.next + parsed.length) break;
      const pdu = this.buffer.subarray(0, parsed.next + parsed.length);
      this.buffer = this.buffer.subarray(pdu.length);
      try {
        const response = checkResponse(pdu);
        if (response.id === 0 && response.tag === 0x78 && response.responseName === NOTICE_OF_DISCONNECTION_OID) this.notices.push(response);
        else this.responses.push(response);
      } catch (e) {
        this.problem ??= (e as Error).message;
      }
    }
    this.wake();
  }

  /** Waits until `done()` holds or the connection closes; false on timeout. */
  async until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done() && !this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  write(bytes: Buffer): void {
    if (!this.closed) this.socket.write(bytes);
  }
}

export const whoAmI = (id: number) => encode(seq(int(id), cons(0x77, str(WHO_AM_I, 0x80))));
export const simpleBind = (id: number, name: string, password: string) => encode(seq(int(id), cons(0x60, int(3), str(name), str(password, 0x80))));
export const rootDseSearch = (id: number, attributes: string[] = []) =>
  encode(seq(int(id), cons(0x63, str(''), enumerated(0), enumerated(0), int(0), int(0), bool(false), str('objectClass', 0x87), seq(...attributes.map((a) => str(a))))));

/** Reads whole responses off one connection (for the targeted tests). */
export async function exchange(port: number, requests: Buffer[], untilId: number, timeoutMs = 5000): Promise<{ conn: Conn; entries: { dn: string; attributes: Map<string, string[]> }[]; responses: Response[] }> {
  const conn = new Conn(port);
  await conn.connected;
  const entries: { dn: string; attributes: Map<string, string[]> }[] = [];
  const raw: Buffer[] = [];
  conn.socket.prependListener('data', (chunk: Buffer) => raw.push(chunk));
  for (const r of requests) conn.write(r);
  await conn.until(() => conn.responses.some((r) => r.id === untilId && r.tag !== 0x64), timeoutMs);
  // Decode the entries again with their contents.
  let buf = Buffer.concat(raw);
  while (buf.length > 0) {
    const parsed = readLength(buf, 1, buf.length)!;
    const pdu = buf.subarray(0, parsed.next + parsed.length);
    buf = buf.subarray(pdu.length);
    const body = new BerReader(pdu).element(Tag.Sequence).body;
    body.integer();
    if (body.peekTag() !== 0x64) continue;
    const op = body.element(0x64).body;
    const dn = op.string();
    const attributes = new Map<string, string[]>();
    const list = op.element(Tag.Sequence).body;
    while (!list.done) {
      const a = list.element(Tag.Sequence).body;
      const name = a.string();
      const set = a.element(Tag.Set).body;
      const vals: string[] = [];
      while (!set.done) vals.push(set.string());
      attributes.set(name.toLowerCase(), vals);
    }
    entries.push({ dn, attributes });
  }
  return { conn, entries, responses: conn.responses };
}

/** Abandon requests with 4-byte integers, built without the tree encoder (there are many of them). */
export function abandons(firstMessageId: number, count: number, target: (i: number) => number): Buffer {
  const out = Buffer.allocUnsafe(count * 14);
  for (let i = 0; i < count; i++) {
    const at = i * 14;
    out[at] = 0x30;
    out[at + 1] = 12;
    out[at + 2] = 0x02;
    out[at + 3] = 4;
    out.writeUInt32BE(firstMessageId + i, at + 4);
    out[at + 8] = 0x50;
    out[at + 9] = 4;
    out.writeUInt32BE(target(i), at + 10);
  }
  return out;
}

export async function writeAll(conn: Conn, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; at += 1 << 20) {
    if (!conn.socket.write(bytes.subarray(at, at + (1 << 20)))) await new Promise((r) => conn.socket.once('drain', r));
  }
}

// ---------------------------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------------------------

function gcFunction(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = gcFunction();

export function memory(): { rss: number; heapUsed: number; external: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}
/** Open file descriptors (sockets included), where /proc tells. */
export const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
export const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

interface Logged {
  level: 'error' | 'warn';
  obj: unknown;
  msg: string | undefined;
}

export interface Fixture {
  testStore: TestStore;
  core: DirectoryCore;
  ctx: Context;
  ldap: Directory;
  world: World;
  bindDn: string;
  orgId: string;
  logged: Logged[];
  servers: LdapServer[];
  start(): Promise<{ server: LdapServer; port: number }>;
  /** Turns simple binds over plain LDAP on or off for the fixture's directory. */
  allowPlainBind(allow: boolean): Promise<unknown>;
}

const OPTIONS: LdapServerOptions = {
  host: '127.0.0.1',
  port: 0,
  tlsPort: null,
  suffix: SUFFIX,
  maxPdu: MAX_PDU,
  maxConnections: 64,
  idleTimeoutMs: 30_000,
  maxQueued: 64,
  version: 'test',
};

export async function openFixture(): Promise<Fixture> {
  const testStore = await openTestStore('sqlite');
  const core = createDirectoryCore(testStore.store, SecretBox.fromKey(randomBytes(32)));
  const first = await core.bootstrap({ orgName: 'Fuzz', adminEmail: 'root@fuzz.test' });
  if (!first) throw new Error('bootstrap did not run');
  const ctx = operatorContext(first.org.id);
  const ldap = (await core.directories.list(ctx, { sort: [], page: ALL_ROWS }, 'ldap_server')).items[0]!;
  await core.directories.update(ctx, ldap.id, 'ldap_server', { config: { allowPlainBind: true, userSearchAccess: 'all', searchEventSampleRate: 0.05 } });

  const binder = await core.users.create(ctx, { username: 'fuzz-binder', email: 'binder@fuzz.test', password: PASSWORD, ldapBindingUser: true, state: 'ACTIVATED' });
  const alice = await core.users.create(ctx, { username: 'alice', email: 'alice@fuzz.test', firstname: 'Alice', lastname: 'Zoë', unixUid: 1005, phoneNumbers: [{ type: 'work', number: '+1 555-0100' }] });
  const bob = await core.users.create(ctx, { username: 'bob', email: 'bob@fuzz.test', firstname: 'Bob', lastname: 'Builder' });
  const carol = await core.users.create(ctx, { username: 'carol', email: 'carol@fuzz.test', displayname: 'Carol (ops) *' });
  const engineers = await core.groups.create(ctx, { name: 'engineers', attributes: { posixGroups: [{ id: 5000, name: 'engineers' }] } });
  const admins = await core.groups.create(ctx, { name: 'admins' });
  await core.groups.addMember(ctx, engineers.id, 'user', alice.id);
  await core.groups.addMember(ctx, engineers.id, 'user', bob.id);
  await core.groups.addMember(ctx, admins.id, 'user_group', engineers.id);
  await core.groups.addMember(ctx, admins.id, 'user', carol.id);
  for (const id of [binder.id, alice.id]) await core.associations.change(ctx, { type: 'user', id }, { type: 'ldap_server', id: ldap.id }, 'add');
  await core.associations.change(ctx, { type: 'user_group', id: admins.id }, { type: 'ldap_server', id: ldap.id }, 'add');

  const orgDn = `o=${first.org.id},${SUFFIX}`;
  const world: World = {
    orgDn,
    userDns: ['alice', 'bob', 'carol', 'fuzz-binder'].map((u) => `uid=${u},ou=Users,${orgDn}`),
    groupDns: ['engineers', 'admins'].map((g) => `cn=${g},ou=Groups,${orgDn}`),
  };
  const logged: Logged[] = [];
  const servers: LdapServer[] = [];
  const log = {
    error: (obj: unknown, msg?: string) => void logged.push({ level: 'error', obj, msg }),
    warn: (obj: unknown, msg?: string) => void logged.push({ level: 'warn', obj, msg }),
  };
  return {
    testStore,
    core,
    ctx,
    ldap,
    world,
    bindDn: world.userDns[3]!,
    orgId: first.org.id,
    logged,
    servers,
    async start() {
      const server = new LdapServer(core, OPTIONS, log);
      servers.push(server);
      const { port } = await server.listen();
      return { server, port: port! };
    },
    allowPlainBind: (allow) => core.directories.update(ctx, ldap.id, 'ldap_server', { config: { allowPlainBind: allow } }),
  };
}

export const errorsLogged = (f: Fixture) => f.logged.filter((l) => l.level === 'error').map((l) => `${l.msg}: ${String((l.obj as { err?: unknown }).err ?? l.obj)}`);

/** Opens a fixture before the calling file's tests, hands it to `use`, and closes it and its servers after them. */
export function useFixture(use: (f: Fixture) => void): void {
  let f: Fixture | undefined;
  beforeAll(async () => {
    f = await openFixture();
    use(f);
  });
  afterAll(async () => {
    for (const s of f?.servers ?? []) await s.close();
    await f?.testStore.dispose();
  });
}

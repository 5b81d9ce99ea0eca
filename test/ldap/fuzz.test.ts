/**
 * Bad input for the LDAP listener: an in-process LdapServer over a real core takes a storm of
 * random and mutated PDUs from a pool of concurrent sockets, and must answer every one with
 * well-formed LDAP (or a Notice of Disconnection with protocolError), never crash, never log an
 * internal error, and keep its memory bounded.
 *
 * Reproduce a run with LDAP_FUZZ_SEED=<seed>; LDAP_FUZZ_INPUTS sets how many bad inputs to send.
 *
 * The last block pins the bugs this hostile-client view turned up; each names the code at fault.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
import { openTestStore, type TestStore } from '../support/stores.js';

const SEED = Number(process.env.LDAP_FUZZ_SEED ?? 0x1d4f5eed) >>> 0;
const TARGET_BAD_INPUTS = Number(process.env.LDAP_FUZZ_INPUTS ?? 100_000);
const STORM_BUDGET_MS = Number(process.env.LDAP_FUZZ_BUDGET_MS ?? 150_000);
const SOCKETS = 8;
const BOUND_PACE_MS = 1;
const MAX_PDU = 64 * 1024;
const SUFFIX = 'dc=roster';
const PASSWORD = 'Fuzz-Passw0rd!-correct-horse';

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

class Rng {
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

type Node = { tag: number; kids: Node[] } | { tag: number; raw: Buffer };

const cons = (tag: number, ...kids: Node[]): Node => ({ tag, kids });
const prim = (tag: number, content: Buffer | string): Node => ({ tag, raw: Buffer.from(content) });
const str = (s: string | Buffer, tag: number = Tag.OctetString) => prim(tag, typeof s === 'string' ? Buffer.from(s, 'utf8') : s);
const seq = (...kids: Node[]) => cons(Tag.Sequence, ...kids);

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
const int = (n: number, tag: number = Tag.Integer) => prim(tag, intBytes(n));
const enumerated = (n: number) => int(n, Tag.Enumerated);
const bool = (b: boolean, tag: number = Tag.Boolean) => prim(tag, Buffer.from([b ? 0xff : 0]));

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

function encode(node: Node, headers?: Header[]): Buffer {
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

interface World {
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

const ANONYMOUS_TEMPLATES: Template[] = ['bind', 'bind', 'sasl', 'rootDse', 'rootDse', 'subschema', 'search', 'search', 'search', 'compare', 'compare', 'whoami', 'extended', 'passwordModify', 'abandon', 'write', 'unbind'];
const BOUND_TEMPLATES: Template[] = ['search', 'search', 'search', 'search', 'compare', 'compare', 'whoami', 'abandon', 'rootDse'];

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

const INVALID_UTF8 = [Buffer.from([0xff]), Buffer.from([0xc3]), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xf8, 0x88, 0x80, 0x80, 0x80]), Buffer.from([0xe2, 0x82])];
const TAGS = [0x00, 0x01, 0x02, 0x04, 0x05, 0x0a, 0x30, 0x31, 0x42, 0x4a, 0x50, 0x60, 0x61, 0x63, 0x64, 0x65, 0x66, 0x68, 0x6c, 0x6e, 0x77, 0x78, 0x80, 0x81, 0x82, 0x83, 0x84, 0x87, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0x1f, 0xff];

/** A filter nested `depth` levels deep (AND, OR and NOT around (cn=*)), encoded without recursion in one pass. */
function deepFilter(rng: Rng, depth: number): Buffer {
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

function makeCase(rng: Rng, w: World, templates: readonly Template[]): Case {
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
function searchPdu(id: number, filter: Buffer, base = ''): Buffer {
  const op = Buffer.concat([encode(str(base)), encode(enumerated(0)), encode(enumerated(0)), encode(int(0)), encode(int(0)), encode(bool(false)), filter, encode(seq())]);
  const content = Buffer.concat([encode(int(id)), Buffer.from([0x63, ...lengthBytes(op.length)]), op]);
  return Buffer.concat([Buffer.from([0x30, ...lengthBytes(content.length)]), content]);
}

// ---------------------------------------------------------------------------------------------
// What the server should do with a write: the connection's framing, replayed
// ---------------------------------------------------------------------------------------------

type Verdict = 'answer' | 'reject' | 'incomplete' | 'closes';

function classify(bytes: Buffer): { verdict: Verdict; messages: Message[] } {
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

interface Response {
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

const RESPONSE_FOR: Record<Message['request']['op'], number[]> = {
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

class Conn {
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

const whoAmI = (id: number) => encode(seq(int(id), cons(0x77, str(WHO_AM_I, 0x80))));
const simpleBind = (id: number, name: string, password: string) => encode(seq(int(id), cons(0x60, int(3), str(name), str(password, 0x80))));
const rootDseSearch = (id: number, attributes: string[] = []) =>
  encode(seq(int(id), cons(0x63, str(''), enumerated(0), enumerated(0), int(0), int(0), bool(false), str('objectClass', 0x87), seq(...attributes.map((a) => str(a))))));

/** Reads whole responses off one connection (for the targeted tests). */
async function exchange(port: number, requests: Buffer[], untilId: number, timeoutMs = 5000): Promise<{ conn: Conn; entries: { dn: string; attributes: Map<string, string[]> }[]; responses: Response[] }> {
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

function memory(): { rss: number; heapUsed: number; external: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}
/** Open file descriptors (sockets included), where /proc tells. */
const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : 0);
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

interface Logged {
  level: 'error' | 'warn';
  obj: unknown;
  msg: string | undefined;
}

interface Fixture {
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

async function openFixture(): Promise<Fixture> {
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
  };
}

const errorsLogged = (f: Fixture) => f.logged.filter((l) => l.level === 'error').map((l) => `${l.msg}: ${String((l.obj as { err?: unknown }).err ?? l.obj)}`);

// ---------------------------------------------------------------------------------------------
// The storm
// ---------------------------------------------------------------------------------------------

interface Stats {
  cases: number;
  pdusSent: number;
  bytesSent: number;
  badInputs: number;
  byVerdict: Record<Verdict, number>;
  connections: number;
  notices: number;
  rejectedWithoutNotice: number;
  responses: number;
  boundValidMutations: number;
  /** Time spent making and classifying inputs, to tell the harness's cost from the server's. */
  generateMs: number;
  failures: string[];
}

async function anonymousWorker(rng: Rng, port: number, w: World, stats: Stats, stop: () => boolean): Promise<void> {
  let sentinel = 2_000_000_000 + rng.int(1000) * 100_000;
  while (!stop()) {
    const conn = new Conn(port);
    stats.connections++;
    try {
      await conn.connected;
    } catch (e) {
      stats.failures.push(`could not connect: ${(e as Error).message}`);
      return;
    }
    if (rng.chance(0.05)) conn.write(simpleBind(1, '', ''));
    while (!conn.closed && !stop()) {
      const t0 = performance.now();
      const c = makeCase(rng, w, ANONYMOUS_TEMPLATES);
      const { verdict, messages } = classify(c.bytes);
      stats.generateMs += performance.now() - t0;
      stats.cases++;
      stats.byVerdict[verdict]++;
      stats.bytesSent += c.bytes.length;
      stats.pdusSent += messages.length + (verdict === 'answer' ? 0 : 1);
      if (verdict !== 'answer') stats.badInputs++;
      const ids = new Map<number, number[]>([[1, [0x61]]]);
      for (const m of messages) ids.set(m.id, [...(ids.get(m.id) ?? []), ...RESPONSE_FOR[m.request.op]]);
      const before = conn.responses.length;
      const describe = () => `${verdict} case "${c.label}" (seed ${SEED}): ${c.bytes.toString('hex').slice(0, 600)}`;

      if (verdict === 'incomplete') {
        conn.write(c.bytes);
        conn.socket.resetAndDestroy();
        await conn.closedPromise;
        break;
      }
      if (verdict === 'answer') {
        sentinel++;
        conn.write(Buffer.concat([c.bytes, whoAmI(sentinel)]));
        const s = sentinel;
        const ok = await conn.until(() => conn.responses.some((r) => r.id === s), 10_000);
        if (!ok || conn.closed) {
          stats.failures.push(`${ok ? 'connection closed' : 'no answer within 10 s'} instead of answering a valid ${describe()}`);
          conn.socket.destroy();
          return;
        }
        for (const r of conn.responses.slice(before)) {
          if (r.id === s) continue;
          const allowed = ids.get(r.id);
          if (!allowed) stats.failures.push(`response with unexpected message id ${r.id} (tag 0x${r.tag.toString(16)}) to ${describe()}`);
          else if (!allowed.includes(r.tag)) stats.failures.push(`response tag 0x${r.tag.toString(16)} for message ${r.id} to ${describe()}`);
        }
      } else {
        conn.write(c.bytes);
        const ok = await conn.until(() => false, 10_000);
        if (!ok) {
          stats.failures.push(`the server kept the connection open after ${describe()}`);
          conn.socket.destroy();
          return;
        }
        if (verdict === 'reject') {
          if (conn.notices.length === 0) stats.rejectedWithoutNotice++;
          if (conn.notices.length === 0 && c.bytes.length < 16_000) stats.failures.push(`no Notice of Disconnection after ${describe()}`);
        }
      }
      if (conn.problem) {
        stats.failures.push(`${conn.problem} — after ${describe()}`);
        conn.problem = undefined;
      }
      for (const n of conn.notices) {
        if (n.code !== 2) stats.failures.push(`Notice of Disconnection with result code ${n.code} after ${describe()}`);
        if (verdict === 'answer') stats.failures.push(`unexpected Notice of Disconnection after ${describe()}`);
      }
      stats.notices += conn.notices.length;
      conn.notices = [];
      stats.responses += conn.responses.length - before;
      if (stats.failures.length > 20) return;
    }
    if (!conn.closed) {
      conn.socket.destroy();
      await conn.closedPromise;
    }
  }
}

/** One bound connection sending mutated requests that still decode: fuzzes search and compare over real entries. */
async function boundWorker(rng: Rng, port: number, f: Fixture, stats: Stats, stop: () => boolean, onBound: () => void): Promise<void> {
  const conn = new Conn(port);
  await conn.connected;
  conn.write(simpleBind(1, f.bindDn, PASSWORD));
  await conn.until(() => conn.responses.some((r) => r.id === 1), 10_000);
  const bound = conn.responses.find((r) => r.id === 1);
  if (bound?.code !== 0) {
    stats.failures.push(`the bound worker could not bind: ${JSON.stringify(bound)}`);
    return;
  }
  conn.responses.length = 0;
  onBound();
  let sentinel = 1_500_000_000;
  while (!stop() && !conn.closed) {
    // Searches over real entries cost the server more than refusals do: pace them so that the
    // storm of bad input keeps most of the event loop.
    if (process.env.LDAP_FUZZ_BOUND === '0') break;
    await new Promise((r) => setTimeout(r, BOUND_PACE_MS));
    const c = makeCase(rng, f.world, BOUND_TEMPLATES);
    const { verdict, messages } = classify(c.bytes);
    if (verdict !== 'answer' || messages.length === 0) continue;
    if (messages.some((m) => m.request.op === 'bind' || (m.request.op === 'extended' && m.request.name !== WHO_AM_I))) continue;
    sentinel++;
    stats.boundValidMutations++;
    stats.pdusSent += messages.length;
    conn.write(Buffer.concat([c.bytes, whoAmI(sentinel)]));
    const s = sentinel;
    const ok = await conn.until(() => conn.responses.some((r) => r.id === s), 15_000);
    if (!ok || conn.closed) {
      stats.failures.push(`bound connection: ${ok ? 'closed' : 'no answer within 15 s'} for "${c.label}" (seed ${SEED}): ${c.bytes.toString('hex').slice(0, 600)}`);
      return;
    }
    const who = conn.responses.find((r) => r.id === s);
    if (who?.code !== 0) stats.failures.push(`the bound session was lost after "${c.label}": WhoAmI answered ${JSON.stringify(who)}`);
    if (conn.problem) stats.failures.push(`${conn.problem} — bound, after "${c.label}"`);
    if (conn.notices.length > 0) stats.failures.push(`Notice of Disconnection on a valid request "${c.label}"`);
    stats.responses += conn.responses.length;
    conn.responses.length = 0;
    if (stats.failures.length > 20) return;
  }
  conn.socket.destroy();
}

let f: Fixture;

beforeAll(async () => {
  f = await openFixture();
});

afterAll(async () => {
  for (const s of f?.servers ?? []) await s.close();
  await f?.testStore.dispose();
});

const allowPlainBind = (allow: boolean) => f.core.directories.update(f.ctx, f.ldap.id, 'ldap_server', { config: { allowPlainBind: allow } });

/** Abandon requests with 4-byte integers, built without the tree encoder (there are many of them). */
function abandons(firstMessageId: number, count: number, target: (i: number) => number): Buffer {
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

async function writeAll(conn: Conn, bytes: Buffer): Promise<void> {
  for (let at = 0; at < bytes.length; at += 1 << 20) {
    if (!conn.socket.write(bytes.subarray(at, at + (1 << 20)))) await new Promise((r) => conn.socket.once('drain', r));
  }
}

describe('LDAP listener: bad input', () => {
  let server: LdapServer;
  let port: number;

  beforeAll(async () => {
    ({ server, port } = await f.start());
  });

  it(
    `survives ${TARGET_BAD_INPUTS} malformed and mutated PDUs over ${SOCKETS} concurrent sockets`,
    async () => {
      console.log(`LDAP fuzz seed: ${SEED} (LDAP_FUZZ_SEED=${SEED} reproduces this run)`);
      const stats: Stats = {
        cases: 0,
        pdusSent: 0,
        bytesSent: 0,
        badInputs: 0,
        byVerdict: { answer: 0, reject: 0, incomplete: 0, closes: 0 },
        connections: 0,
        notices: 0,
        rejectedWithoutNotice: 0,
        responses: 0,
        boundValidMutations: 0,
        generateMs: 0,
        failures: [],
      };
      const before = memory();
      const fdsBefore = openFds();
      const started = Date.now();
      const stop = () => stats.badInputs >= TARGET_BAD_INPUTS || Date.now() - started > STORM_BUDGET_MS || stats.failures.length > 20;

      const root = new Rng(SEED);
      let onBound = () => undefined as void;
      const ready = new Promise<void>((resolve) => (onBound = resolve));
      const bound = boundWorker(new Rng(root.int(2 ** 32)), port, f, stats, stop, onBound);
      await Promise.race([ready, bound]);
      // Binds over plain LDAP are refused from here on, so a mutated bind never reaches argon2.
      await allowPlainBind(false);
      const workers = Array.from({ length: SOCKETS - 1 }, () => anonymousWorker(new Rng(root.int(2 ** 32)), port, f.world, stats, stop));
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
      await Promise.all([bound, ...workers]);
      clearInterval(sampler);
      const elapsed = (Date.now() - started) / 1000;

      // The server is still there: a fresh connection binds anonymously and reads the root DSE.
      const check = await exchange(port, [simpleBind(1, '', ''), rootDseSearch(2)], 2);
      const bind = check.responses.find((r) => r.id === 1);
      const done = check.responses.find((r) => r.id === 2 && r.tag === 0x65);
      check.conn.socket.destroy();
      await allowPlainBind(true);
      await server.flushActivity();
      for (let i = 0; i < 50 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
      const after = memory();
      const fdsAfter = openFds();

      console.log(
        [
          `LDAP fuzz: ${stats.cases} inputs (${stats.badInputs} bad: ${stats.byVerdict.reject} rejected, ${stats.byVerdict.incomplete} incomplete, ${stats.byVerdict.closes} unbind; ${stats.byVerdict.answer} still valid after mutation, plus ${stats.boundValidMutations} on the bound connection)`,
          `  ${stats.pdusSent} PDUs, ${mb(stats.bytesSent)}, ${stats.connections} connections in ${elapsed.toFixed(1)} s: ${Math.round(stats.pdusSent / elapsed)} PDUs/s, ${Math.round(stats.badInputs / elapsed)} bad inputs/s`,
          `  ${(stats.generateMs / 1000).toFixed(1)} s of it spent making inputs; ${stats.responses} responses, ${stats.notices} Notices of Disconnection, ${stats.rejectedWithoutNotice} rejections closed before the notice could be read`,
          `  memory: rss ${mb(before.rss)} → ${mb(after.rss)} (peak ${mb(peakRss)}), heapUsed ${mb(before.heapUsed)} → ${mb(after.heapUsed)}, external ${mb(before.external)} → ${mb(after.external)}`,
          `  server log: ${f.logged.filter((l) => l.level === 'error').length} errors, ${f.logged.filter((l) => l.level === 'warn').length} warnings; open connections after: ${server.connectionCount}; file descriptors ${fdsBefore} → ${fdsAfter}`,
        ].join('\n'),
      );

      expect(stats.failures).toEqual([]);
      expect(stats.badInputs).toBeGreaterThanOrEqual(TARGET_BAD_INPUTS);
      expect(bind?.code).toBe(0);
      expect(check.entries.map((e) => e.dn)).toEqual(['']);
      expect(done?.code).toBe(0);
      expect(errorsLogged(f)).toEqual([]);
      expect(server.connectionCount).toBe(0);
      expect(fdsAfter).toBeLessThanOrEqual(fdsBefore + 4);
      expect(after.rss - before.rss).toBeLessThan(150 * 1024 * 1024);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
    },
    240_000,
  );

  it('refuses a filter nested 10,000 deep with a Notice of Disconnection, and keeps serving', async () => {
    const pdu = searchPdu(7, deepFilter(new Rng(SEED ^ 0x5a5a), 10_000));
    expect(pdu.length).toBeLessThan(MAX_PDU);
    const conn = new Conn(port);
    await conn.connected;
    conn.write(pdu);
    expect(await conn.until(() => false, 5000)).toBe(true);
    expect(conn.problem).toBeUndefined();
    expect(conn.notices.map((n) => n.code)).toEqual([2]);
    expect(conn.responses).toEqual([]);
    const check = await exchange(port, [rootDseSearch(1)], 1);
    expect(check.responses.find((r) => r.tag === 0x65)?.code).toBe(0);
    check.conn.socket.destroy();
    expect(errorsLogged(f)).toEqual([]);
  });

  it('closes a client that announces a 100 MB PDU and streams it slowly, without buffering it', async () => {
    const before = memory();
    const results: { variant: string; written: number; ms: number; notice: number | undefined }[] = [];
    const variants: [string, Buffer[]][] = [
      ['100 MB announced at once', [Buffer.from([0x30, 0x84, 0x05, 0xf5, 0xe1, 0x00])]],
      ['100 MB announced byte by byte', [0x30, 0x84, 0x05, 0xf5, 0xe1, 0x00].map((b) => Buffer.from([b]))],
      ['4 GB announced', [Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])]],
      ['64 KiB + 5 bytes announced', [Buffer.from([0x30, 0x83, 0x01, 0x00, 0x00])]],
    ];
    for (const [variant, header] of variants) {
      const conn = new Conn(port);
      await conn.connected;
      const started = Date.now();
      let written = 0;
      for (const part of header) {
        conn.write(part);
        written += part.length;
        await new Promise((r) => setTimeout(r, 20));
      }
      // Then the "body", 1 KiB every 5 ms, until the server hangs up (or 3 s).
      while (!conn.closed && Date.now() - started < 3000) {
        conn.write(Buffer.alloc(1024, 0x04));
        written += 1024;
        await new Promise((r) => setTimeout(r, 5));
      }
      results.push({ variant, written, ms: Date.now() - started, notice: conn.notices[0]?.code });
      conn.socket.destroy();
    }
    const after = memory();
    console.log(`slow 100 MB clients: ${results.map((r) => `${r.variant}: closed after ${r.ms} ms, ${r.written} bytes written, notice ${r.notice}`).join('; ')}; rss ${mb(before.rss)} → ${mb(after.rss)}, heapUsed ${mb(before.heapUsed)} → ${mb(after.heapUsed)}`);
    for (const r of results) {
      expect(r.ms, r.variant).toBeLessThan(1500);
      expect(r.written, r.variant).toBeLessThan(MAX_PDU + 64 * 1024);
      expect(r.notice === undefined || r.notice === 2, r.variant).toBe(true);
    }
    expect(after.rss - before.rss).toBeLessThan(32 * 1024 * 1024);
    expect(errorsLogged(f)).toEqual([]);
  });
});

describe('LDAP listener: bugs found while fuzzing', () => {
  // BUG (src/ldap/search.ts, send(): `const key = `${request.attributes.join('\u0000')}|${request.typesOnly}``,
  // with Entry.encodedFor caching the encoded entry under that key for every later search, from any client):
  // the key is not injective. attributes [""] gives the same key as no attributes at all, so one anonymous
  // search for [""] caches a root DSE (or, for a bound client, any entry it can see) with no attributes, and
  // every later "all attributes" search of that entry gets it empty. Likewise ["a\u0000b"] vs ["a", "b"].
  // Fix: key the cache by an injective encoding (JSON.stringify(request.attributes)), or better by the
  // resolved selection (the set of canonical attribute names Entry.select picks).
  it('a search for the attribute list [""] does not empty the root DSE for the next client', async () => {
    const clean = await f.start();
    const control = await exchange(clean.port, [rootDseSearch(1)], 1);
    control.conn.socket.destroy();
    // RFC 4512 §5.1: the root DSE's attributes are operational, so the default list returns objectClass alone.
    expect(control.entries[0]?.attributes.get('objectclass')).toEqual(['top']);

    const { port } = await f.start();
    const poison = await exchange(port, [rootDseSearch(1, [''])], 1);
    poison.conn.socket.destroy();
    expect(poison.responses.find((r) => r.tag === 0x65)?.code).toBe(0);
    const victim = await exchange(port, [rootDseSearch(1)], 1);
    victim.conn.socket.destroy();
    expect(victim.entries[0]?.attributes.get('objectclass')).toEqual(['top']);
  });

  it('attribute lists that join to the same string are not confused: ["vendorName\\0vendorVersion"] then ["vendorName", "vendorVersion"]', async () => {
    const { port } = await f.start();
    const poison = await exchange(port, [rootDseSearch(1, ['vendorName\u0000vendorVersion'])], 1);
    poison.conn.socket.destroy();
    const victim = await exchange(port, [rootDseSearch(1, ['vendorName', 'vendorVersion'])], 1);
    victim.conn.socket.destroy();
    expect([...(victim.entries[0]?.attributes.keys() ?? [])].sort()).toEqual(['vendorname', 'vendorversion']);
  });

  // Found by this file and fixed in 2c4e44a (Entry.dnValues): RFC 4511 §4.5.1.7.7, with dnAttributes the match
  // "is additionally applied against all the AttributeValueAssertions in an entry's distinguished name".
  it('(ou:dn:=Users) matches the entries below ou=Users, not only ou=Users itself', async () => {
    await allowPlainBind(true);
    const { port } = await f.start();
    const filter = cons(0xa9, str('ou', 0x82), str('Users', 0x83), bool(true, 0x84));
    const search = encode(seq(int(2), cons(0x63, str(f.world.orgDn), enumerated(2), enumerated(0), int(0), int(0), bool(false), filter, seq(str('1.1')))));
    const r = await exchange(port, [simpleBind(1, f.bindDn, PASSWORD), search], 2, 15_000);
    r.conn.socket.destroy();
    expect(r.responses.find((x) => x.id === 1)?.code).toBe(0);
    expect(r.responses.find((x) => x.id === 2 && x.tag === 0x65)?.code).toBe(0);
    expect(r.entries.map((e) => e.dn)).toEqual(expect.arrayContaining([`ou=Users,${f.world.orgDn}`, `uid=alice,ou=Users,${f.world.orgDn}`, `uid=fuzz-binder,ou=Users,${f.world.orgDn}`]));
  });

  // BUG (src/ldap/connection.ts, accept(): `this.abandoned.add(request.id)` for any id): the set only shrinks
  // when a request with that id is served, so abandoning ids that are not outstanding grows it without limit —
  // about 10 bytes on the wire per entry kept for the life of the connection, and maxQueued does not apply since
  // abandon is never queued. RFC 4511 §4.11 says an abandon of an unknown id is simply ignored.
  // Fix: record the id only when it is queued or in flight (this.inFlight === id || this.queue.some(m => m.id === id)).
  it('abandoning message ids that are not outstanding does not grow server memory', async () => {
    const { port } = await f.start();
    const conn = new Conn(port);
    await conn.connected;
    conn.write(whoAmI(1));
    await conn.until(() => conn.responses.length === 1, 5000);
    const before = memory();
    const count = 1_000_000;
    await writeAll(conn, abandons(2, count, (i) => 10_000_000 + i));
    conn.write(whoAmI(5_000_000));
    expect(await conn.until(() => conn.responses.some((r) => r.id === 5_000_000), 60_000)).toBe(true);
    const after = memory();
    conn.socket.destroy();
    console.log(`${count} abandons of unknown ids: heapUsed ${mb(before.heapUsed)} → ${mb(after.heapUsed)} with the connection still open`);
    expect(conn.problem).toBeUndefined();
    expect(after.heapUsed - before.heapUsed).toBeLessThan(8 * 1024 * 1024);
  }, 120_000);

  // BUG (src/ldap/dn.ts parseDn(): `decoded.includes('\uFFFD')` refuses any DN containing U+FFFD REPLACEMENT
  // CHARACTER, a valid character; src/ldap/tree.ts dnKey() then throws "Roster built an invalid DN" while building
  // the org's tree). The API accepts group names with U+FFFD (only control characters are refused), so one such
  // group connected to the LDAP directory makes OrgTree's constructor throw: every bind and search of that org
  // fails with "Internal error" and an error in the log, until the group is renamed. Fix: check the escaped bytes
  // with a fatal TextDecoder instead of looking for U+FFFD (see dn.test.ts), and never let one object's DN take
  // the whole tree down (skip it, as the name-collision rule already does).
  it('a group whose name contains U+FFFD does not break LDAP for its whole org', async () => {
    const org = await f.core.organizations.create('Odd names');
    const ctx = operatorContext(org.id);
    const dir = (await f.core.directories.list(ctx, { sort: [], page: ALL_ROWS }, 'ldap_server')).items[0]!;
    await f.core.directories.update(ctx, dir.id, 'ldap_server', { config: { allowPlainBind: true } });
    const binder = await f.core.users.create(ctx, { username: 'odd-binder', email: 'b@odd.test', password: PASSWORD, ldapBindingUser: true, state: 'ACTIVATED' });
    const group = await f.core.groups.create(ctx, { name: 'Ops \uFFFD team' });
    await f.core.groups.addMember(ctx, group.id, 'user', binder.id);
    await f.core.associations.change(ctx, { type: 'user_group', id: group.id }, { type: 'ldap_server', id: dir.id }, 'add');
    const orgDn = `o=${org.id},${SUFFIX}`;

    const errorsBefore = errorsLogged(f).length;
    const { port } = await f.start();
    const search = encode(seq(int(2), cons(0x63, str(orgDn), enumerated(2), enumerated(0), int(0), int(0), bool(false), str('objectClass', 0x87), seq(str('1.1')))));
    const r = await exchange(port, [simpleBind(1, `uid=odd-binder,ou=Users,${orgDn}`, PASSWORD), search], 2, 15_000);
    r.conn.socket.destroy();
    const logged = errorsLogged(f).slice(errorsBefore);
    f.logged.splice(0, f.logged.length, ...f.logged.filter((l) => l.level !== 'error' || !String((l.obj as { err?: unknown }).err).includes('invalid DN')));
    expect(logged).toEqual([]);
    expect(r.responses.find((x) => x.id === 1)?.code).toBe(0);
    expect(r.responses.find((x) => x.id === 2 && x.tag === 0x65)?.code).toBe(0);
    expect(r.entries.map((e) => e.dn)).toContain(`uid=odd-binder,ou=Users,${orgDn}`);
  });

  // BUG (src/ldap/matching.ts compareNormalized(): `BigInt(a)`/`BigInt(b)` for every stored value of every candidate
  // entry, with the assertion re-parsed each time; src/ldap/filter.ts bitwise rules likewise re-parse the mask per
  // entry; src/ldap/search.ts collect() checks the time limit only once per 1024 candidates). Nothing bounds the
  // size of an integer assertion, and parsing a 60,000-digit one costs milliseconds, so one 64 KiB search such as
  // (uidNumber>=999…9) by any bound user who can see the entries costs milliseconds per entry of blocked event loop,
  // for every client of every org, whatever timeLimit it asked for. Fix: prepare each assertion once per search
  // (compile the filter: normalize, and parse integers to BigInt, once), refuse integer assertions longer than a
  // few dozen digits as Undefined, and check the deadline more often than every 1024 entries.
  it('one search with a 60,000-digit integer assertion does not stall the other clients', async () => {
    const org = await f.core.organizations.create('Big');
    const ctx = operatorContext(org.id);
    const dir = (await f.core.directories.list(ctx, { sort: [], page: ALL_ROWS }, 'ldap_server')).items[0]!;
    await f.core.directories.update(ctx, dir.id, 'ldap_server', { config: { allowPlainBind: true } });
    const everyone = await f.core.groups.create(ctx, { name: 'everyone' });
    const binder = await f.core.users.create(ctx, { username: 'big-binder', email: 'b@big.test', password: PASSWORD, ldapBindingUser: true, state: 'ACTIVATED' });
    await f.core.groups.addMember(ctx, everyone.id, 'user', binder.id);
    const USERS = 400;
    for (let i = 0; i < USERS; i++) {
      const u = await f.core.users.create(ctx, { username: `user${i}`, email: `user${i}@big.test` });
      await f.core.groups.addMember(ctx, everyone.id, 'user', u.id);
    }
    await f.core.associations.change(ctx, { type: 'user_group', id: everyone.id }, { type: 'ldap_server', id: dir.id }, 'add');
    const orgDn = `o=${org.id},${SUFFIX}`;

    const { port } = await f.start();
    const attacker = new Conn(port);
    const bystander = new Conn(port);
    await Promise.all([attacker.connected, bystander.connected]);
    attacker.write(simpleBind(1, `uid=big-binder,ou=Users,${orgDn}`, PASSWORD));
    await attacker.until(() => attacker.responses.some((r) => r.id === 1), 10_000);
    expect(attacker.responses.find((r) => r.id === 1)?.code).toBe(0);

    const digits = '9'.repeat(60_000);
    const search = (id: number, filter: Node) => encode(seq(int(id), cons(0x63, str(orgDn), enumerated(2), enumerated(0), int(0), int(1), bool(false), filter, seq(str('1.1')))));
    // A small assertion first, for the baseline.
    let t = Date.now();
    attacker.write(search(2, cons(0xa5, str('uidNumber'), str('9'))));
    await attacker.until(() => attacker.responses.some((r) => r.id === 2 && r.tag === 0x65), 60_000);
    const baseline = Date.now() - t;

    const hostile = search(3, cons(0xa5, str('uidNumber'), str(digits)));
    expect(hostile.length).toBeLessThan(MAX_PDU);
    t = Date.now();
    attacker.write(hostile);
    // The server shares this process's event loop, so a timer shows how long it was blocked; the other
    // client's request is written when the timer fires, and answered after whatever blocks the loop.
    await new Promise((r) => setTimeout(r, 20));
    const timerLate = Date.now() - t - 20;
    bystander.write(whoAmI(1));
    await bystander.until(() => bystander.responses.some((r) => r.id === 1), 120_000);
    const bystanderWaited = Date.now() - t - 20;
    await attacker.until(() => attacker.responses.some((r) => r.id === 3 && r.tag === 0x65), 120_000);
    const searchTook = Date.now() - t;
    const done = attacker.responses.find((r) => r.id === 3 && r.tag === 0x65);
    attacker.socket.destroy();
    bystander.socket.destroy();
    console.log(
      `(uidNumber>=<60,000 digits>) over ${USERS + 1} users: ${searchTook} ms (timeLimit 1 s, result ${done?.code}) against ${baseline} ms for (uidNumber>=9); the event loop was blocked for ${timerLate} ms, so a WhoAmI due 20 ms later on another connection was answered after ${bystanderWaited} ms`,
    );
    expect(bystanderWaited).toBeLessThan(500);
  }, 180_000);
});

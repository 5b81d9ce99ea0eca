import { BlockList, isIP, SocketAddress } from 'node:net';
import { parsed, parseError, type Parsed } from './errors.js';

/** An IPv4 or IPv6 address or CIDR range, normalized. */
export interface NetworkRange {
  family: 'ipv4' | 'ipv6';
  /** The network address: every host bit is zero. */
  network: string;
  prefix: number;
  /** The canonical text: the bare address for a single host, `network/prefix` otherwise. */
  text: string;
}

const BITS = { ipv4: 32, ipv6: 128 } as const;
const MAX_RANGES = 100;
/** ::ffff:0:0/96, IPv4-mapped IPv6 addresses (RFC 4291 §2.5.5.2). */
const MAPPED = 0xffffn << 32n;

function toBigInt(address: string, family: 'ipv4' | 'ipv6'): bigint {
  if (family === 'ipv4') return address.split('.').reduce((n, part) => (n << 8n) | BigInt(Number(part)), 0n);
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = toBigInt(dotted[1]!, 'ipv4');
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const groups = (part: string | undefined) => (part ? part.split(':') : []);
  const [head, tail] = text.split('::');
  const all =
    tail === undefined
      ? groups(head)
      : [...groups(head), ...Array<string>(8 - groups(head).length - groups(tail).length).fill('0'), ...groups(tail)];
  return all.reduce((n, group) => (n << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function fromBigInt(value: bigint, family: 'ipv4' | 'ipv6'): string {
  if (family === 'ipv4') return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt(112 - i * 16)) & 0xffffn).toString(16));
  // SocketAddress prints the RFC 5952 form: lowercase, longest zero run as "::".
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}

const hostMask = (family: 'ipv4' | 'ipv6', prefix: number) => (1n << BigInt(BITS[family] - prefix)) - 1n;

/** One address or CIDR range. A range with host bits set is refused rather than guessed at. */
export function parseNetworkRange(input: string): Parsed<NetworkRange> {
  const text = input.trim();
  const slash = text.indexOf('/');
  const address = slash < 0 ? text : text.slice(0, slash);
  const version = isIP(address);
  if (version === 0 || address.includes('%')) return parseError(`"${text}" is not an IPv4 or IPv6 address or CIDR range`);
  let family: 'ipv4' | 'ipv6' = version === 4 ? 'ipv4' : 'ipv6';
  let prefix: number = BITS[family];
  if (slash >= 0) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits) || Number(digits) > BITS[family]) {
      return parseError(`"${text}" has an invalid prefix length; use 0 to ${BITS[family]}`);
    }
    prefix = Number(digits);
  }
  let value = toBigInt(address, family);
  if (family === 'ipv6' && prefix >= 96 && value >> 32n === MAPPED >> 32n) {
    family = 'ipv4';
    value &= 0xffffffffn;
    prefix -= 96;
  }
  if ((value & hostMask(family, prefix)) !== 0n) {
    const network = fromBigInt(value & ~hostMask(family, prefix), family);
    return parseError(`"${text}" has host bits set; the range is ${network}/${prefix}`);
  }
  const network = fromBigInt(value, family);
  return parsed({ family, network, prefix, text: prefix === BITS[family] ? network : `${network}/${prefix}` });
}

/** A stored, already normalized range. */
export function rangeOf(text: string): NetworkRange {
  const range = parseNetworkRange(text);
  if (!range.ok) throw new Error(`stored network range ${text} is malformed: ${range.error}`);
  return range.value;
}

function blockList(ranges: readonly NetworkRange[]): BlockList {
  const list = new BlockList();
  for (const r of ranges) list.addSubnet(r.network, r.prefix, r.family);
  return list;
}

/** Two CIDR ranges overlap exactly when one contains the other's network address. */
export function rangesOverlap(a: NetworkRange, b: NetworkRange): boolean {
  if (a.family !== b.family) return false;
  return blockList([a]).check(b.network, b.family) || blockList([b]).check(a.network, a.family);
}

/**
 * `networkSourceIp` as JumpCloud takes it: one address or range, or several separated by commas.
 * Each is normalized; ranges that overlap each other are refused.
 */
export function parseNetworkSources(input: string | readonly string[]): Parsed<NetworkRange[]> {
  const parts = (typeof input === 'string' ? input.split(',') : input).map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) return parseError('give at least one IPv4 or IPv6 address or CIDR range');
  if (parts.length > MAX_RANGES) return parseError(`give at most ${MAX_RANGES} addresses or ranges`);
  const ranges: NetworkRange[] = [];
  for (const part of parts) {
    const range = parseNetworkRange(part);
    if (!range.ok) return range;
    const clash = ranges.find((r) => rangesOverlap(r, range.value));
    if (clash) return parseError(`${range.value.text} overlaps ${clash.text}`);
    ranges.push(range.value);
  }
  return parsed(ranges);
}

/** A matcher for client addresses: true when `address` lies in one of the stored ranges. */
export function addressMatcher(ranges: readonly string[]): (address: string) => boolean {
  const list = blockList(ranges.map(rangeOf));
  return (address) => {
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}

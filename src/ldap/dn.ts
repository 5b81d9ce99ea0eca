import { parseError, parsed, type Parsed } from '../core/errors.js';
import { attributeType } from './schema.js';
import { normalizeValue } from './matching.js';

/** One attribute=value pair of an RDN, with its normalized form for comparison. */
export interface Ava {
  type: string;
  value: string;
}

export type Rdn = Ava[];

/** A parsed distinguished name, most specific RDN first, and its normalized string. */
export interface Dn {
  rdns: Rdn[];
  normalized: string;
}

const HEX = /^[0-9a-fA-F]{2}$/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Buffer): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
const DESCR = /^[A-Za-z][A-Za-z0-9-]*$/;
const NUMERICOID = /^[0-9]+(\.[0-9]+)*$/;

/** RFC 4514 §3: parses a string DN; "" is the root. */
export function parseDn(text: string): Parsed<Dn> {
  const rdns: Rdn[] = [];
  let i = 0;
  const n = text.length;
  if (n === 0) return parsed({ rdns, normalized: '' });
  let rdn: Rdn = [];
  while (i <= n) {
    while (i < n && text[i] === ' ') i++;
    const eq = text.indexOf('=', i);
    if (eq < 0) return parseError(`"${text}" is not a valid DN: missing "="`);
    const type = text.slice(i, eq).trim();
    if (!DESCR.test(type) && !NUMERICOID.test(type)) return parseError(`"${text}" is not a valid DN: bad attribute type "${type}"`);
    i = eq + 1;
    let value = '';
    if (text[i] === '#') {
      let j = i + 1;
      while (j < n && /[0-9a-fA-F]/.test(text[j]!)) j++;
      const hex = text.slice(i + 1, j);
      if (hex.length === 0 || hex.length % 2 !== 0) return parseError(`"${text}" is not a valid DN: bad hex value`);
      // A BER-encoded value: take the contents of a primitive string element.
      const bytes = Buffer.from(hex, 'hex');
      const contents = bytes.length >= 2 && bytes[1]! < 0x80 && bytes.length === 2 + bytes[1]! ? bytes.subarray(2) : undefined;
      const decoded = contents ? utf8(contents) : undefined;
      if (decoded === undefined) return parseError(`"${text}" is not a valid DN: the hex value is not a BER string`);
      value = decoded;
      i = j;
      if (i < n && text[i] !== ',' && text[i] !== '+' && text[i] !== ';' && text[i] !== ' ') {
        return parseError(`"${text}" is not a valid DN: unexpected "${text[i]}" after a hex value`);
      }
      while (i < n && text[i] === ' ') i++;
    } else {
      const bytes: number[] = [];
      let trailingSpaces = 0;
      while (i < n && text[i] !== ',' && text[i] !== '+' && text[i] !== ';') {
        const ch = text[i]!;
        if (ch === '\\') {
          const pair = text.slice(i + 1, i + 3);
          if (HEX.test(pair)) {
            bytes.push(parseInt(pair, 16));
            i += 3;
          } else if (i + 1 < n) {
            bytes.push(...Buffer.from(text[i + 1]!, 'utf8'));
            i += 2;
          } else {
            return parseError(`"${text}" is not a valid DN: dangling escape`);
          }
          trailingSpaces = 0;
          continue;
        }
        // RFC 4514 §3: these must be escaped in a value; "=" need not be.
        if (ch === '"' || ch === '<' || ch === '>') {
          return parseError(`"${text}" is not a valid DN: "${ch}" must be escaped`);
        }
        trailingSpaces = ch === ' ' ? trailingSpaces + 1 : 0;
        const cp = text.codePointAt(i)!;
        const chunk = String.fromCodePoint(cp);
        bytes.push(...Buffer.from(chunk, 'utf8'));
        i += chunk.length;
      }
      const decoded = utf8(Buffer.from(bytes.slice(0, bytes.length - trailingSpaces)));
      if (decoded === undefined) return parseError(`"${text}" is not a valid DN: escapes do not form UTF-8`);
      value = decoded;
    }
    rdn.push({ type, value });
    if (i >= n) {
      rdns.push(rdn);
      break;
    }
    const sep = text[i]!;
    i++;
    if (sep === '+') continue;
    rdns.push(rdn);
    rdn = [];
    if (i >= n) return parseError(`"${text}" is not a valid DN: ends with a separator`);
  }
  return parsed({ rdns, normalized: normalizeRdns(rdns) });
}

function normalizeRdns(rdns: Rdn[]): string {
  return rdns
    .map((rdn) =>
      rdn
        .map((ava) => {
          const def = attributeType(ava.type);
          const name = def ? def.name.toLowerCase() : ava.type.toLowerCase();
          return `${name}=${escapeValue(def ? normalizeValue(def, ava.value) : ava.value)}`;
        })
        .sort()
        .join('+'),
    )
    .join(',');
}

/** RFC 4514 §2.4: escapes a value for use in a DN string. */
export function escapeValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\' || ch === ',' || ch === '+' || ch === '"' || ch === ';' || ch === '<' || ch === '>' || ch === '=') out += `\\${ch}`;
    else if (ch === '\0') out += '\\00';
    else if ((ch === ' ' || ch === '#') && i === 0) out += `\\${ch}`;
    else if (ch === ' ' && i === value.length - 1) out += '\\ ';
    else out += ch;
  }
  return out;
}

/** Builds a DN string from attribute/value pairs, most specific first. */
export function formatDn(pairs: [string, string][], suffix: string): string {
  const head = pairs.map(([type, value]) => `${type}=${escapeValue(value)}`).join(',');
  return suffix ? (head ? `${head},${suffix}` : suffix) : head;
}

/** Normalizes a DN string, or returns undefined when it does not parse. */
export function normalizeDn(text: string): string | undefined {
  const dn = parseDn(text);
  return dn.ok ? dn.value.normalized : undefined;
}

/** True when `dn` is `base` or lies below it (both normalized). */
export function isWithin(dn: string, base: string): boolean {
  if (base === '') return true;
  return dn === base || dn.endsWith(`,${base}`);
}

/** The normalized parent of a normalized DN. Values never contain an unescaped comma. */
export function parentOf(dn: string): string {
  for (let i = 0; i < dn.length; i++) {
    if (dn[i] === '\\') i++;
    else if (dn[i] === ',') return dn.slice(i + 1);
  }
  return '';
}

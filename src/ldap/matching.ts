import { normalizeDn } from './dn.js';
import { objectClassKey, type AttributeTypeDef, type EqualityRule } from './schema.js';

/**
 * Matching rules (RFC 4517 §4.2, with RFC 4518 string preparation simplified to: Unicode NFKC,
 * case folding where the rule ignores case, and insignificant space handling).
 */

const SPACES = /\s+/g;
/** RFC 4517 §3.3.16: no leading zeros, no spaces, no "-0". */
export const INTEGER = /^(0|-?[1-9][0-9]*)$/;

/** Lower case plus the full case foldings lower-casing misses (Unicode CaseFolding.txt: ß → ss, ς → σ). */
const fold = (v: string) => v.toLowerCase().replace(/ß/g, 'ss').replace(/ς/g, 'σ');

function prepare(value: string, foldCase: boolean): string {
  const v = value.normalize('NFKC').replace(SPACES, ' ').trim();
  return foldCase ? fold(v) : v;
}

/** The form two values of this rule compare equal in; undefined when the value is invalid for it. */
export function normalizeForRule(rule: EqualityRule, value: string): string | undefined {
  switch (rule) {
    case 'caseIgnoreMatch':
    case 'caseIgnoreIA5Match':
      return prepare(value, true);
    case 'caseExactMatch':
    case 'caseExactIA5Match':
      return prepare(value, false);
    case 'integerMatch':
      return INTEGER.test(value) ? value : undefined;
    case 'distinguishedNameMatch':
      return normalizeDn(value);
    case 'octetStringMatch':
      return value;
    case 'objectIdentifierMatch':
      return objectClassKey(value.trim());
    case 'telephoneNumberMatch':
      return value.replace(/[\s-]/g, '').toLowerCase();
    case 'generalizedTimeMatch': {
      const ms = parseGeneralizedTime(value);
      return ms === undefined ? undefined : String(ms);
    }
    case 'uuidMatch':
      return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value) ? value.toLowerCase() : undefined;
    case 'booleanMatch':
      return value === 'TRUE' || value === 'FALSE' ? value : undefined;
  }
}

/** Normalized stored value (stored values are valid by construction). */
export function normalizeValue(def: AttributeTypeDef, value: string): string {
  return normalizeForRule(def.equality, value) ?? value;
}

/** Compares two normalized values of an ordered rule: negative, zero or positive. */
export function compareNormalized(rule: EqualityRule, a: string, b: string): number {
  if (rule === 'integerMatch') return compareIntegers(a, b);
  if (rule === 'generalizedTimeMatch') return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The form used to prepare substring assertions and values for this rule. */
export function normalizeForSubstrings(rule: EqualityRule, value: string): string {
  switch (rule) {
    case 'caseIgnoreMatch':
    case 'caseIgnoreIA5Match':
      return fold(value.normalize('NFKC').replace(SPACES, ' '));
    case 'telephoneNumberMatch':
      return value.replace(/[\s-]/g, '').toLowerCase();
    case 'octetStringMatch':
      return value;
    default:
      return value.normalize('NFKC').replace(SPACES, ' ');
  }
}

/** Compares canonical integer strings without parsing them, so huge assertions cost no more than their length. */
function compareIntegers(a: string, b: string): number {
  const negA = a.startsWith('-');
  const negB = b.startsWith('-');
  if (negA !== negB) return negA ? -1 : 1;
  const sign = negA ? -1 : 1;
  if (a.length !== b.length) return sign * (a.length - b.length);
  return sign * (a < b ? -1 : a > b ? 1 : 0);
}

export interface SubstringAssertion {
  initial?: string;
  any: string[];
  final?: string;
}

/** RFC 4511 §4.5.1.7.2: initial, then each any in order without overlap, then final. */
export function substringsMatch(value: string, assertion: SubstringAssertion): boolean {
  let pos = 0;
  let end = value.length;
  if (assertion.initial !== undefined) {
    if (!value.startsWith(assertion.initial)) return false;
    pos = assertion.initial.length;
  }
  if (assertion.final !== undefined) {
    if (value.length - assertion.final.length < pos || !value.endsWith(assertion.final)) return false;
    end = value.length - assertion.final.length;
  }
  for (const part of assertion.any) {
    const at = value.indexOf(part, pos);
    if (at < 0 || at + part.length > end) return false;
    pos = at + part.length;
  }
  return true;
}

/**
 * Approximate matching is implementation-defined (RFC 4511 §4.5.1.7.6). Roster compares the
 * values with case, accents, punctuation and spacing removed.
 */
export function approximateForm(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]/gu, '');
}

const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{2}(?:\d{2})?)$/;

/** RFC 4517 §3.3.13 GeneralizedTime to epoch milliseconds. */
export function parseGeneralizedTime(value: string): number | undefined {
  const m = GENERALIZED_TIME.exec(value.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi = '00', s = '00', frac, zone] = m;
  const [year, month, day, hour, minute, second] = [y, mo, d, h, mi, s].map(Number) as [number, number, number, number, number, number];
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeap(year) ? 1 : 0);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60) return undefined;
  if (zone && zone !== 'Z' && (Number(zone.slice(1, 3)) > 23 || Number(zone.slice(3, 5) || '0') > 59)) return undefined;
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, Math.min(second, 59)));
  date.setUTCFullYear(year);
  let ms = date.getTime();
  if (frac) ms += Math.round(Number(`0.${frac}`) * (m[6] ? 1000 : m[5] ? 60_000 : 3_600_000));
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const offset = Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5) || '0');
    ms -= sign * offset * 60_000;
  }
  return Number.isNaN(ms) ? undefined : ms;
}

const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** ISO 8601 to GeneralizedTime (UTC, whole seconds), as directories publish timestamps. */
export function toGeneralizedTime(iso: string): string {
  return `${iso.slice(0, 19).replace(/[-:T]/g, '')}Z`;
}

import { invalid } from '../core/errors.js';
import { isWellFormedId } from '../core/ids.js';
import { DEFAULT_LIMIT, MAX_LIMIT, type Filter, type ListQuery, type Page, type Scalar, type SortKey } from '../core/query.js';

/** A parsed query string; schemas may already have coerced numbers. */
export type RawQuery = Record<string, unknown>;

/** Wire field name → core field name, per resource. */
export type FieldNames = Readonly<Record<string, string>>;

const values = (raw: unknown): string[] => (raw === undefined || raw === null ? [] : (Array.isArray(raw) ? raw : [raw]).map(String));

function integer(name: string, raw: unknown, min: number, max: number, fallback: number): number {
  const all = values(raw);
  if (all.length === 0 || all[0] === '') return fallback;
  if (all.length > 1) throw invalid('INVALID_PAGING', `${name} given more than once`);
  const text = all[0]!;
  if (!/^-?\d+$/.test(text)) throw invalid('INVALID_PAGING', `${name} must be an integer, not "${text}"`);
  const n = Number(text);
  if (n < min || n > max) throw invalid('INVALID_PAGING', `${name} must be between ${min} and ${max}`);
  return n;
}

export function parsePage(raw: RawQuery): Page {
  const limit = integer('limit', raw.limit, 0, MAX_LIMIT, DEFAULT_LIMIT);
  const skip = integer('skip', raw.skip, 0, Number.MAX_SAFE_INTEGER, 0);
  const afterValues = values(raw.after);
  if (afterValues.length === 0) return { limit, skip };
  const after = afterValues[0]!;
  if (afterValues.length > 1 || !isWellFormedId(after)) throw invalid('INVALID_CURSOR', 'after must be the id of the last object of the previous page');
  if (skip > 0) throw invalid('INVALID_CURSOR', 'after and skip cannot be combined');
  return { limit, skip: 0, after };
}

function coreField(names: FieldNames, wire: string): string {
  const field = names[wire];
  if (!field) throw invalid('INVALID_FILTER', `unknown field "${wire}"`);
  return field;
}

const V1_OPS: Record<string, 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'> = {
  $eq: 'eq', $ne: 'ne', $gt: 'gt', $gte: 'ge', $lt: 'lt', $lte: 'le',
};

/** v1: `field:$op:value` with $eq $ne $gt $gte $lt $lte. */
export function parseV1Filter(text: string, names: FieldNames): Filter {
  const m = /^([^:]+):(\$[a-zA-Z]+):([\s\S]*)$/.exec(text);
  if (!m) throw invalid('INVALID_FILTER', `filter "${text}" is not field:$operator:value`);
  const op = V1_OPS[m[2]!];
  if (!op) throw invalid('INVALID_FILTER', `unknown operator ${m[2]}; use ${Object.keys(V1_OPS).join(' ')}`);
  return { kind: 'compare', field: coreField(names, m[1]!), op, value: m[3]! };
}

const V2_COMPARE = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

/** v2: `field:op:value` with eq ne gt ge lt le, `in` (a|b|c), `between` (low,high), `search` (substring). */
export function parseV2Filter(text: string, names: FieldNames): Filter {
  const m = /^([^:]+):([a-z]+):([\s\S]*)$/.exec(text);
  if (!m) throw invalid('INVALID_FILTER', `filter "${text}" is not field:operator:value`);
  const field = coreField(names, m[1]!);
  const op = m[2]!;
  const value = m[3]!;
  if (V2_COMPARE.has(op)) return { kind: 'compare', field, op: op as 'eq', value };
  if (op === 'in') return { kind: 'in', field, values: value.split('|') as Scalar[] };
  if (op === 'search') return { kind: 'text', field, op: 'contains', value };
  if (op === 'between') {
    const parts = value.split(',');
    if (parts.length !== 2) throw invalid('INVALID_FILTER', `between takes two values separated by a comma, as in created:between:2024-01-01,2024-12-31`);
    return { kind: 'between', field, low: parts[0]!, high: parts[1]! };
  }
  throw invalid('INVALID_FILTER', `unknown operator ${op}; use eq ne gt ge lt le in between search`);
}

/**
 * Every filter parameter of a request: repeated `filter` and `filter[n]` are ANDed, `filter[or][n]`
 * are ORed (v1's documented forms).
 */
export function parseFilters(raw: RawQuery, names: FieldNames, dialect: 'v1' | 'v2'): Filter | undefined {
  const parse = dialect === 'v1' ? parseV1Filter : parseV2Filter;
  const all: Filter[] = [];
  const any: Filter[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'filter' || /^filter\[(\d+|and)\](\[\d*\])?$/.test(key)) {
      for (const v of values(value)) if (v !== '') all.push(parse(v, names));
    } else if (/^filter\[or\](\[\d*\])?$/.test(key)) {
      for (const v of values(value)) if (v !== '') any.push(parse(v, names));
    } else if (key.startsWith('filter')) {
      throw invalid('INVALID_FILTER', `unsupported filter parameter ${key}`);
    }
  }
  if (any.length > 0) all.push({ kind: 'or', filters: any });
  if (all.length === 0) return undefined;
  return all.length === 1 ? all[0] : { kind: 'and', filters: all };
}

/** v1 sorts are space separated, v2 comma separated; both accept either. `-field` sorts descending. */
export function parseSort(raw: RawQuery, names: FieldNames): SortKey[] {
  const keys: SortKey[] = [];
  for (const v of values(raw.sort)) {
    for (const token of v.split(/[\s,]+/).filter(Boolean)) {
      const descending = token.startsWith('-');
      const wire = descending ? token.slice(1) : token;
      const field = names[wire];
      if (!field) throw invalid('INVALID_SORT', `cannot sort on unknown field "${wire}"`);
      keys.push({ field, descending });
    }
  }
  return keys;
}

/** The wire fields a caller asked for, or undefined for all. */
export function parseFields(raw: RawQuery): Set<string> | undefined {
  const tokens = values(raw.fields).flatMap((v) => v.split(/[\s,]+/)).filter((t) => t !== '' && t !== '[]');
  return tokens.length > 0 ? new Set(tokens) : undefined;
}

export interface ListRequest {
  query: ListQuery;
  fields?: Set<string>;
}

export function parseList(raw: RawQuery, names: FieldNames, dialect: 'v1' | 'v2'): ListRequest {
  const page = parsePage(raw);
  const sort = parseSort(raw, names);
  if (page.after !== undefined && sort.length > 0) throw invalid('INVALID_CURSOR', 'after pages in id order; it cannot be combined with sort');
  const filter = parseFilters(raw, names, dialect);
  const fields = parseFields(raw);
  return { query: { filter, sort, page }, ...(fields ? { fields } : {}) };
}

/**
 * Keeps only the requested fields (and the id, which every object carries). Typed as the whole
 * object: response schemas mark every projectable field optional.
 */
export function project<T extends object>(object: T, fields: Set<string> | undefined, idKey: string): T {
  if (!fields) return object;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(object)) if (k === idKey || fields.has(k)) out[k] = v;
  return out as T;
}

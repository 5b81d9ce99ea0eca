import { parseError, parsed, type Parsed } from './errors.js';

/** How a field compares. `ci` strings compare case-insensitively (usernames, emails, group names). */
export type FieldType = 'string' | 'ci' | 'integer' | 'boolean' | 'date' | 'id' | 'enum';

export interface FieldSpec {
  type: FieldType;
  values?: readonly string[];
  sortable?: boolean;
}

export type FieldCatalog = Readonly<Record<string, FieldSpec>>;

export type Scalar = string | number | boolean | null;
export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
/** Case-insensitive text matching; `equals` is the whole value, as SCIM compares strings. */
export type TextOp = 'equals' | 'contains' | 'startsWith' | 'endsWith';

export type Condition =
  | { kind: 'compare'; field: string; op: CompareOp; value: Scalar }
  | { kind: 'in'; field: string; values: Scalar[] }
  | { kind: 'text'; field: string; op: TextOp; value: string }
  | { kind: 'between'; field: string; low: Scalar; high: Scalar };

/** A store-independent filter tree that front-ends parse into and the store translates to SQL. */
export type Filter =
  | Condition
  | { kind: 'and'; filters: Filter[] }
  | { kind: 'or'; filters: Filter[] }
  | { kind: 'not'; filter: Filter };

export interface SortKey {
  field: string;
  descending: boolean;
  /** Text orders without regard to case (a `ci` field always does). */
  ignoreCase?: boolean;
  /** Missing values (null, '') order after every value ascending and before them descending. */
  emptyHighest?: boolean;
}

export interface Page {
  limit: number;
  skip: number;
  /** Keyset cursor: only items whose id sorts after this one (default order only). */
  after?: string;
}

export interface ListQuery {
  filter?: Filter;
  sort: SortKey[];
  page: Page;
}

export interface ListResult<T> {
  total: number;
  items: T[];
}

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;
export const ALL_ROWS: Page = { limit: Number.MAX_SAFE_INTEGER, skip: 0 };

export const and = (...filters: (Filter | undefined)[]): Filter | undefined => {
  const present = filters.filter((f): f is Filter => f !== undefined);
  if (present.length === 0) return undefined;
  return present.length === 1 ? present[0] : { kind: 'and', filters: present };
};

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Parses a date or date-time; a value with no zone is UTC. Returns the canonical ISO string. */
export function parseTimestamp(raw: string): Parsed<string> {
  const text = raw.trim();
  if (!ISO_DATE.test(text)) return parseError(`"${raw}" is not an ISO 8601 date or date-time`);
  let normalized = text.replace(' ', 'T');
  if (normalized.length === 10) normalized += 'T00:00:00Z';
  else if (!/(Z|[+-]\d{2}:?\d{2})$/.test(normalized)) normalized += 'Z';
  const ms = Date.parse(normalized);
  // Date.parse rolls 2024-02-30 over to March 1st instead of refusing it.
  const [year, month, day] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (Number.isNaN(ms) || day < 1 || day > daysInMonth) return parseError(`"${raw}" is not a valid date`);
  return parsed(new Date(ms).toISOString());
}

/** Converts a textual filter value to the field's type. */
export function coerceValue(field: string, spec: FieldSpec, raw: Scalar): Parsed<Scalar> {
  if (raw === null) return parsed(null);
  const text = String(raw);
  switch (spec.type) {
    case 'integer': {
      if (typeof raw === 'number' && Number.isInteger(raw)) return parsed(raw);
      if (!/^-?\d{1,15}$/.test(text)) return parseError(`${field} takes an integer, not "${text}"`);
      return parsed(Number(text));
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return parsed(raw);
      if (text === 'true') return parsed(true);
      if (text === 'false') return parsed(false);
      return parseError(`${field} takes true or false, not "${text}"`);
    }
    case 'date':
      return parseTimestamp(text);
    case 'enum':
      if (spec.values && !spec.values.includes(text)) {
        return parseError(`${field} takes one of ${spec.values.join(', ')}, not "${text}"`);
      }
      return parsed(text);
    default:
      return parsed(text);
  }
}

/** Checks every field against the catalog and coerces values; the store then trusts the tree. */
export function checkFilter(filter: Filter, catalog: FieldCatalog): Parsed<Filter> {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const out: Filter[] = [];
      for (const f of filter.filters) {
        const r = checkFilter(f, catalog);
        if (!r.ok) return r;
        out.push(r.value);
      }
      return parsed({ kind: filter.kind, filters: out });
    }
    case 'not': {
      const r = checkFilter(filter.filter, catalog);
      return r.ok ? parsed({ kind: 'not', filter: r.value }) : r;
    }
    default:
      break;
  }
  const spec = catalog[filter.field];
  if (!spec) return parseError(`cannot filter on unknown field "${filter.field}"`);
  const coerce = (v: Scalar) => coerceValue(filter.field, spec, v);
  switch (filter.kind) {
    case 'compare': {
      const v = coerce(filter.value);
      if (!v.ok) return v;
      if (filter.op !== 'eq' && filter.op !== 'ne' && spec.type === 'boolean') {
        return parseError(`${filter.field} is true or false; compare it with eq or ne`);
      }
      return parsed({ ...filter, value: v.value });
    }
    case 'in': {
      const values: Scalar[] = [];
      for (const raw of filter.values) {
        const v = coerce(raw);
        if (!v.ok) return v;
        values.push(v.value);
      }
      return parsed({ ...filter, values });
    }
    case 'between': {
      const low = coerce(filter.low);
      if (!low.ok) return low;
      const high = coerce(filter.high);
      if (!high.ok) return high;
      return parsed({ ...filter, low: low.value, high: high.value });
    }
    case 'text':
      if (spec.type !== 'string' && spec.type !== 'ci' && spec.type !== 'enum') {
        return parseError(`${filter.field} does not support text search`);
      }
      return parsed(filter);
  }
}

export function checkSort(sort: SortKey[], catalog: FieldCatalog): Parsed<SortKey[]> {
  for (const key of sort) {
    const spec = catalog[key.field];
    if (!spec) return parseError(`cannot sort on unknown field "${key.field}"`);
    if (spec.sortable === false) return parseError(`cannot sort on "${key.field}"`);
  }
  return parsed(sort);
}

/** The folded form used for case-insensitive uniqueness and comparison. */
export function foldCase(value: string): string {
  // toUpperCase first so that ß → SS → ss matches "SS"; NFC so composed and decomposed forms agree.
  return value.normalize('NFC').toUpperCase().toLowerCase();
}

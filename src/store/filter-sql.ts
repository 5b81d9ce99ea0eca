import { sql, type RawBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { foldCase, type Filter, type ListQuery, type ListResult, type Scalar } from '../core/query.js';

type ColumnKind = 'text' | 'ci' | 'int' | 'bool' | 'date' | 'id';

/** How a core field maps onto a column. `key` is the folded column a `ci` field compares on. */
export interface ColumnSpec {
  kind: ColumnKind;
  column: string;
  key?: string;
  /** '' is stored as NULL (columns with a unique key where "no value" must not collide). */
  emptyIsNull?: boolean;
}

/** A field that is an expression over columns rather than a column, e.g. `suspended`. */
export interface VirtualSpec {
  virtual: (value: boolean) => RawBuilder<SqlBool>;
}

export type ColumnMap = Readonly<Record<string, ColumnSpec | VirtualSpec>>;

const isVirtual = (spec: ColumnSpec | VirtualSpec): spec is VirtualSpec => 'virtual' in spec;

const escapeLike = (value: string) => value.replace(/[\\%_]/g, (c) => `\\${c}`);

const OPS = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' } as const;

function sqlValue(spec: ColumnSpec, value: Scalar): Scalar {
  if (value === null) return null;
  if (spec.kind === 'bool') return value ? 1 : 0;
  if (spec.kind === 'ci') return foldCase(String(value));
  return value;
}

function compareColumn(spec: ColumnSpec) {
  return sql.ref(spec.kind === 'ci' && spec.key ? spec.key : spec.column);
}

function lookup(map: ColumnMap, field: string): ColumnSpec | VirtualSpec {
  const spec = map[field];
  // The core checks fields against its catalog first; reaching this is a wiring bug, not bad input.
  if (!spec) throw new Error(`no column for field ${field}`);
  return spec;
}

export function filterToSql(filter: Filter, map: ColumnMap): RawBuilder<SqlBool> {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      if (filter.filters.length === 0) return sql<SqlBool>`${sql.lit(filter.kind === 'and' ? 1 : 0)} = 1`;
      const parts = filter.filters.map((f) => filterToSql(f, map));
      return sql<SqlBool>`(${sql.join(parts, filter.kind === 'and' ? sql` and ` : sql` or `)})`;
    }
    case 'not':
      // IS NOT TRUE rather than NOT: a condition on an absent (NULL) value is false, so its negation
      // holds. LDAP agrees (RFC 4511 4.5.1.7: an assertion on an absent attribute is FALSE).
      return sql<SqlBool>`(${filterToSql(filter.filter, map)}) is not true`;
    default:
      break;
  }
  const spec = lookup(map, filter.field);
  if (isVirtual(spec)) {
    if (filter.kind !== 'compare' || (filter.op !== 'eq' && filter.op !== 'ne') || typeof filter.value !== 'boolean') {
      throw new Error(`field ${filter.field} only compares with eq/ne and a boolean`);
    }
    return spec.virtual(filter.op === 'eq' ? filter.value : !filter.value);
  }
  const col = compareColumn(spec);
  switch (filter.kind) {
    case 'compare': {
      const value = sqlValue(spec, filter.value);
      if (value === null || (spec.emptyIsNull && value === '')) {
        return filter.op === 'ne' ? sql<SqlBool>`${col} is not null` : sql<SqlBool>`${col} is null`;
      }
      // A row without a value differs from every value, so `ne` matches it (NULL <> x is not true).
      if (filter.op === 'ne') return sql<SqlBool>`(${col} <> ${value} or ${col} is null)`;
      return sql<SqlBool>`${col} ${sql.raw(OPS[filter.op])} ${value}`;
    }
    case 'in': {
      if (filter.values.length === 0) return sql<SqlBool>`1 = 0`;
      return sql<SqlBool>`${col} in (${sql.join(filter.values.map((v) => sqlValue(spec, v)))})`;
    }
    case 'between':
      return sql<SqlBool>`${col} between ${sqlValue(spec, filter.low)} and ${sqlValue(spec, filter.high)}`;
    case 'text': {
      const raw = escapeLike(spec.kind === 'ci' ? foldCase(filter.value) : filter.value.toLowerCase());
      const pattern = filter.op === 'equals' ? raw : filter.op === 'contains' ? `%${raw}%` : filter.op === 'startsWith' ? `${raw}%` : `%${raw}`;
      const target = spec.kind === 'ci' ? col : sql`lower(${col})`;
      return sql<SqlBool>`${target} like ${pattern} escape '\\'`;
    }
  }
}

/**
 * Count and one page of a filtered, sorted listing. Sorting always ends on the id, so pages are
 * stable; with a keyset cursor (`after`) the order is the id alone.
 */
export async function listPage<Row>(
  base: SelectQueryBuilder<any, any, any>,
  map: ColumnMap,
  query: ListQuery,
  idColumn = 'id',
  /** The total when the caller knows it without counting (an unfiltered list). */
  knownTotal?: () => Promise<number>,
): Promise<ListResult<Row>> {
  let q = base;
  if (query.filter) q = q.where(filterToSql(query.filter, map));
  const countQuery = q.clearSelect().select(sql<number>`count(*)`.as('n'));
  let pageQuery = q;
  if (query.page.after !== undefined) {
    pageQuery = pageQuery.where(sql.ref(idColumn), '>', query.page.after).orderBy(sql.ref(idColumn), 'asc');
  } else {
    for (const key of query.sort) {
      const spec = lookup(map, key.field);
      if (isVirtual(spec)) continue;
      const col = compareColumn(spec);
      const direction = key.descending ? 'desc' : 'asc';
      if (key.emptyHighest) {
        const text = spec.kind === 'text' || spec.kind === 'ci';
        pageQuery = pageQuery.orderBy(text ? sql`case when ${col} is null or ${col} = '' then 1 else 0 end` : sql`case when ${col} is null then 1 else 0 end`, direction);
      }
      pageQuery = pageQuery.orderBy(key.ignoreCase && spec.kind === 'text' ? sql`lower(${col})` : col, direction);
    }
    if (!query.sort.some((k) => k.field === 'id')) pageQuery = pageQuery.orderBy(sql.ref(idColumn), 'asc');
  }
  pageQuery = pageQuery.limit(query.page.limit);
  if (query.page.skip > 0) pageQuery = pageQuery.offset(query.page.skip);
  const total = knownTotal ? knownTotal() : countQuery.executeTakeFirst().then((row) => Number((row as { n: number } | undefined)?.n ?? 0));
  const [count, rows] = await Promise.all([total, query.page.limit > 0 ? pageQuery.execute() : Promise.resolve([])]);
  return { total: count, items: rows as Row[] };
}

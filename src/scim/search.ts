import type { ListQuery, SortKey } from '../core/query.js';
import { scimInvalid } from './errors.js';
import { parseFilter, parsePath, pathKey, type AttributePath, type Filter } from './filter.js';
import { field, isObject } from './json.js';
import { definitionIn, parseProjection, pathText, type Projection } from './projection.js';
import { SCHEMA_URNS, SCIM_LIMITS, type ResourceTypeName } from './schemas.js';

export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/** A list or search request (RFC 7644 §3.4.2, §3.4.3), checked; the filter still in SCIM terms. */
export interface SearchParams {
  filter?: Filter;
  /** The sortBy attribute, as written. */
  sortBy?: AttributePath;
  sortByText?: string;
  descending: boolean;
  /** 1-based. */
  startIndex: number;
  count: number;
  projection: Projection;
}

/** RFC 7644 §3.4.2.4: integers; startIndex below 1 is 1, a negative count is 0, count at most maxResults. */
function integer(value: unknown, name: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^\s*[-+]?\d{1,15}\s*$/.test(value)) return Number.parseInt(value, 10);
  throw scimInvalid('invalidValue', `${name} must be an integer`);
}

function text(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw scimInvalid('invalidValue', `${name} must be a string${Array.isArray(value) ? ', given once' : ''}`);
  return value;
}

function checked(raw: { filter: unknown; sortBy: unknown; sortOrder: unknown; startIndex: unknown; count: unknown; attributes: unknown; excludedAttributes: unknown }): SearchParams {
  const filterText = text(raw.filter, 'filter');
  let filter: Filter | undefined;
  if (filterText !== undefined) {
    const parsed = parseFilter(filterText);
    if (!parsed.ok) throw scimInvalid('invalidFilter', parsed.error);
    filter = parsed.value;
  }
  const sortByText = text(raw.sortBy, 'sortBy');
  let sortBy: AttributePath | undefined;
  if (sortByText !== undefined && sortByText.trim() !== '') {
    const parsed = parsePath(sortByText.trim());
    if (!parsed.ok || parsed.value.kind !== 'attribute') throw scimInvalid('invalidValue', `sortBy: '${sortByText}' is not an attribute name such as userName or name.familyName`);
    sortBy = parsed.value.path;
  }
  const order = text(raw.sortOrder, 'sortOrder')?.toLowerCase();
  if (order !== undefined && order !== 'ascending' && order !== 'descending') throw scimInvalid('invalidValue', 'sortOrder must be "ascending" or "descending"');
  const start = integer(raw.startIndex, 'startIndex') ?? 1;
  const count = integer(raw.count, 'count') ?? SCIM_LIMITS.maxResults;
  return {
    ...(filter ? { filter } : {}),
    ...(sortBy ? { sortBy, sortByText: sortByText!.trim() } : {}),
    descending: order === 'descending',
    startIndex: Math.max(1, start),
    count: Math.min(SCIM_LIMITS.maxResults, Math.max(0, count)),
    projection: parseProjection(raw.attributes, raw.excludedAttributes),
  };
}

/** The parameters of GET /Users, /Groups. */
export function searchFromQuery(query: unknown): SearchParams {
  const q = isObject(query) ? query : {};
  return checked({
    filter: q.filter,
    sortBy: q.sortBy,
    sortOrder: q.sortOrder,
    startIndex: q.startIndex,
    count: q.count,
    attributes: q.attributes,
    excludedAttributes: q.excludedAttributes,
  });
}

/** The body of POST …/.search: a SearchRequest (RFC 7644 §3.4.3), member names in any case. */
export function searchFromBody(body: unknown): SearchParams {
  if (!isObject(body)) throw scimInvalid('invalidSyntax', `The body must be a SearchRequest (${SEARCH_REQUEST})`);
  const schemas = field(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === SEARCH_REQUEST.toLowerCase())) {
    throw scimInvalid('invalidSyntax', `schemas must include ${SEARCH_REQUEST}`);
  }
  return checked({
    filter: field(body, 'filter'),
    sortBy: field(body, 'sortBy'),
    sortOrder: field(body, 'sortOrder'),
    startIndex: field(body, 'startIndex'),
    count: field(body, 'count'),
    attributes: field(body, 'attributes'),
    excludedAttributes: field(body, 'excludedAttributes'),
  });
}

/** SCIM attribute (pathKey form) → the core's sort keys; `invert` where the order runs the other way (active ↔ state). */
type SortTarget = { fields: string[]; invert?: boolean };

const ENTERPRISE = SCHEMA_URNS.enterpriseUser.toLowerCase();
const SORT_FIELDS: Record<ResourceTypeName, Record<string, SortTarget | undefined>> = {
  User: {
    id: { fields: ['id'] },
    username: { fields: ['username'] },
    displayname: { fields: ['displayname'] },
    'name.givenname': { fields: ['firstname'] },
    'name.middlename': { fields: ['middlename'] },
    'name.familyname': { fields: ['lastname'] },
    'name.formatted': { fields: ['firstname', 'middlename', 'lastname'] },
    title: { fields: ['jobTitle'] },
    usertype: { fields: ['employeeType'] },
    // A multi-valued attribute sorts by its primary value: the email.
    emails: { fields: ['email'] },
    'emails.value': { fields: ['email'] },
    // false before true ascending: SUSPENDED and STAGED come after ACTIVATED in the state's order.
    active: { fields: ['state'], invert: true },
    'meta.created': { fields: ['created'] },
    'meta.lastmodified': { fields: ['updated'] },
    [`${ENTERPRISE}:employeenumber`]: { fields: ['employeeIdentifier'] },
    [`${ENTERPRISE}:costcenter`]: { fields: ['costCenter'] },
    [`${ENTERPRISE}:organization`]: { fields: ['company'] },
    [`${ENTERPRISE}:department`]: { fields: ['department'] },
    [`${ENTERPRISE}:manager`]: { fields: ['manager'] },
    [`${ENTERPRISE}:manager.value`]: { fields: ['manager'] },
  },
  Group: {
    id: { fields: ['id'] },
    displayname: { fields: ['name'] },
    'meta.created': { fields: ['created'] },
    'meta.lastmodified': { fields: ['updated'] },
  },
};

/**
 * The core sort for sortBy/sortOrder (RFC 7644 §3.4.2.3): strings without regard to case unless
 * the attribute is caseExact, missing values last ascending and first descending. An attribute
 * the type's schemas know but Roster cannot order by (phoneNumbers, externalId …) leaves the
 * order as it is (by id); undefined means the type has no such attribute at all.
 */
export function sortFor(type: ResourceTypeName, params: SearchParams): SortKey[] | undefined {
  if (!params.sortBy) return [];
  const definition = definitionIn(type, params.sortBy);
  if (!definition) return undefined;
  const target = SORT_FIELDS[type][pathKey(params.sortBy)];
  if (!target) return [];
  const descending = target.invert ? !params.descending : params.descending;
  return target.fields.map((field) => ({ field, descending, ignoreCase: !definition.caseExact, emptyHighest: true }));
}

/** The sort and page of one resource type's list query; the caller translates the filter. */
export function listQueryFor(type: ResourceTypeName, params: SearchParams): ListQuery {
  const sort = sortFor(type, params);
  if (sort === undefined) throw unknownSortBy(params);
  return { sort, page: { limit: params.count, skip: params.startIndex - 1 } };
}

export const unknownSortBy = (params: SearchParams) =>
  scimInvalid('invalidValue', `sortBy: ${params.sortByText ?? pathText(params.sortBy!)} is not an attribute of the resources searched`);

/** A filter reduced for one resource type: a constant when it no longer depends on the resource. */
export type Restricted = boolean | Filter;

const known = (type: ResourceTypeName, path: AttributePath) => definitionIn(type, path) !== undefined;

/**
 * The filter as it applies to one resource type in a search across types (RFC 7644 §3.4.3): an
 * attribute the type does not have is treated as unassigned, so `eq`, `co` … and `pr` on it are
 * false, `ne` is true, and `eq null` true. What is left is for the type's own translation.
 */
export function restrictFilter(filter: Filter, type: ResourceTypeName): Restricted {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const parts = filter.filters.map((f) => restrictFilter(f, type));
      const absorbing = filter.kind === 'or';
      if (parts.some((p) => p === absorbing)) return absorbing;
      const left = parts.filter((p): p is Filter => typeof p !== 'boolean');
      if (left.length === 0) return !absorbing;
      return left.length === 1 ? left[0]! : { kind: filter.kind, filters: left };
    }
    case 'not': {
      const inner = restrictFilter(filter.filter, type);
      return typeof inner === 'boolean' ? !inner : { kind: 'not', filter: inner };
    }
    case 'present':
      return known(type, filter.path) ? filter : false;
    case 'valuePath':
      return known(type, filter.path) ? filter : false;
    case 'compare':
      if (known(type, filter.path)) return filter;
      if (filter.value === null) return filter.op === 'eq';
      return filter.op === 'ne';
  }
}

/** The attributes the filter names that none of the types has: a search across types refuses them as /Users would. */
export function strangers(filter: Filter, types: readonly ResourceTypeName[]): string[] {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return filter.filters.flatMap((f) => strangers(f, types));
    case 'not':
      return strangers(filter.filter, types);
    default:
      return types.some((type) => known(type, filter.path)) ? [] : [pathText(filter.path)];
  }
}

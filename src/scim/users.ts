import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import type { DirectoryId } from '../core/ids.js';
import type { User, UserGroup } from '../core/model.js';
import type { LinkedKind } from '../core/ports.js';
import type { Filter as CoreFilter } from '../core/query.js';
import type { LinkChange } from '../core/services/identity-links.js';
import type { UserInput } from '../core/user-input.js';
import { scimInvalid } from './errors.js';
import { field, isObject } from './json.js';
import { pathKey, type Filter, type ValueFilter } from './filter.js';
import { SCHEMA_URNS } from './schemas.js';

const ENTERPRISE = SCHEMA_URNS.enterpriseUser;

/** A weak entity tag from the last change (RFC 7644 §3.14). */
export const versionOf = (updated: string) => `W/"${Buffer.from(updated).toString('base64url')}"`;

const compact = <T extends Record<string, unknown>>(o: T): Partial<T> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null && v !== '')) as Partial<T>;

/** The SCIM source a request speaks for: the core, the source's context and its directory. */
export interface ScimSource {
  core: DirectoryCore;
  ctx: Context;
  directoryId: DirectoryId;
}

/** What a resource carries besides the Roster object. */
export interface ScimExtras {
  /** The source's externalId for the resource (its identity link). */
  externalId?: string | undefined;
}

/** The source's externalIds of these users or groups, by id (objects it has not linked are absent). */
export const externalIdsOf = (source: ScimSource, kind: LinkedKind, ids: readonly string[]): Promise<Map<string, string>> =>
  source.core.identityLinks.externalIds(source.ctx, source.directoryId, kind, ids);

/**
 * The source's identity link as a body states it (RFC 7643 §3.1 `externalId`): under replace
 * semantics (PUT, and PATCH, which stores the patched resource whole) an absent or empty
 * externalId removes the link; on create an absent one makes none. When another resource of the
 * kind holds the externalId, the newest statement wins: the link moves here and the other
 * resource is unlinked, journaled (a client that creates a second resource with the same
 * externalId has re-created its object).
 */
export function linkChangeOf(source: ScimSource, body: unknown, replace: boolean): LinkChange | undefined {
  const value = field(body, 'externalId');
  if (value !== undefined && value !== null && typeof value !== 'string') throw scimInvalid('invalidValue', 'externalId must be a string');
  const externalId = value === '' || value === undefined ? null : value;
  if (externalId === null && !replace) return undefined;
  return { directoryId: source.directoryId, externalId, onTaken: 'take_over' };
}

/**
 * The local ids of references a source sends (a manager, group members): a Roster id of the kind
 * in the source's organization, else an externalId the source linked to one. Unresolved values
 * are absent from the answer.
 */
export async function resolveReferences(source: ScimSource, kind: LinkedKind, values: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(values)];
  const resolved = new Map<string, string>();
  for (const object of await findByIds(source, kind, wanted)) resolved.set(object.id, object.id);
  const rest = wanted.filter((v) => !resolved.has(v));
  if (rest.length > 0) for (const [externalId, id] of await source.core.identityLinks.localIds(source.ctx, source.directoryId, kind, rest)) resolved.set(externalId, id);
  return resolved;
}

/** Ids per lookup, so a long member list stays under the stores' bound-parameter limits. */
const LOOKUP_CHUNK = 500;

/** The users (or groups) of the source's organization among these ids. */
export async function findByIds(source: ScimSource, kind: 'user', ids: readonly string[]): Promise<User[]>;
export async function findByIds(source: ScimSource, kind: 'user_group', ids: readonly string[]): Promise<UserGroup[]>;
export async function findByIds(source: ScimSource, kind: LinkedKind, ids: readonly string[]): Promise<(User | UserGroup)[]>;
export async function findByIds(source: ScimSource, kind: LinkedKind, ids: readonly string[]): Promise<(User | UserGroup)[]> {
  const found: (User | UserGroup)[] = [];
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += LOOKUP_CHUNK) {
    const values = unique.slice(i, i + LOOKUP_CHUNK);
    const query = { filter: { kind: 'in' as const, field: 'id', values }, sort: [], page: { limit: values.length, skip: 0 } };
    found.push(...(kind === 'user' ? await source.core.users.list(source.ctx, query) : await source.core.groups.list(source.ctx, query)).items);
  }
  return found;
}

/**
 * The enterprise `manager` of a SCIM body as a Roster user id (RFC 7643 §4.3: the manager's id):
 * a Roster user id, or the externalId this source gave a user. A manager Roster does not know is
 * left out rather than refusing the whole user: Entra ID provisions users in no set order and
 * sends the manager again with a later change, and the answer shows the user without it.
 */
export async function resolveManager(source: ScimSource, input: UserInput): Promise<UserInput> {
  if (typeof input.manager !== 'string') return input;
  const id = (await resolveReferences(source, 'user', [input.manager])).get(input.manager);
  return { ...input, manager: id ?? null };
}

/** A Roster user as a SCIM User (the mapping is documented in schemas.ts). */
export function toScimUser(user: User, baseUrl: string, extras: ScimExtras = {}): Record<string, unknown> {
  const name = compact({
    givenName: user.firstname,
    middleName: user.middlename,
    familyName: user.lastname,
    formatted: [user.firstname, user.middlename, user.lastname].filter((p) => p).join(' '),
  });
  const enterprise = compact({
    employeeNumber: user.employeeIdentifier,
    costCenter: user.costCenter,
    organization: user.company,
    department: user.department,
    manager: user.manager ? { value: user.manager, $ref: `${baseUrl}/Users/${user.manager}` } : undefined,
  });
  const emails = [
    ...(user.email ? [{ value: user.email, type: 'work', primary: true }] : []),
    ...(user.alternateEmail ? [{ value: user.alternateEmail, type: 'other', primary: false }] : []),
  ];
  const phoneNumbers = user.phoneNumbers.filter((p) => p.number).map((p, i) => compact({ value: p.number, type: p.type, primary: i === 0 }));
  const addresses = user.addresses.map((a, i) =>
    compact({ type: a.type, streetAddress: a.streetAddress, locality: a.locality, region: a.region, postalCode: a.postalCode, country: a.country, primary: i === 0 }),
  );
  return {
    schemas: [SCHEMA_URNS.user, ...(Object.keys(enterprise).length > 0 ? [ENTERPRISE] : [])],
    id: user.id,
    ...(extras.externalId !== undefined ? { externalId: extras.externalId } : {}),
    userName: user.username,
    ...(Object.keys(name).length > 0 ? { name } : {}),
    ...compact({ displayName: user.displayname, title: user.jobTitle, userType: user.employeeType }),
    active: user.state === 'ACTIVATED',
    ...(emails.length > 0 ? { emails } : {}),
    ...(phoneNumbers.length > 0 ? { phoneNumbers } : {}),
    ...(addresses.length > 0 ? { addresses } : {}),
    ...(Object.keys(enterprise).length > 0 ? { [ENTERPRISE]: enterprise } : {}),
    meta: { resourceType: 'User', created: user.created, lastModified: user.updated, location: `${baseUrl}/Users/${user.id}`, version: versionOf(user.updated) },
  };
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
/** Entra ID sends booleans as "True" and "False". */
const bool = (v: unknown): boolean | undefined =>
  typeof v === 'boolean' ? v : typeof v === 'string' && /^(true|false)$/i.test(v) ? v.toLowerCase() === 'true' : undefined;

/**
 * A SCIM User body (POST, PUT) as the core's user input, attribute names case-insensitive. Under
 * PUT's replace semantics every writable attribute the body leaves out is cleared, and userName,
 * which is required, must be there. Unknown and readOnly attributes are ignored (RFC 7644 §3.3,
 * §3.5.1). `externalId` is the source's identity link (linkChangeOf); the manager comes as the
 * body names it, for resolveManager.
 */
export function fromScimUser(body: unknown, replace: boolean): UserInput {
  if (!isObject(body)) throw scimInvalid('invalidSyntax', 'The body must be a SCIM User object');
  // RFC 7643 §4.1.1: userName is REQUIRED, so a replacement without one is refused (RFC 7644 §3.5.1).
  if (replace && text(field(body, 'userName')) === undefined) throw scimInvalid('invalidValue', 'userName is required');
  const clear = <T>(value: T | undefined, empty: T): T | undefined => (value !== undefined ? value : replace ? empty : undefined);
  const name = field(body, 'name');
  const enterprise = field(body, ENTERPRISE);
  const emails = list(field(body, 'emails'));
  const primary = emails.find((e) => bool(field(e, 'primary')) === true) ?? emails.find((e) => text(field(e, 'type'))?.toLowerCase() === 'work') ?? emails[0];
  const other = emails.find((e) => e !== primary);
  const active = field(body, 'active');
  const manager = field(enterprise, 'manager');
  const input: UserInput = {
    username: text(field(body, 'userName')),
    email: text(field(primary, 'value')),
    firstname: clear(text(field(name, 'givenName')), ''),
    middlename: clear(text(field(name, 'middleName')), ''),
    lastname: clear(text(field(name, 'familyName')), ''),
    displayname: clear(text(field(body, 'displayName')), ''),
    jobTitle: clear(text(field(body, 'title')), ''),
    employeeType: clear(text(field(body, 'userType')), ''),
    alternateEmail: clear(text(field(other, 'value')), ''),
    employeeIdentifier: clear(text(field(enterprise, 'employeeNumber')), null),
    costCenter: clear(text(field(enterprise, 'costCenter')), ''),
    company: clear(text(field(enterprise, 'organization')), ''),
    department: clear(text(field(enterprise, 'department')), ''),
    manager: clear(text(field(manager, 'value')) ?? (typeof manager === 'string' ? manager : undefined), null),
    phoneNumbers: clear(
      list(field(body, 'phoneNumbers')).flatMap((p) => (text(field(p, 'value')) ? [{ number: text(field(p, 'value'))!, type: text(field(p, 'type')) ?? 'work' }] : [])),
      [],
    ),
    addresses: clear(
      list(field(body, 'addresses')).map((a) => ({
        type: text(field(a, 'type')) ?? 'work',
        streetAddress: text(field(a, 'streetAddress')) ?? '',
        locality: text(field(a, 'locality')) ?? '',
        region: text(field(a, 'region')) ?? '',
        postalCode: text(field(a, 'postalCode')) ?? '',
        country: text(field(a, 'country')) ?? '',
      })),
      [],
    ),
    password: text(field(body, 'password')),
  };
  if (active !== undefined) {
    const value = bool(active);
    if (value === undefined) throw scimInvalid('invalidValue', 'active must be true or false');
    input.state = value ? 'ACTIVATED' : 'SUSPENDED';
  } else if (replace) input.state = 'ACTIVATED';
  for (const key of Object.keys(input) as (keyof UserInput)[]) if (input[key] === undefined) delete input[key];
  return input;
}

/** SCIM attribute (pathKey form) → the core's user field, and how the field compares. */
const USER_FIELD: Record<string, { field: string; exact?: boolean } | undefined> = {
  id: { field: 'id', exact: true },
  username: { field: 'username' },
  displayname: { field: 'displayname' },
  'name.givenname': { field: 'firstname' },
  'name.middlename': { field: 'middlename' },
  'name.familyname': { field: 'lastname' },
  title: { field: 'jobTitle' },
  usertype: { field: 'employeeType' },
  'meta.created': { field: 'created', exact: true },
  'meta.lastmodified': { field: 'updated', exact: true },
  [`${ENTERPRISE}:employeenumber`.toLowerCase()]: { field: 'employeeIdentifier' },
  [`${ENTERPRISE}:costcenter`.toLowerCase()]: { field: 'costCenter' },
  [`${ENTERPRISE}:organization`.toLowerCase()]: { field: 'company' },
  [`${ENTERPRISE}:department`.toLowerCase()]: { field: 'department' },
  [`${ENTERPRISE}:manager.value`.toLowerCase()]: { field: 'manager', exact: true },
  [`${ENTERPRISE}:manager`.toLowerCase()]: { field: 'manager', exact: true },
};

const unsupported = (what: string) => scimInvalid('invalidFilter', `Filtering on ${what} is not supported`);

/** The values a filter compares `key` (pathKey form, inside value paths too) with, as strings. */
export function comparedValues(filter: Filter | ValueFilter, key: string, parent?: string): string[] {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return filter.filters.flatMap((f) => comparedValues(f, key, parent));
    case 'not':
      return comparedValues(filter.filter, key, parent);
    case 'valuePath':
      return comparedValues(filter.filter, key, pathKey(filter.path));
    case 'present':
      return [];
    case 'compare':
      return pathKey(filter.path, parent) === key && typeof filter.value === 'string' ? [filter.value] : [];
  }
}

/**
 * `externalId eq "…"` (or ne) as the core's filter: the id of the resource the source linked to
 * that externalId (`linked`: externalId → id, resolved beforehand), or nothing. RFC 7643 §3.1 makes
 * externalId caseExact, so it compares exactly.
 */
export function externalIdFilter(op: string, value: unknown, linked: ReadonlyMap<string, string> | undefined): CoreFilter {
  if (!linked || (op !== 'eq' && op !== 'ne') || typeof value !== 'string') throw scimInvalid('invalidFilter', 'externalId is compared with eq or ne and a string');
  const id = linked.get(value);
  const equal: CoreFilter = { kind: 'in', field: 'id', values: id === undefined ? [] : [id] };
  return op === 'eq' ? equal : { kind: 'not', filter: equal };
}

/** A SCIM filter on Users as the core's filter, the externalIds it compares resolved through the source's links first. */
export async function scimUserFilter(source: ScimSource, filter: Filter): Promise<CoreFilter> {
  const values = comparedValues(filter, 'externalid');
  const linked = values.length === 0 ? new Map<string, string>() : await source.core.identityLinks.localIds(source.ctx, source.directoryId, 'user', values);
  return userFilter(filter, undefined, linked);
}

/**
 * A SCIM filter on Users as the core's filter, so the store does the work at any size: strings
 * compare case-insensitively (their SCIM definition is not caseExact), `emails` matches the email
 * and the alternate email, `active` the state, `externalId` (eq and ne) the user `linked` (from
 * scimUserFilter) maps it to. Throws an invalid error (→ 400 invalidFilter) for attributes Roster
 * cannot filter on.
 */
export function userFilter(filter: Filter | ValueFilter, parent?: string, linked?: ReadonlyMap<string, string>): CoreFilter {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return { kind: filter.kind, filters: filter.filters.map((f) => userFilter(f, parent, linked)) };
    case 'not':
      return { kind: 'not', filter: userFilter(filter.filter, parent, linked) };
    case 'valuePath': {
      if (pathKey(filter.path) !== 'emails') throw unsupported(`${pathKey(filter.path)}[…]`);
      return userFilter(filter.filter, 'emails', linked);
    }
    case 'present':
      return presence(pathKey(filter.path, parent));
    case 'compare': {
      const key = pathKey(filter.path, parent);
      if (key === 'externalid') return externalIdFilter(filter.op, filter.value, linked);
      if (key === 'active') {
        if (typeof filter.value !== 'boolean' || (filter.op !== 'eq' && filter.op !== 'ne')) throw unsupported('active other than eq/ne true/false');
        const active: CoreFilter = { kind: 'compare', field: 'state', op: 'eq', value: 'ACTIVATED' };
        return filter.value === (filter.op === 'eq') ? active : { kind: 'not', filter: active };
      }
      if (key === 'emails' || key === 'emails.value') {
        return { kind: 'or', filters: ['email', 'alternateEmail'].map((field) => compare(field, false, filter.op, filter.value)) };
      }
      const target = USER_FIELD[key];
      if (!target) throw unsupported(key);
      return compare(target.field, target.exact === true, filter.op, filter.value);
    }
  }
}

/** `pr`: a value that is neither null nor empty (Roster keeps unset text as ""). */
function presence(key: string): CoreFilter {
  const target = key === 'emails' || key === 'emails.value' ? { field: 'email' } : USER_FIELD[key];
  if (!target) throw unsupported(key);
  const field = target.field;
  // Ids and times are null when unset, never empty.
  if (target.exact) return { kind: 'compare', field, op: 'ne', value: null };
  return {
    kind: 'and',
    filters: [
      { kind: 'compare', field, op: 'ne', value: null },
      { kind: 'not', filter: { kind: 'compare', field, op: 'eq', value: '' } },
    ],
  };
}

function compare(field: string, exact: boolean, op: string, value: unknown): CoreFilter {
  if (value === null) return { kind: 'compare', field, op: op === 'ne' ? 'ne' : 'eq', value: null };
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw unsupported(field);
  switch (op) {
    case 'eq':
    case 'ne': {
      const equal: CoreFilter =
        typeof value === 'string' && !exact ? { kind: 'text', field, op: 'equals', value } : { kind: 'compare', field, op: 'eq', value };
      return op === 'eq' ? equal : { kind: 'not', filter: equal };
    }
    case 'co':
    case 'sw':
    case 'ew':
      if (typeof value !== 'string') throw unsupported(`${op} with a non-string value`);
      return { kind: 'text', field, op: op === 'co' ? 'contains' : op === 'sw' ? 'startsWith' : 'endsWith', value };
    default:
      return { kind: 'compare', field, op: op as 'gt' | 'ge' | 'lt' | 'le', value };
  }
}

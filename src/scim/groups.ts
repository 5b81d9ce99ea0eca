import type { Membership, User, UserGroup } from '../core/model.js';
import { ALL_ROWS, type Filter as CoreFilter } from '../core/query.js';
import type { MemberRef } from '../core/services/groups.js';
import { scimInvalid } from './errors.js';
import { pathKey, type Filter, type ValueFilter } from './filter.js';
import { field, isObject } from './json.js';
import { SCHEMA_URNS } from './schemas.js';
import { comparedValues, externalIdFilter, findByIds, resolveReferences, versionOf, type ScimExtras, type ScimSource } from './users.js';

/** What a group resource carries besides the group: its externalId, and its members' names for `display`. */
export interface GroupExtras extends ScimExtras {
  /** Member id → the member's name (memberNames). */
  names?: ReadonlyMap<string, string>;
}

/** A Roster group as a SCIM Group; `members` only when given (clients often exclude them). */
export function toScimGroup(group: UserGroup, baseUrl: string, members?: readonly Membership[], extras: GroupExtras = {}): Record<string, unknown> {
  return {
    schemas: [SCHEMA_URNS.group],
    id: group.id,
    ...(extras.externalId !== undefined ? { externalId: extras.externalId } : {}),
    displayName: group.name,
    ...(members
      ? {
          members: members.map((m) => {
            const display = extras.names?.get(m.memberId);
            return {
              value: m.memberId,
              ...(display ? { display } : {}),
              type: m.memberType === 'user' ? 'User' : 'Group',
              $ref: `${baseUrl}/${m.memberType === 'user' ? 'Users' : 'Groups'}/${m.memberId}`,
            };
          }),
        }
      : {}),
    meta: { resourceType: 'Group', created: group.created, lastModified: group.updated, location: `${baseUrl}/Groups/${group.id}`, version: versionOf(group.updated) },
  };
}

/** A member as a body names it: `typed` when the body said whether it is a User or a Group. */
export interface ScimMemberRef extends MemberRef {
  typed: boolean;
}

/**
 * A SCIM Group body as the group's name and its full member list (members of type Group nest
 * groups), as the body names them: resolveMembers turns the values into Roster ids.
 */
export function fromScimGroup(body: unknown): { name?: string; members?: ScimMemberRef[] } {
  if (!isObject(body)) throw scimInvalid('invalidSyntax', 'The body must be a SCIM Group object');
  const name = field(body, 'displayName');
  if (name !== undefined && typeof name !== 'string') throw scimInvalid('invalidValue', 'displayName must be a string');
  const members = field(body, 'members');
  if (members !== undefined && members !== null && !Array.isArray(members)) throw scimInvalid('invalidValue', 'members must be a list');
  const refs = (Array.isArray(members) ? members : []).map((m): ScimMemberRef => {
    const value = field(m, 'value');
    if (typeof value !== 'string' || value === '') throw scimInvalid('invalidValue', 'each member needs a value (the member id)');
    const type = field(m, 'type');
    if (type === undefined || type === null) return { type: 'user', id: value, typed: false };
    return { type: String(type).toLowerCase() === 'group' ? 'user_group' : 'user', id: value, typed: true };
  });
  return { ...(typeof name === 'string' ? { name } : {}), ...(members !== undefined ? { members: refs } : {}) };
}

/**
 * Members as Roster ids (RFC 7643 §4.2: `value` is the member's id): a user's or group's id in the
 * source's organization, else an externalId the source linked to one; without a type, users are
 * tried first. A member Roster does not know is left out, so one stale reference does not hold
 * back the rest of a change (Entra ID sends many members per request); the group's answer shows
 * what it holds.
 */
export async function resolveMembers(source: ScimSource, refs: readonly ScimMemberRef[]): Promise<MemberRef[]> {
  const asUser = refs.filter((r) => !r.typed || r.type === 'user').map((r) => r.id);
  const users = await resolveReferences(source, 'user', asUser);
  const asGroup = refs.filter((r) => (r.typed ? r.type === 'user_group' : !users.has(r.id))).map((r) => r.id);
  const groups = await resolveReferences(source, 'user_group', asGroup);
  const out = new Map<string, MemberRef>();
  for (const r of refs) {
    const user = !r.typed || r.type === 'user' ? users.get(r.id) : undefined;
    const group = user === undefined && (!r.typed || r.type === 'user_group') ? groups.get(r.id) : undefined;
    const ref: MemberRef | undefined = user !== undefined ? { type: 'user', id: user } : group !== undefined ? { type: 'user_group', id: group } : undefined;
    if (ref) out.set(`${ref.type}:${ref.id}`, ref);
  }
  return [...out.values()];
}

const displayOf = (u: User) => u.displayname || [u.firstname, u.lastname].filter((p) => p).join(' ') || u.username;

/** The names of these members for `display` (RFC 7643 §4.2): a user's display name (or full name, or username), a group's name. */
export async function memberNames(source: ScimSource, memberships: readonly Membership[]): Promise<Map<string, string>> {
  const ids = (type: Membership['memberType']) => [...new Set(memberships.filter((m) => m.memberType === type).map((m) => m.memberId))];
  const [userIds, groupIds] = [ids('user'), ids('user_group')];
  const names = new Map<string, string>();
  for (const u of await findByIds(source, 'user', userIds)) names.set(u.id, displayOf(u));
  for (const g of await findByIds(source, 'user_group', groupIds)) names.set(g.id, g.name);
  return names;
}

/** What a groups filter needs from the store before it is translated. */
export interface GroupFilterLinks {
  /** externalId → the group the source linked to it. */
  linked: ReadonlyMap<string, string>;
  /** A member's id → the groups that hold it directly. */
  holders: ReadonlyMap<string, readonly string[]>;
}

/** The groups that hold the user or group `id` directly (none when there is no such object). */
async function holdersOf(source: ScimSource, id: string): Promise<string[]> {
  const direct = (reached: { ref: { id: string }; paths: unknown[][] }[]) => reached.filter((r) => r.paths.some((p) => p.length === 1)).map((r) => r.ref.id);
  if ((await findByIds(source, 'user', [id])).length > 0) return direct((await source.core.groups.groupsOfUser(source.ctx, id, ALL_ROWS)).items);
  if ((await findByIds(source, 'user_group', [id])).length > 0) return direct((await source.core.groups.groupsOfGroup(source.ctx, id, ALL_ROWS)).items);
  return [];
}

async function groupFilterLinks(source: ScimSource, filter: Filter): Promise<GroupFilterLinks> {
  const externalIds = comparedValues(filter, 'externalid');
  const linked = externalIds.length === 0 ? new Map<string, string>() : await source.core.identityLinks.localIds(source.ctx, source.directoryId, 'user_group', externalIds);
  const holders = new Map<string, string[]>();
  for (const value of new Set([...comparedValues(filter, 'members.value'), ...comparedValues(filter, 'members')])) holders.set(value, await holdersOf(source, value));
  return { linked, holders };
}

/** A SCIM filter on Groups as the core's filter, externalIds and members resolved beforehand. */
export async function scimGroupFilter(source: ScimSource, filter: Filter): Promise<CoreFilter> {
  return groupFilter(filter, await groupFilterLinks(source, filter));
}

const unsupported = (what: string) => scimInvalid('invalidFilter', `Filtering on ${what} is not supported`);

/** `members[value eq "…"]`, `members.value eq "…"`, `members eq "…"`: the groups that hold that id directly. */
function memberFilter(filter: Filter | ValueFilter, holders: ReadonlyMap<string, readonly string[]>, parent?: string): CoreFilter {
  if (filter.kind === 'or') return { kind: 'or', filters: filter.filters.map((f) => memberFilter(f, holders, parent)) };
  const key = filter.kind === 'compare' ? pathKey(filter.path, parent) : '';
  if (filter.kind !== 'compare' || (key !== 'members' && key !== 'members.value') || filter.op !== 'eq' || typeof filter.value !== 'string') {
    throw unsupported('members other than by value with eq (members[value eq "…"])');
  }
  return { kind: 'in', field: 'id', values: [...(holders.get(filter.value) ?? [])] };
}

/**
 * A SCIM filter on Groups as the core's filter: displayName (case-insensitive), id, the dates,
 * `externalId` (eq, ne) and membership by a member's id, as Entra ID checks it
 * (`members[value eq "…"]`), with `links` from groupFilterLinks.
 */
export function groupFilter(filter: Filter, links: GroupFilterLinks = { linked: new Map(), holders: new Map() }): CoreFilter {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return { kind: filter.kind, filters: filter.filters.map((f) => groupFilter(f, links)) };
    case 'not':
      return { kind: 'not', filter: groupFilter(filter.filter, links) };
    case 'valuePath':
      if (pathKey(filter.path) !== 'members') throw unsupported(`${pathKey(filter.path)}[…]`);
      return memberFilter(filter.filter, links.holders, 'members');
    case 'present': {
      const field = FIELD[pathKey(filter.path)];
      if (!field) throw unsupported(pathKey(filter.path));
      return { kind: 'compare', field: field.field, op: 'ne', value: null };
    }
    case 'compare': {
      const key = pathKey(filter.path);
      if (key === 'externalid') return externalIdFilter(filter.op, filter.value, links.linked);
      if (key === 'members' || key === 'members.value') return memberFilter(filter, links.holders);
      const field = FIELD[key];
      if (!field) throw unsupported(key);
      const value = filter.value;
      if (typeof value === 'string' && !field.exact && (filter.op === 'eq' || filter.op === 'ne')) {
        const equal: CoreFilter = { kind: 'text', field: field.field, op: 'equals', value };
        return filter.op === 'eq' ? equal : { kind: 'not', filter: equal };
      }
      if (filter.op === 'co' || filter.op === 'sw' || filter.op === 'ew') {
        if (typeof value !== 'string') throw scimInvalid('invalidFilter', `${filter.op} needs a string`);
        return { kind: 'text', field: field.field, op: filter.op === 'co' ? 'contains' : filter.op === 'sw' ? 'startsWith' : 'endsWith', value };
      }
      if (typeof value === 'boolean') throw scimInvalid('invalidFilter', `${key} is not a boolean`);
      return { kind: 'compare', field: field.field, op: filter.op, value };
    }
  }
}

const FIELD: Record<string, { field: string; exact?: boolean } | undefined> = {
  id: { field: 'id', exact: true },
  displayname: { field: 'name' },
  'meta.created': { field: 'created', exact: true },
  'meta.lastmodified': { field: 'updated', exact: true },
};

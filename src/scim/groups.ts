import type { Membership, UserGroup } from '../core/model.js';
import type { Filter as CoreFilter } from '../core/query.js';
import type { MemberRef } from '../core/services/groups.js';
import { scimInvalid } from './errors.js';
import { pathKey, type Filter } from './filter.js';
import { field } from './json.js';
import { SCHEMA_URNS } from './schemas.js';
import { versionOf } from './users.js';

/** A Roster group as a SCIM Group; `members` only when given (clients often exclude them). */
export function toScimGroup(group: UserGroup, baseUrl: string, members?: readonly Membership[]): Record<string, unknown> {
  return {
    schemas: [SCHEMA_URNS.group],
    id: group.id,
    displayName: group.name,
    ...(members
      ? {
          members: members.map((m) => ({
            value: m.memberId,
            type: m.memberType === 'user' ? 'User' : 'Group',
            $ref: `${baseUrl}/${m.memberType === 'user' ? 'Users' : 'Groups'}/${m.memberId}`,
          })),
        }
      : {}),
    meta: { resourceType: 'Group', created: group.created, lastModified: group.updated, location: `${baseUrl}/Groups/${group.id}`, version: versionOf(group.updated) },
  };
}

/** A SCIM Group body as the group's name and its full member list (members of type Group nest groups). */
export function fromScimGroup(body: unknown): { name?: string; members?: MemberRef[] } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw scimInvalid('invalidSyntax', 'The body must be a SCIM Group object');
  const name = field(body, 'displayName');
  if (name !== undefined && typeof name !== 'string') throw scimInvalid('invalidValue', 'displayName must be a string');
  const members = field(body, 'members');
  if (members !== undefined && members !== null && !Array.isArray(members)) throw scimInvalid('invalidValue', 'members must be a list');
  const refs = (Array.isArray(members) ? members : []).map((m): MemberRef => {
    const value = field(m, 'value');
    if (typeof value !== 'string' || value === '') throw scimInvalid('invalidValue', 'each member needs a value (the member id)');
    return { type: String(field(m, 'type') ?? 'User').toLowerCase() === 'group' ? 'user_group' : 'user', id: value };
  });
  return { ...(typeof name === 'string' ? { name } : {}), ...(members !== undefined ? { members: refs } : {}) };
}

/** A SCIM filter on Groups as the core's filter: displayName (case-insensitive), id and the dates. */
export function groupFilter(filter: Filter): CoreFilter {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return { kind: filter.kind, filters: filter.filters.map(groupFilter) };
    case 'not':
      return { kind: 'not', filter: groupFilter(filter.filter) };
    case 'valuePath':
      throw scimInvalid('invalidFilter', `Filtering on ${pathKey(filter.path)}[…] is not supported`);
    case 'present': {
      const field = FIELD[pathKey(filter.path)];
      if (!field) throw scimInvalid('invalidFilter', `Filtering on ${pathKey(filter.path)} is not supported`);
      return { kind: 'compare', field: field.field, op: 'ne', value: null };
    }
    case 'compare': {
      const field = FIELD[pathKey(filter.path)];
      if (!field) throw scimInvalid('invalidFilter', `Filtering on ${pathKey(filter.path)} is not supported`);
      const value = filter.value;
      if (typeof value === 'string' && !field.exact && (filter.op === 'eq' || filter.op === 'ne')) {
        const equal: CoreFilter = { kind: 'text', field: field.field, op: 'equals', value };
        return filter.op === 'eq' ? equal : { kind: 'not', filter: equal };
      }
      if (filter.op === 'co' || filter.op === 'sw' || filter.op === 'ew') {
        if (typeof value !== 'string') throw scimInvalid('invalidFilter', `${filter.op} needs a string`);
        return { kind: 'text', field: field.field, op: filter.op === 'co' ? 'contains' : filter.op === 'sw' ? 'startsWith' : 'endsWith', value };
      }
      if (typeof value === 'boolean') throw scimInvalid('invalidFilter', `${pathKey(filter.path)} is not a boolean`);
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

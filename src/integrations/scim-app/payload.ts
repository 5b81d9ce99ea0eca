import { createHash } from 'node:crypto';
import type { User, UserGroup } from '../../core/model.js';
import { SCIM_CORE_USER, SCIM_ENTERPRISE_USER, SCIM_GROUP, type PatchOperation } from './client.js';

type Json = Record<string, unknown>;

/** Drops empty strings, nulls and undefined values. */
function compact(fields: Json): Json {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined && v !== null && v !== ''));
}

/**
 * A user as Roster writes it to an application: userName, externalId (the Roster id, stable across
 * renames), name, displayName, emails, title, active, the enterprise extension and the roles the
 * group → role mapping gives. `active` is false for a suspended user.
 */
export function userPayload(user: User, roles: readonly string[]): Json {
  const name = compact({
    givenName: user.firstname,
    middleName: user.middlename,
    familyName: user.lastname,
    formatted: [user.firstname, user.middlename, user.lastname].filter(Boolean).join(' '),
  });
  const enterprise = compact({
    employeeNumber: user.employeeIdentifier,
    department: user.department,
    costCenter: user.costCenter,
    organization: user.company,
  });
  const emails = [
    ...(user.email ? [{ value: user.email, type: 'work', primary: true }] : []),
    ...(user.alternateEmail ? [{ value: user.alternateEmail, type: 'other', primary: false }] : []),
  ];
  const displayName = user.displayname || name.formatted || user.username;
  return {
    schemas: Object.keys(enterprise).length > 0 ? [SCIM_CORE_USER, SCIM_ENTERPRISE_USER] : [SCIM_CORE_USER],
    userName: user.username,
    externalId: user.id,
    ...(Object.keys(name).length > 0 ? { name } : {}),
    displayName,
    ...compact({ title: user.jobTitle, userType: user.employeeType }),
    active: user.state === 'ACTIVATED',
    ...(emails.length > 0 ? { emails } : {}),
    ...(roles.length > 0 ? { roles: roles.map((value) => ({ value, primary: false })) } : {}),
    ...(Object.keys(enterprise).length > 0 ? { [SCIM_ENTERPRISE_USER]: enterprise } : {}),
  };
}

/** A group as written, without members (they are sent as remote ids, apart). */
export function groupPayload(group: UserGroup): Json {
  return { schemas: [SCIM_GROUP], displayName: group.name, externalId: group.id };
}

/** A stable digest of a payload: the same attributes in any key order give the same digest. */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('base64url').slice(0, 22);
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Json)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * PATCH operations that turn `before` into `after` attribute by attribute: `replace` for what
 * changed or appeared, `remove` for what went. Extension attributes are addressed by their
 * full path (`urn:…:User:department`), as RFC 7644 §3.5.2 allows.
 */
export function patchOperations(before: Json, after: Json): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const walk = (b: Json, a: Json, prefix: string) => {
    for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
      if (key === 'schemas') continue;
      const path = prefix ? `${prefix}:${key}` : key;
      const from = b[key];
      const to = a[key];
      if (canonical(from) === canonical(to)) continue;
      if (key === SCIM_ENTERPRISE_USER && isJson(from) && isJson(to)) walk(from, to, SCIM_ENTERPRISE_USER);
      else if (to === undefined) ops.push({ op: 'remove', path });
      else ops.push({ op: 'replace', path, value: to });
    }
  };
  walk(before, after, '');
  return ops;
}

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

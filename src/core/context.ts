import { forbidden } from './errors.js';
import type { OrgId } from './ids.js';
import { PERMISSIONS, type Permission, type RoleName } from './roles.js';

/** Where a change came from; recorded on every journal row and used for loop prevention. */
export type Origin =
  | 'api'
  | 'cli'
  | 'portal'
  | 'ldap'
  | 'radius'
  | 'sso'
  | 'system'
  | `scim:${string}`
  | `sync:${string}`;

/** Who made a change, as the journal records it. */
export interface Actor {
  type: 'admin' | 'user' | 'operator' | 'system';
  id: string | null;
  /** The API key an admin used, when the change came through one. */
  apiKeyId?: string;
}

/** The calling principal inside one organization. Every core service call takes one. */
export interface Context {
  readonly orgId: OrgId;
  readonly actor: Actor;
  readonly origin: Origin;
  readonly role: RoleName | null;
  readonly permissions: ReadonlySet<Permission>;
  /** True when the principal used a read-only API key; turns 403 messages into a clear reason. */
  readonly readOnlyKey: boolean;
  /** Every organization the principal may select (an administrator's linked orgs). */
  readonly orgIds: readonly OrgId[];
}

export function requirePermission(ctx: Context, permission: Permission): void {
  if (ctx.permissions.has(permission)) return;
  if (ctx.readOnlyKey && !permission.endsWith(':read')) {
    throw forbidden('API_KEY_READ_ONLY', 'This API key is read-only; it cannot make changes');
  }
  throw forbidden(
    'PERMISSION_DENIED',
    `The role ${ctx.role ?? 'of this principal'} does not allow this: ${PERMISSIONS[permission].toLowerCase()}`,
  );
}

const EVERYTHING = new Set(Object.keys(PERMISSIONS) as Permission[]);

/** A local operator (CLI on the server, first-run bootstrap): full rights within one org. */
export function operatorContext(orgId: OrgId, origin: Origin = 'cli'): Context {
  return {
    orgId,
    actor: { type: 'operator', id: null },
    origin,
    role: null,
    permissions: EVERYTHING,
    readOnlyKey: false,
    orgIds: [orgId],
  };
}

/**
 * A directory that pushes into the org (a SCIM source): it reads and writes users and groups,
 * never administrators, settings or resources. Journaled as the system with the directory's id.
 */
export function directoryContext(orgId: OrgId, directoryId: string, origin: Origin): Context {
  return {
    orgId,
    actor: { type: 'system', id: directoryId },
    origin,
    role: null,
    permissions: new Set<Permission>(['users:read', 'users:write', 'users:delete', 'groups:read', 'groups:write']),
    readOnlyKey: false,
    orgIds: [orgId],
  };
}

/**
 * A user acting on their own account (enrolling a second factor at sign-in, in the user portal).
 * The caller has established who the user is and passes only that user's id to the services;
 * the journal names the user as the actor.
 */
export function selfContext(user: { orgId: OrgId; id: string }, origin: Origin): Context {
  return {
    orgId: user.orgId,
    actor: { type: 'user', id: user.id },
    origin,
    role: null,
    permissions: new Set<Permission>(['users:read', 'users:write']),
    readOnlyKey: false,
    orgIds: [user.orgId],
  };
}

/** The system itself acting on a user (lockout counters, scheduled expiry). */
export function systemContext(orgId: OrgId, origin: Origin): Context {
  return { ...operatorContext(orgId, origin), actor: { type: 'system', id: null } };
}

import type { DirectoryView } from '../../core/services/directory-view.js';
import type { GroupId, UserId } from '../../core/ids.js';
import type { Application, ProvisionedKind, ProvisionedObject, ProvisioningConfig, User, UserGroup } from '../../core/model.js';
import { digestOf, groupPayload, userPayload } from './payload.js';

type Json = Record<string, unknown>;

export interface DesiredUser {
  user: User;
  payload: Json;
  digest: string;
}

export interface DesiredGroup {
  group: UserGroup;
  payload: Json;
  /** Local ids of the users the group should hold in the application. */
  members: UserId[];
  digest: string;
}

/** What the application should hold: its users (staged ones are not pushed) and its associated groups. */
export interface DesiredState {
  users: Map<string, DesiredUser>;
  groups: Map<string, DesiredGroup>;
}

export type PlannedAction = 'create' | 'update' | 'deactivate' | 'delete';

export interface PlannedOperation {
  kind: ProvisionedKind;
  localId: string;
  name: string;
  action: PlannedAction;
  /** Why, in words an admin reads in the dry-run plan. */
  reason: string;
  /** The attributes as they should be written (absent for delete). */
  payload?: Json;
  /** Groups: members to add and remove, as local user ids. */
  members?: { add: string[]; remove: string[]; all: string[] };
  record?: ProvisionedObject;
  digest?: string;
}

export interface Plan {
  users: PlannedOperation[];
  groups: PlannedOperation[];
}

/** Roles each user gets from the group → role mapping, through nested groups too. */
function rolesOf(view: DirectoryView<Application>, userId: UserId, config: ProvisioningConfig): string[] {
  if (config.roleMappings.length === 0) return [];
  const groups = view.groupsOf(userId);
  return [...new Set(config.roleMappings.filter((m) => groups.has(m.groupId as GroupId)).map((m) => m.role))].sort();
}

/**
 * Desired users already computed, by user object: a view keeps the same object for a user until
 * the user changes, so only changed users (or changed roles) are computed again.
 */
export type DesiredUsers = WeakMap<User, { roles: string; desired: DesiredUser }>;

export function desiredState(view: DirectoryView<Application>, config: ProvisioningConfig, known?: DesiredUsers): DesiredState {
  const users = new Map<string, DesiredUser>();
  for (const user of view.users.values()) {
    if (user.state === 'STAGED') continue;
    const roles = rolesOf(view, user.id, config);
    const key = roles.join('\n');
    const cached = known?.get(user);
    if (cached && cached.roles === key) {
      users.set(user.id, cached.desired);
      continue;
    }
    const payload = userPayload(user, roles);
    const desired = { user, payload, digest: digestOf(payload) };
    known?.set(user, { roles: key, desired });
    users.set(user.id, desired);
  }
  const groups = new Map<string, DesiredGroup>();
  if (config.groups) {
    const members = new Map<GroupId, UserId[]>();
    for (const id of users.keys()) {
      for (const g of view.groupsOf(id as UserId)) {
        if (!view.associatedGroups.has(g)) continue;
        const list = members.get(g);
        if (list) list.push(id as UserId);
        else members.set(g, [id as UserId]);
      }
    }
    for (const id of view.associatedGroups) {
      const group = view.groups.get(id);
      if (!group) continue;
      const payload = groupPayload(group);
      const list = (members.get(id) ?? []).sort();
      groups.set(id, { group, payload, members: list, digest: digestOf({ payload, members: list }) });
    }
  }
  return { users, groups };
}

const changedAttributes = (before: Json | null, after: Json) =>
  Object.keys({ ...before, ...after }).filter((k) => k !== 'schemas' && digestOf(before?.[k]) !== digestOf(after[k]));

/**
 * The operations that bring the application from what was recorded to the desired state. A
 * record with an error is planned again even when nothing changed, so failures are retried.
 */
export function planChanges(desired: DesiredState, records: readonly ProvisionedObject[], config: ProvisioningConfig): Plan {
  const byKey = new Map(records.map((r) => [`${r.objectType}:${r.localId}`, r]));
  const users: PlannedOperation[] = [];
  for (const [id, d] of desired.users) {
    const record = byKey.get(`user:${id}`);
    const base = { kind: 'user' as const, localId: id, name: d.user.username, payload: d.payload, digest: d.digest, ...(record ? { record } : {}) };
    if (!record || record.remoteId === null || record.state === 'deleted') {
      users.push({ ...base, action: 'create', reason: record?.state === 'deleted' ? 'associated again after being deleted in the application' : 'associated with the application' });
    } else if (record.digest !== d.digest || record.error !== null) {
      const wasActive = record.written?.active !== false;
      const deactivate = d.payload.active === false && wasActive;
      const changed = changedAttributes(record.written, d.payload);
      users.push({
        ...base,
        action: deactivate ? 'deactivate' : 'update',
        reason: deactivate
          ? 'suspended in Roster'
          : changed.length > 0
            ? `${d.payload.active === true && !wasActive ? 'active again; ' : ''}changed: ${changed.join(', ')}`
            : 'retrying after an error',
      });
    }
  }
  for (const record of records) {
    if (record.objectType !== 'user' || desired.users.has(record.localId) || record.remoteId === null || record.state === 'deleted') continue;
    if (config.deprovision === 'delete') users.push({ kind: 'user', localId: record.localId, name: record.name, action: 'delete', reason: 'no longer associated (or deleted in Roster); the policy deletes', record });
    else if (record.state === 'active' || record.error !== null) {
      users.push({ kind: 'user', localId: record.localId, name: record.name, action: 'deactivate', reason: 'no longer associated (or deleted in Roster)', record });
    }
  }

  const groups: PlannedOperation[] = [];
  for (const [id, d] of desired.groups) {
    const record = byKey.get(`group:${id}`);
    const written = new Set(((record?.written?.members as string[] | undefined) ?? []).map(String));
    const want = new Set<string>(d.members);
    const members = { add: d.members.filter((m) => !written.has(m)), remove: [...written].filter((m) => !want.has(m)), all: d.members };
    const base = { kind: 'group' as const, localId: id, name: d.group.name, payload: d.payload, digest: d.digest, members, ...(record ? { record } : {}) };
    if (!record || record.remoteId === null || record.state === 'deleted') groups.push({ ...base, action: 'create', reason: 'associated with the application' });
    else if (record.digest !== d.digest || record.error !== null) {
      const parts = [
        ...(record.written?.displayName !== d.payload.displayName ? ['renamed'] : []),
        ...(members.add.length > 0 ? [`${members.add.length} member(s) to add`] : []),
        ...(members.remove.length > 0 ? [`${members.remove.length} member(s) to remove`] : []),
      ];
      groups.push({ ...base, action: 'update', reason: parts.length > 0 ? parts.join(', ') : 'retrying after an error' });
    }
  }
  for (const record of records) {
    if (record.objectType !== 'group' || desired.groups.has(record.localId) || record.remoteId === null || record.state === 'deleted') continue;
    groups.push({ kind: 'group', localId: record.localId, name: record.name, action: 'delete', reason: 'no longer associated with the application', record });
  }
  return { users, groups };
}

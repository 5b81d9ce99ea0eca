import type { admin_directory_v1 } from '@googleapis/admin';
import type { SourceObject } from '../../core/services/directory-sync.js';
import { isSyncError, SyncError } from '../../sync/errors.js';
import { mapPool } from '../../sync/pool.js';
import type { CloudRead } from '../../sync/cloud-connector.js';
import { userAttributes } from './attributes.js';
import type { DirectoryClient } from './client.js';

export interface ReadScope {
  customer: string;
  orgUnitPath: string | null;
  groupEmail: string | null;
  importGroups: boolean;
}

/** Groups whose members are listed at once (each list is a few calls under the per-user quota). */
const MEMBER_LISTS_IN_FLIGHT = 4;

/** Every page of a list: `fetch` gets one page from a page token. */
async function allPages<T>(fetch: (pageToken: string | undefined) => Promise<{ items: T[] | undefined; next: string | null | undefined }>): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    out.push(...(page.items ?? []));
    token = page.next ?? undefined;
  } while (token);
  return out;
}

const listMembers = (client: DirectoryClient, groupKey: string, derived: boolean) =>
  allPages(async (pageToken) => {
    const data = await client.call(() => client.api.members.list({ groupKey, maxResults: 200, pageToken, includeDerivedMembership: derived }));
    return { items: data.members, next: data.nextPageToken };
  });

/** The ids of the users in the scope group, nested groups' members included. */
async function usersInGroup(client: DirectoryClient, groupEmail: string): Promise<Set<string>> {
  try {
    const members = await listMembers(client, groupEmail, true);
    return new Set(members.filter((m) => m.type === 'USER' && m.id).map((m) => m.id!));
  } catch (e) {
    if (isSyncError(e, 'not_found')) throw new SyncError('stop', `the scope group ${groupEmail} does not exist in Google Workspace`, 404);
    throw e;
  }
}

/**
 * A full read of the scope (Google has no change feed without a public webhook): the users —
 * those under the org unit (Google's orgUnitPath query includes the org units below it) and in
 * the scope group, nested included — then every group with its direct members in the scope.
 */
export async function readDirectory(client: DirectoryClient, scope: ReadScope): Promise<CloudRead> {
  const inGroup = scope.groupEmail ? await usersInGroup(client, scope.groupEmail) : undefined;
  const query = scope.orgUnitPath ? `orgUnitPath='${scope.orgUnitPath.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'` : undefined;
  const users = (
    await allPages(async (pageToken) => {
      const data = await client.call(() => client.api.users.list({ customer: scope.customer, maxResults: 500, pageToken, projection: 'full', ...(query ? { query } : {}) }));
      return { items: data.users, next: data.nextPageToken };
    })
  ).filter((u) => u.id && (!inGroup || inGroup.has(u.id)));

  const objects: SourceObject[] = users.map((u) => ({
    kind: 'user',
    externalId: u.id!,
    attributes: userAttributes(u),
    present: true,
    disabled: u.suspended === true,
    privileged: u.isAdmin === true || u.isDelegatedAdmin === true,
    changedAt: undefined,
  }));
  const userIds = new Set(users.map((u) => u.id!));
  if (!scope.importGroups) return { mode: 'full', objects, seen: { users: [...userIds], groups: [] }, cursor: null };

  const groups = (
    await allPages(async (pageToken) => {
      const data = await client.call(() => client.api.groups.list({ customer: scope.customer, maxResults: 200, pageToken }));
      return { items: data.groups, next: data.nextPageToken };
    })
  ).filter((g): g is admin_directory_v1.Schema$Group & { id: string } => typeof g.id === 'string');
  const groupIds = new Set(groups.map((g) => g.id));
  const memberLists = await mapPool(groups, MEMBER_LISTS_IN_FLIGHT, (g) => listMembers(client, g.id, false));

  const seenGroups: string[] = [];
  groups.forEach((g, i) => {
    const result = memberLists[i]!;
    if (result.status === 'rejected') {
      // Deleted between the list and its members: it is not there any more.
      if (isSyncError(result.reason, 'not_found')) return;
      throw result.reason;
    }
    const members: NonNullable<SourceObject['members']> = [];
    for (const m of result.value) {
      if (!m.id) continue;
      if (m.type === 'USER' && userIds.has(m.id)) members.push({ kind: 'user', externalId: m.id });
      else if (m.type === 'GROUP' && groupIds.has(m.id)) members.push({ kind: 'user_group', externalId: m.id });
    }
    const attributes: Record<string, string[]> = {};
    for (const [k, v] of Object.entries({ name: g.name, email: g.email, description: g.description })) if (v) attributes[k] = [v];
    objects.push({ kind: 'user_group', externalId: g.id, attributes, present: true, members });
    seenGroups.push(g.id);
  });
  return { mode: 'full', objects, seen: { users: [...userIds], groups: seenGroups }, cursor: null };
}

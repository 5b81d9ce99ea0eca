import type { SourceObject } from '../../core/services/directory-sync.js';
import { SyncError } from '../../sync/errors.js';
import { mapPool } from '../../sync/pool.js';
import type { CloudRead } from '../../sync/cloud-connector.js';
import { GROUP_SELECT, USER_SELECT, groupAttributes, isImportedGroup, userAttributes, type GraphGroup, type GraphUser } from './attributes.js';
import { isDeltaExpired, isGraphError } from './errors.js';
import { list, type Graph, type Page } from './graph-client.js';

const CONCURRENCY = 8;
const USER_TYPE = '#microsoft.graph.user';
const GROUP_TYPE = '#microsoft.graph.group';

type Removable = { '@removed'?: { reason?: string } };
type DirectoryObject = { id: string; '@odata.type'?: string; groupTypes?: string[] | null; securityEnabled?: boolean | null };

/** Where the next incremental read starts: the two delta links. */
interface Cursor {
  users: string;
  groups: string;
}

function parseCursor(cursor: string | null): Cursor | undefined {
  if (!cursor) return undefined;
  try {
    const c = JSON.parse(cursor) as Partial<Cursor>;
    return typeof c.users === 'string' && typeof c.groups === 'string' ? { users: c.users, groups: c.groups } : undefined;
  } catch {
    return undefined;
  }
}

/** One delta round: every page until the @odata.deltaLink (https://learn.microsoft.com/en-us/graph/delta-query-overview). */
async function deltaRound<T>(graph: Graph, call: string, url: string): Promise<{ items: T[]; deltaLink: string }> {
  const items: T[] = [];
  for (let next = url; ; ) {
    const page: Page<T> = await graph.get<Page<T>>(call, next);
    items.push(...page.value);
    if (page['@odata.nextLink']) next = page['@odata.nextLink'];
    else if (page['@odata.deltaLink']) return { items, deltaLink: page['@odata.deltaLink'] };
    else throw new SyncError('transient', `${call}: Graph ended a delta round without a nextLink or deltaLink`);
  }
}

/** The users holding a directory role (https://learn.microsoft.com/en-us/graph/api/directoryrole-list-members): privileged, never managed. */
async function privilegedUsers(graph: Graph): Promise<Set<string>> {
  const roles = await list<{ id: string }>(graph, 'GET /directoryRoles', '/directoryRoles?$select=id');
  const out = new Set<string>();
  const results = await mapPool(roles, 4, (role) => list<DirectoryObject>(graph, 'GET /directoryRoles/{id}/members', `/directoryRoles/${role.id}/members?$select=id`));
  for (const r of results) {
    if (r.status === 'rejected') throw r.reason;
    for (const m of r.value) if (m['@odata.type'] === USER_TYPE) out.add(m.id);
  }
  return out;
}

const removed = (externalId: string, kind: 'user' | 'user_group'): SourceObject => ({ kind, externalId, attributes: {}, present: false, gone: 'deleted' });

function userObject(u: GraphUser, privileged: Set<string>): SourceObject {
  return { kind: 'user', externalId: u.id, attributes: userAttributes(u), present: true, disabled: u.accountEnabled === false, privileged: privileged.has(u.id) };
}

/** Which members a group's SourceObject keeps: users in the scope, and groups Roster imports. */
interface MemberScope {
  users?: Set<string>;
  groups?: Set<string>;
}

/**
 * Each group with its full list of direct members (GET /groups/{id}/members, paged): groups/delta
 * tells which groups changed, members@delta only what changed in them. A group gone meanwhile is
 * reported deleted.
 */
async function groupObjects(graph: Graph, groups: GraphGroup[], scope: MemberScope): Promise<SourceObject[]> {
  const results = await mapPool(groups, CONCURRENCY, async (g): Promise<SourceObject> => {
    let members: DirectoryObject[];
    try {
      // groupTypes and securityEnabled tell a nested distribution list, which is not imported.
      members = await list<DirectoryObject>(graph, 'GET /groups/{id}/members', `/groups/${g.id}/members?$select=id,groupTypes,securityEnabled&$top=999`);
    } catch (e) {
      if (isGraphError(e, 404)) return removed(g.id, 'user_group');
      throw e;
    }
    const kept: { kind: 'user' | 'user_group'; externalId: string }[] = [];
    for (const m of members) {
      if (m['@odata.type'] === USER_TYPE && (!scope.users || scope.users.has(m.id))) kept.push({ kind: 'user', externalId: m.id });
      else if (m['@odata.type'] === GROUP_TYPE && isImportedGroup(m) && (!scope.groups || scope.groups.has(m.id))) kept.push({ kind: 'user_group', externalId: m.id });
    }
    return { kind: 'user_group', externalId: g.id, attributes: groupAttributes(g), present: true, members: kept };
  });
  return results.map((r) => {
    if (r.status === 'rejected') throw r.reason;
    return r.value;
  });
}

/** The groups of a delta round, one entry per group (Graph may repeat a group across pages). */
function latestById<T extends { id: string }>(items: T[]): T[] {
  return [...new Map(items.map((i) => [i.id, i])).values()];
}

const USERS_DELTA = `/users/delta?$select=${USER_SELECT}`;
// members in $select: membership changes put the group in the next round (members@delta).
const GROUPS_DELTA = `/groups/delta?$select=${GROUP_SELECT},members`;

async function fullRead(graph: Graph, privileged: Set<string>): Promise<CloudRead> {
  const [users, groups] = await Promise.all([deltaRound<GraphUser>(graph, 'GET /users/delta', USERS_DELTA), deltaRound<GraphGroup>(graph, 'GET /groups/delta', GROUPS_DELTA)]);
  const imported = latestById(groups.items).filter(isImportedGroup);
  const userList = latestById(users.items);
  const userIds = userList.map((u) => u.id);
  const groupObjectsRead = await groupObjects(graph, imported, { users: new Set(userIds), groups: new Set(imported.map((g) => g.id)) });
  const present = groupObjectsRead.filter((g) => g.present);
  return {
    mode: 'full',
    objects: [...userList.map((u) => userObject(u, privileged)), ...present],
    seen: { users: userIds, groups: present.map((g) => g.externalId) },
    cursor: JSON.stringify({ users: users.deltaLink, groups: groups.deltaLink } satisfies Cursor),
  };
}

async function incrementalRead(graph: Graph, privileged: Set<string>, cursor: Cursor): Promise<CloudRead> {
  const [users, groups] = await Promise.all([
    deltaRound<GraphUser & Removable>(graph, 'GET /users/delta', cursor.users),
    deltaRound<GraphGroup & Removable>(graph, 'GET /groups/delta', cursor.groups),
  ]);
  const objects: SourceObject[] = [];
  for (const u of latestById(users.items)) objects.push(u['@removed'] ? removed(u.id, 'user') : userObject(u, privileged));
  const changed: GraphGroup[] = [];
  for (const g of latestById(groups.items)) {
    if (g['@removed']) objects.push(removed(g.id, 'user_group'));
    else if (isImportedGroup(g)) changed.push(g);
  }
  objects.push(...(await groupObjects(graph, changed, {})));
  return { mode: 'incremental', objects, cursor: JSON.stringify({ users: users.deltaLink, groups: groups.deltaLink } satisfies Cursor) };
}

/** With a scope group: its transitive members are the users (https://learn.microsoft.com/en-us/graph/api/group-list-transitivemembers), read in full each time. */
async function scopedRead(graph: Graph, privileged: Set<string>, scopeGroupId: string): Promise<CloudRead> {
  let members: (GraphUser & { '@odata.type'?: string })[];
  try {
    members = await list(graph, 'GET /groups/{id}/transitiveMembers', `/groups/${encodeURIComponent(scopeGroupId)}/transitiveMembers?$select=${USER_SELECT}&$top=999`);
  } catch (e) {
    if (isGraphError(e, 404)) throw new SyncError('stop', `the scope group ${scopeGroupId} is not in the tenant`, 404);
    throw e;
  }
  const users = latestById(members.filter((m) => m['@odata.type'] === USER_TYPE));
  const groups = (await list<GraphGroup>(graph, 'GET /groups', `/groups?$select=${GROUP_SELECT}&$top=999`)).filter(isImportedGroup);
  const userIds = users.map((u) => u.id);
  const read = (await groupObjects(graph, groups, { users: new Set(userIds), groups: new Set(groups.map((g) => g.id)) })).filter((g) => g.present);
  return {
    mode: 'full',
    objects: [...users.map((u) => userObject(u, privileged)), ...read],
    seen: { users: userIds, groups: read.map((g) => g.externalId) },
    cursor: null,
  };
}

/**
 * Reads the tenant: from the stored delta links when there are some (incremental), else, or when
 * Graph no longer honours them, everything (full). Directory roles are read once per read.
 */
export async function readTenant(graph: Graph, scopeGroupId: string | null, cursor: string | null): Promise<CloudRead> {
  const privileged = await privilegedUsers(graph);
  if (scopeGroupId) return scopedRead(graph, privileged, scopeGroupId);
  const links = parseCursor(cursor);
  if (links) {
    try {
      return await incrementalRead(graph, privileged, links);
    } catch (e) {
      if (!isDeltaExpired(e)) throw e;
    }
  }
  return fullRead(graph, privileged);
}

import { randomBytes } from 'node:crypto';
import type { ExportOp, ExportOutcome } from '../../core/services/directory-export.js';
import { isSyncError, SyncError } from '../../sync/errors.js';
import { mapPool } from '../../sync/pool.js';
import type { ApplyOptions } from '../../sync/cloud-connector.js';
import { domainFor, mailNicknameOf, randomPassword, userCreateProperties, userPatch, type GraphGroup, type GraphUser } from './attributes.js';
import { isGraphError, reasonOf } from './errors.js';
import { list, type Graph } from './graph-client.js';

/** What the connection says about the objects Roster creates. */
export interface WriteSettings {
  domain: string;
  domainMap: Record<string, string>;
  usageLocation: string | null;
  groupType: 'security' | 'microsoft365';
}

type Op<K extends ExportOp['op']> = Extract<ExportOp, { op: K }>;

// Graph's own messages for these refusals (https://learn.microsoft.com/en-us/graph/api/user-post-users,
// group-post-members); a Microsoft 365 group's alias clash may name proxyAddresses instead of mailNickname.
const UPN_TAKEN = /Another object with the same value for property userPrincipalName already exists/i;
const NICKNAME_TAKEN = /Another object with the same value for property (mailNickname|proxyAddresses) already exists/i;
const MEMBER_EXISTS = /One or more added object references already exist/i;
const DIRECTORY_ROLE = '#microsoft.graph.directoryRole';
const MEMBER_CONCURRENCY = 4;

const passwordProfile = (password: string) => ({ password, forceChangePasswordNextSignIn: false });

/**
 * Creates the user. Graph refusing the principal name as taken means the account is there already
 * (an unlinked account, or this create whose answer was lost and which withRetry sent again): it is
 * taken over unless it holds a directory role, so that nothing is created twice.
 */
async function createUser(graph: Graph, s: WriteSettings, op: Op<'create_user'>, options: ApplyOptions): Promise<ExportOutcome> {
  const a = op.attributes;
  const username = a.username ?? op.name;
  const upn = `${username}@${domainFor(a.mail, s.domain, s.domainMap)}`;
  const body: Record<string, unknown> = {
    ...(s.usageLocation ? { usageLocation: s.usageLocation } : {}),
    ...userCreateProperties(a),
    accountEnabled: !op.disabled,
    displayName: a.displayname || [a.givenname, a.surname].filter(Boolean).join(' ') || op.name,
    mailNickname: mailNicknameOf(username),
    userPrincipalName: upn,
    passwordProfile: passwordProfile(options.password ?? randomPassword()),
  };
  try {
    const created = await graph.post<GraphUser>('POST /users', '/users', body);
    return { op, ok: true, externalId: created.id, disabled: op.disabled, passwordSet: options.password !== undefined };
  } catch (e) {
    if (!isGraphError(e, 400, UPN_TAKEN)) throw e;
  }
  return takeOverUser(graph, op, upn, options);
}

async function takeOverUser(graph: Graph, op: Op<'create_user'>, upn: string, options: ApplyOptions): Promise<ExportOutcome> {
  const user = await graph.get<GraphUser>('GET /users/{upn}', `/users/${encodeURIComponent(upn)}?$select=id,accountEnabled`);
  const memberOf = await list<{ '@odata.type'?: string }>(graph, 'GET /users/{id}/memberOf', `/users/${user.id}/memberOf?$select=id`);
  if (memberOf.some((m) => m['@odata.type'] === DIRECTORY_ROLE)) return { op, ok: false, error: `${upn} exists and is an administrator (holds a directory role): never managed` };
  const patch: Record<string, unknown> = { ...userCreateProperties(op.attributes) };
  if (options.password !== undefined) patch.passwordProfile = passwordProfile(options.password);
  if (Object.keys(patch).length > 0) await graph.patch('PATCH /users/{id}', `/users/${user.id}`, patch);
  // An account taken over keeps its state.
  return { op, ok: true, externalId: user.id, disabled: user.accountEnabled === false, passwordSet: options.password !== undefined };
}

async function updateUser(graph: Graph, op: Op<'update_user'>): Promise<ExportOutcome> {
  const patch: Record<string, unknown> = userPatch(op.changes);
  if (op.disabled !== undefined) patch.accountEnabled = !op.disabled;
  if (Object.keys(patch).length === 0) return { op, ok: true };
  try {
    await graph.patch('PATCH /users/{id}', `/users/${op.externalId}`, patch);
    return { op, ok: true };
  } catch (e) {
    if (!isGraphError(e, 404)) throw e;
    // Disabling the account of a user deleted in Roster: one already gone is as good.
    return op.deletedInRoster ? { op, ok: true, gone: true } : { op, ok: false, gone: true, error: reasonOf(e) };
  }
}

async function deleteUser(graph: Graph, op: Op<'delete_user'>): Promise<ExportOutcome> {
  try {
    await graph.delete('DELETE /users/{id}', `/users/${op.externalId}`);
  } catch (e) {
    if (!isGraphError(e, 404)) throw e;
  }
  return { op, ok: true, deleted: true };
}

/**
 * A group Graph created though its answer was lost: Graph allows the same display name twice, so
 * before sending the create again, look for the nickname this create used, made since it started.
 */
async function findCreatedGroup(graph: Graph, name: string, nickname: string, since: number): Promise<GraphGroup | undefined> {
  const found = await list<GraphGroup & { createdDateTime?: string }>(graph, 'GET /groups', `/groups?$filter=mailNickname eq '${nickname}'&$select=id,displayName,createdDateTime`);
  // Five minutes' leeway for the clocks of Roster and Microsoft.
  return found.find((g) => g.displayName === name && Date.parse(g.createdDateTime ?? '') >= since - 300_000);
}

async function createGroup(graph: Graph, s: WriteSettings, op: Op<'create_group'>): Promise<ExportOutcome> {
  const kind = s.groupType === 'microsoft365' ? { groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false } : { groupTypes: [], mailEnabled: false, securityEnabled: true };
  const description = op.attributes.description;
  const started = Date.now();
  let nickname = mailNicknameOf(op.name, 'group');
  for (let attempt = 0; ; attempt++) {
    const body = { displayName: op.name, mailNickname: nickname, ...kind, ...(description ? { description } : {}) };
    const tried = nickname;
    try {
      const created = await graph.post<GraphGroup>('POST /groups', '/groups', body, { beforeRetry: () => findCreatedGroup(graph, op.name, tried, started) });
      return { op, ok: true, externalId: created.id };
    } catch (e) {
      // Microsoft 365 groups need a unique alias: another with a short suffix.
      if (attempt >= 2 || !isGraphError(e, 400, NICKNAME_TAKEN)) throw e;
      nickname = `${nickname.slice(0, 59)}-${randomBytes(2).toString('hex')}`;
    }
  }
}

async function updateGroup(graph: Graph, op: Op<'update_group'>): Promise<ExportOutcome> {
  const id = op.externalId;
  const patch: Record<string, string | null> = {};
  const name = op.changes.name ?? op.changes.displayname;
  if (name) patch.displayName = name;
  if ('description' in op.changes) patch.description = op.changes.description || null;
  if (Object.keys(patch).length > 0) {
    try {
      await graph.patch('PATCH /groups/{id}', `/groups/${id}`, patch);
    } catch (e) {
      if (isGraphError(e, 404)) return { op, ok: false, gone: true, error: reasonOf(e) };
      throw e;
    }
  }
  // Graph's 404 names the resource it did not find: the group itself, or the member.
  const groupGone = (e: unknown) => isGraphError(e, 404) && e.reason.includes(id);
  const adds = await mapPool(op.add, MEMBER_CONCURRENCY, async (member) => {
    try {
      await graph.post('POST /groups/{id}/members/$ref', `/groups/${id}/members/$ref`, { '@odata.id': `${graph.baseUrl}/v1.0/directoryObjects/${member}` });
    } catch (e) {
      if (!isGraphError(e, 400, MEMBER_EXISTS)) throw e;
    }
  });
  const removes = await mapPool(op.remove, MEMBER_CONCURRENCY, async (member) => {
    try {
      await graph.delete('DELETE /groups/{id}/members/{id}/$ref', `/groups/${id}/members/${member}/$ref`);
    } catch (e) {
      if (!isGraphError(e, 404) || groupGone(e)) throw e;
    }
  });
  const problems: string[] = [];
  let gone = false;
  const collect = (results: PromiseSettledResult<void>[], members: string[], verb: string) =>
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') return;
      if (isSyncError(r.reason, 'stop')) throw r.reason;
      if (groupGone(r.reason)) gone = true;
      else problems.push(`${verb} ${members[i]}: ${reasonOf(r.reason)}`);
    });
  collect(adds, op.add, 'adding');
  collect(removes, op.remove, 'removing');
  if (gone) return { op, ok: false, gone: true, error: `the group ${id} is not in the tenant` };
  return problems.length > 0 ? { op, ok: false, error: problems.join('; ') } : { op, ok: true };
}

/** Carries out one export operation; Graph refusing it is an outcome, only `stop` throws. */
export async function applyOp(graph: Graph, s: WriteSettings, op: ExportOp, options: ApplyOptions = {}): Promise<ExportOutcome> {
  try {
    switch (op.op) {
      case 'create_user':
        return await createUser(graph, s, op, options);
      case 'update_user':
        return await updateUser(graph, op);
      case 'delete_user':
        return await deleteUser(graph, op);
      case 'create_group':
        return await createGroup(graph, s, op);
      case 'update_group':
        return await updateGroup(graph, op);
    }
  } catch (e) {
    if (isSyncError(e, 'stop')) throw e;
    return { op, ok: false, error: reasonOf(e), ...(isGraphError(e, 404) ? { gone: true } : {}) };
  }
}

/** Sets the password (https://learn.microsoft.com/en-us/graph/api/user-update); Graph's policy refusal is `bad_request` with its message. */
export async function setPassword(graph: Graph, externalId: string, password: string): Promise<void> {
  try {
    await graph.patch('PATCH /users/{id} passwordProfile', `/users/${externalId}`, { passwordProfile: passwordProfile(password) });
  } catch (e) {
    if (isGraphError(e, 404)) throw new SyncError('not_found', `no account ${externalId} in the tenant: ${e.reason}`, 404);
    if (isGraphError(e) && e.kind === 'bad_request') throw new SyncError('bad_request', e.reason, e.status);
    throw e;
  }
}

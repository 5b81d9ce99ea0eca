import type { Context } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import { isDirectoryError } from '../core/errors.js';
import type { DirectoryId } from '../core/ids.js';
import type { Membership, User, UserGroup } from '../core/model.js';
import { ALL_ROWS, type Filter as CoreFilter, type ListQuery, type ListResult } from '../core/query.js';
import type { VersionedObject } from '../core/services/journal.js';
import { ScimFailure, scimInvalid } from './errors.js';
import type { Filter } from './filter.js';
import { fromScimGroup, memberNames, resolveMembers, scimGroupFilter, toScimGroup } from './groups.js';
import { isObject, type Json } from './json.js';
import { applyPatch } from './patch.js';
import { project, shows, type Projection } from './projection.js';
import type { ResourceTypeName } from './schemas.js';
import { listQueryFor, restrictFilter, sortFor, strangers, unknownSortBy, type SearchParams } from './search.js';
import { externalIdsOf, fromScimUser, linkChangeOf, resolveManager, scimUserFilter, toScimUser } from './users.js';
import { checkTypes } from './validate.js';
import { etagOf, namesTag } from './versions.js';

/**
 * The User and Group endpoints as plain functions of a call, shared by the HTTP routes and /Bulk
 * so that both apply the same checks: read, create, replace, patch, delete, list and search.
 */
export interface ScimCall {
  core: DirectoryCore;
  ctx: Context;
  /** The SCIM source the token speaks for. */
  directoryId: DirectoryId;
  baseUrl: string;
  projection: Projection;
  /** If-Match, or a bulk operation's version. */
  ifMatch?: string;
  ifNoneMatch?: string;
}

export interface ScimResult {
  status: number;
  body?: Json;
  etag?: string;
  /** The resource's URL: the Location of a 201, the Content-Location otherwise. */
  location?: string;
  id?: string;
}

export interface ListResponse {
  schemas: [typeof LIST_RESPONSE];
  totalResults: number;
  startIndex: number;
  itemsPerPage: number;
  Resources: Json[];
}

export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';

/** What differs between Users and Groups; the handlers below do the rest. */
export interface ResourceKind<T extends { id: string } = { id: string }> {
  type: ResourceTypeName;
  endpoint: 'Users' | 'Groups';
  objectType: VersionedObject;
  find(call: ScimCall, id: string): Promise<T>;
  list(call: ScimCall, query: ListQuery): Promise<ListResult<T>>;
  /** The full SCIM forms of a page, in order; a group's members only when `withMembers`. */
  render(call: ScimCall, items: readonly T[], withMembers: boolean): Promise<Json[]>;
  translate(call: ScimCall, filter: Filter): Promise<CoreFilter>;
  create(call: ScimCall, body: Json): Promise<string>;
  /** Stores a whole resource (PUT, or PATCH's result), only at `ifVersion` when given. */
  replace(call: ScimCall, id: string, body: Json, ifVersion: number | undefined): Promise<void>;
  remove(call: ScimCall, id: string, ifVersion: number | undefined): Promise<void>;
  /** A PATCH answers 200 with the resource, or 204: Entra ID expects 204 for groups. */
  patchStatus: 200 | 204;
}

const version = (ifVersion: number | undefined) => (ifVersion === undefined ? {} : { ifVersion });

export const USERS: ResourceKind<User> = {
  type: 'User',
  endpoint: 'Users',
  objectType: 'user',
  find: (call, id) => call.core.users.get(call.ctx, id),
  list: (call, query) => call.core.users.list(call.ctx, query),
  async render(call, users) {
    const linked = await externalIdsOf(call, 'user', users.map((u) => u.id));
    return users.map((user) => toScimUser(user, call.baseUrl, { externalId: linked.get(user.id) }));
  },
  translate: (call, filter) => scimUserFilter(call, filter),
  async create(call, body) {
    const input = await resolveManager(call, fromScimUser(body, false));
    if (!input.username) throw scimInvalid('invalidValue', 'userName is required');
    const link = linkChangeOf(call, body, false);
    return (await call.core.users.create(call.ctx, input, link ? { link } : {})).id;
  },
  async replace(call, id, body, ifVersion) {
    const input = await resolveManager(call, fromScimUser(body, true));
    await call.core.users.update(call.ctx, id, input, { ...version(ifVersion), link: linkChangeOf(call, body, true) });
  },
  async remove(call, id, ifVersion) {
    await call.core.users.delete(call.ctx, id, version(ifVersion));
  },
  patchStatus: 200,
};

export const GROUPS: ResourceKind<UserGroup> = {
  type: 'Group',
  endpoint: 'Groups',
  objectType: 'user_group',
  find: (call, id) => call.core.groups.get(call.ctx, id),
  list: (call, query) => call.core.groups.list(call.ctx, query),
  async render(call, groups, withMembers) {
    const linked = await externalIdsOf(call, 'user_group', groups.map((g) => g.id));
    const members = new Map<string, Membership[]>();
    if (withMembers) for (const group of groups) members.set(group.id, (await call.core.groups.members(call.ctx, group.id, ALL_ROWS)).items);
    const names = await memberNames(call, [...members.values()].flat());
    return groups.map((group) => toScimGroup(group, call.baseUrl, members.get(group.id), { externalId: linked.get(group.id), names }));
  },
  translate: (call, filter) => scimGroupFilter(call, filter),
  async create(call, body) {
    const { name, members } = fromScimGroup(body);
    if (!name) throw scimInvalid('invalidValue', 'displayName is required');
    const link = linkChangeOf(call, body, false);
    return (await call.core.groups.create(call.ctx, { name }, await resolveMembers(call, members ?? []), link ? { link } : {})).id;
  },
  async replace(call, id, body, ifVersion) {
    const { name, members } = fromScimGroup(body);
    const resolved = await resolveMembers(call, members ?? []);
    await call.core.groups.change(call.ctx, id, { ...(name ? { input: { name } } : {}), members: resolved, link: linkChangeOf(call, body, true), ...version(ifVersion) });
  },
  async remove(call, id, ifVersion) {
    await call.core.groups.delete(call.ctx, id, version(ifVersion));
  },
  patchStatus: 204,
};

export const KINDS: readonly ResourceKind[] = [USERS, GROUPS] as readonly ResourceKind[];

const locationOf = (call: ScimCall, kind: ResourceKind, id: string) => `${call.baseUrl}/${kind.endpoint}/${id}`;

const versionOf = async (call: ScimCall, kind: ResourceKind, id: string) =>
  (await call.core.journal.versions(call.ctx, kind.objectType, [id])).get(id) ?? 0;

const isVersionMismatch = (e: unknown) => isDirectoryError(e) && e.code === 'VERSION_MISMATCH';

/** The full form with the tag as meta.version (the mapping's own version is not the journal's). */
function withTag(resource: Json, etag: string): Json {
  if (isObject(resource.meta)) resource.meta = { ...resource.meta, version: etag };
  return resource;
}

/** Resources as the call's projection shows them, each with its tag. */
async function shown(call: ScimCall, kind: ResourceKind, items: readonly { id: string }[], etags: readonly string[]): Promise<Json[]> {
  const full = await kind.render(call, items, shows(call.projection, kind.type, 'members'));
  return full.map((resource, i) => project(withTag(resource, etags[i]!), kind.type, call.projection));
}

const fullForm = async (call: ScimCall, kind: ResourceKind, item: { id: string }, etag: string) => withTag((await kind.render(call, [item], true))[0]!, etag);

/** The resource as it is now. Its version is read first, so the tag is never newer than the body it goes with. */
async function current(call: ScimCall, kind: ResourceKind, id: string): Promise<{ item: { id: string }; etag: string; version: number }> {
  const version = await versionOf(call, kind, id);
  const item = await kind.find(call, id);
  return { item, etag: etagOf(version), version };
}

async function answer(call: ScimCall, kind: ResourceKind, id: string, status: number): Promise<ScimResult> {
  const { item, etag } = await current(call, kind, id);
  return { status, body: (await shown(call, kind, [item], [etag]))[0]!, etag, location: locationOf(call, kind, id), id };
}

const preconditionFailed = (header: string, etag: string) =>
  new ScimFailure(412, `The resource has changed: If-Match names ${header.trim()}, the resource is at ${etag}`);

/**
 * RFC 7644 §3.14 If-Match: the version a write must find (undefined: no If-Match, or `*`), or 412
 * when the header names another. A missing resource is 404 first, as SCIM clients expect.
 */
async function precondition(call: ScimCall, kind: ResourceKind, id: string): Promise<number | undefined> {
  if (call.ifMatch === undefined) return undefined;
  const { etag, version } = await current(call, kind, id);
  if (call.ifMatch.trim() === '*') return undefined;
  if (!namesTag(call.ifMatch, etag)) throw preconditionFailed(call.ifMatch, etag);
  return version;
}

function resourceBody(kind: ResourceKind, body: unknown): Json {
  if (!isObject(body)) throw scimInvalid('invalidSyntax', `The body must be a SCIM ${kind.type} object`);
  checkTypes(kind.type, body);
  return body;
}

/** GET /{Users,Groups}/{id}: 304 when If-None-Match names the current tag. */
export async function readResource(call: ScimCall, kind: ResourceKind, id: string): Promise<ScimResult> {
  const { item, etag } = await current(call, kind, id);
  if (call.ifNoneMatch !== undefined && namesTag(call.ifNoneMatch, etag)) return { status: 304, etag, location: locationOf(call, kind, id), id };
  return { status: 200, body: (await shown(call, kind, [item], [etag]))[0]!, etag, location: locationOf(call, kind, id), id };
}

export async function createResource(call: ScimCall, kind: ResourceKind, body: unknown): Promise<ScimResult> {
  const id = await kind.create(call, resourceBody(kind, body));
  return answer(call, kind, id, 201);
}

export async function replaceResource(call: ScimCall, kind: ResourceKind, id: string, body: unknown): Promise<ScimResult> {
  const resource = resourceBody(kind, body);
  await kind.replace(call, id, resource, await precondition(call, kind, id));
  return answer(call, kind, id, 200);
}

const PATCH_ATTEMPTS = 3;

/**
 * PATCH: the operations applied to the current form and stored with replace semantics, all of them
 * or none. The store is held to the version that was patched, so a change that lands in between is
 * never overwritten: with If-Match that is 412, without it the PATCH is applied again to the new
 * form (a few times, then 409).
 */
export async function patchResource(call: ScimCall, kind: ResourceKind, id: string, body: unknown): Promise<ScimResult> {
  const strict = call.ifMatch !== undefined && call.ifMatch.trim() !== '*';
  for (let attempt = 1; ; attempt++) {
    const { item, etag, version } = await current(call, kind, id);
    if (strict && !namesTag(call.ifMatch!, etag)) throw preconditionFailed(call.ifMatch!, etag);
    const patched = applyPatch(kind.type, await fullForm(call, kind, item, etag), body);
    checkTypes(kind.type, patched);
    try {
      await kind.replace(call, id, patched, version);
      break;
    } catch (e) {
      if (!isVersionMismatch(e) || strict) throw e;
      if (attempt >= PATCH_ATTEMPTS) throw new ScimFailure(409, 'The resource kept changing while the PATCH was being applied; send it again');
    }
  }
  if (kind.patchStatus === 204 && call.projection.mode === 'default') {
    return { status: 204, etag: etagOf(await versionOf(call, kind, id)), location: locationOf(call, kind, id), id };
  }
  // RFC 7644 §3.5.2: 200 with the resource, subject to `attributes`, when the client asks for some.
  return answer(call, kind, id, 200);
}

export async function deleteResource(call: ScimCall, kind: ResourceKind, id: string): Promise<ScimResult> {
  await kind.remove(call, id, await precondition(call, kind, id));
  return { status: 204, location: locationOf(call, kind, id), id };
}

/**
 * One page of a type, as shown. The tags come from versions read after the page, so a resource
 * changed while the page was read would carry a tag newer than its body: those are read again.
 */
async function page(call: ScimCall, kind: ResourceKind, query: ListQuery): Promise<{ total: number; resources: Json[] }> {
  const tagged = shows(call.projection, kind.type, 'meta');
  const head = tagged ? await call.core.journal.head(call.ctx, kind.objectType) : 0;
  const result = await kind.list(call, query);
  const versions = tagged ? await call.core.journal.versions(call.ctx, kind.objectType, result.items.map((i) => i.id)) : new Map<string, number>();
  const items: { id: string }[] = [];
  const etags: string[] = [];
  for (const item of result.items) {
    const version = versions.get(item.id) ?? 0;
    const now = version > head ? await current(call, kind, item.id).catch(() => undefined) : undefined;
    items.push(now?.item ?? item);
    etags.push(now?.etag ?? etagOf(version));
  }
  return { total: result.total, resources: await shown(call, kind, items, etags) };
}

const listResponse = (params: SearchParams, total: number, resources: Json[]): ListResponse => ({
  schemas: [LIST_RESPONSE],
  totalResults: total,
  startIndex: params.startIndex,
  itemsPerPage: resources.length,
  Resources: resources,
});

/** GET /Users, /Groups and POST …/.search. */
export async function listResources(call: ScimCall, kind: ResourceKind, params: SearchParams): Promise<ListResponse> {
  const query = listQueryFor(kind.type, params);
  if (params.filter) query.filter = await kind.translate(call, params.filter);
  const { total, resources } = await page(call, kind, query);
  return listResponse(params, total, resources);
}

/**
 * POST /.search (RFC 7644 §3.4.3): Users then Groups, one page across both, each type sorted by
 * sortBy where it has the attribute. An attribute of one type only is unassigned in the other.
 */
export async function searchAll(call: ScimCall, params: SearchParams): Promise<ListResponse> {
  const types = KINDS.map((k) => k.type);
  const unknown = params.filter ? strangers(params.filter, types) : [];
  if (unknown.length > 0) throw scimInvalid('invalidFilter', `Filtering on ${unknown[0]} is not supported: neither Users nor Groups have it`);
  if (params.sortBy && KINDS.every((k) => sortFor(k.type, params) === undefined)) throw unknownSortBy(params);
  let skip = params.startIndex - 1;
  let limit = params.count;
  let total = 0;
  const resources: Json[] = [];
  for (const kind of KINDS) {
    const filter = params.filter ? restrictFilter(params.filter, kind.type) : true;
    if (filter === false) continue;
    const query: ListQuery = { ...(filter === true ? {} : { filter: await kind.translate(call, filter) }), sort: sortFor(kind.type, params) ?? [], page: { limit, skip } };
    const found = await page(call, kind, query);
    total += found.total;
    resources.push(...found.resources);
    skip = Math.max(0, skip - found.total);
    limit -= found.resources.length;
  }
  return listResponse(params, total, resources);
}

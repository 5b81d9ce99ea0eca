/**
 * An independent SCIM 2.0 service provider for outbound-provisioning tests: the application Roster
 * pushes users and groups into. Built on scimmy (resources, schemas, PATCH, filters) and
 * scimmy-routers (the HTTP endpoints) with in-memory storage; nothing here comes from src/.
 *
 * scimmy keeps its configuration and declared resources in process-wide singletons, so the
 * resource handlers are declared once and find their peer through the routers' per-request
 * context, and everything that differs between peers (ServiceProviderConfig, PATCH support,
 * absolute locations) is decided in middleware in front of the routers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import { prng } from './random.js';

export const SCIM_BASE_PATH = '/scim/v2';
export const ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
const LIST_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const MAX_RESULTS = 200;

/** How a request picked by chaos fails: 429, 503 and 500 before anything is applied, or `lost`: applied, then answered 500. */
export type ChaosKind = 'throttled' | 'unavailable' | 'failed' | 'lost';

/** A third of the failures are 429, two thirds 5xx, and half of the 5xx are lost responses. */
export const DEFAULT_CHAOS_KINDS: readonly ChaosKind[] = ['throttled', 'throttled', 'unavailable', 'failed', 'lost', 'lost'];

export interface ChaosOptions {
  /** Fraction of (eligible) requests that fail, 0..1. */
  rate: number;
  /** Seed of the PRNG; the same seed and the same request sequence fail the same requests (1 unless given). */
  seed?: number;
  /** Retry-After of 429 and 503 answers (1 unless given). */
  retryAfterSeconds?: number;
  /** Drawn uniformly for each failing request; DEFAULT_CHAOS_KINDS unless given. */
  kinds?: readonly ChaosKind[];
  /** Only requests with these methods are eligible (all unless given). */
  methods?: readonly string[];
}

export interface ScimPeerOptions {
  /** The bearer token requests must carry (random unless given); a wrong or missing one is answered 401. */
  token?: string;
  /** true unless given; false: ServiceProviderConfig says unsupported and PATCH is answered 501. */
  patch?: boolean;
  /** true unless given; false: ServiceProviderConfig says unsupported and filtered lists are answered 501. */
  filter?: boolean;
  /** false unless given; true: POST /Bulk is served by scimmy (advertised with its limits). */
  bulk?: boolean;
  chaos?: ChaosOptions;
  /** Added before every request is handled. */
  latencyMs?: number;
}

export interface MultiValue {
  value: string;
  display?: string;
  type?: string;
  primary?: boolean;
}

export interface PeerMeta {
  created: string;
  lastModified: string;
  /** W/"n", n counting the changes. */
  version: string;
}

export interface EnterpriseUserExtension {
  employeeNumber?: string;
  costCenter?: string;
  organization?: string;
  division?: string;
  department?: string;
  manager?: { value?: string; displayName?: string };
}

/** What a client writes of a user. */
export interface UserAttributes {
  userName: string;
  externalId?: string;
  active?: boolean;
  displayName?: string;
  name?: { formatted?: string; givenName?: string; familyName?: string; middleName?: string };
  title?: string;
  emails?: MultiValue[];
  phoneNumbers?: MultiValue[];
  roles?: MultiValue[];
  /** Write-only: stored, never returned over HTTP. */
  password?: string;
  [ENTERPRISE_USER]?: EnterpriseUserExtension;
  [attribute: string]: unknown;
}

/** A user as the peer stores it (what GET returns, without `schemas` and locations). */
export interface PeerUser extends UserAttributes {
  id: string;
  /** Read-only, derived from the groups' members. */
  groups?: { value: string; display?: string; type?: string }[];
  meta: PeerMeta;
}

export interface GroupMember {
  /** The member user's id at this peer. */
  value: string;
  display?: string;
  type?: string;
}

/** What a client writes of a group. */
export interface GroupAttributes {
  displayName: string;
  externalId?: string;
  members?: GroupMember[];
  [attribute: string]: unknown;
}

export interface PeerGroup extends GroupAttributes {
  id: string;
  members: GroupMember[];
  meta: PeerMeta;
}

export interface PeerRequest {
  method: string;
  /** Relative to the base URL, e.g. /Users/ID, without the query. */
  path: string;
  /** The raw query string, '' when none. */
  query: string;
  /** 0 until answered. */
  status: number;
  /** Date.now() on arrival. */
  at: number;
  /** The parsed JSON body, when there was one. */
  body?: unknown;
  chaos?: ChaosKind;
}

export interface ScimPeer {
  /** http://127.0.0.1:PORT/scim/v2 */
  url: string;
  token: string;
  users(): PeerUser[];
  groups(): PeerGroup[];
  /** Creates a user or a group directly (pre-existing accounts in the application), bypassing HTTP, log and chaos. */
  createUser(user: UserAttributes): Promise<PeerUser>;
  createGroup(group: GroupAttributes): Promise<PeerGroup>;
  /** Every request in arrival order. */
  requests: PeerRequest[];
  counts(): { requests: number; chaos: number; byMethod: Record<string, number>; byStatus: Record<number, number> };
  /** How much the peer holds, without copying it (for polling a large peer). */
  sizes(): { users: number; groups: number; members: number };
  /** Replaces the chaos settings and restarts the PRNG; undefined stops it. */
  setChaos(chaos?: ChaosOptions): void;
  /** Empties the store and the request log (the chaos settings stay). */
  reset(): void;
  /** Resolves once `predicate` holds, polling; rejects after timeoutMs (5 s unless given). */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** A SCIM service provider on a loopback port of its own. */
export async function startScimPeer(options: ScimPeerOptions = {}): Promise<ScimPeer> {
  declareResources();
  const token = options.token ?? randomBytes(24).toString('base64url');
  const store = new PeerStore();
  const requests: PeerRequest[] = [];
  let chaos = chaosState(options.chaos);
  const features = { patch: options.patch ?? true, filter: options.filter ?? true, bulk: options.bulk ?? false };
  const authenticate = (req: Request): string => {
    if (req.get('authorization') !== `Bearer ${token}`) throw new Error('A valid bearer token is required');
    return 'scim-peer';
  };

  const app = express();
  app.disable('x-powered-by');
  // The peer does not do ETags; Express would otherwise add its own and answer 304.
  app.set('etag', false);
  app.set('query parser', parseQuery);
  const scim = express.Router();
  scim.use(
    (req, res, next) => logRequest(requests, req, res, next),
    async (_req, _res, next) => {
      if (options.latencyMs) await sleep(options.latencyMs);
      next();
    },
    (req, res, next) => rejectUnauthenticated(authenticate, req, res, next),
    express.json({ type: ['application/scim+json', 'application/json'] }),
    (req, res, next) => applyChaos(chaos, req, res, next),
    (req, res, next) => rewriteResponse(req, res, next),
    (req, res, next) => rejectUnsupported(features, req, res, next),
    (req, res, next) => serveServiceProviderConfig(features, req, res, next),
    (req, res, next) => serializeWrites(store, req, res, next),
  );
  // SCIMMYRouters appends an authentication scheme to scimmy's global config on every construction.
  SCIMMY.Config.set('authenticationSchemes', []);
  scim.use(new SCIMMYRouters({ type: 'bearer', handler: authenticate, context: () => store }));
  app.use(SCIM_BASE_PATH, scim);
  app.use(answerMalformed);

  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}${SCIM_BASE_PATH}`;

  return {
    url,
    token,
    users: () => store.listUsers(),
    groups: () => store.listGroups(),
    async createUser(user) {
      const created = await new SCIMMY.Resources.User().write({ schemas: userSchemas(user), ...user }, store);
      return store.user(created.id);
    },
    async createGroup(group) {
      const created = await new SCIMMY.Resources.Group().write({ schemas: [SCIMMY.Schemas.Group.id], ...group }, store);
      return store.group(created.id);
    },
    requests,
    counts() {
      const byMethod: Record<string, number> = {};
      const byStatus: Record<number, number> = {};
      for (const r of requests) {
        byMethod[r.method] = (byMethod[r.method] ?? 0) + 1;
        byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      }
      return { requests: requests.length, chaos: requests.filter((r) => r.chaos).length, byMethod, byStatus };
    },
    sizes() {
      let members = 0;
      for (const g of store.groupsById.values()) members += g.members.length;
      return { users: store.users.size, groups: store.groupsById.size, members };
    },
    setChaos(next) {
      chaos = chaosState(next);
    },
    reset() {
      store.clear();
      requests.length = 0;
    },
    async waitFor(predicate, timeoutMs = 5_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`scim-peer: condition not met within ${timeoutMs} ms`);
        await sleep(10);
      }
    },
    async close() {
      if (!server.listening) return;
      const closed = once(server, 'close');
      server.close();
      server.closeAllConnections();
      await closed;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Storage behind scimmy's ingress / egress / degress handlers
// ---------------------------------------------------------------------------------------------

class PeerStore {
  readonly users = new Map<string, PeerUser>();
  readonly groupsById = new Map<string, PeerGroup>();
  /** Indexes, so a peer holding 10,000 users answers as fast as one holding ten. */
  private readonly userIdsByName = new Map<string, string>();
  private readonly groupIdsByName = new Map<string, string>();
  private readonly groupIdsByMember = new Map<string, Set<string>>();
  /** Held by each write request, so PATCH's read-modify-write cycles do not interleave. */
  writes: Promise<void> = Promise.resolve();

  clear(): void {
    this.users.clear();
    this.groupsById.clear();
    this.userIdsByName.clear();
    this.groupIdsByName.clear();
    this.groupIdsByMember.clear();
  }

  private indexMembers(group: PeerGroup | undefined, add: boolean): void {
    for (const m of group?.members ?? []) {
      let set = this.groupIdsByMember.get(m.value);
      if (!set) this.groupIdsByMember.set(m.value, (set = new Set()));
      if (add) set.add(group!.id);
      else set.delete(group!.id);
    }
  }

  /** Ids of the users a filter matches; `userName eq "…"` is answered from the index. */
  matchingUsers(filter: SCIMMY.Types.Filter, definition: SCIMMY.Types.SchemaDefinition): string[] {
    const name = equalityOn(filter, 'userName');
    if (name !== undefined) {
      const id = this.userIdsByName.get(name.toLowerCase());
      return id === undefined ? [] : [id];
    }
    const all = this.listUsers();
    return matchFilter(filter, all, definition).map((u) => u.id);
  }

  matchingGroups(filter: SCIMMY.Types.Filter, definition: SCIMMY.Types.SchemaDefinition): string[] {
    const name = equalityOn(filter, 'displayName');
    if (name !== undefined) {
      const id = this.groupIdsByName.get(name.toLowerCase());
      return id === undefined ? [] : [id];
    }
    return matchFilter(filter, this.listGroups(), definition).map((g) => g.id);
  }

  user(id: string): PeerUser {
    const user = this.users.get(id);
    if (!user) throw scimFailure(404, undefined, `Resource ${id} not found`);
    return structuredClone({ ...user, ...this.groupsOf(id) });
  }

  group(id: string): PeerGroup {
    const group = this.groupsById.get(id);
    if (!group) throw scimFailure(404, undefined, `Resource ${id} not found`);
    return structuredClone(group);
  }

  listUsers(): PeerUser[] {
    return [...this.users.keys()].map((id) => this.user(id));
  }

  listGroups(): PeerGroup[] {
    return [...this.groupsById.keys()].map((id) => this.group(id));
  }

  writeUser(id: string | undefined, data: UserAttributes): PeerUser {
    const wanted = data.userName.toLowerCase();
    const holder = this.userIdsByName.get(wanted);
    if (holder !== undefined && holder !== id) throw scimFailure(409, 'uniqueness', `userName ${data.userName} is already taken`);
    const previous = id === undefined ? undefined : this.users.get(id);
    // A client cannot read the write-only password back, so a PUT or PATCH without one keeps it.
    if (previous?.password !== undefined && data.password === undefined) data = { ...data, password: previous.password };
    const [key, user] = stamped(id, previous, data);
    if (previous) this.userIdsByName.delete(previous.userName.toLowerCase());
    this.users.set(key, user);
    this.userIdsByName.set(wanted, key);
    return this.user(key);
  }

  writeGroup(id: string | undefined, data: GroupAttributes): PeerGroup {
    const wanted = data.displayName.toLowerCase();
    const holder = this.groupIdsByName.get(wanted);
    if (holder !== undefined && holder !== id) throw scimFailure(409, 'uniqueness', `displayName ${data.displayName} is already taken`);
    const members: GroupMember[] = [];
    const seen = new Set<string>();
    for (const member of data.members ?? []) {
      // RFC 7644 §3.5.2.1: adding a value that is already there changes nothing.
      if (seen.has(member.value)) continue;
      seen.add(member.value);
      const user = this.users.get(member.value);
      if (!user) throw scimFailure(400, 'invalidValue', `member ${member.value} is not a User of this service provider`);
      members.push({ value: member.value, display: member.display ?? user.displayName ?? user.userName, type: 'User' });
    }
    const previous = id === undefined ? undefined : this.groupsById.get(id);
    const [key, group] = stamped(id, previous, { ...data, members });
    if (previous) {
      this.groupIdsByName.delete(previous.displayName.toLowerCase());
      this.indexMembers(previous, false);
    }
    this.groupsById.set(key, group);
    this.groupIdsByName.set(wanted, key);
    this.indexMembers(group, true);
    return this.group(key);
  }

  deleteUser(id: string): void {
    const user = this.users.get(id);
    if (!user) throw scimFailure(404, undefined, `Resource ${id} not found`);
    this.users.delete(id);
    this.userIdsByName.delete(user.userName.toLowerCase());
    for (const groupId of this.groupIdsByMember.get(id) ?? []) {
      const group = this.groupsById.get(groupId)!;
      const { id: _id, meta, ...data } = group;
      this.groupsById.set(...stamped(groupId, group, { ...data, members: group.members.filter((m) => m.value !== id) }));
    }
    this.groupIdsByMember.delete(id);
  }

  deleteGroup(id: string): void {
    const group = this.groupsById.get(id);
    if (!group) throw scimFailure(404, undefined, `Resource ${id} not found`);
    this.groupsById.delete(id);
    this.groupIdsByName.delete(group.displayName.toLowerCase());
    this.indexMembers(group, false);
  }

  private groupsOf(userId: string): Pick<PeerUser, 'groups'> {
    const groups = [...(this.groupIdsByMember.get(userId) ?? [])]
      .map((id) => this.groupsById.get(id)!)
      .map((g) => ({ value: g.id, display: g.displayName, type: 'direct' }));
    return groups.length ? { groups } : {};
  }
}

/** The record to store under `id` (a new uuid when undefined), its meta advanced only when the data changed. */
function stamped<T extends { meta: PeerMeta }>(id: string | undefined, previous: T | undefined, data: object): [string, T] {
  if (id !== undefined && !previous) throw scimFailure(404, undefined, `Resource ${id} not found`);
  const now = new Date().toISOString();
  const key = id ?? randomUUID();
  if (previous) {
    const { id: _id, meta, ...before } = previous as T & { id: string };
    if (JSON.stringify(before) === JSON.stringify(data)) return [key, previous];
    const version = Number(/\d+/.exec(meta.version)?.[0] ?? 0) + 1;
    return [key, { ...data, id: key, meta: { created: meta.created, lastModified: now, version: `W/"${version}"` } } as unknown as T];
  }
  return [key, { ...data, id: key, meta: { created: now, lastModified: now, version: 'W/"1"' } } as unknown as T];
}

/**
 * The schema instance scimmy hands to ingress as plain data, without id, meta, schemas and the
 * read-only groups. Copied by hand: the instance's toJSON leaves out write-only attributes (password).
 */
function plainData<T>(instance: object): T {
  const { schemas: _schemas, meta: _meta, id: _id, groups: _groups, ...data } = toPlain(instance) as Record<string, unknown>;
  return data as T;
}

function toPlain(value: unknown): unknown {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (typeof value !== 'object' || value === null) return value;
  const plain: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const v: unknown = (value as Record<string, unknown>)[key];
    if (v !== undefined) plain[key] = toPlain(v);
  }
  return plain;
}

function userSchemas(user: object): string[] {
  return ENTERPRISE_USER in user ? [SCIMMY.Schemas.User.id, ENTERPRISE_USER] : [SCIMMY.Schemas.User.id];
}

function storeOf(ctx: unknown): PeerStore {
  if (!(ctx instanceof PeerStore)) throw scimFailure(500, undefined, 'scim-peer: request without a peer context');
  return ctx;
}

/** Declared once per process: scimmy's resource registry is global, each request's context names the peer. */
function declareResources(): void {
  if (SCIMMY.Resources.declared(SCIMMY.Resources.User)) return;
  const users = SCIMMY.Resources.declare(SCIMMY.Resources.User).extend(SCIMMY.Schemas.EnterpriseUser, false);
  users
    .ingress((resource, instance, ctx) => storeOf(ctx).writeUser(resource.id, plainData(instance)) as never)
    .egress((resource, ctx) => {
      const store = storeOf(ctx);
      if (resource.id) return store.user(resource.id) as never;
      const ids = resource.filter ? store.matchingUsers(resource.filter, users.schema.definition) : [...store.users.keys()];
      return onePage(resource, ids, (id) => store.user(id)) as never;
    })
    .degress((resource, ctx) => storeOf(ctx).deleteUser(resource.id!));
  const groups = SCIMMY.Resources.declare(SCIMMY.Resources.Group);
  groups
    .ingress((resource, instance, ctx) => storeOf(ctx).writeGroup(resource.id, plainData(instance)) as never)
    .egress((resource, ctx) => {
      const store = storeOf(ctx);
      if (resource.id) return store.group(resource.id) as never;
      const ids = resource.filter ? store.matchingGroups(resource.filter, groups.schema.definition) : [...store.groupsById.keys()];
      return onePage(resource, ids, (id) => store.group(id)) as never;
    })
    .degress((resource, ctx) => storeOf(ctx).deleteGroup(resource.id!));
}

/**
 * The requested page of a list, copied and coerced alone: scimmy would otherwise turn every stored
 * record into a schema instance before paging. Its list response is told the total and to start
 * at 1 (it would slice the page again); rewriteResponse puts the requested startIndex back.
 */
function onePage<T>(resource: { constraints?: { startIndex?: number; count?: number } & Record<string, unknown> }, ids: string[], read: (id: string) => T): T[] {
  const start = Math.max(1, Number(resource.constraints?.startIndex ?? 1) || 1);
  const count = Math.max(0, Math.min(MAX_RESULTS, Number(resource.constraints?.count ?? MAX_RESULTS)));
  resource.constraints = { ...resource.constraints, startIndex: 1, totalResults: ids.length };
  return ids.slice(start - 1, start - 1 + count).map(read);
}

// ---------------------------------------------------------------------------------------------
// Filters: RFC 7644 §3.4.2.2 compares strings per the attribute's caseExact, scimmy always exactly
// ---------------------------------------------------------------------------------------------

type SchemaDefinition = SCIMMY.Types.SchemaDefinition;

/** The value of a filter that is exactly `<attribute> eq "<string>"` (any case of the name), else undefined. */
function equalityOn(filter: SCIMMY.Types.Filter, attribute: string): string | undefined {
  const expressions = [...filter] as unknown[];
  if (expressions.length !== 1 || !isPlainObject(expressions[0])) return undefined;
  const entries = Object.entries(expressions[0]);
  if (entries.length !== 1 || entries[0]![0].toLowerCase() !== attribute.toLowerCase()) return undefined;
  const expression = entries[0]![1];
  return Array.isArray(expression) && expression.length === 2 && String(expression[0]).toLowerCase() === 'eq' && typeof expression[1] === 'string' ? expression[1] : undefined;
}

function matchFilter<T extends object>(filter: SCIMMY.Types.Filter, records: T[], definition: SchemaDefinition): T[] {
  const folded = new SCIMMY.Types.Filter([...filter].map((expression) => foldExpression(expression, [], definition)));
  const candidates = records.map((record) => foldRecord(record, [], definition));
  const hits = new Set(folded.match(candidates));
  return records.filter((_, i) => hits.has(candidates[i]));
}

/** Lower-cases the compared value of every expression on a case-insensitive string attribute. */
function foldExpression(node: unknown, path: string[], definition: SchemaDefinition): unknown {
  if (Array.isArray(node)) {
    if (node.some(isStructured)) return node.map((n) => foldExpression(n, path, definition));
    const last: unknown = node.at(-1);
    if (node.length < 2 || typeof last !== 'string' || !caseInsensitive(path, definition)) return node;
    return [...node.slice(0, -1), last.toLowerCase()];
  }
  if (isPlainObject(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, foldExpression(v, [...path, k], definition)]));
  return node;
}

/**
 * A copy of `value` with case-insensitive strings lower-cased, and extension attributes also under
 * their full names (`urn:...:User:department`), which is how scimmy's filter parser names them.
 */
function foldRecord(value: unknown, path: string[], definition: SchemaDefinition): unknown {
  if (Array.isArray(value)) return value.map((v) => foldRecord(v, path, definition));
  if (typeof value === 'string') return caseInsensitive(path, definition) ? value.toLowerCase() : value;
  if (!isPlainObject(value)) return value;
  const folded: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    folded[key] = foldRecord(v, [...path, key], definition);
    if (path.length === 0 && key.startsWith('urn:') && isPlainObject(folded[key])) {
      for (const [sub, w] of Object.entries(folded[key])) folded[`${key}:${sub}`] = w;
    }
  }
  return folded;
}

const caseInsensitivity = new Map<string, boolean>();

function caseInsensitive(path: string[], definition: SchemaDefinition): boolean {
  const name = path.join('.');
  const key = `${definition.id} ${name}`;
  let result = caseInsensitivity.get(key);
  if (result === undefined) {
    try {
      const attribute = definition.attribute(name);
      result = attribute instanceof SCIMMY.Types.Attribute && attribute.type === 'string' && attribute.config.caseExact !== true;
    } catch {
      result = false;
    }
    caseInsensitivity.set(key, result);
  }
  return result;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStructured = (v: unknown): boolean => Array.isArray(v) || isPlainObject(v);

// ---------------------------------------------------------------------------------------------
// Request steps in front of scimmy-routers
// ---------------------------------------------------------------------------------------------

/** Express 5 re-parses req.query on every access, so scimmy-routers' cast of startIndex/count to numbers is lost: cast here. */
function parseQuery(search: string): Record<string, string | number> {
  const query: Record<string, string | number> = {};
  for (const [key, value] of new URLSearchParams(search)) {
    if (key in query) continue;
    query[key] = (key === 'startIndex' || key === 'count') && /^-?\d+$/.test(value) ? Number(value) : value;
  }
  return query;
}

/** Records the request on arrival and its status once answered. */
function logRequest(requests: PeerRequest[], req: Request, res: Response, next: NextFunction): void {
  const query = req.originalUrl.indexOf('?');
  const entry: PeerRequest = {
    method: req.method,
    path: req.path,
    query: query < 0 ? '' : req.originalUrl.slice(query + 1),
    status: 0,
    at: Date.now(),
  };
  requests.push(entry);
  res.locals.request = entry;
  res.once('finish', () => {
    entry.status = res.statusCode;
    if (req.body !== undefined) entry.body = structuredClone(req.body as unknown);
  });
  next();
}

/** RFC 6750 §3: a bearer-protected resource answers 401 with WWW-Authenticate. */
function rejectUnauthenticated(authenticate: (req: Request) => string, req: Request, res: Response, next: NextFunction): void {
  try {
    authenticate(req);
    next();
  } catch (e) {
    res.set('WWW-Authenticate', 'Bearer realm="scim-peer"');
    sendError(res, 401, (e as Error).message);
  }
}

interface ChaosState {
  options: ChaosOptions;
  random: () => number;
}

function chaosState(options: ChaosOptions | undefined): ChaosState | undefined {
  return options && { options, random: prng(options.seed ?? 1) };
}

/** Fails the requests the PRNG picks; a `lost` one goes on and is answered 500 by rewriteResponse. */
function applyChaos(chaos: ChaosState | undefined, req: Request, res: Response, next: NextFunction): void {
  const kind = chaos && drawChaos(chaos, req.method);
  if (!kind) return next();
  (res.locals.request as PeerRequest).chaos = kind;
  const retryAfter = String(chaos.options.retryAfterSeconds ?? 1);
  switch (kind) {
    case 'throttled':
      res.set('Retry-After', retryAfter);
      return sendError(res, 429, 'scim-peer chaos: too many requests');
    case 'unavailable':
      res.set('Retry-After', retryAfter);
      return sendError(res, 503, 'scim-peer chaos: service unavailable');
    case 'failed':
      return sendError(res, 500, 'scim-peer chaos: internal error, nothing applied');
    case 'lost':
      res.locals.lost = true;
      return next();
  }
}

function drawChaos({ options, random }: ChaosState, method: string): ChaosKind | undefined {
  if (options.methods && !options.methods.includes(method)) return undefined;
  if (random() >= options.rate) return undefined;
  const kinds = options.kinds?.length ? options.kinds : DEFAULT_CHAOS_KINDS;
  return kinds[Math.floor(random() * kinds.length)];
}

interface Features {
  patch: boolean;
  filter: boolean;
  bulk: boolean;
}

/** RFC 7644 §3.12: an operation the provider does not support is answered 501. */
function rejectUnsupported(features: Features, req: Request, res: Response, next: NextFunction): void {
  if (!features.patch && req.method === 'PATCH') return sendError(res, 501, 'PATCH is not supported by this service provider');
  if (!features.bulk && req.method === 'POST' && req.path === '/Bulk') return sendError(res, 501, 'Bulk is not supported by this service provider');
  const filtered = (req.method === 'GET' && 'filter' in req.query) || (req.method === 'POST' && req.path.endsWith('/.search'));
  if (!features.filter && filtered) return sendError(res, 501, 'Filtering is not supported by this service provider');
  next();
}

/** scimmy's ServiceProviderConfig reads its global config, shared by every peer in the process: render this peer's. */
function serveServiceProviderConfig(features: Features, req: Request, res: Response, next: NextFunction): void {
  if (req.method !== 'GET' || req.path !== '/ServiceProviderConfig') return next();
  const config = new SCIMMY.Schemas.ServiceProviderConfig(
    {
      patch: { supported: features.patch },
      bulk: { supported: features.bulk, maxOperations: 1000, maxPayloadSize: 1_048_576 },
      filter: { supported: features.filter, maxResults: MAX_RESULTS },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: false },
      authenticationSchemes: [
        { type: 'oauthbearertoken', name: 'OAuth Bearer Token', description: 'Authentication with a static bearer token', specUri: 'https://www.rfc-editor.org/rfc/rfc6750' },
      ],
    },
    `${req.baseUrl}/ServiceProviderConfig`,
  );
  res.type('application/scim+json').send(config);
}

/** One write at a time per peer: scimmy's PATCH reads, patches and writes back in separate steps. */
async function serializeWrites(store: PeerStore, req: Request, res: Response, next: NextFunction): Promise<void> {
  if (req.method === 'GET') return next();
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  const previous = store.writes;
  store.writes = previous.then(() => held);
  await previous;
  res.once('finish', release);
  res.once('close', release);
  next();
}

/**
 * Fixes up what scimmy-routers sends: `lost` chaos turns any answer into 500 after the work is
 * done; locations become absolute (scimmy's basepath is global, so it stays relative to be the
 * same for every peer); 201 carries Location (RFC 7644 §3.3); a ListResponse reports the items it
 * holds (§3.4.2: itemsPerPage is the page's size, scimmy echoes `count`) and is empty past the end
 * (scimmy returns the first page when startIndex > totalResults).
 */
function rewriteResponse(req: Request, res: Response, next: NextFunction): void {
  const send = res.send.bind(res);
  let rewritten = false;
  res.send = (body?: unknown) => {
    if (rewritten) return send(body);
    rewritten = true;
    if (res.locals.lost) {
      res.status(500).type('application/scim+json');
      return send(errorBody(500, 'scim-peer chaos: the request was applied, then the response was lost'));
    }
    if (typeof body !== 'object' || body === null) return send(body);
    const json = absolute(JSON.parse(JSON.stringify(body)) as unknown, origin(req));
    if (isPlainObject(json)) {
      const location = isPlainObject(json.meta) ? json.meta.location : undefined;
      if (res.statusCode === 201 && typeof location === 'string') res.location(location);
      const items = json.Resources;
      if (Array.isArray(json.schemas) && json.schemas.includes(LIST_SCHEMA) && Array.isArray(items)) {
        if (req.method === 'GET') json.startIndex = Math.max(1, Number.parseInt(String(req.query.startIndex ?? '1'), 10) || 1);
        if (Number(json.startIndex) > Number(json.totalResults)) items.length = 0;
        json.itemsPerPage = items.length;
      }
    }
    return send(json);
  };
  next();
}

const origin = (req: Request): string => `${req.protocol}://${req.get('host')}`;

function absolute(value: unknown, base: string): unknown {
  if (Array.isArray(value)) return value.map((v) => absolute(v, base));
  if (!isPlainObject(value)) return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === 'location' && typeof v === 'string' && v.startsWith('/') ? base + v : absolute(v, base)]),
  );
}

/** Bodies that did not parse still get a SCIM error. */
function answerMalformed(err: unknown, _req: Request, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  const status = (err as { status?: number }).status ?? 500;
  sendError(res, status, (err as Error).message, status === 400 ? 'invalidSyntax' : undefined);
}

function errorBody(status: number, detail: string, scimType?: string): object {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

function sendError(res: Response, status: number, detail: string, scimType?: string): void {
  res.status(status).type('application/scim+json').send(errorBody(status, detail, scimType));
}

/** scimmy's error: the routers answer it with its status and RFC 7644 §3.12 body. */
function scimFailure(status: number, scimType: string | undefined, detail: string): Error {
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

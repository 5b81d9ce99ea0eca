import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestCertificates } from './tls.js';

/**
 * A local Microsoft Entra ID token endpoint and Microsoft Graph v1.0 for the subset Roster's
 * Microsoft 365 connector calls, so that tests run Microsoft's own client libraries
 * (@microsoft/microsoft-graph-client, @azure/identity with MSAL) against it. One TLS server (a
 * throwaway CA, see tls.ts) serves both: MSAL accepts only an https authority. What it covers, and
 * the Graph reference for each behaviour, is in docs/emulators/microsoft-365.md.
 */

export interface GraphEmulatorOptions {
  tenantId?: string;
  clientId?: string;
  clientSecret?: string;
  /** The tenant's verified domain (the default one); `extraDomains` are verified as well. */
  domain?: string;
  extraDomains?: string[];
  /** Delta and collection page size when the client asks for none (Prefer: odata.maxpagesize, $top). */
  pageSize?: number;
  latencyMs?: number;
  /** The app's granted application permissions; by default what the connector needs. */
  permissions?: string[];
}

/** A user as Graph holds it; `password` is never returned by the API. */
export interface EmulatedUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  mailNickname: string;
  accountEnabled: boolean;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  jobTitle: string | null;
  department: string | null;
  companyName: string | null;
  officeLocation: string | null;
  employeeId: string | null;
  usageLocation: string | null;
  createdDateTime: string;
  password: string;
}

export interface EmulatedGroup {
  id: string;
  displayName: string;
  description: string | null;
  mailNickname: string;
  mail: string | null;
  groupTypes: string[];
  securityEnabled: boolean;
  mailEnabled: boolean;
  createdDateTime: string;
  members: string[];
}

export interface EmulatedRole {
  id: string;
  displayName: string;
  description: string;
  roleTemplateId: string;
  members: string[];
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  /** A fault or the throttle answered instead of the service. */
  injected?: 'fault' | 'throttle';
}

/** A failure answered instead of (or, with afterCommit, after) the service's own answer. */
export interface Fault {
  times: number;
  status: 429 | 500 | 502 | 503 | 504;
  retryAfterSeconds?: number;
  /** Which requests it hits (path without query, e.g. /v1.0/users); by default every Graph request. */
  match?: (method: string, path: string) => boolean;
  /** Carry out the request, then answer the error: the client's answer is lost. */
  afterCommit?: boolean;
}

type UserInput = Partial<Omit<EmulatedUser, 'id' | 'createdDateTime'>>;
type GroupInput = { displayName: string; description?: string | null; mailNickname?: string; type?: 'security' | 'microsoft365' | 'distribution'; members?: string[] };

export interface GraphEmulator {
  /** Where tokens come from (MSAL's authorityHost) and where Graph is: the same TLS server. */
  authorityHost: string;
  graphBaseUrl: string;
  /** The CA certificate (PEM) the server's certificate chains to. */
  ca: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  domain: string;
  domains: string[];
  /** The app's granted application permissions; remove one to see Graph answer 403. */
  permissions: Set<string>;
  /** What an administrator does in the Entra admin center, behind Roster's back. */
  admin: {
    createUser(input: UserInput & { userPrincipalName: string }): EmulatedUser;
    updateUser(id: string, patch: UserInput): void;
    /** `permanently`: gone for good (delta reason `deleted`), else soft-deleted (reason `changed`). */
    deleteUser(id: string, options?: { permanently?: boolean }): void;
    createGroup(input: GroupInput): EmulatedGroup;
    updateGroup(id: string, patch: { displayName?: string; description?: string | null }): void;
    deleteGroup(id: string, options?: { permanently?: boolean }): void;
    addMember(groupId: string, memberId: string): void;
    removeMember(groupId: string, memberId: string): void;
    /** Activates the role (from its template) when needed, then assigns it. */
    assignRole(userId: string, roleName?: string): EmulatedRole;
  };
  user(idOrUpn: string): EmulatedUser | undefined;
  users(): EmulatedUser[];
  group(id: string): EmulatedGroup | undefined;
  groups(): EmulatedGroup[];
  requests: LoggedRequest[];
  /** Committed writes per route, e.g. `POST /users`, `POST /groups/{id}/members/$ref`. */
  writes: Map<string, number>;
  fail(fault: Fault): void;
  /** The identity-and-access write limit per app per tenant, as a token bucket; null lifts it. */
  rateLimit(limit: { writesPer150s: number } | null): void;
  latency(ms: number): void;
  /** Moves the emulator's clock (throttle refill, delta-token age) forward, for fast tests. */
  advance(ms: number): void;
  /** Every delta and skip token issued so far stops working, answered as the service does. */
  expireDeltaTokens(answer?: 410 | 400): void;
  close(): Promise<void>;
}

const GRAPH_PUBLIC = 'https://graph.microsoft.com';
const DELTA_TOKEN_LIFETIME_MS = 7 * 24 * 3600_000;
const MAX_TOP = 999;
const ALL_PERMISSIONS = ['User.ReadWrite.All', 'Group.ReadWrite.All', 'GroupMember.ReadWrite.All', 'RoleManagement.Read.Directory', 'User-PasswordProfile.ReadWrite.All'];

const ROLE_TEMPLATES: Record<string, { id: string; description: string }> = {
  'Global Administrator': { id: '62e90394-69f5-4237-9190-012177145e10', description: 'Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.' },
  'User Administrator': { id: 'fe930be7-5e62-47db-91af-98c3a49a38b1', description: 'Can manage all aspects of users and groups, including resetting passwords for limited admins.' },
  'Helpdesk Administrator': { id: '729827e3-9c14-49f7-bb1b-9608f156bbb8', description: 'Can reset passwords for non-administrators and Helpdesk Administrators.' },
};

const USER_FIELDS = ['id', 'accountEnabled', 'displayName', 'givenName', 'surname', 'mail', 'mailNickname', 'userPrincipalName', 'jobTitle', 'department', 'companyName', 'officeLocation', 'employeeId', 'usageLocation', 'createdDateTime'] as const;
const USER_WRITABLE = new Set<string>(USER_FIELDS.filter((f) => f !== 'id' && f !== 'createdDateTime'));
// https://learn.microsoft.com/en-us/graph/api/resources/user: the properties returned without $select.
const USER_DEFAULT = ['businessPhones', 'displayName', 'givenName', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName', 'id'];
const GROUP_FIELDS = ['id', 'displayName', 'description', 'mailNickname', 'mail', 'groupTypes', 'securityEnabled', 'mailEnabled', 'createdDateTime'] as const;
const GROUP_DEFAULT = [...GROUP_FIELDS];

// https://learn.microsoft.com/en-us/graph/api/resources/passwordprofile and Entra's password policy.
const MSG_PASSWORD = 'The specified password does not comply with password complexity requirements. Please provide a different password.';
const MSG_UPN_TAKEN = 'Another object with the same value for property userPrincipalName already exists.';
const MSG_UPN_DOMAIN = 'The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.';
const MSG_MEMBER_EXISTS = "One or more added object references already exist for the following modified properties: 'members'.";
const MSG_NICKNAME_TAKEN = 'Another object with the same value for property mailNickname already exists.';
const MSG_SYNC_STATE = 'The sync state generation is not found. The delta token is expired and data must be synchronized again.';
const notFoundMessage = (id: string) => `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`;

export function passwordMeetsPolicy(password: string): boolean {
  if (password.length < 8 || password.length > 256) return false;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password)).length;
  return classes >= 3;
}

// mailNickname: ASCII 0-127 except @ () \ [] " ; : <> , SPACE, at most 64 characters.
const validNickname = (v: string) => v.length > 0 && v.length <= 64 && /^[\x21-\x7e]+$/.test(v) && !/[@()\\[\]";:<>,]/.test(v);
const validUpn = (v: string) => /^[A-Za-z0-9'._\-!#^~]+@[A-Za-z0-9.-]+$/.test(v) && !v.startsWith('.') && !v.includes('.@');

class GraphFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}
const badRequest = (message: string, code = 'Request_BadRequest') => new GraphFailure(400, code, message);
const notFound = (id: string) => new GraphFailure(404, 'Request_ResourceNotFound', notFoundMessage(id));

interface Tombstone {
  kind: 'user' | 'group';
  seq: number;
  reason: 'changed' | 'deleted';
}
interface MemberChange {
  seq: number;
  id: string;
  removed: boolean;
}
interface DeltaState {
  kind: 'users' | 'groups';
  select: string[];
  since: number;
  issuedAt: number;
}
interface DeltaRound extends DeltaState {
  items: string[];
  upTo: number;
  offset: number;
  pageSize: number;
}

const b64url = (n = 24) => randomBytes(n).toString('base64url');
const nowIso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

let shared: Promise<{ cert: Buffer; key: Buffer; ca: Buffer }> | undefined;

/** One throwaway CA and localhost certificate per test process, held in memory. */
function certificates() {
  shared ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'graph-emulator-'));
    try {
      const { cert, key, ca } = await makeTestCertificates(dir);
      return { cert, key, ca };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return shared;
}

export async function startGraphEmulator(options: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const tenantId = options.tenantId ?? randomUUID();
  const clientId = options.clientId ?? randomUUID();
  const clientSecret = options.clientSecret ?? `${b64url(6)}~${b64url(24)}`;
  const domain = options.domain ?? 'contoso.example';
  const domains = [domain, ...(options.extraDomains ?? [])].map((d) => d.toLowerCase());
  const defaultPageSize = options.pageSize ?? 100;
  let latencyMs = options.latencyMs ?? 0;
  const permissions = new Set(options.permissions ?? ALL_PERMISSIONS);

  const certs = await certificates();

  let clockOffset = 0;
  const now = () => Date.now() + clockOffset;
  let seq = 0;
  const users = new Map<string, EmulatedUser & { changed: number }>();
  const groups = new Map<string, Omit<EmulatedGroup, 'members'> & { members: Set<string>; changed: number; memberLog: MemberChange[] }>();
  const roles = new Map<string, Omit<EmulatedRole, 'members'> & { members: Set<string> }>();
  const tombstones = new Map<string, Tombstone>();
  const tokens = new Map<string, number>();
  const deltaTokens = new Map<string, DeltaState>();
  const rounds = new Map<string, DeltaRound>();
  let expiredAnswer: 410 | 400 = 410;
  const faults: Fault[] = [];
  let bucket: { capacity: number; perMs: number; tokens: number; at: number } | null = null;
  const requests: LoggedRequest[] = [];
  const writes = new Map<string, number>();
  let base = '';

  const userByUpn = (upn: string) => [...users.values()].find((u) => u.userPrincipalName.toLowerCase() === upn.toLowerCase());
  const findUser = (key: string) => users.get(key) ?? (key.includes('@') ? userByUpn(key) : undefined);
  const kindOf = (id: string): 'user' | 'group' | undefined => (users.has(id) ? 'user' : groups.has(id) ? 'group' : undefined);

  // --- state changes, shared by the API and the admin controls -----------------------------------

  function insertUser(input: UserInput & { userPrincipalName: string }): EmulatedUser & { changed: number } {
    const nick = input.mailNickname ?? input.userPrincipalName.split('@')[0]!;
    const user = {
      id: randomUUID(),
      userPrincipalName: input.userPrincipalName,
      displayName: input.displayName ?? nick,
      mailNickname: nick,
      accountEnabled: input.accountEnabled ?? true,
      givenName: input.givenName ?? null,
      surname: input.surname ?? null,
      mail: input.mail ?? null,
      jobTitle: input.jobTitle ?? null,
      department: input.department ?? null,
      companyName: input.companyName ?? null,
      officeLocation: input.officeLocation ?? null,
      employeeId: input.employeeId ?? null,
      usageLocation: input.usageLocation ?? null,
      createdDateTime: nowIso(now()),
      password: input.password ?? `Aa1!${b64url(12)}`,
      changed: ++seq,
    };
    users.set(user.id, user);
    return user;
  }

  function changeUser(user: EmulatedUser & { changed: number }, patch: UserInput) {
    let tracked = false;
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined) continue;
      if (k !== 'password') tracked = true;
      (user as unknown as Record<string, unknown>)[k] = v;
    }
    if (tracked) user.changed = ++seq;
  }

  function dropMemberEverywhere(id: string) {
    for (const g of groups.values()) if (g.members.has(id)) unlink(g, id);
    for (const r of roles.values()) r.members.delete(id);
  }

  function removeUser(id: string, permanently = false) {
    dropMemberEverywhere(id);
    users.delete(id);
    tombstones.set(id, { kind: 'user', seq: ++seq, reason: permanently ? 'deleted' : 'changed' });
  }

  function insertGroup(input: GroupInput) {
    const type = input.type ?? 'security';
    const nick = input.mailNickname ?? (input.displayName.replace(/[^A-Za-z0-9]/g, '').slice(0, 64) || 'group');
    const group = {
      id: randomUUID(),
      displayName: input.displayName,
      description: input.description ?? null,
      mailNickname: nick,
      mail: type === 'security' ? null : `${nick}@${domain}`,
      groupTypes: type === 'microsoft365' ? ['Unified'] : [],
      securityEnabled: type === 'security',
      mailEnabled: type !== 'security',
      createdDateTime: nowIso(now()),
      members: new Set<string>(),
      changed: ++seq,
      memberLog: [] as MemberChange[],
    };
    groups.set(group.id, group);
    for (const m of input.members ?? []) link(group, m);
    return group;
  }

  function removeGroup(id: string, permanently = false) {
    dropMemberEverywhere(id);
    groups.delete(id);
    tombstones.set(id, { kind: 'group', seq: ++seq, reason: permanently ? 'deleted' : 'changed' });
  }

  function link(group: { members: Set<string>; memberLog: MemberChange[] }, memberId: string) {
    group.members.add(memberId);
    group.memberLog.push({ seq: ++seq, id: memberId, removed: false });
  }
  function unlink(group: { members: Set<string>; memberLog: MemberChange[] }, memberId: string) {
    group.members.delete(memberId);
    group.memberLog.push({ seq: ++seq, id: memberId, removed: true });
  }

  function assignRole(userId: string, roleName = 'Global Administrator') {
    const template = ROLE_TEMPLATES[roleName];
    if (!template) throw new Error(`unknown role template ${roleName}`);
    let role = [...roles.values()].find((r) => r.roleTemplateId === template.id);
    if (!role) {
      role = { id: randomUUID(), displayName: roleName, description: template.description, roleTemplateId: template.id, members: new Set() };
      roles.set(role.id, role);
    }
    role.members.add(userId);
    return { ...role, members: [...role.members] };
  }

  // --- rendering ---------------------------------------------------------------------------------

  const odataType = (id: string) => (users.has(id) ? '#microsoft.graph.user' : groups.has(id) ? '#microsoft.graph.group' : roles.has(id) ? '#microsoft.graph.directoryRole' : '#microsoft.graph.directoryObject');

  function pick(record: Record<string, unknown>, select: string[]): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const p of select) {
      if (p === 'members') continue;
      if (p in record) out[p] = record[p];
      else if (p === 'businessPhones') out[p] = [];
      else if (p === 'mobilePhone' || p === 'preferredLanguage') out[p] = null;
    }
    out.id = record.id;
    return out;
  }
  const userJson = (u: EmulatedUser, select: string[]) => pick(u as unknown as Record<string, unknown>, select);
  const groupJson = (g: { id: string }, select: string[]) => pick(g as unknown as Record<string, unknown>, select);

  /** A directory object in a members-like collection: its type and the selected properties it has. */
  function directoryObjectJson(id: string, select: string[] | null): Record<string, unknown> {
    const user = users.get(id);
    const group = groups.get(id);
    const role = roles.get(id);
    const record = (user ?? group ?? role ?? { id }) as unknown as Record<string, unknown>;
    const fields = select ?? (user ? USER_DEFAULT : group ? GROUP_DEFAULT : ['id', 'displayName', 'description', 'roleTemplateId']);
    const out: Record<string, unknown> = { '@odata.type': odataType(id) };
    for (const p of fields) if (p in record && p !== 'members' && p !== 'password') out[p] = record[p];
    out.id = id;
    return out;
  }

  // --- paging ------------------------------------------------------------------------------------

  const pages = new Map<string, { ids: string[]; select: string[] | null; size: number; context: string }>();
  type Render = (id: string, select: string[] | null) => Record<string, unknown> | undefined;

  /** One page of a collection, with a nextLink holding the rest (objects deleted meanwhile are left out). */
  function pageOf(ids: string[], select: string[] | null, size: number, context: string, path: string, render: Render) {
    const value = ids.slice(0, size).map((id) => render(id, select)).filter((v) => v !== undefined);
    const body: Record<string, unknown> = { '@odata.context': `${base}/v1.0/$metadata#${context}`, value };
    if (ids.length > size) {
      const token = b64url();
      pages.set(token, { ids: ids.slice(size), select, size, context });
      body['@odata.nextLink'] = `${base}/v1.0${path}?$skiptoken=${token}`;
    }
    return body;
  }

  function collection(q: URLSearchParams, prefer: string | undefined, context: string, path: string, ids: () => string[], render: Render) {
    const skip = q.get('$skiptoken');
    if (!skip) return pageOf(ids(), selectOf(q), topOf(q, prefer), context, path, render);
    const state = pages.get(skip);
    if (!state) throw badRequest('Invalid $skiptoken.', 'Directory_ExpiredPageToken');
    pages.delete(skip);
    return pageOf(state.ids, state.select, state.size, state.context, path, render);
  }

  const selectOf = (q: URLSearchParams): string[] | null => {
    const s = q.get('$select');
    return s ? s.split(',').map((p) => p.trim()).filter(Boolean) : null;
  };
  const topOf = (q: URLSearchParams, prefer: string | undefined) => {
    const top = Number(q.get('$top') ?? /odata\.maxpagesize=(\d+)/.exec(prefer ?? '')?.[1] ?? defaultPageSize);
    if (!Number.isInteger(top) || top < 1) throw badRequest(`Invalid page size specified: '${q.get('$top')}'.`, 'Request_UnsupportedQuery');
    return Math.min(top, MAX_TOP);
  };

  // --- delta -------------------------------------------------------------------------------------

  function expired(kind: 'users' | 'groups'): GraphFailure {
    // https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset (410 Gone) and
    // the identity token-lifetime notice (400 syncStateNotFound): both ask for a full synchronization.
    const fresh = `${base}/v1.0/${kind}/delta`;
    return expiredAnswer === 410 ? new GraphFailure(410, 'syncStateNotFound', MSG_SYNC_STATE, { Location: fresh }) : new GraphFailure(400, 'syncStateNotFound', MSG_SYNC_STATE);
  }

  function deltaItems(kind: 'users' | 'groups', since: number, select: string[]): string[] {
    const withMembers = kind === 'groups' && select.includes('members');
    const live: string[] = [];
    if (kind === 'users') {
      for (const u of users.values()) if (u.changed > since) live.push(u.id);
    } else {
      for (const g of groups.values()) if (g.changed > since || (withMembers && since > 0 && g.memberLog.some((c) => c.seq > since))) live.push(g.id);
    }
    if (since === 0) return live;
    const gone = [...tombstones.entries()].filter(([, t]) => t.kind === (kind === 'users' ? 'user' : 'group') && t.seq > since).map(([id]) => id);
    return [...live, ...gone];
  }

  function renderDelta(round: DeltaRound, id: string): Record<string, unknown> {
    if (round.kind === 'users') {
      const u = users.get(id);
      if (u) return userJson(u, round.select);
    } else {
      const g = groups.get(id);
      if (g) {
        const out = groupJson(g, round.select);
        if (round.select.includes('members')) {
          const net = new Map<string, boolean>();
          if (round.since === 0) for (const m of g.members) net.set(m, false);
          else for (const c of g.memberLog) if (c.seq > round.since) net.set(c.id, c.removed);
          out['members@delta'] = [...net].map(([m, removed]) => ({ '@odata.type': odataType(m), id: m, ...(removed ? { '@removed': 'deleted' } : {}) }));
        }
        return out;
      }
    }
    return { id, '@removed': { reason: tombstones.get(id)?.reason ?? 'deleted' } };
  }

  function delta(kind: 'users' | 'groups', q: URLSearchParams, prefer: string | undefined) {
    const skip = q.get('$skiptoken');
    const deltaToken = q.get('$deltatoken');
    let round: DeltaRound;
    if (skip) {
      const found = rounds.get(skip);
      if (!found || found.kind !== kind) throw expired(kind);
      rounds.delete(skip);
      round = found;
    } else {
      let state: DeltaState;
      if (deltaToken) {
        const found = deltaTokens.get(deltaToken);
        if (!found || found.kind !== kind || now() - found.issuedAt > DELTA_TOKEN_LIFETIME_MS) throw expired(kind);
        state = found;
      } else {
        const select = selectOf(q) ?? (kind === 'users' ? USER_DEFAULT : GROUP_DEFAULT);
        state = { kind, select, since: 0, issuedAt: now() };
      }
      round = { ...state, items: deltaItems(kind, state.since, state.select), upTo: seq, offset: 0, pageSize: topOf(new URLSearchParams(), prefer) };
    }
    const page = round.items.slice(round.offset, round.offset + round.pageSize);
    const body: Record<string, unknown> = { '@odata.context': `${base}/v1.0/$metadata#${kind}(${round.select.join(',')})`, value: page.map((id) => renderDelta(round, id)) };
    if (round.offset + round.pageSize < round.items.length) {
      const token = b64url();
      rounds.set(token, { ...round, offset: round.offset + round.pageSize });
      body['@odata.nextLink'] = `${base}/v1.0/${kind}/delta?$skiptoken=${token}`;
    } else {
      const token = b64url();
      deltaTokens.set(token, { kind, select: round.select, since: round.upTo, issuedAt: now() });
      body['@odata.deltaLink'] = `${base}/v1.0/${kind}/delta?$deltatoken=${token}`;
    }
    return body;
  }

  // --- validation --------------------------------------------------------------------------------

  function checkProperties(body: Record<string, unknown>, allowed: Set<string>, type: string) {
    for (const k of Object.keys(body)) {
      if (!allowed.has(k)) throw new GraphFailure(400, 'BadRequest', `The property '${k}' does not exist on type 'microsoft.graph.${type}'. Make sure to only use property names that are defined by the type or mark the type as open type.`);
    }
  }
  const invalid = (prop: string, type: string) => badRequest(`Invalid value specified for property '${prop}' of resource '${type}'.`);

  function checkUserValues(body: Record<string, unknown>, self?: string) {
    for (const [k, v] of Object.entries(body)) {
      if (k === 'accountEnabled') {
        if (typeof v !== 'boolean') throw invalid(k, 'User');
      } else if (k === 'passwordProfile') {
        const p = v as { password?: unknown; forceChangePasswordNextSignIn?: unknown } | null;
        if (typeof p !== 'object' || p === null || typeof p.password !== 'string') throw invalid('passwordProfile', 'User');
        if (!passwordMeetsPolicy(p.password)) throw badRequest(MSG_PASSWORD);
      } else if (v !== null && typeof v !== 'string') {
        throw invalid(k, 'User');
      } else if (k === 'userPrincipalName') {
        if (typeof v !== 'string' || !validUpn(v)) throw invalid(k, 'User');
        if (!domains.includes(v.split('@')[1]!.toLowerCase())) throw badRequest(MSG_UPN_DOMAIN);
        const holder = userByUpn(v);
        if (holder && holder.id !== self) throw badRequest(MSG_UPN_TAKEN);
      } else if (k === 'mailNickname') {
        if (typeof v !== 'string' || !validNickname(v)) throw invalid(k, 'User');
      } else if (k === 'displayName') {
        if (typeof v !== 'string' || v.trim() === '' || v.length > 256) throw invalid(k, 'User');
      } else if (k === 'usageLocation') {
        if (v !== null && !/^[A-Z]{2}$/.test(v)) throw invalid(k, 'User');
      } else if (k === 'mail') {
        if (v !== null && !/^[^@\s]+@[^@\s]+$/.test(v)) throw invalid(k, 'User');
      } else if (typeof v === 'string' && v.length > 256) {
        throw invalid(k, 'User');
      }
    }
  }

  function userPatchOf(body: Record<string, unknown>): UserInput {
    const patch: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(body)) {
      if (k === 'passwordProfile') patch.password = (v as { password: string }).password;
      else patch[k] = v;
    }
    return patch as UserInput;
  }

  // --- Graph routes ------------------------------------------------------------------------------

  type Route = { method: string; pattern: RegExp; permission: 'read' | 'write'; handle: (m: string[], q: URLSearchParams, body: unknown, prefer: string | undefined) => { status: number; body?: unknown; headers?: Record<string, string> } };

  const requireUser = (key: string) => {
    const u = findUser(key);
    if (!u) throw notFound(key);
    return u;
  };
  const requireGroup = (id: string) => {
    const g = groups.get(id);
    if (!g) throw notFound(id);
    return g;
  };
  const objectBody = (body: unknown): Record<string, unknown> => {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GraphFailure(400, 'BadRequest', 'Empty Payload. JSON content expected.');
    return body as Record<string, unknown>;
  };

  function filtered(kind: 'users' | 'groups', q: URLSearchParams): string[] {
    let ids = kind === 'users' ? [...users.keys()] : [...groups.keys()];
    const filter = q.get('$filter');
    if (!filter) return ids;
    const m = /^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$/.exec(filter);
    const allowed = kind === 'users' ? ['userPrincipalName', 'mail', 'mailNickname', 'displayName', 'employeeId'] : ['mailNickname', 'displayName', 'mail'];
    if (!m || !allowed.includes(m[1]!)) throw badRequest(`Unsupported or invalid query filter clause specified for property '${m?.[1] ?? filter}' of resource '${kind === 'users' ? 'User' : 'Group'}'.`, 'Request_UnsupportedQuery');
    const [, prop, raw] = m as unknown as [string, string, string];
    const value = raw.replace(/''/g, "'").toLowerCase();
    ids = ids.filter((id) => {
      const v = ((users.get(id) ?? groups.get(id)) as unknown as Record<string, unknown>)[prop];
      return typeof v === 'string' && v.toLowerCase() === value;
    });
    return ids;
  }
  const renderUser: Render = (id, select) => {
    const u = users.get(id);
    return u && userJson(u, select ?? USER_DEFAULT);
  };
  const renderGroup: Render = (id, select) => {
    const g = groups.get(id);
    return g && groupJson(g, select ?? GROUP_DEFAULT);
  };
  const renderObject: Render = (id, select) => (kindOf(id) || roles.has(id) ? directoryObjectJson(id, select) : undefined);

  function transitive(groupId: string): string[] {
    const out = new Set<string>();
    const queue = [groupId];
    const seen = new Set([groupId]);
    while (queue.length > 0) {
      const g = groups.get(queue.shift()!);
      if (!g) continue;
      for (const m of g.members) {
        out.add(m);
        if (groups.has(m) && !seen.has(m)) {
          seen.add(m);
          queue.push(m);
        }
      }
    }
    return [...out];
  }

  const GROUP_CREATE = new Set(['displayName', 'description', 'mailNickname', 'groupTypes', 'securityEnabled', 'mailEnabled', 'visibility']);

  const routes: Route[] = [
    { method: 'GET', pattern: /^\/users\/delta$/, permission: 'read', handle: (_m, q, _b, prefer) => ({ status: 200, body: delta('users', q, prefer) }) },
    { method: 'GET', pattern: /^\/groups\/delta$/, permission: 'read', handle: (_m, q, _b, prefer) => ({ status: 200, body: delta('groups', q, prefer) }) },
    {
      method: 'GET',
      pattern: /^\/users$/,
      permission: 'read',
      handle: (_m, q, _b, prefer) => ({ status: 200, body: collection(q, prefer, 'users', '/users', () => filtered('users', q), renderUser) }),
    },
    {
      method: 'POST',
      pattern: /^\/users$/,
      permission: 'write',
      handle: (_m, _q, raw) => {
        const body = objectBody(raw);
        checkProperties(body, new Set([...USER_WRITABLE, 'passwordProfile']), 'user');
        for (const required of ['accountEnabled', 'displayName', 'mailNickname', 'userPrincipalName', 'passwordProfile']) {
          if (body[required] === undefined || body[required] === null) throw badRequest(`A value is required for property '${required}' of resource 'User'.`);
        }
        checkUserValues(body);
        const user = insertUser(userPatchOf(body) as UserInput & { userPrincipalName: string });
        return { status: 201, body: { '@odata.context': `${base}/v1.0/$metadata#users/$entity`, ...userJson(user, USER_DEFAULT) } };
      },
    },
    { method: 'GET', pattern: /^\/users\/([^/]+)$/, permission: 'read', handle: (m, q) => ({ status: 200, body: { '@odata.context': `${base}/v1.0/$metadata#users/$entity`, ...userJson(requireUser(m[1]!), selectOf(q) ?? USER_DEFAULT) } }) },
    {
      method: 'PATCH',
      pattern: /^\/users\/([^/]+)$/,
      permission: 'write',
      handle: (m, _q, raw) => {
        const user = requireUser(m[1]!);
        const body = objectBody(raw);
        checkProperties(body, new Set([...USER_WRITABLE, 'passwordProfile']), 'user');
        checkUserValues(body, user.id);
        if (body.passwordProfile !== undefined && !permissions.has('User-PasswordProfile.ReadWrite.All') && !permissions.has('Directory.ReadWrite.All')) throw forbidden();
        changeUser(user, userPatchOf(body));
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/users\/([^/]+)$/,
      permission: 'write',
      handle: (m) => {
        removeUser(requireUser(m[1]!).id);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: /^\/users\/([^/]+)\/memberOf$/,
      permission: 'read',
      handle: (m, q, _b, prefer) => {
        const user = requireUser(m[1]!);
        const ids = () => [...[...groups.values()].filter((g) => g.members.has(user.id)).map((g) => g.id), ...[...roles.values()].filter((r) => r.members.has(user.id)).map((r) => r.id)];
        return { status: 200, body: collection(q, prefer, 'directoryObjects', `/users/${user.id}/memberOf`, ids, renderObject) };
      },
    },
    {
      method: 'GET',
      pattern: /^\/groups$/,
      permission: 'read',
      handle: (_m, q, _b, prefer) => ({ status: 200, body: collection(q, prefer, 'groups', '/groups', () => filtered('groups', q), renderGroup) }),
    },
    {
      method: 'POST',
      pattern: /^\/groups$/,
      permission: 'write',
      handle: (_m, _q, raw) => {
        const body = objectBody(raw);
        checkProperties(body, GROUP_CREATE, 'group');
        for (const required of ['displayName', 'mailEnabled', 'mailNickname', 'securityEnabled']) {
          if (body[required] === undefined || body[required] === null) throw badRequest(`A value is required for property '${required}' of resource 'Group'.`);
        }
        if (typeof body.displayName !== 'string' || body.displayName.trim() === '' || body.displayName.length > 256) throw invalid('displayName', 'Group');
        if (typeof body.mailNickname !== 'string' || !validNickname(body.mailNickname)) throw invalid('mailNickname', 'Group');
        if (typeof body.mailEnabled !== 'boolean') throw invalid('mailEnabled', 'Group');
        if (typeof body.securityEnabled !== 'boolean') throw invalid('securityEnabled', 'Group');
        const groupTypes = body.groupTypes ?? [];
        if (!Array.isArray(groupTypes) || groupTypes.some((t) => t !== 'Unified' && t !== 'DynamicMembership')) throw invalid('groupTypes', 'Group');
        const unified = groupTypes.includes('Unified');
        // https://learn.microsoft.com/en-us/graph/api/group-post-groups: Graph creates Microsoft 365 and security groups only.
        if (unified && !body.mailEnabled) throw invalid('mailEnabled', 'Group');
        if (!unified && body.mailEnabled) throw badRequest('Cannot create a mail-enabled security groups and or distribution list.');
        if (!unified && !body.securityEnabled) throw invalid('securityEnabled', 'Group');
        const nick = body.mailNickname;
        if (unified && [...groups.values()].some((g) => g.groupTypes.includes('Unified') && g.mailNickname.toLowerCase() === nick.toLowerCase())) throw badRequest(MSG_NICKNAME_TAKEN);
        if (body.description !== undefined && body.description !== null && typeof body.description !== 'string') throw invalid('description', 'Group');
        const group = insertGroup({ displayName: body.displayName, description: (body.description as string | null | undefined) ?? null, mailNickname: nick, type: unified ? 'microsoft365' : 'security' });
        return { status: 201, body: { '@odata.context': `${base}/v1.0/$metadata#groups/$entity`, ...groupJson(group, GROUP_DEFAULT) } };
      },
    },
    { method: 'GET', pattern: /^\/groups\/([^/]+)$/, permission: 'read', handle: (m, q) => ({ status: 200, body: { '@odata.context': `${base}/v1.0/$metadata#groups/$entity`, ...groupJson(requireGroup(m[1]!), selectOf(q) ?? GROUP_DEFAULT) } }) },
    {
      method: 'PATCH',
      pattern: /^\/groups\/([^/]+)$/,
      permission: 'write',
      handle: (m, _q, raw) => {
        const group = requireGroup(m[1]!);
        const body = objectBody(raw);
        checkProperties(body, new Set(['displayName', 'description', 'mailNickname', 'visibility']), 'group');
        if (body.displayName !== undefined && (typeof body.displayName !== 'string' || body.displayName.trim() === '')) throw invalid('displayName', 'Group');
        if (body.description !== undefined && body.description !== null && typeof body.description !== 'string') throw invalid('description', 'Group');
        if (body.mailNickname !== undefined) {
          if (typeof body.mailNickname !== 'string' || !validNickname(body.mailNickname)) throw invalid('mailNickname', 'Group');
          const nick = body.mailNickname.toLowerCase();
          if (group.groupTypes.includes('Unified') && [...groups.values()].some((g) => g.id !== group.id && g.groupTypes.includes('Unified') && g.mailNickname.toLowerCase() === nick)) throw badRequest(MSG_NICKNAME_TAKEN);
        }
        for (const k of ['displayName', 'description', 'mailNickname'] as const) if (body[k] !== undefined) (group as Record<string, unknown>)[k] = body[k];
        group.changed = ++seq;
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/groups\/([^/]+)$/,
      permission: 'write',
      handle: (m) => {
        removeGroup(requireGroup(m[1]!).id);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: /^\/groups\/([^/]+)\/(members|transitiveMembers)$/,
      permission: 'read',
      handle: (m, q, _b, prefer) => {
        const group = requireGroup(m[1]!);
        const ids = () => (m[2] === 'members' ? [...group.members] : transitive(group.id));
        return { status: 200, body: collection(q, prefer, 'directoryObjects', `/groups/${group.id}/${m[2]}`, ids, renderObject) };
      },
    },
    {
      method: 'POST',
      pattern: /^\/groups\/([^/]+)\/members\/\$ref$/,
      permission: 'write',
      handle: (m, _q, raw) => {
        const group = requireGroup(m[1]!);
        const ref = objectBody(raw)['@odata.id'];
        const id = typeof ref === 'string' ? /\/(?:directoryObjects|users|groups)\/([0-9a-f-]{36})$/i.exec(ref)?.[1] : undefined;
        if (!id) throw badRequest('Invalid object identifier', 'Request_BadRequest');
        if (!kindOf(id)) throw notFound(id);
        if (id === group.id) throw badRequest('A group cannot be a member of itself.');
        if (group.members.has(id)) throw badRequest(MSG_MEMBER_EXISTS);
        link(group, id);
        return { status: 204 };
      },
    },
    {
      method: 'DELETE',
      pattern: /^\/groups\/([^/]+)\/members\/([^/]+)\/\$ref$/,
      permission: 'write',
      handle: (m) => {
        const group = requireGroup(m[1]!);
        if (!group.members.has(m[2]!)) throw notFound(m[2]!);
        unlink(group, m[2]!);
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      pattern: /^\/directoryRoles$/,
      permission: 'read',
      handle: () => ({ status: 200, body: { '@odata.context': `${base}/v1.0/$metadata#directoryRoles`, value: [...roles.values()].map((r) => ({ id: r.id, deletedDateTime: null, description: r.description, displayName: r.displayName, roleTemplateId: r.roleTemplateId })) } }),
    },
    {
      method: 'GET',
      pattern: /^\/directoryRoles\/([^/]+)\/members$/,
      permission: 'read',
      handle: (m, q, _b, prefer) => {
        const role = roles.get(m[1]!);
        if (!role) throw notFound(m[1]!);
        return { status: 200, body: collection(q, prefer, 'directoryObjects', `/directoryRoles/${role.id}/members`, () => [...role.members], renderObject) };
      },
    },
  ];

  const forbidden = () => new GraphFailure(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');

  function permitted(route: Route, path: string): boolean {
    const has = (...p: string[]) => p.some((x) => permissions.has(x) || permissions.has('Directory.ReadWrite.All'));
    if (path.startsWith('/directoryRoles')) return has('RoleManagement.Read.Directory', 'Directory.Read.All');
    const onGroups = path.startsWith('/groups');
    if (route.permission === 'read') return onGroups ? has('Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All') : has('User.Read.All', 'User.ReadWrite.All', 'Directory.Read.All');
    if (/\/members\//.test(path)) return has('GroupMember.ReadWrite.All', 'Group.ReadWrite.All');
    return onGroups ? has('Group.ReadWrite.All') : has('User.ReadWrite.All');
  }

  // --- token endpoint ----------------------------------------------------------------------------

  function aadError(status: number, error: string, code: number, description: string) {
    const trace = randomUUID();
    const correlation = randomUUID();
    const at = nowIso(Date.now());
    return {
      status,
      body: {
        error,
        error_description: `AADSTS${code}: ${description} Trace ID: ${trace} Correlation ID: ${correlation} Timestamp: ${at.replace('T', ' ').replace('Z', 'Z')}`,
        error_codes: [code],
        timestamp: at,
        trace_id: trace,
        correlation_id: correlation,
        error_uri: `${base}/error?code=${code}`,
      },
    };
  }

  function openIdConfiguration(tenant: string) {
    const t = tenant === tenantId ? tenantId : tenant;
    return {
      token_endpoint: `${base}/${t}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${base}/${t}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${base}/${t}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${GRAPH_PUBLIC}/oidc/userinfo`,
      authorization_endpoint: `${base}/${t}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/${t}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/${t}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'oid'],
      kerberos_endpoint: `${base}/${t}/kerberos`,
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  function token(tenant: string, form: URLSearchParams): { status: number; body: unknown } {
    if (tenant !== tenantId) return aadError(400, 'invalid_request', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    if (form.get('grant_type') !== 'client_credentials') return aadError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    if (form.get('client_id') !== clientId) return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id')}' was not found in the directory '${tenantId}'.`);
    if (form.get('client_secret') !== clientSecret) return aadError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`);
    const scope = form.get('scope') ?? '';
    if (!scope.split(' ').some((s) => s === `${GRAPH_PUBLIC}/.default` || s === `${base}/.default`)) {
      return aadError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const issued = Math.floor(Date.now() / 1000);
    const header = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'HS256' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ aud: GRAPH_PUBLIC, iss: `https://sts.windows.net/${tenantId}/`, iat: issued, nbf: issued, exp: issued + 3599, appid: clientId, tid: tenantId, roles: [...permissions], jti: randomUUID() })).toString('base64url');
    const signature = createHmac('sha256', clientSecret).update(`${header}.${payload}`).digest('base64url');
    const accessToken = `${header}.${payload}.${signature}`;
    tokens.set(accessToken, Date.now() + 3599_000);
    return { status: 200, body: { token_type: 'Bearer', expires_in: 3599, ext_expires_in: 3599, access_token: accessToken } };
  }

  // --- the server --------------------------------------------------------------------------------

  function graphError(status: number, code: string, message: string, clientRequestId: string, requestId: string) {
    return { error: { code, message, innerError: { date: nowIso(Date.now()), 'request-id': requestId, 'client-request-id': clientRequestId } } };
  }

  const FAULT_TEXT: Record<number, [string, string]> = {
    429: ['TooManyRequests', 'Please retry again later.'],
    500: ['generalException', 'General exception while processing.'],
    502: ['badGateway', 'Bad gateway.'],
    503: ['serviceNotAvailable', 'The service is temporarily unavailable for maintenance or is overloaded. You may repeat the request after a delay, which can be specified in a Retry-After header.'],
    504: ['gatewayTimeout', 'The server, while acting as a proxy, did not receive a timely response from the upstream server it needed to access in attempting to complete the request.'],
  };

  function takeFault(method: string, path: string): Fault | undefined {
    const i = faults.findIndex((f) => (f.match ? f.match(method, path) : path.startsWith('/v1.0/')));
    if (i < 0) return undefined;
    const fault = faults[i]!;
    if (--fault.times <= 0) faults.splice(i, 1);
    return fault;
  }

  /** The identity write limit as a token bucket: a steady client at the limit waits, it is not locked out. */
  function throttled(): number | undefined {
    if (!bucket) return undefined;
    const t = now();
    bucket.tokens = Math.min(bucket.capacity, bucket.tokens + (t - bucket.at) * bucket.perMs);
    bucket.at = t;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / bucket.perMs / 1000));
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const path = url.pathname;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const clientRequestId = (req.headers['client-request-id'] as string | undefined) ?? randomUUID();
    const requestId = randomUUID();
    const entry: LoggedRequest = { method, path, query: url.search, status: 0 };
    requests.push(entry);
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      const json = body === undefined ? undefined : JSON.stringify(body);
      res.writeHead(status, {
        ...(json !== undefined ? { 'Content-Type': path.startsWith('/v1.0/') ? 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8' : 'application/json; charset=utf-8' } : {}),
        'request-id': requestId,
        'client-request-id': clientRequestId,
        ...headers,
      });
      res.end(json);
    };
    if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));

    const fault = takeFault(method, path);
    const faultAnswer = (f: Fault) => {
      entry.injected = 'fault';
      const [code, message] = FAULT_TEXT[f.status]!;
      send(f.status, graphError(f.status, code, message, clientRequestId, requestId), f.retryAfterSeconds !== undefined ? { 'Retry-After': String(f.retryAfterSeconds) } : {});
    };
    if (fault && !fault.afterCommit) return faultAnswer(fault);

    // The token endpoint and MSAL's discovery.
    const tenantPath = /^\/([^/]+)\/(v2\.0\/)?\.well-known\/openid-configuration$/.exec(path);
    if (tenantPath && method === 'GET') {
      if (tenantPath[1] !== tenantId) return send(400, aadError(400, 'invalid_tenant', 90002, `Tenant '${tenantPath[1]}' not found.`).body);
      return send(200, openIdConfiguration(tenantPath[1]!));
    }
    const tokenPath = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path);
    if (tokenPath && method === 'POST') {
      const answer = token(tokenPath[1]!, new URLSearchParams(text));
      return send(answer.status, answer.body);
    }

    if (!path.startsWith('/v1.0/')) return send(404, graphError(404, 'BadRequest', `Resource not found for the segment '${path.split('/')[1] ?? ''}'.`, clientRequestId, requestId));
    const auth = req.headers.authorization;
    const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : '';
    const expiry = tokens.get(bearer);
    if (!bearer || expiry === undefined || expiry < Date.now()) {
      return send(401, graphError(401, 'InvalidAuthenticationToken', bearer ? 'Access token validation failure. Invalid audience.' : 'Access token is empty.', clientRequestId, requestId), { 'WWW-Authenticate': 'Bearer realm=""' });
    }
    const write = method !== 'GET';
    if (write) {
      const wait = throttled();
      if (wait !== undefined) {
        entry.injected = 'throttle';
        return send(429, graphError(429, 'TooManyRequests', 'Please retry again later.', clientRequestId, requestId), { 'Retry-After': String(wait) });
      }
    }
    const graphPath = path.slice('/v1.0'.length).split('/').map((s) => decodeURIComponent(s)).join('/');
    let route: Route | undefined;
    let match: RegExpExecArray | null = null;
    for (const r of routes) {
      if (r.method !== method) continue;
      match = r.pattern.exec(graphPath);
      if (match) {
        route = r;
        break;
      }
    }
    if (!route || !match) return send(400, graphError(400, 'BadRequest', `Resource not found for the segment '${graphPath.split('/')[1] ?? ''}'.`, clientRequestId, requestId));
    if (!permitted(route, graphPath)) {
      const f = forbidden();
      return send(403, graphError(403, f.code, f.message, clientRequestId, requestId));
    }
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        return send(400, graphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.', clientRequestId, requestId));
      }
    }
    try {
      const answer = route.handle([...match], url.searchParams, body, req.headers.prefer as string | undefined);
      if (write) {
        const key = `${method} ${graphPath.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{id}').replace(/\/users\/[^/]+@[^/]+/, '/users/{id}')}`;
        writes.set(key, (writes.get(key) ?? 0) + 1);
      }
      if (fault) return faultAnswer(fault);
      send(answer.status, answer.body, answer.headers);
    } catch (e) {
      if (!(e instanceof GraphFailure)) throw e;
      send(e.status, graphError(e.status, e.code, e.message, clientRequestId, requestId), e.headers);
    }
  }

  const server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'generalException', message: e instanceof Error ? e.message : String(e) } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const plainUser = (u: EmulatedUser & { changed: number }): EmulatedUser => {
    const { changed: _changed, ...rest } = u;
    return { ...rest };
  };
  const plainGroup = (g: NonNullable<ReturnType<typeof groups.get>>): EmulatedGroup => {
    const { changed: _c, memberLog: _l, members, ...rest } = g;
    return { ...rest, groupTypes: [...rest.groupTypes], members: [...members] };
  };
  const requireUserOrThrow = (id: string) => {
    const u = users.get(id);
    if (!u) throw new Error(`no user ${id}`);
    return u;
  };
  const requireGroupOrThrow = (id: string) => {
    const g = groups.get(id);
    if (!g) throw new Error(`no group ${id}`);
    return g;
  };

  return {
    authorityHost: base,
    graphBaseUrl: base,
    ca: certs.ca.toString('utf8'),
    tenantId,
    clientId,
    clientSecret,
    domain,
    domains,
    permissions,
    admin: {
      createUser: (input) => plainUser(insertUser(input)),
      updateUser: (id, patch) => changeUser(requireUserOrThrow(id), patch),
      deleteUser: (id, o) => removeUser(requireUserOrThrow(id).id, o?.permanently),
      createGroup: (input) => plainGroup(insertGroup(input)),
      updateGroup: (id, patch) => {
        const g = requireGroupOrThrow(id);
        if (patch.displayName !== undefined) g.displayName = patch.displayName;
        if (patch.description !== undefined) g.description = patch.description;
        g.changed = ++seq;
      },
      deleteGroup: (id, o) => removeGroup(requireGroupOrThrow(id).id, o?.permanently),
      addMember: (groupId, memberId) => {
        const g = requireGroupOrThrow(groupId);
        if (!g.members.has(memberId)) link(g, memberId);
      },
      removeMember: (groupId, memberId) => {
        const g = requireGroupOrThrow(groupId);
        if (g.members.has(memberId)) unlink(g, memberId);
      },
      assignRole: (userId, roleName) => assignRole(requireUserOrThrow(userId).id, roleName),
    },
    user: (key) => {
      const u = findUser(key);
      return u ? plainUser(u) : undefined;
    },
    users: () => [...users.values()].map(plainUser),
    group: (id) => {
      const g = groups.get(id);
      return g ? plainGroup(g) : undefined;
    },
    groups: () => [...groups.values()].map(plainGroup),
    requests,
    writes,
    fail: (fault) => {
      faults.push({ ...fault });
    },
    rateLimit: (limit) => {
      bucket = limit ? { capacity: limit.writesPer150s, perMs: limit.writesPer150s / 150_000, tokens: limit.writesPer150s, at: now() } : null;
    },
    latency: (ms) => {
      latencyMs = ms;
    },
    advance: (ms) => {
      clockOffset += ms;
    },
    expireDeltaTokens: (answer = 410) => {
      expiredAnswer = answer;
      deltaTokens.clear();
      rounds.clear();
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

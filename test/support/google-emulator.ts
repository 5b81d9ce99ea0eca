import { generateKeyPairSync, randomBytes, randomInt, verify, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local stand-in for the Google Workspace Admin SDK Directory API (users, groups, members) and
 * Google's OAuth 2.0 token endpoint for service accounts, so that Google's own client library can
 * be tested without reaching Google. What it covers, with the reference for each behaviour, is in
 * docs/emulators/google-workspace.md.
 */

const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const AUTH = 'https://www.googleapis.com/auth/';
const SCOPES = {
  user: `${AUTH}admin.directory.user`,
  userRead: `${AUTH}admin.directory.user.readonly`,
  group: `${AUTH}admin.directory.group`,
  groupRead: `${AUTH}admin.directory.group.readonly`,
  member: `${AUTH}admin.directory.group.member`,
  memberRead: `${AUTH}admin.directory.group.member.readonly`,
};
const API = '/admin/directory/v1';

export interface EmulatedUser {
  id: string;
  primaryEmail: string;
  name: { givenName: string; familyName: string };
  password: string;
  suspended: boolean;
  orgUnitPath: string;
  isAdmin: boolean;
  isDelegatedAdmin: boolean;
  changePasswordAtNextLogin: boolean;
  organizations?: Record<string, unknown>[];
  externalIds?: Record<string, unknown>[];
  creationTime: string;
  etag: string;
}

export interface EmulatedGroup {
  id: string;
  email: string;
  name: string;
  description: string;
  etag: string;
}

export interface EmulatedMember {
  id: string;
  role: 'OWNER' | 'MANAGER' | 'MEMBER';
  type: 'USER' | 'GROUP';
}

/** A user as an administrator creates it in the Admin console. */
export interface ConsoleUser {
  primaryEmail: string;
  givenName?: string;
  familyName?: string;
  password?: string;
  suspended?: boolean;
  orgUnitPath?: string;
  isAdmin?: boolean;
  isDelegatedAdmin?: boolean;
  organizations?: Record<string, unknown>[];
  externalIds?: Record<string, unknown>[];
}

/** An injected failure: the next `times` matching requests answer `status` (by default every API request matches; the token endpoint only when `match` says so). */
export interface Fault {
  status: number;
  times?: number;
  reason?: string;
  message?: string;
  retryAfterSeconds?: number;
  match?: (method: string, path: string) => boolean;
  /** Carry the request out, then answer the error: an answer lost on the way back. */
  afterCommit?: boolean;
}

export interface RequestRecord {
  method: string;
  path: string;
  query: string;
  status: number;
}

export interface GoogleEmulatorOptions {
  domain?: string;
  adminEmail?: string;
  latencyMs?: number;
}

export interface GoogleEmulator {
  /** The API root to give the client library (its `rootUrl`). */
  rootUrl: string;
  tokenUrl: string;
  /** A service account key file's contents (JSON), its token_uri the emulator's. */
  serviceAccountKey: string;
  /** The super admin the service account may impersonate (domain-wide delegation). */
  adminEmail: string;
  customerId: string;
  domain: string;
  /** Every request answered, in order. */
  requests: RequestRecord[];
  /** Writes carried out (committed), through the API. */
  readonly writes: number;
  readonly tokensIssued: number;
  fail(fault: Fault): void;
  /** A token bucket per impersonated user: `perMinute` refilled steadily, `burst` at most at once; null lifts it. */
  rateLimit(perMinute: number | null, burst?: number): void;
  setLatency(ms: number): void;
  /** The scopes the domain-wide delegation grants the service account (Admin console → Security → API controls). */
  delegateScopes(scopes: string[]): void;
  addOrgUnit(path: string): void;
  addUser(user: ConsoleUser): EmulatedUser;
  updateUser(key: string, changes: Partial<ConsoleUser>): EmulatedUser;
  deleteUser(key: string): void;
  user(key: string): EmulatedUser | undefined;
  users(): EmulatedUser[];
  addGroup(group: { email: string; name?: string; description?: string }): EmulatedGroup;
  deleteGroup(key: string): void;
  group(key: string): EmulatedGroup | undefined;
  groups(): EmulatedGroup[];
  addMember(groupKey: string, memberKey: string, role?: EmulatedMember['role']): void;
  removeMember(groupKey: string, memberKey: string): void;
  members(groupKey: string): EmulatedMember[];
  close(): Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly domain = 'global',
  ) {
    super(message);
  }
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  412: 'FAILED_PRECONDITION',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

/** Google's JSON error body (https://cloud.google.com/apis/design/errors#http_mapping, with the Directory API's `errors[]`). */
const errorReply = (e: ApiError, headers?: Record<string, string>): Reply => ({
  status: e.status,
  headers,
  body: { error: { code: e.status, message: e.message, errors: [{ message: e.message, domain: e.domain, reason: e.reason }], status: STATUS_NAMES[e.status] ?? 'UNKNOWN' } },
});

const invalid = (message: string) => new ApiError(400, 'invalid', message);
const notFound = (key: string) => new ApiError(404, 'notFound', `Resource Not Found: ${key}`);
const duplicate = (message = 'Entity already exists.') => new ApiError(409, 'duplicate', message);

const FAULT_DEFAULTS: Record<number, { reason: string; message: string }> = {
  401: { reason: 'authError', message: 'Invalid Credentials' },
  403: { reason: 'forbidden', message: 'Not Authorized to access this resource/api' },
  429: { reason: 'rateLimitExceeded', message: 'Rate Limit Exceeded' },
  500: { reason: 'backendError', message: 'Internal error encountered.' },
  503: { reason: 'backendError', message: 'The service is currently unavailable.' },
};

const EMAIL = /^[a-z0-9](?:[a-z0-9._'+-]{0,62})@([a-z0-9.-]+)$/i;
const digits = (n: number) => Array.from({ length: n }, () => randomInt(10)).join('');
const etag = () => `"${randomBytes(12).toString('base64url')}"`;
const lower = (s: string) => s.toLowerCase();
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function startGoogleEmulator(options: GoogleEmulatorOptions = {}): Promise<GoogleEmulator> {
  const domain = options.domain ?? 'example.com';
  const adminEmail = options.adminEmail ?? `admin@${domain}`;
  const customerId = `C0${randomBytes(4).toString('hex').slice(0, 7)}`;
  const clientEmail = 'roster-sync@roster-emulator.iam.gserviceaccount.com';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const serviceAccounts = new Map<string, KeyObject>([[clientEmail, publicKey]]);
  let delegated = new Set([SCOPES.user, SCOPES.group, SCOPES.member]);
  let latencyMs = options.latencyMs ?? 0;

  const users = new Map<string, EmulatedUser>();
  const groups = new Map<string, EmulatedGroup>();
  const members = new Map<string, Map<string, EmulatedMember>>();
  const orgUnits = new Set(['/']);
  const tokens = new Map<string, { sub: string; scopes: Set<string>; expiresAt: number }>();
  const pageTokens = new Map<string, { list: string; after: string }>();
  const faults: { fault: Fault; left: number }[] = [];
  let limit: { perMinute: number; burst: number } | null = null;
  const buckets = new Map<string, { tokens: number; at: number }>();
  const requests: RequestRecord[] = [];
  let writes = 0;
  let tokensIssued = 0;

  // ---- state -------------------------------------------------------------------------------

  const findUser = (key: string): EmulatedUser | undefined => users.get(key) ?? [...users.values()].find((u) => lower(u.primaryEmail) === lower(key));
  const findGroup = (key: string): EmulatedGroup | undefined => groups.get(key) ?? [...groups.values()].find((g) => lower(g.email) === lower(key));
  const emailTaken = (email: string, except?: string) =>
    [...users.values()].some((u) => u.id !== except && lower(u.primaryEmail) === lower(email)) || [...groups.values()].some((g) => g.id !== except && lower(g.email) === lower(email));
  const newUserId = () => {
    let id: string;
    do id = `1${digits(20)}`;
    while (users.has(id));
    return id;
  };
  const newGroupId = () => `0${randomBytes(7).toString('hex')}`;
  const addOrgUnit = (path: string) => {
    const parts = path.split('/').filter(Boolean);
    for (let i = 1; i <= parts.length; i++) orgUnits.add(`/${parts.slice(0, i).join('/')}`);
  };
  const ouExists = (path: string) => [...orgUnits].some((p) => lower(p) === lower(path));
  const inOu = (userPath: string, scope: string) => scope === '/' || lower(userPath) === lower(scope) || lower(userPath).startsWith(`${lower(scope)}/`);

  // ---- validation (https://developers.google.com/workspace/admin/directory/reference/rest/v1/users) ----

  const checkEmail = (email: unknown, field: string): string => {
    if (typeof email !== 'string' || email.trim() === '') throw invalid(`Invalid Input: ${field}`);
    const m = EMAIL.exec(email.trim());
    if (!m) throw invalid(`Invalid Input: ${field}`);
    if (lower(m[1]!) !== lower(domain)) throw invalid('Domain not found.');
    return email.trim();
  };
  const checkName = (value: unknown, which: 'GivenName' | 'FamilyName'): string => {
    if (typeof value !== 'string' || value.trim() === '' || value.length > 60) throw invalid(`Invalid Given/Family Name: ${which}`);
    return value;
  };
  const checkPassword = (value: unknown): string => {
    if (typeof value !== 'string' || value.length < 8 || value.length > 100) throw invalid('Invalid Password');
    return value;
  };
  const checkEntries = (value: unknown, field: string): Record<string, unknown>[] | undefined => {
    if (value === null) return undefined;
    if (!Array.isArray(value) || !value.every(isObject)) throw invalid(`Invalid Input: ${field}`);
    return value.map((v) => ({ ...v }));
  };

  /** users.insert, users.patch and users.update (the latter "supports patch semantics"): validated whole, then applied. */
  const writeUser = (current: EmulatedUser | undefined, body: Record<string, unknown>): EmulatedUser => {
    const next: EmulatedUser = current
      ? { ...current, name: { ...current.name } }
      : {
          id: '',
          primaryEmail: '',
          name: { givenName: '', familyName: '' },
          password: '',
          suspended: false,
          orgUnitPath: '/',
          isAdmin: false,
          isDelegatedAdmin: false,
          changePasswordAtNextLogin: false,
          creationTime: new Date().toISOString(),
          etag: '',
        };
    if (!current || body.primaryEmail !== undefined) {
      next.primaryEmail = checkEmail(body.primaryEmail, 'primary_user_email');
      if (emailTaken(next.primaryEmail, current?.id)) throw duplicate();
    }
    if (!current || body.name !== undefined) {
      const name = isObject(body.name) ? body.name : {};
      if (!current || name.givenName !== undefined) next.name.givenName = checkName(name.givenName, 'GivenName');
      if (!current || name.familyName !== undefined) next.name.familyName = checkName(name.familyName, 'FamilyName');
    }
    if (!current || body.password !== undefined) next.password = checkPassword(body.password);
    if (body.hashFunction !== undefined && !['MD5', 'SHA-1', 'crypt'].includes(String(body.hashFunction))) throw invalid('Invalid Input: hashFunction');
    if (body.suspended !== undefined) {
      if (typeof body.suspended !== 'boolean') throw invalid('Invalid Input: suspended');
      next.suspended = body.suspended;
    }
    if (body.changePasswordAtNextLogin !== undefined) next.changePasswordAtNextLogin = body.changePasswordAtNextLogin === true;
    if (body.orgUnitPath !== undefined) {
      if (typeof body.orgUnitPath !== 'string' || !ouExists(body.orgUnitPath)) throw invalid('Invalid Input: INVALID_OU_ID');
      next.orgUnitPath = [...orgUnits].find((p) => lower(p) === lower(body.orgUnitPath as string))!;
    }
    // Repeated fields are replaced whole; null clears them.
    if (body.organizations !== undefined) next.organizations = checkEntries(body.organizations, 'organizations');
    if (body.externalIds !== undefined) {
      next.externalIds = checkEntries(body.externalIds, 'externalIds');
      for (const e of next.externalIds ?? []) {
        if (typeof e.value !== 'string' || !['account', 'custom', 'customer', 'login_id', 'network', 'organization'].includes(String(e.type))) throw invalid('Invalid Input: externalIds');
      }
    }
    next.id ||= newUserId();
    next.etag = etag();
    users.set(next.id, next);
    return next;
  };

  const userView = (u: EmulatedUser) => ({
    kind: 'admin#directory#user',
    id: u.id,
    etag: u.etag,
    primaryEmail: u.primaryEmail,
    name: { givenName: u.name.givenName, familyName: u.name.familyName, fullName: `${u.name.givenName} ${u.name.familyName}` },
    isAdmin: u.isAdmin,
    isDelegatedAdmin: u.isDelegatedAdmin,
    lastLoginTime: '1970-01-01T00:00:00.000Z',
    creationTime: u.creationTime,
    agreedToTerms: false,
    suspended: u.suspended,
    ...(u.suspended ? { suspensionReason: 'ADMIN' } : {}),
    archived: false,
    changePasswordAtNextLogin: u.changePasswordAtNextLogin,
    ipWhitelisted: false,
    emails: [{ address: u.primaryEmail, primary: true }],
    ...(u.organizations ? { organizations: u.organizations } : {}),
    ...(u.externalIds ? { externalIds: u.externalIds } : {}),
    customerId,
    orgUnitPath: u.orgUnitPath,
    isMailboxSetup: true,
    isEnrolledIn2Sv: false,
    isEnforcedIn2Sv: false,
    includeInGlobalAddressList: true,
  });

  const groupView = (g: EmulatedGroup) => ({
    kind: 'admin#directory#group',
    id: g.id,
    etag: g.etag,
    email: g.email,
    name: g.name,
    directMembersCount: String(members.get(g.id)?.size ?? 0),
    description: g.description,
    adminCreated: true,
    nonEditableAliases: [`${g.email.split('@')[0]}@${domain}.test-google-a.com`],
  });

  const memberView = (m: EmulatedMember) => {
    const email = m.type === 'USER' ? users.get(m.id)?.primaryEmail : groups.get(m.id)?.email;
    return { kind: 'admin#directory#member', etag: etag(), id: m.id, email, role: m.role, type: m.type, ...(m.type === 'USER' ? { status: 'ACTIVE' } : {}) };
  };

  const writeGroup = (current: EmulatedGroup | undefined, body: Record<string, unknown>): EmulatedGroup => {
    const next: EmulatedGroup = current ? { ...current } : { id: newGroupId(), email: '', name: '', description: '', etag: '' };
    if (!current || body.email !== undefined) {
      next.email = checkEmail(body.email, 'email');
      if (emailTaken(next.email, current?.id)) throw duplicate();
    }
    if (body.name !== undefined) {
      if (typeof body.name !== 'string' || body.name.length > 73) throw invalid('Invalid Input: name');
      next.name = body.name;
    }
    if (!next.name) next.name = next.email.split('@')[0]!;
    if (body.description !== undefined) {
      if (typeof body.description !== 'string' || body.description.length > 4096) throw invalid('Invalid Input: description');
      next.description = body.description;
    }
    next.etag = etag();
    groups.set(next.id, next);
    if (!members.has(next.id)) members.set(next.id, new Map());
    return next;
  };

  const addMember = (g: EmulatedGroup, key: string, role: unknown = 'MEMBER'): EmulatedMember => {
    if (!['OWNER', 'MANAGER', 'MEMBER'].includes(String(role))) throw invalid('Invalid Input: role');
    const user = findUser(key);
    const group = user ? undefined : findGroup(key);
    if (!user && !group) throw notFound('memberKey');
    if (group?.id === g.id) throw invalid('Invalid Input: memberKey');
    const id = (user ?? group)!.id;
    const list = members.get(g.id)!;
    if (list.has(id)) throw duplicate('Member already exists.');
    const m: EmulatedMember = { id, role: role as EmulatedMember['role'], type: user ? 'USER' : 'GROUP' };
    list.set(id, m);
    return m;
  };

  const removeMember = (g: EmulatedGroup, key: string) => {
    const list = members.get(g.id)!;
    const id = list.has(key) ? key : (findUser(key)?.id ?? findGroup(key)?.id);
    if (id === undefined || !list.delete(id)) throw notFound('memberKey');
  };

  /** Members, with includeDerivedMembership those of nested groups too (each once; cycles end). */
  const membersOf = (groupId: string, derived: boolean): EmulatedMember[] => {
    const out = new Map<string, EmulatedMember>();
    const seen = new Set<string>();
    const walk = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      for (const m of members.get(id)?.values() ?? []) {
        if (!out.has(m.id)) out.set(m.id, m);
        if (derived && m.type === 'GROUP') walk(m.id);
      }
    };
    walk(groupId);
    return [...out.values()];
  };

  const dropUser = (u: EmulatedUser) => {
    users.delete(u.id);
    for (const list of members.values()) list.delete(u.id);
  };
  const dropGroup = (g: EmulatedGroup) => {
    groups.delete(g.id);
    members.delete(g.id);
    for (const list of members.values()) list.delete(g.id);
  };

  // ---- paging -------------------------------------------------------------------------------

  /** One page after the page token's key; tokens are opaque and belong to the list (same query) that issued them. */
  const page = <T>(items: T[], key: (item: T) => string, q: URLSearchParams, list: string, max: number, byDefault: number) => {
    const raw = q.get('maxResults');
    const size = raw === null ? byDefault : Number(raw);
    if (!Number.isInteger(size) || size < 1 || size > max) throw invalid('Invalid Input: maxResults');
    const token = q.get('pageToken');
    let after = '';
    if (token) {
      const t = pageTokens.get(token);
      if (!t || t.list !== list) throw invalid('Invalid Input: pageToken');
      after = t.after;
    }
    const sorted = items.map((i) => [key(i), i] as const).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const rest = sorted.filter(([k]) => k > after);
    const chosen = rest.slice(0, size);
    let nextPageToken: string | undefined;
    if (rest.length > size) {
      nextPageToken = randomBytes(18).toString('base64url');
      pageTokens.set(nextPageToken, { list, after: chosen[chosen.length - 1]![0] });
    }
    return { items: chosen.map(([, i]) => i), nextPageToken };
  };

  const listKey = (path: string, q: URLSearchParams) => {
    const rest = new URLSearchParams(q);
    rest.delete('pageToken');
    rest.delete('maxResults');
    rest.sort();
    return `${path}?${rest}`;
  };

  const checkCustomer = (q: URLSearchParams) => {
    const customer = q.get('customer');
    const d = q.get('domain');
    if (customer === null && d === null) throw new ApiError(400, 'badRequest', 'Bad Request');
    if (customer !== null && customer !== 'my_customer' && customer !== customerId) throw new ApiError(400, 'badRequest', 'Bad Request');
    if (d !== null && lower(d) !== lower(domain)) throw new ApiError(400, 'badRequest', 'Domain not found.');
  };

  /** users.list `query` (https://developers.google.com/workspace/admin/directory/v1/guides/search-users): the terms the emulator knows. */
  const userFilter = (query: string | null): ((u: EmulatedUser) => boolean) => {
    const tests: ((u: EmulatedUser) => boolean)[] = [];
    const term = /\s*([A-Za-z]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|(\S+))/y;
    const text = query ?? '';
    let at = 0;
    while (at < text.length) {
      if (text.slice(at).trim() === '') break;
      term.lastIndex = at;
      const m = term.exec(text);
      if (!m) throw invalid(`Invalid Input: ${text}`);
      at = term.lastIndex;
      const value = (m[2] ?? m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1');
      const field = lower(m[1]!);
      if (field === 'orgunitpath') tests.push((u) => inOu(u.orgUnitPath, value));
      else if (field === 'issuspended') tests.push((u) => u.suspended === (value === 'true'));
      else if (field === 'isadmin') tests.push((u) => u.isAdmin === (value === 'true'));
      else throw invalid(`Invalid Input: ${text}`);
    }
    return (u) => tests.every((t) => t(u));
  };

  // ---- routes ------------------------------------------------------------------------------

  type Handler = (params: string[], q: URLSearchParams, body: Record<string, unknown>) => Reply;
  interface Route {
    method: string;
    path: RegExp;
    scopes: string[];
    handle: Handler;
  }
  const ok = (body: unknown): Reply => ({ status: 200, body });
  const userOr404 = (key: string): EmulatedUser => {
    const u = findUser(key);
    if (!u) throw notFound('userKey');
    return u;
  };
  const groupOr404 = (key: string): EmulatedGroup => {
    const g = findGroup(key);
    if (!g) throw notFound('groupKey');
    return g;
  };
  const USER_W = [SCOPES.user];
  const USER_R = [SCOPES.user, SCOPES.userRead];
  const GROUP_W = [SCOPES.group];
  const GROUP_R = [SCOPES.group, SCOPES.groupRead];
  const MEMBER_W = [SCOPES.group, SCOPES.member];
  const MEMBER_R = [SCOPES.group, SCOPES.groupRead, SCOPES.member, SCOPES.memberRead];

  const routes: Route[] = [
    {
      method: 'GET',
      path: /^\/users$/,
      scopes: USER_R,
      handle: (_, q) => {
        checkCustomer(q);
        const filter = userFilter(q.get('query'));
        const { items, nextPageToken } = page([...users.values()].filter(filter), (u) => lower(u.primaryEmail), q, listKey('users', q), 500, 100);
        return ok({ kind: 'admin#directory#users', etag: etag(), users: items.map(userView), ...(nextPageToken ? { nextPageToken } : {}) });
      },
    },
    { method: 'GET', path: /^\/users\/([^/]+)$/, scopes: USER_R, handle: ([key]) => ok(userView(userOr404(key!))) },
    { method: 'POST', path: /^\/users$/, scopes: USER_W, handle: (_, __, body) => ok(userView(writeUser(undefined, body))) },
    { method: 'PATCH', path: /^\/users\/([^/]+)$/, scopes: USER_W, handle: ([key], _, body) => ok(userView(writeUser(userOr404(key!), body))) },
    { method: 'PUT', path: /^\/users\/([^/]+)$/, scopes: USER_W, handle: ([key], _, body) => ok(userView(writeUser(userOr404(key!), body))) },
    {
      method: 'DELETE',
      path: /^\/users\/([^/]+)$/,
      scopes: USER_W,
      handle: ([key]) => {
        dropUser(userOr404(key!));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: /^\/groups$/,
      scopes: GROUP_R,
      handle: (_, q) => {
        const userKey = q.get('userKey');
        if (userKey === null) checkCustomer(q);
        if (q.get('query') !== null) throw invalid(`Invalid Input: ${q.get('query')}`);
        let list = [...groups.values()];
        if (userKey !== null) {
          const u = userOr404(userKey);
          list = list.filter((g) => members.get(g.id)?.has(u.id));
        }
        const { items, nextPageToken } = page(list, (g) => lower(g.email), q, listKey('groups', q), 200, 200);
        return ok({ kind: 'admin#directory#groups', etag: etag(), groups: items.map(groupView), ...(nextPageToken ? { nextPageToken } : {}) });
      },
    },
    { method: 'GET', path: /^\/groups\/([^/]+)$/, scopes: GROUP_R, handle: ([key]) => ok(groupView(groupOr404(key!))) },
    { method: 'POST', path: /^\/groups$/, scopes: GROUP_W, handle: (_, __, body) => ok(groupView(writeGroup(undefined, body))) },
    { method: 'PATCH', path: /^\/groups\/([^/]+)$/, scopes: GROUP_W, handle: ([key], _, body) => ok(groupView(writeGroup(groupOr404(key!), body))) },
    { method: 'PUT', path: /^\/groups\/([^/]+)$/, scopes: GROUP_W, handle: ([key], _, body) => ok(groupView(writeGroup(groupOr404(key!), body))) },
    {
      method: 'DELETE',
      path: /^\/groups\/([^/]+)$/,
      scopes: GROUP_W,
      handle: ([key]) => {
        dropGroup(groupOr404(key!));
        return { status: 204 };
      },
    },
    {
      method: 'GET',
      path: /^\/groups\/([^/]+)\/members$/,
      scopes: MEMBER_R,
      handle: ([key], q) => {
        const g = groupOr404(key!);
        const roles = q.get('roles')?.split(',').map((r) => r.trim().toUpperCase());
        const list = membersOf(g.id, q.get('includeDerivedMembership') === 'true').filter((m) => !roles || roles.includes(m.role));
        const { items, nextPageToken } = page(list, (m) => m.id, q, listKey(`members/${g.id}`, q), 200, 200);
        return ok({ kind: 'admin#directory#members', etag: etag(), members: items.map(memberView), ...(nextPageToken ? { nextPageToken } : {}) });
      },
    },
    {
      method: 'POST',
      path: /^\/groups\/([^/]+)\/members$/,
      scopes: MEMBER_W,
      handle: ([key], _, body) => {
        const g = groupOr404(key!);
        const memberKey = typeof body.id === 'string' ? body.id : typeof body.email === 'string' ? body.email : undefined;
        if (!memberKey) throw invalid('Missing required field: memberKey');
        return ok(memberView(addMember(g, memberKey, body.role ?? 'MEMBER')));
      },
    },
    {
      method: 'DELETE',
      path: /^\/groups\/([^/]+)\/members\/([^/]+)$/,
      scopes: MEMBER_W,
      handle: ([key, memberKey]) => {
        removeMember(groupOr404(key!), memberKey!);
        return { status: 204 };
      },
    },
  ];

  // ---- OAuth 2.0 for service accounts (https://developers.google.com/identity/protocols/oauth2/service-account#httprest) ----

  const grantError = (error: string, description: string, status = 400): Reply => ({ status, body: { error, error_description: description } });

  const issueToken = (form: URLSearchParams): Reply => {
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return grantError('unsupported_grant_type', `Invalid grant_type: ${form.get('grant_type') ?? ''}`);
    const parts = (form.get('assertion') ?? '').split('.');
    if (parts.length !== 3) return grantError('invalid_grant', 'Invalid JWT: Malformed');
    let header: Record<string, unknown>;
    let claims: Record<string, unknown>;
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return grantError('invalid_grant', 'Invalid JWT: Malformed');
    }
    if (header.alg !== 'RS256') return grantError('invalid_grant', 'Invalid JWT Signature.');
    const key = serviceAccounts.get(String(claims.iss));
    if (!key) return grantError('invalid_grant', 'Invalid grant: account not found');
    if (!verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), key, Buffer.from(parts[2]!, 'base64url'))) return grantError('invalid_grant', 'Invalid JWT Signature.');
    if (claims.aud !== GOOGLE_TOKEN_URL && claims.aud !== tokenUrl) return grantError('invalid_grant', `Invalid JWT: Failed audience check. The right audience is ${GOOGLE_TOKEN_URL}`);
    const now = Math.floor(Date.now() / 1000);
    const { iat, exp } = claims;
    if (typeof iat !== 'number' || typeof exp !== 'number' || iat > now + 300 || exp <= now || exp - iat > 3600) {
      return grantError('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.');
    }
    const sub = typeof claims.sub === 'string' ? claims.sub : '';
    const admin = findUser(sub);
    if (!admin) return grantError('invalid_grant', 'Invalid email or User ID');
    const scopes = String(claims.scope ?? '').split(' ').filter(Boolean);
    if (scopes.length === 0 || !scopes.every((s) => delegated.has(s))) {
      return grantError('unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.', 401);
    }
    const accessToken = `ya29.${randomBytes(32).toString('base64url')}`;
    tokens.set(accessToken, { sub: admin.primaryEmail, scopes: new Set(scopes), expiresAt: Date.now() + 3600_000 });
    tokensIssued++;
    return { status: 200, body: { access_token: accessToken, expires_in: 3599, token_type: 'Bearer' } };
  };

  // ---- request pipeline --------------------------------------------------------------------

  /** Rejects a request without a live bearer token (401) or whose token lacks the route's scopes (403). */
  const authenticate = (req: IncomingMessage, scopes: string[]): string => {
    const header = req.headers.authorization ?? '';
    if (!/^Bearer\s+/i.test(header)) {
      throw new ApiError(401, 'required', 'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
    }
    const token = tokens.get(header.replace(/^Bearer\s+/i, '').trim());
    if (!token || token.expiresAt <= Date.now()) {
      throw new ApiError(401, 'authError', 'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.');
    }
    if (!scopes.some((s) => token.scopes.has(s))) throw new ApiError(403, 'insufficientPermissions', 'Request had insufficient authentication scopes.');
    // Delegation impersonates any user; only an administrator may use the Directory API.
    const caller = findUser(token.sub);
    if (!caller?.isAdmin || caller.suspended) throw new ApiError(403, 'forbidden', 'Not Authorized to access this resource/api');
    return token.sub;
  };

  /** The limits page's per-user quota, as a token bucket: at the limit a client is slowed to the refill rate, not shut out. */
  const throttle = (sub: string) => {
    if (!limit) return;
    const now = Date.now();
    const bucket = buckets.get(sub) ?? { tokens: limit.burst, at: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.at) * limit.perMinute) / 60_000);
    bucket.at = now;
    buckets.set(sub, bucket);
    if (bucket.tokens < 1) {
      throw new ApiError(
        403,
        'userRateLimitExceeded',
        "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'admin.googleapis.com' for consumer 'project_number:000000000000'.",
        'usageLimits',
      );
    }
    bucket.tokens -= 1;
  };

  const takeFault = (method: string, path: string): Fault | undefined => {
    const i = faults.findIndex(({ fault }) => (fault.match ? fault.match(method, path) : path.startsWith(API)));
    if (i < 0) return undefined;
    const entry = faults[i]!;
    if (--entry.left <= 0) faults.splice(i, 1);
    return entry.fault;
  };
  const faultReply = (f: Fault): Reply => {
    const d = FAULT_DEFAULTS[f.status] ?? { reason: 'backendError', message: 'Backend Error' };
    return errorReply(new ApiError(f.status, f.reason ?? d.reason, f.message ?? d.message), f.retryAfterSeconds !== undefined ? { 'retry-after': String(f.retryAfterSeconds) } : undefined);
  };

  const readBody = async (req: IncomingMessage): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  };

  const dispatch = async (req: IncomingMessage, url: URL, raw: string): Promise<Reply> => {
    const method = req.method ?? 'GET';
    if (url.pathname === '/token') {
      const fault = takeFault(method, url.pathname);
      if (fault) return faultReply(fault);
      if (method !== 'POST') return { status: 405, body: { error: 'invalid_request', error_description: 'POST only' } };
      return issueToken(new URLSearchParams(raw));
    }
    if (!url.pathname.startsWith(`${API}/`)) return errorReply(new ApiError(404, 'notFound', 'Not Found'));
    const rest = url.pathname.slice(API.length);
    let matched: { route: Route; params: string[] } | undefined;
    for (const route of routes) {
      const m = route.path.exec(rest);
      if (m && route.method === method) {
        matched = { route, params: m.slice(1).map((p) => decodeURIComponent(p)) };
        break;
      }
    }
    if (!matched) return errorReply(new ApiError(404, 'notFound', 'Not Found'));
    const sub = authenticate(req, matched.route.scopes);
    throttle(sub);
    const fault = takeFault(method, url.pathname);
    if (fault && !fault.afterCommit) return faultReply(fault);
    let body: Record<string, unknown> = {};
    if (raw.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(raw);
        if (!isObject(parsed)) throw new Error();
        body = parsed;
      } catch {
        throw new ApiError(400, 'parseError', 'Parse Error');
      }
    }
    const reply = matched.route.handle(matched.params, url.searchParams, body);
    if (method !== 'GET' && reply.status < 300) writes++;
    return fault ? faultReply(fault) : reply;
  };

  const server = createServer((req, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const raw = await readBody(req);
      if (latencyMs > 0) await new Promise((r) => setTimeout(r, latencyMs));
      let reply: Reply;
      try {
        reply = await dispatch(req, url, raw);
      } catch (e) {
        reply = e instanceof ApiError ? errorReply(e) : errorReply(new ApiError(500, 'backendError', e instanceof Error ? e.message : String(e)));
      }
      requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search, status: reply.status });
      const headers: Record<string, string> = { ...reply.headers };
      if (reply.body !== undefined) headers['content-type'] = 'application/json; charset=UTF-8';
      res.writeHead(reply.status, headers);
      res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const tokenUrl = `${origin}/token`;

  const serviceAccountKey = JSON.stringify({
    type: 'service_account',
    project_id: 'roster-emulator',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    client_email: clientEmail,
    client_id: digits(21),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: tokenUrl,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: 'googleapis.com',
  });

  const consoleUser = (u: ConsoleUser, current?: EmulatedUser): EmulatedUser => {
    const local = u.primaryEmail?.split('@')[0] ?? current?.name.givenName ?? 'user';
    const body: Record<string, unknown> = {
      ...(u.primaryEmail !== undefined ? { primaryEmail: u.primaryEmail } : {}),
      ...(current && u.givenName === undefined && u.familyName === undefined ? {} : { name: { givenName: u.givenName ?? current?.name.givenName ?? local, familyName: u.familyName ?? current?.name.familyName ?? 'User' } }),
      ...(current && u.password === undefined ? {} : { password: u.password ?? randomBytes(12).toString('base64url') }),
      ...(u.suspended !== undefined ? { suspended: u.suspended } : {}),
      ...(u.orgUnitPath !== undefined ? { orgUnitPath: u.orgUnitPath } : {}),
      ...(u.organizations !== undefined ? { organizations: u.organizations } : {}),
      ...(u.externalIds !== undefined ? { externalIds: u.externalIds } : {}),
    };
    if (u.orgUnitPath !== undefined) addOrgUnit(u.orgUnitPath);
    const saved = writeUser(current, body);
    if (u.isAdmin !== undefined) saved.isAdmin = u.isAdmin;
    if (u.isDelegatedAdmin !== undefined) saved.isDelegatedAdmin = u.isDelegatedAdmin;
    return saved;
  };
  consoleUser({ primaryEmail: adminEmail, givenName: 'Super', familyName: 'Admin', isAdmin: true });

  const must = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`no such ${what}`);
    return v;
  };

  return {
    rootUrl: `${origin}/`,
    tokenUrl,
    serviceAccountKey,
    adminEmail,
    customerId,
    domain,
    requests,
    get writes() {
      return writes;
    },
    get tokensIssued() {
      return tokensIssued;
    },
    fail: (fault) => void faults.push({ fault, left: fault.times ?? 1 }),
    rateLimit: (perMinute, burst) => {
      limit = perMinute === null ? null : { perMinute, burst: burst ?? Math.max(1, Math.ceil(perMinute / 60)) };
      buckets.clear();
    },
    setLatency: (ms) => void (latencyMs = ms),
    delegateScopes: (scopes) => void (delegated = new Set(scopes)),
    addOrgUnit,
    addUser: (u) => consoleUser(u),
    updateUser: (key, changes) => consoleUser(changes as ConsoleUser, must(findUser(key), 'user')),
    deleteUser: (key) => dropUser(must(findUser(key), 'user')),
    user: findUser,
    users: () => [...users.values()],
    addGroup: (g) => writeGroup(undefined, g),
    deleteGroup: (key) => dropGroup(must(findGroup(key), 'group')),
    group: findGroup,
    groups: () => [...groups.values()],
    addMember: (groupKey, memberKey, role) => void addMember(must(findGroup(groupKey), 'group'), memberKey, role),
    removeMember: (groupKey, memberKey) => removeMember(must(findGroup(groupKey), 'group'), memberKey),
    members: (groupKey) => membersOf(must(findGroup(groupKey), 'group').id, false),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

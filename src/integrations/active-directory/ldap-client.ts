import { Attribute, Change, Client, type Control, type Entry } from 'ldapts';
import {
  BoundClient,
  dnKey,
  escapeDnValue,
  escapeFilterValue,
  isWithin,
  plainDn,
  targetOf,
  type AdConnectOptions,
  type ClientErrors,
  type Target,
} from './connection.js';
import { DIRSYNC_FLAGS, DirSyncControl, FlagControl, OID } from './controls.js';
import { AdError, bindFailureText, toAdError } from './errors.js';
import { parseFilter } from './filter.js';
import { bytesFilterValue, guidFilterValue, guidToString, ridOf, sidToBytes, sidToString } from './guid.js';
import { BUILTIN_ADMINISTRATORS_SID, GLOBAL_SECURITY_GROUP, PRIVILEGED_RID, UAC, uacOf, withFlag } from './uac.js';
import { startWatch, type AdWatch, type WatchOptions, type WatchPlan } from './watch.js';

export type { AdConnectOptions } from './connection.js';
export { escapeDnValue, escapeFilterValue } from './connection.js';
export { DIRSYNC_FLAGS, OID } from './controls.js';
export { AdError } from './errors.js';
export { bytesFilterValue, guidFilterValue, guidToBytes, guidToString, sidToBytes, sidToString } from './guid.js';
export { GLOBAL_SECURITY_GROUP, GROUP_TYPE, isDisabled, PRIVILEGED_RID, UAC, uacOf, withFlag } from './uac.js';
export type { AdWatch, WatchOptions } from './watch.js';

/** One AD object as the client hands it out. */
export interface AdEntry {
  dn: string;
  /** The immutable anchor: the canonical lowercase UUID, decoded from AD's little-endian bytes. */
  objectGuid: string;
  objectClass: string[];
  /** A tombstone (isDeleted=TRUE), as DirSync and Show Deleted searches return them. */
  deleted: boolean;
  /** Lowercase attribute names; binary values in base64; ranged values (member;range=…) completed. */
  attributes: Record<string, string[]>;
}

export type SearchScope = 'base' | 'one' | 'sub';

export type ModifyOp = 'replace' | 'add' | 'delete';

export interface AttributeChange {
  attribute: string;
  /** Strings, or Buffers for binary attributes; empty with 'delete' or 'replace' removes every value. */
  values: (string | Buffer)[];
  op?: ModifyOp;
}

export interface DirSyncOptions {
  /** DIRSYNC_FLAGS; OBJECT_SECURITY | ANCESTORS_FIRST_ORDER unless given (never INCREMENTAL_VALUES). */
  flags?: number;
  /** The server's cap on each answer, in bytes (1 MiB unless given). */
  maxBytes?: number;
  /** Rounds to run while the server says it has more (unlimited unless given; 1 gives one round). */
  maxRounds?: number;
  /**
   * A longer limit for each round, on a connection of its own: Samba ignores maxBytes and answers
   * a first DirSync with the whole domain in one response (11,000 objects took 1.4 s here).
   */
  timeoutMs?: number;
}

export interface DirSyncResult {
  /** Changed and new objects with the attributes that changed (all of them the first time), and tombstones. */
  changes: AdEntry[];
  /** Where the next incremental call starts. */
  cookie: Buffer;
  /** The server had more than it returned: call again with `cookie`. */
  more: boolean;
}

export interface ScopeOptions {
  userAttributes?: string[];
  groupAttributes?: string[];
  pageSize?: number;
  /** 'in-chain' (LDAP_MATCHING_RULE_IN_CHAIN, one search per kind) or 'walk' (one search per group); in-chain unless given. */
  strategy?: 'in-chain' | 'walk';
}

export interface AdScope {
  /** The scope group itself. */
  group: AdEntry;
  /** People (objectCategory=person, objectClass=user; not computers, not contacts) that are members, nested or primary. */
  users: AdEntry[];
  /** Groups nested in the scope group at any depth. */
  groups: AdEntry[];
}

export type BindOutcome = { ok: true } | { ok: false; reason: string; code?: string };

/** What AD marks binary (octet string, SID, security descriptor syntaxes) among attributes a sync reads. */
const BINARY_ATTRIBUTES = [
  'objectGUID',
  'objectSid',
  'tokenGroups',
  'tokenGroupsGlobalAndUniversal',
  'sIDHistory',
  'parentGUID',
  'thumbnailPhoto',
  'jpegPhoto',
  'userCertificate',
  'userSMIMECertificate',
  'msExchMailboxGuid',
  'mS-DS-ConsistencyGuid',
  'msDS-GenerationId',
  'nTSecurityDescriptor',
  'logonHours',
  'securityIdentifier',
  'schemaIDGUID',
  'attributeSecurityGUID',
  'replPropertyMetaData',
  'dnsRecord',
];
/** ldapts matches these names case-sensitively against what the server returns, so give it every case. */
const BUFFER_ATTRIBUTES = [...new Set(BINARY_ATTRIBUTES.flatMap((name) => [name, name.toLowerCase()]))];
const BINARY_LOWER = new Set(BINARY_ATTRIBUTES.map((name) => name.toLowerCase()));

/** Attributes every entry is read with. */
const ALWAYS = ['objectGUID', 'objectClass'];

export const USER_ATTRIBUTES = [
  'objectGUID',
  'objectSid',
  'objectClass',
  'distinguishedName',
  'cn',
  'name',
  'sAMAccountName',
  'userPrincipalName',
  'givenName',
  'sn',
  'initials',
  'displayName',
  'description',
  'mail',
  'telephoneNumber',
  'mobile',
  'title',
  'department',
  'company',
  'employeeID',
  'employeeNumber',
  'manager',
  'userAccountControl',
  'accountExpires',
  'pwdLastSet',
  'lockoutTime',
  'adminCount',
  'primaryGroupID',
  'memberOf',
  'whenCreated',
  'whenChanged',
  'uSNChanged',
];

export const GROUP_ATTRIBUTES = [
  'objectGUID',
  'objectSid',
  'objectClass',
  'distinguishedName',
  'cn',
  'name',
  'sAMAccountName',
  'description',
  'mail',
  'groupType',
  'adminCount',
  'member',
  'memberOf',
  'whenCreated',
  'whenChanged',
  'uSNChanged',
];

const PERSON_FILTER = '(&(objectCategory=person)(objectClass=user))';
const GROUP_FILTER = '(objectClass=group)';
/** Values per modify when adding or removing members (AD's MaxValRange is 1,500; stay below). */
const MEMBER_CHUNK = 1000;
/** primaryGroupID terms per search. */
const OR_CHUNK = 200;
const RANGE = /^(.+);range=(\d+)-(\d+|\*)$/i;

const unique = (names: string[]) => [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];

/** A password as unicodePwd wants it: UTF-16LE of the quoted password; JSON (ldapts's debug log) shows no bytes. */
function unicodePwd(password: string): Buffer {
  const value = Buffer.from(`"${password}"`, 'utf16le');
  Object.defineProperty(value, 'toJSON', { value: () => '__redacted__' });
  return value;
}

/**
 * Active Directory over LDAPS (or StartTLS), for the directory agent: reads the scope and its
 * changes (paged search, DirSync, change notification), writes users, groups and passwords back,
 * and checks passwords by binding as the user. Every network call has a timeout; every failure is
 * an AdError of a sync error kind (src/sync/errors.ts).
 */
/** AD's failures as AdErrors. */
const AD_ERRORS: ClientErrors = {
  fail: (e, what) => toAdError(e, what),
  stop: (message, ldapCode) => new AdError('stop', message, ldapCode),
};

export class AdClient {
  private readonly connection: BoundClient;
  private rootDseCache: Record<string, string[]> | undefined;
  private domainSidCache: string | undefined;
  private readonly watches = new Set<AdWatch>();

  private constructor(
    private readonly target: Target,
    private readonly bindDn: string,
    private readonly password: string,
  ) {
    this.connection = new BoundClient(target, bindDn, password, AD_ERRORS, 'AD client');
  }

  /** Connects and binds; fails with 'stop' for refused credentials or TLS, 'transient' when the DC cannot be reached. */
  static async connect(options: AdConnectOptions): Promise<AdClient> {
    const target = targetOf(options);
    if (!options.password) throw new AdError('stop', `bind as ${options.bindDn}: an empty password would bind anonymously`);
    const client = new AdClient(target, options.bindDn, options.password);
    await client.connection.ready();
    return client;
  }

  /** The URL this client talks to (scheme, host and port). */
  get url(): string {
    return this.target.url;
  }

  // ————— connection —————

  /** One call on the main connection, its failure as an AdError. */
  private async op<T>(what: string, fn: (ldap: Client) => Promise<T>): Promise<T> {
    const ldap = await this.connection.ready();
    try {
      return await fn(ldap);
    } catch (e) {
      throw toAdError(e, what);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.watches].map((w) => w.close()));
    this.watches.clear();
    await this.connection.close();
  }

  // ————— reading —————

  /** The RootDSE attributes a client needs (cached). */
  async rootDse(): Promise<Record<string, string[]>> {
    if (this.rootDseCache) return this.rootDseCache;
    const attributes = ['defaultNamingContext', 'namingContexts', 'rootDomainNamingContext', 'supportedControl', 'supportedCapabilities', 'dnsHostName', 'domainFunctionality'];
    const result = await this.op('read the RootDSE', (ldap) => ldap.search('', { scope: 'base', filter: '(objectClass=*)', attributes }));
    const raw = result.searchEntries[0];
    if (!raw) throw new AdError('stop', `${this.url} has no RootDSE: is this a directory server?`);
    this.rootDseCache = this.attributesOf(raw);
    return this.rootDseCache;
  }

  /** The domain's DN (defaultNamingContext). */
  async namingContext(): Promise<string> {
    const nc = (await this.rootDse()).defaultnamingcontext?.[0];
    if (!nc) throw new AdError('stop', `${this.url} names no defaultNamingContext: is this Active Directory?`);
    return nc;
  }

  /** The naming context holding `dn` (DirSync runs at a naming context's root only). */
  private async namingContextOf(dn: string): Promise<string> {
    const root = await this.rootDse();
    const contexts = [...(root.namingcontexts ?? []), await this.namingContext()];
    const holding = contexts.filter((nc) => isWithin(dn, nc)).sort((a, b) => b.length - a.length)[0];
    if (!holding) throw new AdError('bad_request', `${dn} is in none of the directory's naming contexts`);
    return holding;
  }

  /** One object by DN, or undefined when there is none. */
  async entry(dn: string, attributes: string[] = USER_ATTRIBUTES, options: { deleted?: boolean } = {}): Promise<AdEntry | undefined> {
    const controls = options.deleted ? [new FlagControl(OID.showDeleted)] : [];
    try {
      const result = await this.op(`read ${dn}`, (ldap) =>
        ldap.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: unique([...ALWAYS, 'isDeleted', ...attributes]), explicitBufferAttributes: BUFFER_ATTRIBUTES }, controls),
      );
      const raw = result.searchEntries[0];
      return raw ? await this.complete(this.entryOf(raw)) : undefined;
    } catch (e) {
      if (e instanceof AdError && e.kind === 'not_found') return undefined;
      throw e;
    }
  }

  /** One object by objectGUID anywhere in the domain (tombstones too with deleted), or undefined. */
  async findByGuid(guid: string, attributes: string[] = USER_ATTRIBUTES, options: { deleted?: boolean } = {}): Promise<AdEntry | undefined> {
    const controls = options.deleted ? [new FlagControl(OID.showDeleted)] : [];
    const base = await this.namingContext();
    for await (const entry of this.pagedSearch(base, `(objectGUID=${guidFilterValue(guid)})`, attributes, 10, 'sub', controls)) return entry;
    return undefined;
  }

  /**
   * Every entry under `base` matching `filter`, page by page (paged results control), each page
   * within the timeout. Ranged attributes (AD sends member;range=0-1499 past 1,500 values) are
   * read to the end.
   */
  async *pagedSearch(base: string, filter: string, attributes: string[], pageSize = 500, scope: SearchScope = 'sub', controls: Control[] = []): AsyncGenerator<AdEntry> {
    const ldap = await this.connection.ready();
    const what = `search ${base} for ${filter}`;
    const pages = ldap.searchPaginated(
      base,
      { scope, filter: parseFilter(filter), attributes: unique([...ALWAYS, 'isDeleted', ...attributes]), explicitBufferAttributes: BUFFER_ATTRIBUTES, paged: { pageSize } },
      controls,
    );
    for (;;) {
      let page: IteratorResult<{ searchEntries: Entry[] }>;
      try {
        page = await pages.next();
      } catch (e) {
        throw toAdError(e, what);
      }
      if (page.done) return;
      for (const raw of page.value.searchEntries) yield await this.complete(this.entryOf(raw));
    }
  }

  /**
   * All values of one attribute of one object, read in ranges (attr;range=0-1499, 1500-*, …) as
   * AD hands out large multi-valued attributes; `step` asks for ranges of that size.
   */
  async values(dn: string, attribute: string, step?: number): Promise<string[]> {
    return this.valuesFrom(dn, attribute, 0, step);
  }

  private async valuesFrom(dn: string, attribute: string, start: number, step?: number): Promise<string[]> {
    const out: string[] = [];
    const lower = attribute.toLowerCase();
    for (;;) {
      const range = `${attribute};range=${start}-${step ? start + step - 1 : '*'}`;
      const result = await this.op(`read ${attribute} of ${dn}`, (ldap) =>
        ldap.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [range], explicitBufferAttributes: BUFFER_ATTRIBUTES }),
      );
      const raw = result.searchEntries[0];
      const attrs = raw ? this.attributesOf(raw) : {};
      const key = Object.keys(attrs).find((k) => k === lower || k.startsWith(`${lower};range=`));
      if (!key) return out;
      out.push(...attrs[key]!);
      const m = RANGE.exec(key);
      if (!m || m[3] === '*') return out;
      start = Number(m[3]) + 1;
    }
  }

  /** Reads the rest of ranged attributes (AD sends member;range=0-1499 past 1,500 values). */
  private async complete(entry: AdEntry): Promise<AdEntry> {
    for (const key of Object.keys(entry.attributes)) {
      const m = RANGE.exec(key);
      if (!m) continue;
      const values = entry.attributes[key]!;
      delete entry.attributes[key];
      if (m[3] !== '*') values.push(...(await this.valuesFrom(entry.dn, m[1]!, Number(m[3]) + 1)));
      entry.attributes[m[1]!.toLowerCase()] = values;
    }
    return entry;
  }

  /** ldapts's entry as lowercase names to string values (binary in base64), empty attributes dropped. */
  private attributesOf(raw: Entry): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(raw)) {
      if (name === 'dn') continue;
      const list = (Array.isArray(value) ? value : [value]) as (string | Buffer)[];
      if (list.length === 0) continue;
      const lower = name.toLowerCase();
      const binary = BINARY_LOWER.has(lower.split(';')[0]!);
      out[lower] = list.map((v) => (Buffer.isBuffer(v) ? v.toString('base64') : binary ? Buffer.from(v, 'utf8').toString('base64') : v));
      if (lower === 'lastknownparent') out[lower] = out[lower]!.map(plainDn);
    }
    return out;
  }

  private entryOf(raw: Entry): AdEntry {
    const attributes = this.attributesOf(raw);
    const guid = attributes.objectguid?.[0];
    return {
      dn: raw.dn,
      objectGuid: guid ? guidToString(Buffer.from(guid, 'base64')) : '',
      objectClass: attributes.objectclass ?? [],
      deleted: attributes.isdeleted?.[0]?.toUpperCase() === 'TRUE',
      attributes,
    };
  }

  // ————— the scope —————

  /**
   * Everyone and every group inside the scope group, nested at any depth: users and groups whose
   * memberOf matches LDAP_MATCHING_RULE_IN_CHAIN, plus users whose primary group is one of them
   * (primary membership is not in member/memberOf). Paged, so any size.
   */
  async scope(groupDn: string, options: ScopeOptions = {}): Promise<AdScope> {
    const userAttributes = options.userAttributes ?? USER_ATTRIBUTES;
    const groupAttributes = unique([...(options.groupAttributes ?? GROUP_ATTRIBUTES), 'objectSid']);
    const pageSize = options.pageSize ?? 500;
    const group = await this.entry(groupDn, groupAttributes);
    if (!group) throw new AdError('not_found', `the scope group ${groupDn} does not exist`);
    if (!group.objectClass.some((c) => c.toLowerCase() === 'group')) throw new AdError('bad_request', `${groupDn} is not a group`);
    const base = await this.namingContext();

    const users = new Map<string, AdEntry>();
    const groups = new Map<string, AdEntry>();
    if ((options.strategy ?? 'in-chain') === 'in-chain') {
      const chain = `(memberOf:${OID.matchingRuleInChain}:=${escapeFilterValue(group.dn)})`;
      for await (const e of this.pagedSearch(base, `(&${PERSON_FILTER}${chain})`, userAttributes, pageSize)) users.set(e.objectGuid, e);
      for await (const e of this.pagedSearch(base, `(&${GROUP_FILTER}${chain})`, groupAttributes, pageSize)) groups.set(e.objectGuid, e);
    } else {
      const attributes = unique([...userAttributes, ...groupAttributes, 'objectCategory']);
      const queue = [group.dn];
      const seen = new Set([dnKey(group.dn)]);
      while (queue.length > 0) {
        const dn = queue.shift()!;
        for await (const e of this.pagedSearch(base, `(memberOf=${escapeFilterValue(dn)})`, attributes, pageSize)) {
          const classes = e.objectClass.map((c) => c.toLowerCase());
          if (classes.includes('group')) {
            groups.set(e.objectGuid, e);
            if (!seen.has(dnKey(e.dn))) {
              seen.add(dnKey(e.dn));
              queue.push(e.dn);
            }
          } else if (classes.includes('user') && !classes.includes('computer') && /^CN=Person,/i.test(e.attributes.objectcategory?.[0] ?? '')) {
            users.set(e.objectGuid, e);
          }
        }
      }
    }
    // Primary group members: primaryGroupID holds the RID of the group's objectSid.
    const rids = [group, ...groups.values()].map((g) => g.attributes.objectsid?.[0]).filter((s): s is string => s !== undefined).map((s) => ridOf(sidToString(Buffer.from(s, 'base64'))));
    for (let i = 0; i < rids.length; i += OR_CHUNK) {
      const terms = rids.slice(i, i + OR_CHUNK).map((rid) => `(primaryGroupID=${rid})`).join('');
      for await (const e of this.pagedSearch(base, `(&${PERSON_FILTER}(|${terms}))`, userAttributes, pageSize)) users.set(e.objectGuid, e);
    }
    groups.delete(group.objectGuid);
    return { group, users: [...users.values()], groups: [...groups.values()] };
  }

  // ————— changes —————

  /**
   * Changes since `cookie` (everything when null) with the DirSync control. DirSync runs at the
   * root of a naming context: for a `base` below one, the domain is read and only what lies under
   * `base` is kept (tombstones by their lastKnownParent; an object moved out of `base` is not seen).
   * Filter on objectClass rather than objectCategory: AD strips objectCategory from tombstones.
   * Rounds run while the server says it has more; a cookie the server cannot use fails with
   * `invalidCookie` (read everything again).
   */
  async dirSync(base: string, filter: string, attributes: string[], cookie: Buffer | null, options: DirSyncOptions = {}): Promise<DirSyncResult> {
    const changes = new Map<string, AdEntry>();
    let last: DirSyncResult | undefined;
    for await (const round of this.dirSyncRounds(base, filter, attributes, cookie, options)) {
      // A later round's view of an object replaces an earlier one's only in what it carries.
      for (const change of round.changes) {
        const before = changes.get(change.objectGuid);
        changes.set(change.objectGuid, before ? { ...change, attributes: { ...before.attributes, ...change.attributes } } : change);
      }
      last = round;
    }
    return { changes: [...changes.values()], cookie: last!.cookie, more: last!.more };
  }

  /** dirSync one round at a time, for callers that apply and save the cookie as they go. */
  async *dirSyncRounds(base: string, filter: string, attributes: string[], cookie: Buffer | null, options: DirSyncOptions = {}): AsyncGenerator<DirSyncResult> {
    const nc = await this.namingContextOf(base);
    const within = dnKey(nc) === dnKey(base) ? undefined : base;
    const flags = (options.flags ?? DIRSYNC_FLAGS.OBJECT_SECURITY | DIRSYNC_FLAGS.ANCESTORS_FIRST_ORDER) & ~DIRSYNC_FLAGS.INCREMENTAL_VALUES;
    const requested = unique([...ALWAYS, 'isDeleted', 'lastKnownParent', ...attributes]);
    const parsed = parseFilter(filter);
    const what = `DirSync ${nc}`;
    const own = options.timeoutMs ? await this.connection.openMain(options.timeoutMs) : undefined;
    const round = async (control: DirSyncControl): Promise<Entry[]> => {
      const search = async (ldap: Client) => (await ldap.search(nc, { scope: 'sub', filter: parsed, attributes: requested, explicitBufferAttributes: BUFFER_ATTRIBUTES }, [control])).searchEntries;
      try {
        return own ? await search(own) : await this.op(what, search);
      } catch (caught) {
        const e = toAdError(caught, what);
        if (control.cookie?.length && (e.ldapCode === 12 || /cookie/i.test(e.message))) {
          throw new AdError('bad_request', `${e.message} — the DirSync cookie is not usable here; read everything again`, e.ldapCode, e.adCode, e.reason, undefined, true);
        }
        if (e.ldapCode === 50) {
          // Without OBJECT_SECURITY DirSync needs the "Replicating Directory Changes" right on the domain.
          throw new AdError('stop', `${e.message} — the account may not read changes this way (grant "Replicating Directory Changes", or use OBJECT_SECURITY)`, e.ldapCode, e.adCode, e.reason);
        }
        throw e;
      }
    };
    try {
      let current = cookie;
      for (let n = 1; ; n++) {
        const control = new DirSyncControl(flags, current, options.maxBytes);
        const entries = await round(control);
        if (!control.response) throw new AdError('stop', `${this.url} answered DirSync without its control: is this Active Directory?`);
        const changes: AdEntry[] = [];
        for (const raw of entries) {
          const entry = this.entryOf(raw);
          if (within) {
            const where = entry.deleted ? entry.attributes.lastknownparent?.[0] : entry.dn;
            if (!where || !isWithin(where, within)) continue;
          }
          changes.push(await this.complete(entry));
        }
        yield { changes, cookie: control.response.cookie, more: control.response.more };
        if (!control.response.more || n === options.maxRounds) return;
        current = control.response.cookie;
      }
    } finally {
      await own?.unbind().catch(() => undefined);
    }
  }

  /**
   * Calls onChange(dn) for each change the DC pushes under `base` (change notification control),
   * deletions included, on a connection of its own; onChange(undefined) after the connection was
   * lost and restored (changes meanwhile were not seen: read again). Resolves once the DC accepted
   * the notification search. By default the search covers base's whole naming context (AD allows
   * a subtree notification nowhere else) and changes outside base are dropped here; see WatchOptions.
   */
  async watch(base: string, onChange: (dn: string | undefined) => void, options: WatchOptions = {}): Promise<AdWatch> {
    if (this.connection.isClosed) throw new AdError('stop', 'the AD client is closed');
    let plan: WatchPlan;
    if (options.scope) {
      plan = { base, scope: options.scope, deleted: options.deleted ?? false };
    } else {
      const nc = await this.namingContextOf(base);
      plan = { base: nc, scope: 'sub', deleted: options.deleted ?? true, ...(dnKey(nc) === dnKey(base) ? {} : { within: base }) };
    }
    const watch = await startWatch(this.target, { bindDn: this.bindDn, password: this.password }, plan, onChange, options);
    const close = watch.close.bind(watch);
    const tracked: AdWatch = {
      get active() {
        return watch.active;
      },
      get reconnects() {
        return watch.reconnects;
      },
      close: async () => {
        this.watches.delete(tracked);
        await close();
      },
    };
    this.watches.add(tracked);
    return tracked;
  }

  // ————— writing —————

  /**
   * Creates a user under parentDn: `attrs` needs sAMAccountName and a cn (or name/displayName for
   * one). With a password it is set in the same add (atomic: a refused password creates nothing);
   * `enabled` defaults to whether a password is given. Returns the new entry with its objectGUID.
   */
  async createUser(parentDn: string, attrs: Record<string, string | string[]>, options: { password?: string; enabled?: boolean } = {}): Promise<AdEntry> {
    const lower = Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v : [v]]));
    const cn = lower.cn?.[0] ?? lower.name?.[0] ?? lower.displayname?.[0] ?? lower.samaccountname?.[0];
    if (!cn) throw new AdError('bad_request', 'a new user needs a cn (or name, displayName or sAMAccountName)');
    if (!lower.samaccountname?.[0]) throw new AdError('bad_request', `the new user ${cn} needs a sAMAccountName`);
    const enabled = options.enabled ?? options.password !== undefined;
    if (enabled && options.password === undefined) throw new AdError('bad_request', `the new user ${cn} cannot be enabled without a password`);
    if (options.password !== undefined && !this.target.encrypted) throw new AdError('stop', 'AD accepts passwords over an encrypted connection only (ldaps:// or StartTLS)');
    const dn = `CN=${escapeDnValue(cn)},${parentDn}`;
    const uac = withFlag(uacOf(lower.useraccountcontrol?.[0] ?? String(UAC.NORMAL_ACCOUNT)), UAC.ACCOUNTDISABLE, !enabled);
    const attributes: Attribute[] = [];
    for (const [name, values] of Object.entries(attrs)) {
      const l = name.toLowerCase();
      if (l === 'useraccountcontrol' || l === 'objectclass' || l === 'unicodepwd') continue;
      const list = Array.isArray(values) ? values : [values];
      if (list.length > 0) attributes.push(new Attribute({ type: name, values: list }));
    }
    attributes.push(new Attribute({ type: 'objectClass', values: lower.objectclass ?? ['top', 'person', 'organizationalPerson', 'user'] }));
    attributes.push(new Attribute({ type: 'userAccountControl', values: [String(uac)] }));
    if (options.password !== undefined) attributes.push(new Attribute({ type: 'unicodePwd', values: [unicodePwd(options.password)] }));
    await this.op(`create user ${dn}`, (ldap) => ldap.add(dn, attributes));
    return this.mustRead(dn, USER_ATTRIBUTES);
  }

  /** Adds any object (an OU, a contact …): `attributes` by name, objectClass included. */
  async add(dn: string, attributes: Record<string, string | string[]>): Promise<void> {
    await this.op(`add ${dn}`, (ldap) => ldap.add(dn, attributes));
  }

  /** Creates a group (global security unless attrs.groupType says otherwise); sAMAccountName defaults to the name. */
  async createGroup(parentDn: string, name: string, attrs: Record<string, string | string[]> = {}): Promise<AdEntry> {
    const dn = `CN=${escapeDnValue(name)},${parentDn}`;
    const lower = new Set(Object.keys(attrs).map((k) => k.toLowerCase()));
    const attributes: Record<string, string | string[]> = {
      objectClass: ['top', 'group'],
      ...(lower.has('samaccountname') ? {} : { sAMAccountName: name }),
      ...(lower.has('grouptype') ? {} : { groupType: String(GLOBAL_SECURITY_GROUP) }),
      ...attrs,
    };
    await this.op(`create group ${dn}`, (ldap) => ldap.add(dn, attributes));
    return this.mustRead(dn, GROUP_ATTRIBUTES);
  }

  private async mustRead(dn: string, attributes: string[]): Promise<AdEntry> {
    const entry = await this.entry(dn, attributes);
    if (!entry) throw new AdError('transient', `${dn} was created but cannot be read back`);
    return entry;
  }

  async modify(dn: string, changes: AttributeChange[], controls: Control[] = []): Promise<void> {
    if (changes.length === 0) return;
    const ldapChanges = changes.map(
      (c) => new Change({ operation: c.op ?? 'replace', modification: new Attribute({ type: c.attribute, values: c.values as string[] | Buffer[] }) }),
    );
    await this.op(`modify ${dn}`, (ldap) => ldap.modify(dn, ldapChanges, controls));
  }

  /**
   * Sets or clears ACCOUNTDISABLE, keeping the other userAccountControl bits. The write removes the
   * value read and adds the new one in one modify, so a concurrent change makes it fail and it
   * reads again (AD's optimistic concurrency) instead of overwriting that change.
   */
  async setEnabled(dn: string, enabled: boolean): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const entry = await this.entry(dn, ['userAccountControl']);
      if (!entry) throw new AdError('not_found', `set ${dn} ${enabled ? 'enabled' : 'disabled'}: no such user`);
      const current = entry.attributes.useraccountcontrol?.[0];
      if (current === undefined) throw new AdError('bad_request', `${dn} has no userAccountControl: not an account`);
      const next = withFlag(uacOf(current), UAC.ACCOUNTDISABLE, !enabled);
      if (next === uacOf(current)) return;
      try {
        await this.modify(dn, [
          { attribute: 'userAccountControl', op: 'delete', values: [current] },
          { attribute: 'userAccountControl', op: 'add', values: [String(next | 0)] },
        ]);
        return;
      } catch (e) {
        // 16 noSuchAttribute: the value changed since it was read.
        if (e instanceof AdError && e.ldapCode === 16 && attempt < 3) continue;
        throw e;
      }
    }
  }

  /**
   * An administrator's password reset (unicodePwd replace). AD's refusal (policy: length,
   * complexity, history) is a 'bad_request' whose message carries AD's reason.
   */
  async setPassword(dn: string, password: string): Promise<void> {
    if (!this.target.encrypted) throw new AdError('stop', 'AD accepts passwords over an encrypted connection only (ldaps:// or StartTLS)');
    try {
      await this.modify(dn, [{ attribute: 'unicodePwd', op: 'replace', values: [unicodePwd(password)] }]);
    } catch (e) {
      const error = toAdError(e, `set the password of ${dn}`);
      if (error.ldapCode === 19 || error.ldapCode === 53 || error.adCode === '0000052D') {
        throw new AdError('bad_request', `set the password of ${dn}: AD refused the password: ${error.reason ?? 'policy'}${error.adCode ? ` (${error.adCode})` : ''}`, error.ldapCode, error.adCode, error.reason);
      }
      throw error;
    }
  }

  /**
   * Adds members (DNs); members already there are no error. The permissive-modify control makes AD
   * skip them; Samba ignores it for linked attributes, so a refusal is answered by reading the
   * members and adding only the missing ones.
   */
  async addMembers(groupDn: string, memberDns: string[]): Promise<void> {
    await this.changeMembers(groupDn, memberDns, 'add');
  }

  /** Removes members (DNs); DNs that are not members are no error (as addMembers). */
  async removeMembers(groupDn: string, memberDns: string[]): Promise<void> {
    await this.changeMembers(groupDn, memberDns, 'delete');
  }

  private async changeMembers(groupDn: string, memberDns: string[], op: 'add' | 'delete'): Promise<void> {
    const write = async (dns: string[]) => {
      for (let i = 0; i < dns.length; i += MEMBER_CHUNK) {
        await this.modify(groupDn, [{ attribute: 'member', op, values: dns.slice(i, i + MEMBER_CHUNK) }], [new FlagControl(OID.permissiveModify, false)]);
      }
    };
    try {
      await write(memberDns);
    } catch (e) {
      // 68/20: one is a member already; 53/16: one is not a member.
      const refused = e instanceof AdError && (op === 'add' ? e.ldapCode === 68 || e.ldapCode === 20 : e.ldapCode === 53 || e.ldapCode === 16);
      if (!refused) throw e;
      const current = new Set((await this.values(groupDn, 'member')).map(dnKey));
      await write(memberDns.filter((dn) => current.has(dnKey(dn)) === (op === 'delete')));
    }
  }

  /** Moves or renames: newDn is the whole new DN. */
  async rename(dn: string, newDn: string): Promise<void> {
    await this.op(`rename ${dn}`, (ldap) => ldap.modifyDN(dn, newDn));
  }

  /** Deletes an object; with tree, everything below it too (tree delete control). */
  async delete(dn: string, options: { tree?: boolean } = {}): Promise<void> {
    await this.op(`delete ${dn}`, (ldap) => ldap.del(dn, options.tree ? [new FlagControl(OID.treeDelete)] : []));
  }

  // ————— authentication —————

  /**
   * Whether `password` is the user's (delegated authentication): a simple bind on a connection of
   * its own, closed at once. False for a wrong password and for an account AD refuses (disabled,
   * locked, expired); other failures (DC unreachable) throw. The password is never logged.
   */
  async verifyPassword(userDnOrUpn: string, password: string): Promise<boolean> {
    return (await this.authenticate(userDnOrUpn, password)).ok;
  }

  /** verifyPassword with AD's reason for a refusal ("wrong password", "the account is disabled", …). */
  async authenticate(userDnOrUpn: string, password: string): Promise<BindOutcome> {
    // An empty password makes a simple bind anonymous, which succeeds: never a proof.
    if (password === '' || userDnOrUpn === '') return { ok: false, reason: 'empty user or password' };
    let ldap: Client;
    try {
      ldap = await this.connection.open(userDnOrUpn, password);
    } catch (e) {
      if (e instanceof AdError && e.ldapCode === 49) {
        return { ok: false, reason: bindFailureText(e.bindData) ?? e.reason ?? 'invalid credentials', ...(e.bindData ? { code: e.bindData } : {}) };
      }
      throw e;
    }
    await ldap.unbind().catch(() => undefined);
    return { ok: true };
  }

  // ————— privileged accounts —————

  /** The domain's SID (the objectSid of its root). */
  async domainSid(): Promise<string> {
    if (this.domainSidCache) return this.domainSidCache;
    const root = await this.entry(await this.namingContext(), ['objectSid']);
    const sid = root?.attributes.objectsid?.[0];
    if (!sid) throw new AdError('stop', 'the domain root has no objectSid: is this Active Directory?');
    this.domainSidCache = sidToString(Buffer.from(sid, 'base64'));
    return this.domainSidCache;
  }

  /**
   * Whether an account is privileged, so never to be imported or managed: adminCount=1, or its
   * own SID or any group in its token (tokenGroups: nested and primary groups, by SID, whatever
   * their names) is Administrator (500), Domain Admins (512), Schema Admins (518), Enterprise
   * Admins (519) or BUILTIN\Administrators (S-1-5-32-544).
   */
  async isPrivileged(entry: AdEntry): Promise<boolean> {
    if (entry.attributes.admincount?.[0] === '1') return true;
    const result = await this.op(`read the groups of ${entry.dn}`, (ldap) =>
      ldap.search(entry.dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['objectClass', 'objectSid', 'tokenGroups', 'adminCount', 'primaryGroupID'], explicitBufferAttributes: BUFFER_ATTRIBUTES }),
    );
    const raw = result.searchEntries[0];
    if (!raw) throw new AdError('not_found', `${entry.dn} does not exist`);
    const attrs = this.attributesOf(raw);
    if (attrs.admincount?.[0] === '1') return true;
    const sids = [...(attrs.objectsid ?? []), ...(attrs.tokengroups ?? [])].map((b) => sidToString(Buffer.from(b, 'base64')));
    if (sids.some(isPrivilegedSid)) return true;
    if (!(attrs.objectclass ?? []).some((c) => c.toLowerCase() === 'group')) return false;
    // A group has no token: ask whether a privileged group holds it, nested at any depth.
    const holders = await this.pagedSearch(await this.namingContext(), `(&${await this.privilegedGroupsFilter()}(member:${OID.matchingRuleInChain}:=${escapeFilterValue(entry.dn)}))`, ['objectSid'], 10).next();
    return holders.done !== true;
  }

  /** Matches the privileged groups by SID: Domain, Schema and Enterprise Admins, BUILTIN\Administrators. */
  private async privilegedGroupsFilter(): Promise<string> {
    const domain = await this.domainSid();
    const sids = [`${domain}-${PRIVILEGED_RID.DOMAIN_ADMINS}`, `${domain}-${PRIVILEGED_RID.SCHEMA_ADMINS}`, `${domain}-${PRIVILEGED_RID.ENTERPRISE_ADMINS}`, BUILTIN_ADMINISTRATORS_SID];
    return `(|${sids.map((s) => `(objectSid=${bytesFilterValue(sidToBytes(s))})`).join('')})`;
  }

  /**
   * The objectGUIDs of every privileged account at once (for filtering a whole scope): members,
   * nested or primary, of the privileged groups found by SID, and objects with adminCount=1.
   */
  async privilegedGuids(): Promise<Set<string>> {
    const base = await this.namingContext();
    const administrator = `${await this.domainSid()}-${PRIVILEGED_RID.ADMINISTRATOR}`;
    const guids = new Set<string>();
    const groupDns: string[] = [];
    for await (const e of this.pagedSearch(base, `(|${await this.privilegedGroupsFilter()}(objectSid=${bytesFilterValue(sidToBytes(administrator))}))`, ['objectSid'])) {
      guids.add(e.objectGuid);
      if (e.objectClass.some((c) => c.toLowerCase() === 'group')) groupDns.push(e.dn);
    }
    // Down from each privileged group through `member`: these groups are small, and an in-chain
    // search over the whole domain per group costs seconds on a large one.
    const queue = [...groupDns];
    const seenGroups = new Set(groupDns.map(dnKey));
    while (queue.length > 0) {
      for (const memberDn of await this.values(queue.shift()!, 'member')) {
        const member = await this.entry(memberDn, ['objectGUID', 'objectClass']);
        if (!member) continue;
        guids.add(member.objectGuid);
        if (member.objectClass.some((c) => c.toLowerCase() === 'group') && !seenGroups.has(dnKey(member.dn))) {
          seenGroups.add(dnKey(member.dn));
          queue.push(member.dn);
        }
      }
    }
    const primary = `(|${[PRIVILEGED_RID.DOMAIN_ADMINS, PRIVILEGED_RID.SCHEMA_ADMINS, PRIVILEGED_RID.ENTERPRISE_ADMINS].map((r) => `(primaryGroupID=${r})`).join('')})`;
    for await (const e of this.pagedSearch(base, `(|(adminCount=1)${primary})`, [])) guids.add(e.objectGuid);
    return guids;
  }
}

/** Whether a SID is one of the privileged well-known principals, in any domain. */
export function isPrivilegedSid(sid: string): boolean {
  if (sid === BUILTIN_ADMINISTRATORS_SID) return true;
  if (!/^S-1-5-21-/.test(sid)) return false;
  const rid = ridOf(sid);
  return rid === PRIVILEGED_RID.ADMINISTRATOR || rid === PRIVILEGED_RID.DOMAIN_ADMINS || rid === PRIVILEGED_RID.SCHEMA_ADMINS || rid === PRIVILEGED_RID.ENTERPRISE_ADMINS;
}


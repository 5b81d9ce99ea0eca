import { AndFilter, EqualityFilter, OrFilter, type Filter } from 'ldapts';
import type { AdObject } from '../active-directory/agent.js';
import type { LdapConnection } from './connection.js';
import { dnKey, isWithin } from './dn.js';
import {
  ANCHOR_ATTRIBUTES,
  GROUP_ATTRIBUTES,
  groupObject,
  kindOf,
  LOCK_ATTRIBUTES,
  MEMBER_ATTRIBUTES,
  memberDnsOf,
  memberUidsOf,
  rawOf,
  USER_CLASSES,
  userObject,
  type RawEntry,
} from './entry.js';
import { isSyncError, SyncError } from '../../sync/errors.js';

export interface ScopeReadOptions {
  /**
   * How entries are read by DN: 'entrydn', a subtree search for (|(entryDN=…)…) per batch (slapd
   * resolves each entryDN term through its DN index), or 'base', one base search per DN, several in
   * flight at once. 'entrydn' when the server matches entryDN, else 'base'.
   */
  byDn?: 'entrydn' | 'base';
  /** DNs or uids per OR filter. */
  batchSize?: number;
  /** Base searches in flight at once. */
  concurrency?: number;
}

export interface Scope {
  users: AdObject[];
  groups: AdObject[];
}

const BATCH = 200;
const CONCURRENCY = 16;

const unique = (names: string[]) => [...new Map(names.map((n) => [n.toLowerCase(), n])).values()];
const chunks = <T>(items: T[], size: number): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
const anyOf = (attribute: string, values: string[]): Filter => new OrFilter({ filters: values.map((value) => new EqualityFilter({ attribute, value })) });

/**
 * The users and groups inside a scope group, nested at any depth, read level by level: each level's
 * member DNs are read together (in batches, never one round trip per user), groups found go to the
 * next level, DNs already seen are skipped (so cycles end). posixGroup memberUid values are
 * resolved to users by uid at the end. Only entries under `base` are read.
 */
export class ScopeReader {
  private readonly attributes: string[];
  private readonly batchSize: number;
  private readonly concurrency: number;

  constructor(
    private readonly ldap: LdapConnection,
    private readonly base: string,
    userAttributes: string[],
    private readonly byDn: 'entrydn' | 'base',
    options: ScopeReadOptions = {},
  ) {
    this.attributes = unique([...ANCHOR_ATTRIBUTES, ...LOCK_ATTRIBUTES, ...MEMBER_ATTRIBUTES, ...GROUP_ATTRIBUTES, 'uid', 'cn', ...userAttributes]);
    this.batchSize = options.batchSize ?? BATCH;
    this.concurrency = options.concurrency ?? CONCURRENCY;
  }

  async read(groupDn: string, userAttributes: string[]): Promise<Scope> {
    const top = await this.scopeGroup(groupDn);
    const seen = new Set([dnKey(groupDn), dnKey(top.dn)]);
    const users = new Map<string, RawEntry>();
    const groups = new Map<string, RawEntry>();
    let level = [top];
    while (level.length > 0) {
      const wanted: string[] = [];
      for (const group of level) {
        for (const dn of memberDnsOf(group)) {
          const key = dnKey(dn);
          if (seen.has(key)) continue;
          seen.add(key);
          if (isWithin(dn, this.base)) wanted.push(dn);
        }
      }
      const next: RawEntry[] = [];
      for (const entry of await this.readByDn(wanted)) {
        const key = dnKey(entry.dn);
        seen.add(key);
        const kind = kindOf(entry);
        if (kind === 'group' && !groups.has(key)) {
          groups.set(key, entry);
          next.push(entry);
        } else if (kind === 'user') {
          users.set(key, entry);
        }
      }
      level = next;
    }

    const byUid = new Map<string, RawEntry[]>();
    const addByUid = (entry: RawEntry) => {
      for (const uid of entry.attributes.uid ?? []) byUid.set(uid.toLowerCase(), [...(byUid.get(uid.toLowerCase()) ?? []), entry]);
    };
    users.forEach(addByUid);
    const uids = new Set([top, ...groups.values()].flatMap(memberUidsOf).map((uid) => uid.toLowerCase()));
    for (const entry of await this.readByUid([...uids].filter((uid) => !byUid.has(uid)))) {
      if (users.has(dnKey(entry.dn))) continue;
      users.set(dnKey(entry.dn), entry);
      addByUid(entry);
    }

    const now = Date.now();
    const groupObjects = [...groups.values()].map((group) => {
      const members = new Map<string, string>();
      for (const dn of memberDnsOf(group)) {
        const member = users.get(dnKey(dn)) ?? groups.get(dnKey(dn));
        if (member) members.set(dnKey(member.dn), member.dn);
      }
      for (const uid of memberUidsOf(group)) for (const member of byUid.get(uid.toLowerCase()) ?? []) members.set(dnKey(member.dn), member.dn);
      return groupObject(group, [...members.values()]);
    });
    return { users: [...users.values()].map((u) => userObject(u, userAttributes, now)), groups: groupObjects };
  }

  private async scopeGroup(groupDn: string): Promise<RawEntry> {
    if (!isWithin(groupDn, this.base)) throw new SyncError('bad_request', `the scope group ${groupDn} is not under the directory base ${this.base}`);
    const entry = await this.readOne(groupDn).catch((e: unknown) => {
      // 34 invalidDNSyntax: the configured DN is not a DN.
      if (e instanceof SyncError && e.status === 34) throw new SyncError('bad_request', `the scope group ${JSON.stringify(groupDn)} is not a valid DN`, 34);
      throw e;
    });
    if (!entry) throw new SyncError('bad_request', `the scope group ${groupDn} does not exist`);
    if (kindOf(entry) !== 'group') {
      throw new SyncError('bad_request', `the scope group ${groupDn} is not a group (objectClass ${(entry.attributes.objectclass ?? []).join(', ')}; expected one of groupOfNames, groupOfUniqueNames, posixGroup)`);
    }
    return entry;
  }

  /** One entry by DN, or undefined when there is none. */
  private async readOne(dn: string): Promise<RawEntry | undefined> {
    try {
      const [entry] = await this.ldap.search({ base: dn, scope: 'base', filter: '(objectClass=*)', attributes: this.attributes });
      return entry ? rawOf(entry) : undefined;
    } catch (e) {
      if (isSyncError(e, 'not_found')) return undefined;
      throw e;
    }
  }

  /** The entries with these DNs that exist (under the base). */
  private async readByDn(dns: string[]): Promise<RawEntry[]> {
    if (dns.length === 0) return [];
    if (this.byDn === 'base') return this.readEach(dns);
    const found: RawEntry[] = [];
    const missing: string[] = [];
    for (const batch of chunks(dns, this.batchSize)) {
      const entries = (await this.ldap.all({ base: this.base, scope: 'sub', filter: anyOf('entryDN', batch), attributes: this.attributes })).map(rawOf);
      const keys = new Set(entries.map((e) => dnKey(e.dn)));
      found.push(...entries);
      missing.push(...batch.filter((dn) => !keys.has(dnKey(dn))));
    }
    // A member whose DN the server spells differently than our key does, or a dangling one: read each.
    return [...found, ...(await this.readEach(missing))];
  }

  private async readEach(dns: string[]): Promise<RawEntry[]> {
    const out: RawEntry[] = [];
    let next = 0;
    const worker = async () => {
      while (next < dns.length) {
        const entry = await this.readOne(dns[next++]!);
        if (entry) out.push(entry);
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, dns.length) }, worker));
    return out;
  }

  /** Users with these uids (lowercase); where several share one, the posixAccount ones (RFC 2307 memberUid names a posixAccount). */
  private async readByUid(uids: string[]): Promise<RawEntry[]> {
    const out: RawEntry[] = [];
    const classes = anyOf('objectClass', USER_CLASSES);
    for (const batch of chunks(uids, this.batchSize)) {
      const entries = (await this.ldap.all({ base: this.base, scope: 'sub', filter: new AndFilter({ filters: [classes, anyOf('uid', batch)] }), attributes: this.attributes }))
        .map(rawOf)
        .filter((e) => kindOf(e) === 'user');
      for (const uid of batch) {
        const matching = entries.filter((e) => (e.attributes.uid ?? []).some((v) => v.toLowerCase() === uid));
        const posix = matching.filter((e) => (e.attributes.objectclass ?? []).some((c) => c.toLowerCase() === 'posixaccount'));
        out.push(...(posix.length > 0 ? posix : matching));
      }
    }
    return [...new Map(out.map((e) => [dnKey(e.dn), e])).values()];
  }
}

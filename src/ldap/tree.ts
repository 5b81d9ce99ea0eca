import { createHash } from 'node:crypto';
import type { DirectoryView } from '../core/services/directory-view.js';
import type { GroupId, UserId } from '../core/ids.js';
import type { User, UserGroup } from '../core/model.js';
import { escapeValue, formatDn, parseDn } from './dn.js';
import { Entry, EntryBuilder, type ChainResolver } from './entry.js';
import { normalizeValue, toGeneralizedTime } from './matching.js';
import { attributeType } from './schema.js';

export const SUBSCHEMA_DN = 'cn=Subschema';

const USER_INDEXES = ['uid', 'cn', 'mail', 'uidnumber', 'gidnumber', 'entryuuid'];
const GROUP_INDEXES = ['cn', 'gidnumber', 'memberuid', 'entryuuid'];

/**
 * The directory information tree of one org:
 *   <suffix>
 *   └─ o=<org id>
 *      ├─ ou=Users   uid=<username>   inetOrgPerson + posixAccount + ldapPublicKey
 *      └─ ou=Groups  cn=<group name>  groupOfNames (+ posixGroup when the group has a gid)
 */
export class OrgTree implements ChainResolver {
  readonly orgDn: string;
  readonly orgNdn: string;
  readonly usersNdn: string;
  readonly groupsNdn: string;
  readonly org: Entry;
  readonly usersOu: Entry;
  readonly groupsOu: Entry;
  readonly userEntries = new Map<UserId, Entry>();
  readonly groupEntries = new Map<GroupId, Entry>();
  readonly byNdn = new Map<string, Entry>();
  /** Equality indexes: attribute → normalized value → entries. */
  private readonly indexes = new Map<string, Map<string, Entry[]>>();
  private readonly userDns = new Map<UserId, string>();
  private readonly groupDns = new Map<GroupId, string>();
  private readonly idByNdn = new Map<string, string>();

  constructor(
    readonly view: DirectoryView,
    suffix: { dn: string; ndn: string },
    previous?: OrgTree,
  ) {
    // Within one generation the graph is unchanged, so an entry built from the same user object is still right.
    // A renamed user changes the manager DN in other entries, so renames rebuild everything.
    let reusable = previous && previous.view.generation === view.generation ? previous : undefined;
    for (const [id, user] of reusable ? view.users : []) {
      const old = reusable?.view.users.get(id);
      if (old && old !== user && old.username !== user.username) reusable = undefined;
    }
    const orgId = view.org.id;
    this.orgDn = formatDn([['o', orgId]], suffix.dn);
    this.orgNdn = formatDn([['o', orgId]], suffix.ndn);
    const usersDn = `ou=Users,${this.orgDn}`;
    const groupsDn = `ou=Groups,${this.orgDn}`;
    this.usersNdn = `ou=users,${this.orgNdn}`;
    this.groupsNdn = `ou=groups,${this.orgNdn}`;

    // Two names the API keeps apart may still compare equal under LDAP's matching rules; the older
    // object keeps the DN and the newer one is left out rather than answering for the other.
    const created = new Map<string, string>();
    const claim = (ndn: string, id: string, at: string): void => {
      const holder = this.idByNdn.get(ndn);
      if (holder && (created.get(holder)! < at || (created.get(holder) === at && holder < id))) return;
      this.idByNdn.set(ndn, id);
      created.set(id, at);
    };
    for (const [id, user] of view.users) claim(`uid=${escapeValue(normalizeValue(attributeType('uid')!, user.username))},${this.usersNdn}`, id, user.created);
    for (const [id, group] of view.groups) claim(`cn=${escapeValue(normalizeValue(attributeType('cn')!, group.name))},${this.groupsNdn}`, id, group.created);
    const kept = new Set(this.idByNdn.values());
    for (const [id, user] of view.users) if (kept.has(id)) this.userDns.set(id, formatDn([['uid', user.username]], usersDn));
    for (const [id, group] of view.groups) if (kept.has(id)) this.groupDns.set(id, formatDn([['cn', group.name]], groupsDn));

    const org = view.org;
    this.org = this.add(
      new Entry(
        'org',
        this.orgDn,
        this.orgNdn,
        undefined,
        withOperational(new EntryBuilder().add('objectClass', 'top', 'organization').add('o', orgId).add('description', org.displayName), this.orgDn, 'organization', org.created, org.updated, orgId, true).build(),
      ),
    );
    this.usersOu = this.add(container(usersDn, this.usersNdn, 'Users', org.created));
    this.groupsOu = this.add(container(groupsDn, this.groupsNdn, 'Groups', org.created));
    for (const [id, user] of view.users) {
      if (!this.userDns.has(id)) continue;
      const old = reusable?.view.users.get(id) === user ? reusable.userEntries.get(id) : undefined;
      // A reused entry resolves in-chain matches through this tree from now on, so the old tree can be collected.
      old?.useResolver(this);
      this.userEntries.set(id, this.add(old ?? this.userEntry(user), USER_INDEXES));
    }
    for (const [id, group] of view.groups) if (this.groupDns.has(id)) this.groupEntries.set(id, this.add(this.groupEntry(group), GROUP_INDEXES));
  }

  private add(entry: Entry, indexed: string[] = []): Entry {
    this.byNdn.set(entry.ndn, entry);
    for (const name of indexed) {
      const def = attributeType(name)!;
      let index = this.indexes.get(name);
      if (!index) this.indexes.set(name, (index = new Map()));
      for (const value of entry.normalized(def) ?? []) {
        const list = index.get(value);
        if (list) list.push(entry);
        else index.set(value, [entry]);
      }
    }
    return entry;
  }

  /** Entries whose attribute equals the normalized value, or undefined when the attribute has no index. */
  lookup(attribute: string, normalized: string): Entry[] | undefined {
    const index = this.indexes.get(attribute);
    if (!index) return undefined;
    return index.get(normalized) ?? [];
  }

  get all(): Iterable<Entry> {
    return this.byNdn.values();
  }

  userIdOf(ndn: string): UserId | undefined {
    const id = this.idByNdn.get(ndn);
    return id && this.userEntries.has(id as UserId) ? (id as UserId) : undefined;
  }

  chain(entry: Entry, attribute: 'member' | 'memberOf', dn: string): boolean {
    if (!entry.objectId) return false;
    if (attribute === 'memberOf') {
      const groupId = this.idByNdn.get(dn) as GroupId | undefined;
      return groupId !== undefined && this.view.groups.has(groupId) && this.view.groupsOf(entry.objectId).has(groupId);
    }
    if (entry.kind !== 'group') return false;
    const memberId = this.idByNdn.get(dn);
    return memberId !== undefined && this.view.groupsOf(memberId).has(entry.objectId as GroupId);
  }

  private memberOf(id: string): string[] {
    return [...this.view.groupsOf(id)].map((g) => this.groupDns.get(g)!).filter(Boolean);
  }

  private userEntry(user: User): Entry {
    const dn = this.userDns.get(user.id)!;
    const fullName = `${user.firstname} ${user.lastname}`.trim();
    const phones = user.phoneNumbers.filter((p) => p.number);
    const manager = user.manager ? this.userDns.get(user.manager) : undefined;
    const b = new EntryBuilder()
      .add('objectClass', 'top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'ldapPublicKey')
      .add('uid', user.username)
      .add('cn', user.displayname || fullName || user.username)
      .add('sn', user.lastname || user.username)
      .add('givenName', user.firstname)
      .add('displayName', user.displayname)
      .add('mail', user.email)
      .add('uidNumber', user.unixUid)
      .add('gidNumber', user.unixGuid)
      .add('homeDirectory', `/home/${user.username}`)
      .add('loginShell', '/bin/bash')
      .add('title', user.jobTitle)
      .add('employeeNumber', user.employeeIdentifier)
      .add('employeeType', user.employeeType)
      .add('departmentNumber', user.department)
      .add('o', user.company)
      .add('l', user.location)
      .add('description', user.description)
      .add('telephoneNumber', ...phones.filter((p) => p.type !== 'mobile').map((p) => p.number))
      .add('mobile', ...phones.filter((p) => p.type === 'mobile').map((p) => p.number))
      .add('manager', manager)
      .add('sshPublicKey', ...user.attributes.filter((a) => a.name.toLowerCase() === 'sshpublickey').map((a) => a.value))
      .add('memberOf', ...this.memberOf(user.id));
    withOperational(b, dn, 'inetOrgPerson', user.created, user.updated, user.id, false);
    return new Entry('user', dn, dnKey(dn), user.id, b.build(), this);
  }

  private groupEntry(group: UserGroup): Entry {
    const dn = this.groupDns.get(group.id)!;
    const gid = posixGid(group);
    const users = (this.view.memberUsers.get(group.id) ?? []).filter((u) => this.userDns.has(u));
    const groups = this.view.memberGroups.get(group.id) ?? [];
    const b = new EntryBuilder()
      .add('objectClass', 'top', 'groupOfNames', ...(gid === undefined ? [] : ['posixGroup']))
      .add('cn', group.name)
      .add('description', group.description)
      .add('gidNumber', gid)
      .add('member', ...users.map((u) => this.userDns.get(u)), ...groups.map((g) => this.groupDns.get(g)))
      .add('memberUid', ...(gid === undefined ? [] : users.map((u) => this.view.users.get(u)?.username)))
      .add('memberOf', ...this.memberOf(group.id));
    withOperational(b, dn, 'groupOfNames', group.created, group.updated, group.id, false);
    return new Entry('group', dn, dnKey(dn), group.id, b.build(), this);
  }
}

/** A group is a posixGroup when it has a gid (JumpCloud's `attributes.posixGroups[0].id`). */
export function posixGid(group: UserGroup): number | undefined {
  const posix = (group.attributes as { posixGroups?: { id?: unknown }[] }).posixGroups;
  const id = Array.isArray(posix) ? posix[0]?.id : undefined;
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 ? id : undefined;
}

function dnKey(dn: string): string {
  const parsed = parseDn(dn);
  if (!parsed.ok) throw new Error(`Roster built an invalid DN: ${dn}`);
  return parsed.value.normalized;
}

function container(dn: string, ndn: string, ou: string, created: string): Entry {
  const b = new EntryBuilder().add('objectClass', 'top', 'organizationalUnit').add('ou', ou);
  withOperational(b, dn, 'organizationalUnit', created, created, dn, true);
  return new Entry('container', dn, ndn, undefined, b.build());
}

/** A stable UUID (RFC 4122 name-based, SHA-1) for entryUUID. */
export function entryUuid(name: string): string {
  const h = createHash('sha1').update(`roster:${name}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

function withOperational(b: EntryBuilder, dn: string, structural: string, created: string, updated: string, uuidName: string, subordinates: boolean): EntryBuilder {
  return b
    .add('structuralObjectClass', structural)
    .add('entryUUID', entryUuid(uuidName))
    .add('createTimestamp', toGeneralizedTime(created))
    .add('modifyTimestamp', toGeneralizedTime(updated))
    .add('entryDN', dn)
    .add('subschemaSubentry', SUBSCHEMA_DN)
    .add('hasSubordinates', subordinates ? 'TRUE' : 'FALSE');
}

/** The suffix entry itself (`dc=roster` by default). */
export function suffixEntry(dn: string, ndn: string): Entry {
  const parsed = parseDn(dn);
  const first = parsed.ok ? parsed.value.rdns[0]?.[0] : undefined;
  const type = first?.type.toLowerCase() ?? 'dc';
  const value = first?.value ?? 'roster';
  const b = new EntryBuilder();
  if (type === 'dc') b.add('objectClass', 'top', 'dcObject', 'organization').add('dc', value).add('o', value);
  else if (type === 'o') b.add('objectClass', 'top', 'organization').add('o', value);
  else b.add('objectClass', 'top', 'organizationalUnit').add('ou', value);
  const epoch = '1970-01-01T00:00:00.000Z';
  withOperational(b, dn, type === 'ou' ? 'organizationalUnit' : 'organization', epoch, epoch, dn, true);
  return new Entry('suffix', dn, ndn, undefined, b.build());
}

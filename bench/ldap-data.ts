/**
 * The LDAP benchmark's data set, built once and served by both Roster and slapd: users (as a CSV
 * for `roster users import`), nested groups, and the LDIF slapd loads — the same DNs and attributes
 * Roster's LDAP tree (src/ldap/tree.ts) builds from the same users and groups.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SERVICE_ACCOUNT = 'svc-ldap';

/** The attributes a Linux or NAS client (SSSD, nslcd, a NAS's LDAP join) asks for when it looks up an account. */
export const CLIENT_ATTRIBUTES = ['uid', 'cn', 'mail', 'uidNumber', 'gidNumber', 'homeDirectory', 'loginShell', 'memberOf'];

const DEPARTMENTS = 20;
const DIVISIONS = 4;

export interface BenchUser {
  username: string;
  /** Only the users that bind (and the service account) have one: each argon2 hash costs tens of ms to import. */
  password?: string;
}

export interface GroupPlan {
  name: string;
  gid: number;
  /** Indexes into the users array. */
  users: number[];
  /** Names of groups nested in this one. */
  groups: string[];
}

export interface DataSet {
  users: BenchUser[];
  /** Index of the service account in `users`; it is connected to the LDAP service directly. */
  service: number;
  /** Indexes of the users the bind test uses. */
  binders: number[];
  groups: GroupPlan[];
  /** The group associated with the LDAP service; every other group is nested below it. */
  top: string;
}

/** A password the default policy accepts (12+, upper, lower, digit) that contains no username. */
const password = () => `Bench-${randomBytes(6).toString('hex')}-Pw7`;

/**
 * `count` users plus the service account; every `count / binders`-th user has a password. Groups:
 * all-staff ⊃ div-0…3 ⊃ dept-00…19 (each user in one department), and vpn-users (every tenth
 * user) nested in all-staff, so a user's memberOf holds three or four groups.
 */
export function makeDataSet(count: number, binders: number): DataSet {
  const users: BenchUser[] = [];
  const bindIndexes: number[] = [];
  const step = Math.max(1, Math.floor(count / binders));
  for (let i = 0; i < count; i++) {
    const bind = i % step === 0 && bindIndexes.length < binders;
    if (bind) bindIndexes.push(i);
    users.push(bind ? { username: `user${i}`, password: password() } : { username: `user${i}` });
  }
  const service = users.length;
  users.push({ username: SERVICE_ACCOUNT, password: password() });

  const dept = (d: number) => `dept-${String(d).padStart(2, '0')}`;
  const groups: GroupPlan[] = [
    { name: 'all-staff', gid: 20000, users: [], groups: [...Array.from({ length: DIVISIONS }, (_, k) => `div-${k}`), 'vpn-users'] },
    ...Array.from({ length: DIVISIONS }, (_, k) => ({
      name: `div-${k}`,
      gid: 20001 + k,
      users: [],
      groups: Array.from({ length: DEPARTMENTS }, (_, d) => d).filter((d) => d % DIVISIONS === k).map(dept),
    })),
    ...Array.from({ length: DEPARTMENTS }, (_, d) => ({
      name: dept(d),
      gid: 20010 + d,
      users: Array.from({ length: count }, (_, i) => i).filter((i) => i % DEPARTMENTS === d),
      groups: [],
    })),
    { name: 'vpn-users', gid: 20100, users: Array.from({ length: count }, (_, i) => i).filter((i) => i % 10 === 0), groups: [] },
  ];
  return { users, service, binders: bindIndexes, groups, top: 'all-staff' };
}

const csvCell = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);

/** The import file; see docs/csv-import.md. */
export function toCsv(data: DataSet): string {
  const lines = ['username,email,firstname,lastname,department,jobTitle,employeeIdentifier,location,password,ldap_binding_user'];
  data.users.forEach((u, i) => {
    const service = i === data.service;
    const cells = service
      ? [u.username, `${u.username}@bench.example`, 'Service', 'Account', 'IT', 'LDAP service account', '', '', u.password ?? '', 'true']
      : [u.username, `${u.username}@bench.example`, `First${i}`, `Last${i}`, `Department ${i % DEPARTMENTS}`, `Title ${i % 50}`, `E${100000 + i}`, `Site ${i % 20}`, u.password ?? '', 'false'];
    lines.push(cells.map(csvCell).join(','));
  });
  return `${lines.join('\n')}\n`;
}

/** A user as `GET /api/systemusers` returns it (the fields the LDAP entry is built from). */
export interface WireUser {
  _id: string;
  organization: string;
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  displayname: string;
  jobTitle: string;
  employeeIdentifier: string;
  employeeType: string;
  department: string;
  company: string;
  location: string;
  description: string;
  unix_uid: number;
  unix_guid: number;
}

/** `{SSHA}` as slappasswd makes it: base64(sha1(password + salt) + salt). */
export function ssha(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password).update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

function ldifLine(attribute: string, value: string): string {
  const safe = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${attribute}: ${value}` : `${attribute}:: ${Buffer.from(value).toString('base64')}`;
}

function entry(dn: string, attrs: [string, ...(string | number | undefined | null)[]][]): string {
  const lines = [ldifLine('dn', dn)];
  for (const [name, ...values] of attrs) {
    for (const v of values) if (v !== undefined && v !== null && v !== '') lines.push(ldifLine(name, String(v)));
  }
  return `${lines.join('\n')}\n`;
}

export interface Dns {
  suffix: string;
  org: string;
  users: string;
  groups: string;
  user(username: string): string;
  group(name: string): string;
}

export function dnsFor(orgId: string, suffix = 'dc=roster'): Dns {
  const org = `o=${orgId},${suffix}`;
  return {
    suffix,
    org,
    users: `ou=Users,${org}`,
    groups: `ou=Groups,${org}`,
    user: (username) => `uid=${username},ou=Users,${org}`,
    group: (name) => `cn=${name},ou=Groups,${org}`,
  };
}

/**
 * slapd's copy of the directory: the suffix, org and OU entries, one entry per user with the
 * attributes Roster serves (and a `{SSHA}` userPassword for those with a password), and the groups
 * with member, memberUid and a transitive memberOf, as Roster computes it.
 */
export function toLdif(data: DataSet, wire: Map<string, WireUser>, orgId: string, orgName: string): string {
  const dns = dnsFor(orgId);
  const byName = new Map(data.groups.map((g) => [g.name, g]));
  const parents = new Map<string, string[]>();
  const addParent = (member: string, group: string) => parents.set(member, [...(parents.get(member) ?? []), group]);
  for (const g of data.groups) {
    for (const u of g.users) addParent(`u:${u}`, g.name);
    for (const c of g.groups) addParent(`g:${c}`, g.name);
  }
  const memberOf = (key: string): string[] => {
    const reached = new Set<string>();
    const todo = [...(parents.get(key) ?? [])];
    while (todo.length > 0) {
      const g = todo.pop()!;
      if (reached.has(g)) continue;
      reached.add(g);
      todo.push(...(parents.get(`g:${g}`) ?? []));
    }
    return [...reached].map(dns.group);
  };

  const out: string[] = [
    entry(dns.suffix, [['objectClass', 'top', 'dcObject', 'organization'], ['dc', 'roster'], ['o', 'roster']]),
    entry(dns.org, [['objectClass', 'top', 'organization'], ['o', orgId], ['description', orgName]]),
    entry(dns.users, [['objectClass', 'top', 'organizationalUnit'], ['ou', 'Users']]),
    entry(dns.groups, [['objectClass', 'top', 'organizationalUnit'], ['ou', 'Groups']]),
  ];
  data.users.forEach((bench, i) => {
    const u = wire.get(bench.username);
    if (!u) throw new Error(`Roster did not list user ${bench.username}`);
    const fullName = `${u.firstname} ${u.lastname}`.trim();
    out.push(
      entry(dns.user(u.username), [
        ['objectClass', 'top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'ldapPublicKey'],
        ['uid', u.username],
        ['cn', u.displayname || fullName || u.username],
        ['sn', u.lastname || u.username],
        ['givenName', u.firstname],
        ['displayName', u.displayname],
        ['mail', u.email],
        ['uidNumber', u.unix_uid],
        ['gidNumber', u.unix_guid],
        ['homeDirectory', `/home/${u.username}`],
        ['loginShell', '/bin/bash'],
        ['title', u.jobTitle],
        ['employeeNumber', u.employeeIdentifier],
        ['employeeType', u.employeeType],
        ['departmentNumber', u.department],
        ['o', u.company],
        ['l', u.location],
        ['description', u.description],
        ['memberOf', ...memberOf(`u:${i}`)],
        ['userPassword', bench.password ? ssha(bench.password) : undefined],
      ]),
    );
  });
  for (const g of data.groups) {
    out.push(
      entry(dns.group(g.name), [
        ['objectClass', 'top', 'groupOfNames', 'posixGroup'],
        ['cn', g.name],
        ['gidNumber', g.gid],
        ['member', ...g.users.map((i) => dns.user(data.users[i]!.username)), ...g.groups.map((c) => dns.group(byName.get(c)!.name))],
        ['memberUid', ...g.users.map((i) => data.users[i]!.username)],
        ['memberOf', ...memberOf(`g:${g.name}`)],
      ]),
    );
  }
  return out.join('\n');
}

/**
 * A deterministic directory for differential LDAP tests: N users and M nested groups, generated
 * from a seed, loadable into Roster (CSV import + v2 API) and into OpenLDAP slapd (LDIF).
 *
 * Everything here is written independently of Roster's own code (no imports from src/): the DIT
 * layout, the attribute mapping, DN escaping and the transitive membership closure are
 * re-derived from the documented behaviour (src/ldap/tree.ts describes it) so that slapd serves
 * an independent reference of what Roster should answer.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, startRoster, tempDir, type RosterProcess } from './roster-process.js';
import { startSlapd, type Slapd } from './slapd.js';
import { prng } from './random.js';

export { prng };

// ---------------------------------------------------------------------------------------------
// Deterministic randomness
// ---------------------------------------------------------------------------------------------

class Random {
  constructor(readonly next: () => number) {}
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += String(this.int(0, 9));
    return s;
  }
}

// ---------------------------------------------------------------------------------------------
// The data
// ---------------------------------------------------------------------------------------------

export interface DatasetPhone {
  type: 'work' | 'mobile';
  number: string;
}

export interface DatasetUser {
  username: string;
  email: string;
  firstname: string;
  lastname: string;
  displayname?: string;
  jobTitle: string;
  department: string;
  company: string;
  location: string;
  employeeIdentifier: string;
  phones: DatasetPhone[];
  sshPublicKey?: string;
  description?: string;
  /** The LDAP binding user (the one the differential test binds as). */
  binding?: { password: string };
}

export interface DatasetGroup {
  name: string;
  description?: string;
  /** attributes.posixGroups[0].id; absent on some groups (then no posixGroup / gidNumber / memberUid). */
  gid?: number;
  /** Nesting depth from a root (0 = root); informative only. */
  level: number;
  /** Direct user members (indexes into Dataset.users). */
  users: number[];
  /** Direct group members (indexes into Dataset.groups). */
  groups: number[];
}

export interface Dataset {
  users: DatasetUser[];
  groups: DatasetGroup[];
  /** Index of the binding user in `users` (connected to the LDAP directory directly, in no group). */
  bindingUser: number;
  /** Groups to associate with the LDAP directory so that every group and user is reached. */
  roots: number[];
  /** The two groups nested in each other (A contains B, B contains A). */
  cycle: [number, number];
}

export interface DatasetOptions {
  users: number;
  groups: number;
  seed: number;
}

const FIRST_NAMES = [
  'Anna', 'Émilie', 'José', 'Björn', 'Åsa', 'Zoë', '李', 'Jürgen', 'Chloé', 'Søren', 'Mark', 'Priya', 'Kenji', 'Fatima', 'Liam',
  'Noah', 'Olivia', 'Ana María', 'Íñigo', 'Ömer', 'Łucja', 'Noël', 'Maëlle', 'Wei', 'Ingrid', 'Peter', 'Sofía', 'Hannah',
];
const LAST_NAMES = [
  'Smith', 'Núñez', 'Öberg', 'Åkesson', 'Müller', '王', 'García', 'Dubois', "O'Brien", 'van der Berg', 'Nguyen', 'Schmidt',
  'Kowalski', 'Ibáñez', 'Østergaard', 'Lindström', 'Brontë', 'Peña', 'Jones', 'Lee', 'Zhang', 'Fischer', 'Rossi', 'Kim',
];
const TITLES = [
  'Engineer', 'Senior Engineer', 'Staff Engineer', 'Product Manager', 'Designer', 'Directeur Général', 'Jefe de Ventas',
  'Försäljningschef', 'Analyst', 'SRE', 'Technical Writer', 'Account Executive',
];
const DEPARTMENTS = ['Engineering', 'Sales', 'Marketing', 'R&D', 'Support', 'Finance', 'Personalabteilung', 'Ventas', 'Produktion', 'Legal'];
const COMPANIES = ['Acme Corp', 'Müller & Söhne GmbH', 'Ñandú S.A.', 'Åbo Trading AB', '北京科技', 'Globex', 'Initech'];
const LOCATIONS = ['Paris', 'São Paulo', 'Zürich', 'Malmö', 'Åre', 'Beijing 北京', 'New York', 'Kraków', 'Reykjavík', 'Berlin'];
const SYLLABLES = ['an', 'bo', 'ka', 'li', 'mi', 'ro', 'su', 'te', 'vi', 'za', 'ne', 'dor', 'el', 'fi', 'gu', 'ha', 'jo', 'pa'];
const DOMAINS = ['example.com', 'Example.ORG', 'corp.example.net', 'mail.test'];
const USER_DESCRIPTIONS = [
  'Contractor, part-time',
  'Équipe de nuit',
  'On call (weekends)',
  'Mentor * lead',
  'Remote — Åland office',
  'Backend & infra',
  'Übergangslösung',
  'Team 李 liaison',
];
const WORDS = ['Platform', 'Security', 'Data', 'Mobile', 'Web', 'Infra', 'Growth', 'Billing', 'Search', 'Identity', 'Payments', 'Cloud'];
const REGIONS = ['EMEA', 'APAC', 'Americas', 'Nordics', 'LatAm'];

/** Group names that need RFC 4514 escaping in a DN (or are otherwise unusual). */
export const SPECIAL_GROUP_NAMES = [
  'Ops, EMEA',
  'R+D',
  'Sales, Marketing + Growth',
  'Équipe Nord',
  'Grupo Ñandú',
  'Öresund Ops',
  '研发部',
  'Quote "Q" Team',
  'semi;colon',
  'back\\slash',
  '<admins>',
  '#general',
  'C=3PO Fans',
];

const LEVEL_SHARES = [0.1, 0.2, 0.25, 0.22, 0.15, 0.08];

function sshKey(r: Random, owner: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let body = '';
  for (let i = 0; i < 43; i++) body += alphabet[r.int(0, 63)];
  return r.chance(0.8) ? `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${body} ${owner}@laptop` : `ecdsa-sha2-nistp256 AAAAE2VjZHNh${body}= ${owner}`;
}

function phone(r: Random): string {
  switch (r.int(0, 4)) {
    case 0:
      return `+1 555 010 ${r.digits(4)}`;
    case 1:
      return `+33 1 23 45 ${r.digits(2)} ${r.digits(2)}`;
    case 2:
      return `555-01${r.digits(2)}-${r.digits(4)}`;
    case 3:
      return `+1 (555) 0${r.digits(2)}-${r.digits(4)}`;
    default:
      return `+46${r.digits(9)}`;
  }
}

function mobile(r: Random): string {
  return r.chance(0.5) ? `+46 70-123 ${r.digits(2)} ${r.digits(2)}` : `+49 151 ${r.digits(4)} ${r.digits(4)}`;
}

function username(r: Random, i: number): string {
  const s = () => r.pick(SYLLABLES);
  const cap = (x: string) => x[0]!.toUpperCase() + x.slice(1);
  switch (i % 6) {
    case 0:
      return `${s()}${s()}${i}`;
    case 1:
      return `${cap(s() + s())}.${cap(s() + s())}${i}`;
    case 2:
      return `${s()}${s()}-${s()}${i}`;
    case 3:
      return `${s()}.${s()}${s()}.${i}`;
    case 4:
      return `${(s() + s()).toUpperCase()}${i}`;
    default:
      return `${s()}${r.digits(2)}-${cap(s())}.${i}`;
  }
}

/** N users, one LDAP binding user more, and M groups nested as a DAG of depth ≤ 5 with one 2-cycle. */
export function generateDataset(options: DatasetOptions): Dataset {
  const r = new Random(prng(options.seed));
  const users: DatasetUser[] = [];
  for (let i = 0; i < options.users; i++) {
    const name = username(r, i);
    const firstname = r.pick(FIRST_NAMES);
    const lastname = r.pick(LAST_NAMES);
    const domain = r.pick(DOMAINS);
    const local = r.chance(0.15) ? `${name}+ldap` : r.chance(0.3) ? name.toUpperCase() : name.toLowerCase();
    const phones: DatasetPhone[] = [];
    if (r.chance(0.7)) phones.push({ type: 'work', number: phone(r) });
    if (r.chance(0.4)) phones.push({ type: 'mobile', number: mobile(r) });
    const user: DatasetUser = {
      username: name,
      email: `${local}@${domain}`,
      firstname,
      lastname,
      jobTitle: r.pick(TITLES),
      department: r.pick(DEPARTMENTS),
      company: r.pick(COMPANIES),
      location: r.pick(LOCATIONS),
      employeeIdentifier: r.chance(0.2) ? `emp-${String(i).padStart(5, '0')}` : `E${String(100000 + i)}`,
      phones,
    };
    if (r.chance(0.2)) user.displayname = r.chance(0.5) ? `${firstname} “${r.pick(SYLLABLES)}” ${lastname}` : `Dr. ${firstname} ${lastname}`;
    if (r.chance(0.3)) user.sshPublicKey = sshKey(r, name.toLowerCase());
    if (r.chance(0.25)) user.description = r.pick(USER_DESCRIPTIONS);
    users.push(user);
  }
  const bindingUser = users.length;
  users.push({
    username: 'ldap-binder',
    email: 'ldap-binder@example.com',
    firstname: 'LDAP',
    lastname: 'Binder',
    jobTitle: 'Service Account',
    department: 'IT',
    company: 'Acme Corp',
    location: 'Paris',
    employeeIdentifier: 'SVC-0001',
    phones: [],
    description: 'Binds for the differential test',
    binding: { password: 'Bind-Passw0rd-Xy9' },
  });

  // Groups: levels 0..5; every non-root group hangs under one group of the level above, some
  // under a second group of any higher level (diamonds).
  const m = options.groups;
  const levels: number[] = [];
  let assigned = 0;
  LEVEL_SHARES.forEach((share, level) => {
    const count = level === LEVEL_SHARES.length - 1 ? m - assigned : Math.max(1, Math.round(share * m));
    for (let k = 0; k < count && assigned < m; k++, assigned++) levels.push(level);
  });
  const names = new Set<string>();
  const groups: DatasetGroup[] = levels.map((level, i) => {
    let name: string;
    if (i % 15 === 7 && i / 15 < SPECIAL_GROUP_NAMES.length) name = SPECIAL_GROUP_NAMES[Math.floor(i / 15)]!;
    else {
      switch (i % 4) {
        case 0:
          name = `team-${String(i).padStart(3, '0')}`;
          break;
        case 1:
          name = `${r.pick(WORDS)} ${r.pick(REGIONS)} ${i}`;
          break;
        case 2:
          name = `grp_${r.pick(SYLLABLES)}${r.pick(SYLLABLES)}.${i}`;
          break;
        default:
          name = `${r.pick(WORDS)}-${r.pick(WORDS).toLowerCase()} ${i}`;
      }
    }
    if (names.has(name.toLowerCase())) name = `${name} ${i}`;
    names.add(name.toLowerCase());
    const group: DatasetGroup = { name, level, users: [], groups: [] };
    if (r.chance(0.85)) group.gid = 20000 + i * 3;
    if (r.chance(0.5)) group.description = r.chance(0.5) ? `${r.pick(WORDS)} group for ${r.pick(REGIONS)}` : `Grupo de ${r.pick(WORDS)} — ${r.pick(LOCATIONS)}`;
    return group;
  });
  const byLevel = (level: number) => groups.map((g, i) => [g, i] as const).filter(([g]) => g.level === level).map(([, i]) => i);
  for (let i = 0; i < groups.length; i++) {
    const level = groups[i]!.level;
    if (level === 0) continue;
    const parent = r.pick(byLevel(level - 1));
    groups[parent]!.groups.push(i);
    if (r.chance(0.3)) {
      const other = r.pick(byLevel(r.int(0, level - 1)));
      if (other !== parent) groups[other]!.groups.push(i);
    }
  }
  // One cycle: A (level 2) contains B (level 3), and B contains A.
  const a = byLevel(2)[0]!;
  const b = byLevel(3).find((g) => !groups[a]!.groups.includes(g))!;
  groups[a]!.groups.push(b);
  groups[b]!.groups.push(a);

  // Users: user i in group i mod M (every group has a user member), plus up to two more groups.
  for (let i = 0; i < options.users; i++) {
    const mine = new Set([i % m]);
    const extra = r.int(0, 2);
    for (let k = 0; k < extra; k++) mine.add(r.int(0, m - 1));
    for (const g of mine) groups[g]!.users.push(i);
  }
  return { users, groups, bindingUser, roots: byLevel(0), cycle: [a, b] };
}

/**
 * The groups each user and each group belongs to, directly or through nesting: everything
 * reachable upwards through "is a direct member of" edges. Cycle-safe; a group on a cycle is
 * (transitively) a member of itself, and of every group on the cycle.
 */
export function transitiveClosure(dataset: Dataset): { userGroups: number[][]; groupGroups: number[][] } {
  const userParents: number[][] = dataset.users.map(() => []);
  const groupParents: number[][] = dataset.groups.map(() => []);
  dataset.groups.forEach((g, gi) => {
    for (const u of g.users) userParents[u]!.push(gi);
    for (const c of g.groups) groupParents[c]!.push(gi);
  });
  const up = (start: number[]): number[] => {
    const seen = new Set<number>();
    const queue = [...start];
    while (queue.length > 0) {
      const g = queue.shift()!;
      if (seen.has(g)) continue;
      seen.add(g);
      queue.push(...groupParents[g]!);
    }
    return [...seen].sort((x, y) => x - y);
  };
  return { userGroups: userParents.map(up), groupGroups: groupParents.map(up) };
}

// ---------------------------------------------------------------------------------------------
// DNs (RFC 4514), written independently of src/ldap/dn.ts
// ---------------------------------------------------------------------------------------------

/** RFC 4514 §2.4 escaping of an attribute value in a DN string. */
export function escapeDnValue(value: string): string {
  let out = '';
  [...value].forEach((ch, i, all) => {
    if ('"+,;<>\\'.includes(ch)) out += `\\${ch}`;
    else if (ch === '\0') out += '\\00';
    else if (i === 0 && (ch === ' ' || ch === '#')) out += `\\${ch}`;
    else if (i === all.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

export interface DitNames {
  suffix: string;
  orgId: string;
  orgDn: string;
  usersDn: string;
  groupsDn: string;
}

export function ditNames(orgId: string, suffix = 'dc=roster'): DitNames {
  const orgDn = `o=${escapeDnValue(orgId)},${suffix}`;
  return { suffix, orgId, orgDn, usersDn: `ou=Users,${orgDn}`, groupsDn: `ou=Groups,${orgDn}` };
}

export const userDn = (dit: DitNames, user: DatasetUser): string => `uid=${escapeDnValue(user.username)},${dit.usersDn}`;
export const groupDn = (dit: DitNames, group: DatasetGroup): string => `cn=${escapeDnValue(group.name)},${dit.groupsDn}`;

// ---------------------------------------------------------------------------------------------
// Expected entries (the reference mapping, after src/ldap/tree.ts's documented behaviour)
// ---------------------------------------------------------------------------------------------

export interface UnixIds {
  uidNumber: number;
  gidNumber: number;
}

export type Attributes = Record<string, string[]>;

export interface ExpectedEntry {
  dn: string;
  attributes: Attributes;
}

/**
 * Every entry of the org, as Roster should serve it: the org, the two containers, one entry per
 * user (inetOrgPerson + posixAccount + ldapPublicKey) and per group (groupOfNames, + posixGroup
 * with a gid). memberOf carries the transitive closure.
 */
export function expectedEntries(dataset: Dataset, dit: DitNames, orgDescription: string, unix: ReadonlyMap<string, UnixIds>): ExpectedEntry[] {
  const closure = transitiveClosure(dataset);
  const gdn = (i: number) => groupDn(dit, dataset.groups[i]!);
  const udn = (i: number) => userDn(dit, dataset.users[i]!);
  const entries: ExpectedEntry[] = [
    { dn: dit.orgDn, attributes: { objectClass: ['top', 'organization'], o: [dit.orgId], description: [orgDescription] } },
    { dn: dit.usersDn, attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['Users'] } },
    { dn: dit.groupsDn, attributes: { objectClass: ['top', 'organizationalUnit'], ou: ['Groups'] } },
  ];
  dataset.users.forEach((u, i) => {
    const ids = unix.get(u.username);
    if (!ids) throw new Error(`no unix ids for ${u.username}`);
    const attrs: Attributes = {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'posixAccount', 'ldapPublicKey'],
      uid: [u.username],
      cn: [u.displayname ?? `${u.firstname} ${u.lastname}`],
      sn: [u.lastname],
      givenName: [u.firstname],
      mail: [u.email],
      uidNumber: [String(ids.uidNumber)],
      gidNumber: [String(ids.gidNumber)],
      homeDirectory: [`/home/${u.username}`],
      loginShell: ['/bin/bash'],
      title: [u.jobTitle],
      employeeNumber: [u.employeeIdentifier],
      departmentNumber: [u.department],
      o: [u.company],
      l: [u.location],
    };
    if (u.displayname) attrs.displayName = [u.displayname];
    if (u.description) attrs.description = [u.description];
    const work = u.phones.filter((p) => p.type !== 'mobile').map((p) => p.number);
    const mobiles = u.phones.filter((p) => p.type === 'mobile').map((p) => p.number);
    if (work.length) attrs.telephoneNumber = work;
    if (mobiles.length) attrs.mobile = mobiles;
    if (u.sshPublicKey) attrs.sshPublicKey = [u.sshPublicKey];
    const memberOf = closure.userGroups[i]!.map(gdn);
    if (memberOf.length) attrs.memberOf = memberOf;
    entries.push({ dn: udn(i), attributes: attrs });
  });
  dataset.groups.forEach((g, i) => {
    const attrs: Attributes = {
      objectClass: ['top', 'groupOfNames', ...(g.gid === undefined ? [] : ['posixGroup'])],
      cn: [g.name],
      member: [...g.users.map(udn), ...g.groups.map(gdn)],
    };
    if (g.description) attrs.description = [g.description];
    if (g.gid !== undefined) {
      attrs.gidNumber = [String(g.gid)];
      attrs.memberUid = g.users.map((u) => dataset.users[u]!.username);
    }
    const memberOf = closure.groupGroups[i]!.map(gdn);
    if (memberOf.length) attrs.memberOf = memberOf;
    entries.push({ dn: gdn(i), attributes: attrs });
  });
  return entries;
}

// ---------------------------------------------------------------------------------------------
// LDIF and CSV
// ---------------------------------------------------------------------------------------------

/** An LDIF line; base64 (RFC 2849 SAFE-STRING rules) when the value is not plain ASCII-safe. */
export function ldifLine(attribute: string, value: string): string {
  const safe = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${attribute}: ${value}` : `${attribute}:: ${Buffer.from(value, 'utf8').toString('base64')}`;
}

export function renderLdif(entries: readonly ExpectedEntry[]): string {
  return entries
    .map((e) => {
      const lines = [ldifLine('dn', e.dn)];
      for (const [name, values] of Object.entries(e.attributes)) for (const v of values) lines.push(ldifLine(name, v));
      return `${lines.join('\n')}\n`;
    })
    .join('\n');
}

const csvCell = (value: string | undefined): string => (value === undefined || value === '' ? '' : `"${value.replace(/"/g, '""')}"`);

/** The users as a CSV for `roster users import` (docs/csv-import.md). */
export function usersCsv(dataset: Dataset): string {
  const header = [
    'username', 'email', 'firstname', 'lastname', 'displayname', 'jobTitle', 'department', 'company', 'location', 'employeeIdentifier',
    'description', 'phone', 'mobile', 'attribute.sshPublicKey', 'ldap_binding_user', 'password',
  ];
  const rows = dataset.users.map((u) =>
    [
      u.username, u.email, u.firstname, u.lastname, u.displayname, u.jobTitle, u.department, u.company, u.location, u.employeeIdentifier,
      u.description, u.phones.find((p) => p.type === 'work')?.number, u.phones.find((p) => p.type === 'mobile')?.number, u.sshPublicKey,
      u.binding ? 'true' : undefined, u.binding?.password,
    ]
      .map(csvCell)
      .join(','),
  );
  for (const u of dataset.users) {
    if (u.phones.filter((p) => p.type === 'work').length > 1 || u.phones.filter((p) => p.type === 'mobile').length > 1) {
      throw new Error(`${u.username}: the CSV import takes one work and one mobile number`);
    }
  }
  return `${[header.join(','), ...rows].join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

/** Runs `fn` over `items` with at most `limit` in flight. */
export async function inParallel<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface LoadedRoster {
  server: RosterProcess;
  /** ldap://127.0.0.1:PORT */
  ldapUrl: string;
  orgId: string;
  orgDescription: string;
  dit: DitNames;
  bindDn: string;
  bindPassword: string;
  /** unix ids Roster assigned, by username. */
  unix: Map<string, UnixIds>;
  timings: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Starts the real `roster serve` on a fresh embedded store and loads the dataset: users with the
 * CSV import, groups and memberships through the v2 API, the root groups and the binding user
 * connected to the LDAP directory, plain binds allowed.
 */
export async function loadIntoRoster(dataset: Dataset): Promise<LoadedRoster> {
  const timings: Record<string, number> = {};
  let t = Date.now();
  const lap = (name: string) => {
    timings[name] = Date.now() - t;
    t = Date.now();
  };
  const dir = tempDir('roster-differential-');
  const env = { ROSTER_DATA_DIR: dir.path, ROSTER_MASTER_KEY: Buffer.alloc(32, 7).toString('base64'), ROSTER_ORG_NAME: 'Differential Test Org' };
  let server: RosterProcess | undefined;
  try {
    server = await startRoster(env);
    const running = server;
    const key = /API key\s+(\S+)/.exec(await waitFor(() => /API key\s+\S+/.test(running.stdout()) && running.stdout()))?.[1];
    const ldapUrl = /LDAP service on (ldap:\/\/\S+)/.exec(await waitFor(() => /LDAP service on ldap:\/\/\S+/.test(running.stdout()) && running.stdout()))?.[1];
    if (!key || !ldapUrl) throw new Error(`roster serve printed no API key or LDAP URL:\n${running.stdout()}`);
    lap('start');

    const api = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${running.url}${path}`, {
        method,
        headers: { 'x-api-key': key, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    };

    const orgs = await api<{ results: { _id?: string; id?: string; displayName: string }[] }>('GET', '/api/organizations');
    const first = orgs.results[0]!;
    const org = { id: (first._id ?? first.id)!, displayName: first.displayName };

    const csvFile = join(dir.path, 'users.csv');
    writeFileSync(csvFile, usersCsv(dataset));
    const imported = await runCli(['users', 'import', csvFile], env);
    if (imported.code !== 0) throw new Error(`roster users import failed (${imported.code}):\n${imported.stderr}${imported.stdout}`);
    lap('csv import');

    const ids = new Map<string, string>();
    const unix = new Map<string, UnixIds>();
    for (let skip = 0; ; skip += 100) {
      const page = await api<{ totalCount: number; results: { _id: string; username: string; unix_uid: number; unix_guid: number }[] }>(
        'GET',
        `/api/systemusers?limit=100&skip=${skip}&fields=_id,username,unix_uid,unix_guid`,
      );
      for (const u of page.results) {
        ids.set(u.username, u._id);
        unix.set(u.username, { uidNumber: u.unix_uid, gidNumber: u.unix_guid });
      }
      if (page.results.length < 100) break;
    }
    const missing = dataset.users.filter((u) => !ids.has(u.username)).map((u) => u.username);
    if (missing.length > 0) throw new Error(`users missing after the import: ${missing.slice(0, 10).join(', ')}`);
    lap('read unix ids');

    const groupIds = await inParallel(dataset.groups, 8, async (g) => {
      const created = await api<{ id: string }>('POST', '/api/v2/usergroups', {
        name: g.name,
        ...(g.description ? { description: g.description } : {}),
        ...(g.gid === undefined ? {} : { attributes: { posixGroups: [{ id: g.gid, name: g.name }] } }),
      });
      return created.id;
    });
    lap('create groups');

    const memberships: { group: string; type: 'user' | 'user_group'; id: string }[] = [];
    dataset.groups.forEach((g, gi) => {
      for (const u of g.users) memberships.push({ group: groupIds[gi]!, type: 'user', id: ids.get(dataset.users[u]!.username)! });
      for (const c of g.groups) memberships.push({ group: groupIds[gi]!, type: 'user_group', id: groupIds[c]! });
    });
    await inParallel(memberships, 12, (m) => api('POST', `/api/v2/usergroups/${m.group}/members`, { op: 'add', type: m.type, id: m.id }));
    lap(`add ${memberships.length} memberships`);

    const servers = await api<{ id: string }[]>('GET', '/api/v2/ldapservers');
    const ldapServer = servers[0]!.id;
    await api('PATCH', `/api/v2/ldapservers/${ldapServer}`, { allowPlainBind: true });
    for (const root of dataset.roots) await api('POST', `/api/v2/ldapservers/${ldapServer}/associations`, { op: 'add', type: 'user_group', id: groupIds[root] });
    const binder = dataset.users[dataset.bindingUser]!;
    await api('POST', `/api/v2/ldapservers/${ldapServer}/associations`, { op: 'add', type: 'user', id: ids.get(binder.username) });
    lap('connect to LDAP');

    const dit = ditNames(org.id);
    return {
      server: running,
      ldapUrl,
      orgId: org.id,
      orgDescription: org.displayName,
      dit,
      bindDn: userDn(dit, binder),
      bindPassword: binder.binding!.password,
      unix,
      timings,
      async stop() {
        await running.stop();
        dir.remove();
      },
    };
  } catch (e) {
    await server?.stop();
    dir.remove();
    throw e;
  }
}

async function waitFor<T>(probe: () => T | false | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for roster serve');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** slapd with the same entries below dc=roster (the suffix entry itself comes from the helper). */
export async function loadIntoSlapd(entries: readonly ExpectedEntry[], suffix = 'dc=roster'): Promise<Slapd> {
  return startSlapd({ suffix, ldif: renderLdif(entries) });
}

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Client } from 'ldapts';
import { ldapTool, type LdapToolName, type ProcessResult } from './slapd.js';
import { startTestRoster, type TestRoster } from './test-roster.js';

export { waitFor, type ApiResponse, type JournalEntryWire, type UserSpec } from './test-roster.js';

const LDAP_UTILS: LdapToolName[] = ['ldapsearch', 'ldapwhoami', 'ldappasswd', 'ldapcompare', 'ldapmodify', 'ldapadd', 'ldapdelete'];

/** null when OpenLDAP's client tools (Debian's ldap-utils) are installed; otherwise why not. */
export function ldapUtilsUnavailable(): string | null {
  const missing = LDAP_UTILS.map((tool) => `/usr/bin/${tool}`).filter((file) => !existsSync(file));
  return missing.length === 0 ? null : `OpenLDAP's client tools are not installed (missing ${missing.join(', ')}; apt-get install ldap-utils)`;
}

/** On CI every peer must be present: missing ldap-utils fail the run instead of skipping tests. */
export const PEERS_REQUIRED = process.env.ROSTER_REQUIRE_PEERS === '1';

/**
 * Whether tests that run ldap-utils are skipped here, warning once with the reason. Throws when
 * they are missing and ROSTER_REQUIRE_PEERS=1 forbids skipping.
 */
export function skipLdapUtils(): boolean {
  const reason = ldapUtilsUnavailable();
  if (!reason) return false;
  if (PEERS_REQUIRED) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
  console.warn(`SKIPPING tests that use ldap-utils: ${reason}`);
  return true;
}

export interface LdapSettingsPatch {
  allowPlainBind?: boolean;
  userSearchAccess?: 'none' | 'self' | 'all';
  userLockoutAction?: 'disable' | 'remove';
  userPasswordExpirationAction?: 'disable' | 'remove';
  searchEventSampleRate?: number;
  bindEventSampleRate?: number;
}

export interface LdapRoster extends Omit<TestRoster, 'createGroup' | 'restart'> {
  /** ldap://127.0.0.1:P */
  ldapUrl: string;
  /** ldaps://127.0.0.1:Q */
  ldapsUrl: string;
  caFile: string;
  ca: Buffer;
  ldapServerId: string;
  /** o=<orgId>,dc=roster */
  baseDn: string;
  usersDn: string;
  groupsDn: string;
  /** uid=<username>,ou=Users,<baseDn>; the username goes in as given, so escape DN specials ("o'neil\\+ops"). */
  userDn(username: string): string;
  /** cn=<name>,ou=Groups,<baseDn>, the name as given (escaped like userDn). */
  groupDn(name: string): string;
  /** POST /api/v2/usergroups, a posixGroup when gid is given. Returns the new group's id. */
  createGroup(name: string, gid?: number): Promise<string>;
  /** Associates a user or group with the LDAP directory. */
  connect(type: 'user' | 'user_group', id: string): Promise<void>;
  disconnect(type: 'user' | 'user_group', id: string): Promise<void>;
  setLdap(settings: LdapSettingsPatch): Promise<void>;
  /** An ldap-utils tool with LDAPTLS_CACERT set to the test CA. */
  tool(name: LdapToolName, args: string[], input?: string): Promise<ProcessResult>;
  /** ldapsearch -x -LLL -o ldif_wrap=no, over LDAPS unless told otherwise, with the entries parsed. */
  ldapsearch(args: LdapSearchArgs): Promise<LdapSearchResult>;
  /** ldapwhoami -x as dn/password on a transport. */
  ldapwhoami(transport: Transport, dn: string, password: string): Promise<ProcessResult>;
  /** An ldapts client on the plain or LDAPS port, trusting the test CA. */
  client(transport: 'ldap' | 'ldaps'): Client;
  /** Upgrades a plain client with StartTLS, trusting the test CA. */
  startTls(client: Client): Promise<void>;
  /** As TestRoster's restart; the returned roster has new ports. This one is spent. */
  restart(): Promise<LdapRoster>;
}

export type Transport = 'ldap' | 'starttls' | 'ldaps';

export interface LdapSearchArgs {
  transport?: Transport;
  /** Simple bind as dn/password; anonymous when absent. */
  as?: { dn: string; password: string };
  base: string;
  scope?: 'base' | 'one' | 'sub' | 'children';
  filter?: string;
  attributes?: string[];
  /** More ldapsearch options, such as ['-z', '3'] or ['-E', 'pr=5/noprompt']. */
  options?: string[];
}

export interface LdapSearchResult extends ProcessResult {
  entries: LdifEntry[];
  /** The DNs of the entries, in the order received. */
  dns: string[];
}

const LDAP_LINE = /LDAP service on ldap:\/\/127\.0\.0\.1:(\d+) and ldaps:\/\/127\.0\.0\.1:(\d+) \(base ([^)]+)\)/;

/**
 * A password the default policy accepts (12+ characters, upper, lower, digit), random digits
 * between fixed letters so it never contains a test username.
 */
export const strongPassword = (): string => `Key-${randomBytes(6).readUIntBE(0, 6).toString().padStart(15, '0')}-Pw`;

/** The real `roster serve` (test-roster.ts) with its LDAP and LDAPS listeners and their clients. */
export async function startLdapRoster(env: NodeJS.ProcessEnv = {}): Promise<LdapRoster> {
  return withLdap(await startTestRoster({ prefix: 'roster-ldap-', orgName: 'LDAP E2E', domain: 'ldap-e2e.test', env, ready: LDAP_LINE }));
}

async function withLdap(base: TestRoster): Promise<LdapRoster> {
  const { certs, must } = base;
  const [, ldapPort, ldapsPort, suffix] = LDAP_LINE.exec(base.process.stdout())!;
  const ca = certs.ca;
  const servers = await must<{ id: string }[]>('GET', '/api/v2/ldapservers', undefined, 200);
  const ldapServerId = servers[0]!.id;
  const baseDn = `o=${base.orgId},${suffix}`;
  const usersDn = `ou=Users,${baseDn}`;
  const groupsDn = `ou=Groups,${baseDn}`;
  const transportArgs = (t: Transport): string[] =>
    t === 'ldaps' ? ['-H', `ldaps://127.0.0.1:${ldapsPort}`] : ['-H', `ldap://127.0.0.1:${ldapPort}`, ...(t === 'starttls' ? ['-ZZ'] : [])];
  const toolEnv = { LDAPTLS_CACERT: certs.caFile, LDAPTLS_REQCERT: 'demand' };
  return {
    ...base,
    ldapUrl: `ldap://127.0.0.1:${ldapPort}`,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    caFile: certs.caFile,
    ca,
    ldapServerId,
    baseDn,
    usersDn,
    groupsDn,
    userDn: (username) => `uid=${username},${usersDn}`,
    groupDn: (name) => `cn=${name},${groupsDn}`,
    createGroup: (name, gid) => base.createGroup(name, gid === undefined ? undefined : { posixGroups: [{ id: gid, name }] }),
    async connect(type, id) {
      await must('POST', `/api/v2/ldapservers/${ldapServerId}/associations`, { op: 'add', type, id }, 204);
    },
    async disconnect(type, id) {
      await must('POST', `/api/v2/ldapservers/${ldapServerId}/associations`, { op: 'remove', type, id }, 204);
    },
    async setLdap(settings) {
      await must('PATCH', `/api/v2/ldapservers/${ldapServerId}`, settings, 200);
    },
    async ldapsearch(args) {
      const result = await ldapTool('ldapsearch', [
        '-x', '-LLL', '-o', 'ldif_wrap=no',
        ...transportArgs(args.transport ?? 'ldaps'),
        ...(args.as ? ['-D', args.as.dn, '-w', args.as.password] : []),
        '-b', args.base,
        '-s', args.scope ?? 'sub',
        ...(args.options ?? []),
        args.filter ?? '(objectClass=*)',
        ...(args.attributes ?? []),
      ], { env: toolEnv });
      const entries = parseLdif(result.stdout);
      return { ...result, entries, dns: entries.map((e) => e.dn) };
    },
    ldapwhoami: (transport, dn, password) => ldapTool('ldapwhoami', ['-x', ...transportArgs(transport), '-D', dn, '-w', password], { env: toolEnv }),
    tool: (name, args, input) => ldapTool(name, args, { env: toolEnv, ...(input === undefined ? {} : { input }) }),
    // ldapts goes TLS from the first byte whenever tlsOptions are given, so the plain client has none;
    // StartTLS takes its options as an argument (see startTls below).
    client: (transport) =>
      new Client(
        transport === 'ldap'
          ? { url: `ldap://127.0.0.1:${ldapPort}`, timeout: 10_000, connectTimeout: 5_000 }
          : { url: `ldaps://127.0.0.1:${ldapsPort}`, tlsOptions: { ca: [ca], minVersion: 'TLSv1.2' }, timeout: 10_000, connectTimeout: 5_000 },
      ),
    startTls: (client) => client.startTLS({ ca: [ca], minVersion: 'TLSv1.2', host: '127.0.0.1' }),
    restart: async () => withLdap(await base.restart()),
  };
}

export interface LdifEntry {
  dn: string;
  /** Attribute name as the server spelled it → values, in order. */
  attributes: Map<string, string[]>;
  /** Case-insensitive lookup. */
  get(name: string): string[] | undefined;
}

/**
 * Parses `ldapsearch -LLL -o ldif_wrap=no` output (base64 `::` values decoded, comments skipped).
 * Also accepts the commented `-LL`/`-L` forms, but ignores the result trailer.
 */
export function parseLdif(text: string): LdifEntry[] {
  const entries: LdifEntry[] = [];
  // Unfold continuation lines in case wrapping was left on.
  const lines = text.replace(/\r?\n /g, '').split(/\r?\n/);
  let current: { dn: string; attributes: Map<string, string[]> } | undefined;
  const finish = () => {
    if (!current) return;
    const attrs = current.attributes;
    entries.push({
      dn: current.dn,
      attributes: attrs,
      get: (name) => {
        for (const [k, v] of attrs) if (k.toLowerCase() === name.toLowerCase()) return v;
        return undefined;
      },
    });
    current = undefined;
  };
  for (const line of lines) {
    if (line === '') {
      finish();
      continue;
    }
    if (line.startsWith('#') || /^version:/.test(line)) continue;
    const m = /^([^:]+)(::?)\s?(.*)$/.exec(line);
    if (!m) continue;
    const [, name, sep, raw] = m;
    const value = sep === '::' ? Buffer.from(raw!, 'base64').toString('utf8') : raw!;
    if (name!.toLowerCase() === 'dn') {
      finish();
      current = { dn: value, attributes: new Map() };
      continue;
    }
    if (!current) continue;
    const list = current.attributes.get(name!);
    if (list) list.push(value);
    else current.attributes.set(name!, [value]);
  }
  finish();
  return entries;
}

export const sorted = (values: Iterable<string> | undefined): string[] => [...(values ?? [])].sort();

/** The sample directory most client tests read; see seedSampleDirectory. */
export interface SampleDirectory {
  /** Passwords of binder, ada, bob, outsider and oneil (username o'neil+ops). */
  pw: Record<'binder' | 'ada' | 'bob' | 'outsider' | 'oneil', string>;
  /** Ids of the users and groups by short name (binder, ada, …, outer, inner, rnd, crowd). */
  ids: Record<string, string>;
  /** The LDAP binding user. */
  binder: { dn: string; password: string };
  /** Every entry the binding user sees below the org: org, two containers, 10 users, 4 groups. */
  everyDn(): string[];
}

/**
 * Seeds, through the API:
 *   binder (LDAP binding user, connected directly)
 *   outer (gid 7001, connected) ⊃ bob, inner (gid 7002) ⊃ ada, "R&D, Europe" (no gid) ⊃ ada
 *   crowd (gid 7004, connected) ⊃ o'neil+ops, user01…user06 (no password)
 *   outsider (has a password, connected to nothing)
 * ada has lastname "Ångström", displayname "李小龍", uidNumber 20001 and gidNumber 30001.
 */
export async function seedSampleDirectory(r: LdapRoster): Promise<SampleDirectory> {
  const pw = { binder: strongPassword(), ada: strongPassword(), bob: strongPassword(), outsider: strongPassword(), oneil: strongPassword() };
  const ids: Record<string, string> = {};
  ids.binder = await r.createUser({ username: 'binder', password: pw.binder, ldap_binding_user: true, firstname: 'Bind', lastname: 'Account' });
  ids.ada = await r.createUser({
    username: 'ada',
    email: 'ada@lab.test',
    firstname: 'Ada',
    lastname: 'Ångström',
    displayname: '李小龍',
    password: pw.ada,
    unix_uid: 20001,
    unix_guid: 30001,
  });
  ids.bob = await r.createUser({ username: 'bob', firstname: 'Bob', lastname: 'Builder', password: pw.bob, unix_uid: 20002, unix_guid: 20002 });
  ids.outsider = await r.createUser({ username: 'outsider', password: pw.outsider });
  ids.oneil = await r.createUser({ username: "o'neil+ops", email: 'oneil@lab.test', password: pw.oneil });
  for (let i = 1; i <= 6; i++) ids[`user0${i}`] = await r.createUser({ username: `user0${i}` });

  ids.outer = await r.createGroup('outer', 7001);
  ids.inner = await r.createGroup('inner', 7002);
  ids.rnd = await r.createGroup('R&D, Europe');
  ids.crowd = await r.createGroup('crowd', 7004);
  await r.addMember(ids.outer, 'user', ids.bob);
  await r.addMember(ids.outer, 'user_group', ids.inner);
  await r.addMember(ids.outer, 'user_group', ids.rnd);
  await r.addMember(ids.inner, 'user', ids.ada);
  await r.addMember(ids.rnd, 'user', ids.ada);
  await r.addMember(ids.crowd, 'user', ids.oneil);
  for (let i = 1; i <= 6; i++) await r.addMember(ids.crowd, 'user', ids[`user0${i}`]!);
  await r.connect('user', ids.binder);
  await r.connect('user_group', ids.outer);
  await r.connect('user_group', ids.crowd);

  return {
    pw,
    ids,
    binder: { dn: r.userDn('binder'), password: pw.binder },
    everyDn: () =>
      sorted([
        r.baseDn,
        r.usersDn,
        r.groupsDn,
        ...['binder', 'ada', 'bob', "o'neil\\+ops", 'user01', 'user02', 'user03', 'user04', 'user05', 'user06'].map(r.userDn),
        ...['outer', 'inner', 'R&D\\, Europe', 'crowd'].map(r.groupDn),
      ]),
  };
}

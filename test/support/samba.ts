import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdClient, GROUP_ATTRIBUTES, type AdConnectOptions, type AdEntry } from '../../src/integrations/active-directory/ldap-client.js';

/**
 * A real Samba AD domain controller for the Active Directory tests. Samba binds the standard ports
 * (389, 636, 88, 445 …) on loopback, so one DC serves every test process of the machine:
 * samba-ad-dc.sh (beside this file) takes a lock, reuses a healthy DC or provisions one, and
 * leaves it running; it stops by itself after three hours (samba --maximum-runtime), or with
 * `test/support/samba-ad-dc.sh stop`. Test files never stop it: each works in an OU of its own.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
/** Beside this file, or, when it runs compiled (bench:ad from dist/test/support), in the source tree. */
const SCRIPT = [join(HERE, 'samba-ad-dc.sh'), join(HERE, '..', '..', '..', 'test', 'support', 'samba-ad-dc.sh')].find((p) => existsSync(p)) ?? join(HERE, 'samba-ad-dc.sh');
const REQUIRED = ['/usr/sbin/samba', '/usr/bin/samba-tool', '/usr/bin/ldapsearch', '/usr/bin/openssl', '/usr/bin/flock', '/usr/bin/setsid'];
const START_TIMEOUT_MS = 240_000;

export const PEERS_REQUIRED = process.env.ROSTER_REQUIRE_PEERS === '1';

export interface SambaDc {
  /** ldaps://127.0.0.1:636 */
  url: string;
  /** ldap://127.0.0.1:389, for StartTLS (and plain binds, which this DC allows). */
  startTlsUrl: string;
  /** The CA (PEM) that signed the DC's certificate for 127.0.0.1 and localhost. */
  ca: string;
  caFile: string;
  /** ROSTER.TEST */
  realm: string;
  /** ROSTER (NetBIOS) */
  domain: string;
  /** DC=roster,DC=test */
  baseDn: string;
  /** CN=Administrator,CN=Users,<baseDn> */
  adminDn: string;
  /** Administrator@roster.test */
  adminUpn: string;
  adminPassword: string;
  /** The domain's minimum password length (the only password rule left on: complexity off, history 0). */
  minPasswordLength: number;
  /** How long provisioning and starting this DC took (when it was started, possibly by an earlier run). */
  provisionSeconds: number;
  pid: number;
  /** Connect options for the administrator over LDAPS. */
  adminOptions(extra?: Partial<AdConnectOptions>): AdConnectOptions;
  /** An AdClient bound as the administrator (the caller closes it). */
  connect(extra?: Partial<AdConnectOptions>): Promise<AdClient>;
  /**
   * A new, uniquely named OU (t-<label>-<random>) for one test file, with helpers that create
   * objects in it. Names of users and groups are unique domain-wide, so one label is in use once
   * at a time on the machine: a second run of the same file waits for the first one's remove(),
   * and OUs of the label left by a crashed run are deleted first.
   */
  createOu(label: string): Promise<TestOu>;
}

export interface TestOu {
  dn: string;
  /** The administrator's client the OU was made with (closed by remove()). */
  client: AdClient;
  /**
   * A user CN=<name> with sAMAccountName <name> and UPN <name>@<realm>, enabled when given a
   * password. sAMAccountName is unique domain-wide and at most 20 characters: give each test file
   * names of its own (a suffix such as "-imp").
   */
  createUser(name: string, options?: { password?: string; enabled?: boolean; attrs?: Record<string, string | string[]>; parentDn?: string }): Promise<AdEntry>;
  /**
   * `count` users named <prefix>0, <prefix>1, … without passwords (disabled), as fast as the DC
   * takes them (~460/s on an idle DC here); with `memberOf` they are also added to that group. Returns their DNs.
   */
  createUsers(prefix: string, count: number, options?: { memberOf?: string; parentDn?: string }): Promise<string[]>;
  createGroup(name: string, members?: string[], options?: { parentDn?: string }): Promise<AdEntry>;
  /**
   * Deletes the OU and everything in it (warning, not failing, when it cannot), closes the client,
   * and lets the next run of the same label have its turn (see createOu).
   */
  remove(): Promise<void>;
}

/** null when Samba and the tools the script needs are installed and usable here; otherwise why not. */
export function sambaUnavailable(): string | null {
  const missing = REQUIRED.filter((file) => !existsSync(file));
  if (missing.length > 0) {
    return `Samba AD DC is not installed (missing ${missing.join(', ')}; apt-get install samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind krb5-user ldb-tools smbclient ldap-utils)`;
  }
  if (process.getuid?.() !== 0) return 'the Samba AD DC needs root (it binds ports 389, 636, 88 and 445)';
  return null;
}

let shared: Promise<SambaDc | undefined> | undefined;

/**
 * The machine's test DC, started when none runs; undefined (with the reason printed) when Samba
 * is missing here, which ROSTER_REQUIRE_PEERS=1 turns into an error. A DC that is installed but
 * fails to start is an error either way.
 */
export function useSamba(): Promise<SambaDc | undefined> {
  shared ??= (async () => {
    const reason = sambaUnavailable();
    if (reason) {
      if (PEERS_REQUIRED) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
      console.warn(`SKIPPING the Active Directory tests: ${reason}`);
      return undefined;
    }
    const facts = parseFacts(await runScript('start'));
    return sambaDc(facts);
  })();
  return shared;
}

function runScript(command: 'start' | 'status'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT, command], { timeout: START_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`samba-ad-dc.sh ${command} failed (${error.code ?? error.signal}):\n${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}

function parseFacts(text: string): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line);
    if (m) facts[m[1]!] = m[2]!;
  }
  for (const key of ['URL', 'CA_FILE', 'BASE_DN', 'ADMIN_DN', 'ADMIN_PASSWORD']) {
    if (!facts[key]) throw new Error(`samba-ad-dc.sh did not say ${key}:\n${text}`);
  }
  return facts;
}

function sambaDc(facts: Record<string, string>): SambaDc {
  const ca = readFileSync(facts.CA_FILE!, 'utf8');
  const dc: SambaDc = {
    url: facts.URL!,
    startTlsUrl: facts.STARTTLS_URL!,
    ca,
    caFile: facts.CA_FILE!,
    realm: facts.REALM!,
    domain: facts.DOMAIN!,
    baseDn: facts.BASE_DN!,
    adminDn: facts.ADMIN_DN!,
    adminUpn: facts.ADMIN_UPN!,
    adminPassword: facts.ADMIN_PASSWORD!,
    minPasswordLength: Number(facts.MIN_PWD_LENGTH),
    provisionSeconds: Number(facts.PROVISION_SECONDS ?? 0),
    pid: Number(facts.PID),
    adminOptions: (extra = {}) => ({ url: facts.URL!, bindDn: facts.ADMIN_DN!, password: facts.ADMIN_PASSWORD!, ca, ...extra }),
    connect: (extra = {}) => AdClient.connect(dc.adminOptions(extra)),
    createOu: async (label) => {
      const tag = label.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 30);
      const release = await lockLabel(`${facts.DIR}-locks`, tag);
      try {
        const client = await dc.connect();
        await reapLeftovers(dc, tag);
        const name = `t-${tag}-${randomBytes(4).toString('hex')}`;
        const dn = `OU=${name},${dc.baseDn}`;
        await client.add(dn, { objectClass: ['top', 'organizationalUnit'], ou: name });
        return testOu(dc, client, dn, release);
      } catch (e) {
        release();
        throw e;
      }
    },
  };
  return dc;
}

/** How long remove() waits for a tree delete (Samba takes ~10 ms per object); the DC finishes it anyway. */
const REMOVE_TIMEOUT_MS = 45_000;
/** How long createOu waits for another run of the same test file to finish (below vitest's 60 s hook timeout, to fail clearly). */
const LABEL_WAIT_MS = 50_000;

const heldLocks = new Set<string>();
process.on('exit', () => {
  for (const dir of heldLocks) rmSync(dir, { recursive: true, force: true });
});

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * One test OU per label on the machine at a time: sAMAccountName is unique domain-wide, so two
 * runs of the same test file (two people, two terminals) would collide on their users' names. The
 * second waits for the first. A lock is a directory holding the owner's pid; a dead owner's lock
 * is taken over.
 */
async function lockLabel(root: string, tag: string): Promise<() => void> {
  mkdirSync(root, { recursive: true });
  const dir = join(root, tag);
  const until = Date.now() + LABEL_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'pid'), String(process.pid));
      heldLocks.add(dir);
      return () => {
        heldLocks.delete(dir);
        rmSync(dir, { recursive: true, force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner: number | undefined;
    try {
      owner = Number(readFileSync(join(dir, 'pid'), 'utf8'));
    } catch {
      owner = undefined;
    }
    if (owner === process.pid) throw new Error(`this process already holds the Samba test OU "${tag}": give each createOu a label of its own, and remove() it`);
    const age = Date.now() - (statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
    if ((owner !== undefined && owner > 0 && !alive(owner)) || (owner === undefined && age > 10_000)) {
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > until) throw new Error(`another run of this test file (pid ${owner}) is using the Samba test OU "${tag}"; runs of one file take turns on a machine (${dir})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Deletes the OUs of this label that an earlier run left behind (the label's lock is held, so none is in use). */
async function reapLeftovers(dc: SambaDc, tag: string): Promise<void> {
  const client = await dc.connect({ timeoutMs: REMOVE_TIMEOUT_MS });
  try {
    for await (const ou of client.pagedSearch(dc.baseDn, `(&(objectClass=organizationalUnit)(ou=t-${tag}-*))`, [], 100, 'one')) {
      await client.delete(ou.dn, { tree: true }).catch((e: unknown) => console.warn(`could not delete the leftover ${ou.dn}: ${String(e)}`));
    }
  } finally {
    await client.close();
  }
}


function testOu(dc: SambaDc, client: AdClient, dn: string, release: () => void): TestOu {
  return {
    dn,
    client,
    createUser: (name, options = {}) =>
      client.createUser(options.parentDn ?? dn, { cn: name, sAMAccountName: name, userPrincipalName: `${name}@${dc.realm.toLowerCase()}`, ...options.attrs }, {
        ...(options.password !== undefined ? { password: options.password } : {}),
        ...(options.enabled !== undefined ? { enabled: options.enabled } : {}),
      }),
    createUsers: async (prefix, count, options = {}) => {
      const parent = options.parentDn ?? dn;
      const dns = Array.from({ length: count }, (_, i) => `CN=${prefix}${i},${parent}`);
      // One after the other: Samba serializes writes in its database, so parallel adds gain nothing.
      for (let i = 0; i < count; i++) {
        await client.add(dns[i]!, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: `${prefix}${i}`.slice(0, 20) });
      }
      if (options.memberOf) await client.addMembers(options.memberOf, dns);
      return dns;
    },
    createGroup: async (name, members = [], options = {}) => {
      const group = await client.createGroup(options.parentDn ?? dn, name);
      if (members.length > 0) await client.addMembers(group.dn, members);
      return members.length > 0 ? ((await client.entry(group.dn, GROUP_ATTRIBUTES)) ?? group) : group;
    },
    remove: async () => {
      // A client of its own with a long timeout: a big tree takes a while, and the DC finishes it
      // even when we stop waiting, so a slow or failed cleanup only warns.
      const deleter = await dc.connect({ timeoutMs: REMOVE_TIMEOUT_MS }).catch(() => undefined);
      try {
        await (deleter ?? client).delete(dn, { tree: true });
      } catch (e) {
        console.warn(`could not remove the test OU ${dn}: ${String(e)}`);
      } finally {
        await deleter?.close();
        await client.close();
        release();
      }
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ldapTool } from './slapd.js';

/**
 * Test data and peers for the generic LDAP directory source (src/integrations/ldap-directory):
 * LDIF builders, a slapd with the overlays and schema test/support/slapd.ts does not load
 * (syncprov for contextCSN, ppolicy for pwdAccountLockedTime, nsAccountLock and shadowAccount for
 * the other lock conventions), and a TCP peer that accepts and never answers.
 */

export interface LdifUser {
  uid: string;
  cn?: string;
  sn?: string;
  mail?: string;
  title?: string;
  password?: string;
  /** posixAccount with uidNumber/gidNumber/homeDirectory. */
  posix?: boolean;
  /** Extra lines, e.g. "shadowExpire: 1" or "nsAccountLock: TRUE". */
  extra?: string[];
  extraClasses?: string[];
}

export function userLdif(parentDn: string, user: LdifUser, uidNumber = 10_000): string {
  const cn = user.cn ?? user.uid;
  const lines = [`dn: uid=${user.uid},${parentDn}`, 'objectClass: inetOrgPerson'];
  if (user.posix) lines.push('objectClass: posixAccount');
  for (const c of user.extraClasses ?? []) lines.push(`objectClass: ${c}`);
  lines.push(`uid: ${user.uid}`, `cn: ${cn}`, `sn: ${user.sn ?? cn.split(' ').pop()}`);
  if (user.mail) lines.push(`mail: ${user.mail}`);
  if (user.title) lines.push(`title: ${user.title}`);
  if (user.password) lines.push(`userPassword: ${user.password}`);
  if (user.posix) lines.push(`uidNumber: ${uidNumber}`, `gidNumber: ${uidNumber}`, `homeDirectory: /home/${user.uid}`);
  lines.push(...(user.extra ?? []));
  return `${lines.join('\n')}\n`;
}

export interface LdifGroup {
  dn: string;
  classes: ('groupOfNames' | 'groupOfUniqueNames' | 'posixGroup')[];
  member?: string[];
  uniqueMember?: string[];
  memberUid?: string[];
  description?: string;
  gidNumber?: number;
}

export function groupLdif(group: LdifGroup): string {
  const cn = /^cn=([^,]+)/i.exec(group.dn)?.[1] ?? 'group';
  const lines = [`dn: ${group.dn}`, ...group.classes.map((c) => `objectClass: ${c}`), `cn: ${cn}`];
  if (group.description) lines.push(`description: ${group.description}`);
  if (group.classes.includes('posixGroup')) lines.push(`gidNumber: ${group.gidNumber ?? 30_000}`);
  for (const m of group.member ?? []) lines.push(`member: ${m}`);
  for (const m of group.uniqueMember ?? []) lines.push(`uniqueMember: ${m}`);
  for (const m of group.memberUid ?? []) lines.push(`memberUid: ${m}`);
  return `${lines.join('\n')}\n`;
}

export const ouLdif = (dn: string): string => `dn: ${dn}\nobjectClass: organizationalUnit\nou: ${/^ou=([^,]+)/i.exec(dn)?.[1]}\n`;

/** A bind account for the source, as a directory agent would have. */
export const serviceAccountLdif = (dn: string, password: string): string =>
  `dn: ${dn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: ${/^cn=([^,]+)/i.exec(dn)?.[1]}\nuserPassword: ${password}\n`;

/** A TCP peer that accepts connections and never answers: an LDAP server hung or behind a black hole. */
export async function startSilentPeer(): Promise<{ url: string; ldapsUrl: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ————— a slapd with syncprov, ppolicy and the lock attributes —————

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const MODULE_DIR = '/usr/lib/ldap';
const SYSTEM_SCHEMA_DIR = '/etc/ldap/schema';
const OWN_SCHEMA_DIR = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'test', 'support', 'slapd-schema');
})();

/**
 * nsAccountLock as 389-ds defines it (there an operational attribute; here a user attribute of an
 * auxiliary class, which slapd accepts in a schema file), and RFC 2307's shadowAccount, which
 * rfc2307bis.schema leaves out.
 */
const LOCK_SCHEMA = `attributetype ( 2.16.840.1.113730.3.1.610 NAME 'nsAccountLock'
	EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )

attributetype ( 1.3.6.1.1.1.1.10 NAME 'shadowExpire'
	EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )

objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'rosterTestLockable'
	SUP top AUXILIARY MAY nsAccountLock )

objectclass ( 1.3.6.1.1.1.2.1 NAME 'shadowAccount'
	SUP top AUXILIARY MUST uid MAY ( userPassword $ shadowExpire $ description ) )
`;

export interface PolicySlapd {
  url: string;
  rootDn: string;
  rootPassword: string;
  stop(): Promise<void>;
}

/** null when slapd has the modules this peer loads; otherwise why not. */
export function policySlapdUnavailable(): string | null {
  const missing = [SLAPD, SLAPADD, join(MODULE_DIR, 'syncprov.la'), join(MODULE_DIR, 'ppolicy.la')].filter((f) => !existsSync(f));
  return missing.length === 0 ? null : `OpenLDAP's slapd or its syncprov/ppolicy modules are not installed (missing ${missing.join(', ')})`;
}

/** A throwaway slapd on plain ldap:// (loopback) with syncprov and ppolicy (a default policy at cn=default-policy,<suffix>), the suffix and `ldif` loaded with slapadd. */
export async function startPolicySlapd(options: { suffix: string; ldif: string }): Promise<PolicySlapd> {
  const { suffix } = options;
  const rootDn = `cn=admin,${suffix}`;
  const rootPassword = 'secret';
  const dir = await mkdtemp(join(tmpdir(), 'roster-slapd-policy-'));
  try {
    await mkdir(join(dir, 'data'));
    await writeFile(join(dir, 'lock.schema'), LOCK_SCHEMA);
    const conf = join(dir, 'slapd.conf');
    await writeFile(
      conf,
      [
        ...[join(SYSTEM_SCHEMA_DIR, 'core.schema'), join(SYSTEM_SCHEMA_DIR, 'cosine.schema'), join(SYSTEM_SCHEMA_DIR, 'inetorgperson.schema'), join(OWN_SCHEMA_DIR, 'rfc2307bis.schema'), join(dir, 'lock.schema')].map(
          (f) => `include "${f}"`,
        ),
        `modulepath "${MODULE_DIR}"`,
        'moduleload back_mdb',
        'moduleload syncprov',
        'moduleload ppolicy',
        `pidfile "${join(dir, 'slapd.pid')}"`,
        `argsfile "${join(dir, 'slapd.args')}"`,
        'sizelimit unlimited',
        'loglevel none',
        'database mdb',
        `suffix "${suffix}"`,
        `rootdn "${rootDn}"`,
        `rootpw "${rootPassword}"`,
        `directory "${join(dir, 'data')}"`,
        'maxsize 1073741824',
        'index objectClass eq',
        'index entryCSN,entryUUID eq',
        'index uid eq',
        'access to attrs=userPassword by self write by anonymous auth by * none',
        'access to * by * read',
        'overlay syncprov',
        'overlay ppolicy',
        `ppolicy_default "cn=default-policy,${suffix}"`,
        '',
      ].join('\n'),
    );
    const dc = /^dc=([^,]+)/i.exec(suffix)?.[1] ?? 'test';
    const ldif = join(dir, 'entries.ldif');
    // ppolicy enforces pwdAccountLockedTime only for accounts a policy applies to.
    const policy = `dn: cn=default-policy,${suffix}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default-policy\npwdAttribute: userPassword\npwdLockout: TRUE\n`;
    await writeFile(ldif, `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: ${dc}\no: ${dc}\n\n${policy}\n${options.ldif}`);
    await run(SLAPADD, ['-q', '-f', conf, '-b', suffix, '-l', ldif]);

    const port = await freePort();
    const url = `ldap://127.0.0.1:${port}`;
    const child = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', `${url}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exit = once(child, 'exit');
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exit;
        clearTimeout(killer);
      }
      await rm(dir, { recursive: true, force: true });
    };
    process.once('exit', () => child.kill('SIGKILL'));
    for (const deadline = Date.now() + 10_000; ; ) {
      if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}:\n${output}`);
      if ((await ldapTool('ldapsearch', ['-x', '-H', url, '-s', 'base', '-b', '', 'namingContexts'], { timeoutMs: 2_000 })).code === 0) break;
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`slapd did not answer on ${url}:\n${output}`);
      }
      await sleep(100);
    }
    return { url, rootDn, rootPassword, stop };
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

async function run(command: string, args: string[]): Promise<void> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${code}:\n${output}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

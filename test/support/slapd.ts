import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { makeTestCertificates, type TestCertificates } from './tls.js';

const SLAPD = '/usr/sbin/slapd';
const SLAPADD = '/usr/sbin/slapadd';
const SLAPTEST = '/usr/sbin/slaptest';
const LDAP_UTILS = '/usr/bin';
const MODULE_DIR = '/usr/lib/ldap';
const SYSTEM_SCHEMA_DIR = '/etc/ldap/schema';
/** The schema files beside this module, also when it runs compiled (the benchmark runs from dist/). */
const OWN_SCHEMA_DIR = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'test', 'support', 'slapd-schema');
})();

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 3;

export interface Slapd {
  /** ldap://127.0.0.1:PORT */
  url: string;
  /** ldaps://127.0.0.1:TLSPORT, with a certificate for localhost, 127.0.0.1 and ::1 signed by caFile; empty with `tls: false`. */
  ldapsUrl: string;
  port: number;
  tlsPort: number;
  rootDn: string;
  rootPassword: string;
  caFile: string;
  dir: string;
  pid: number;
  /** Seconds slapadd took to load the entries. */
  loadSeconds: number;
  /** Stops slapd and removes its directory. Safe to call more than once. */
  stop(): Promise<void>;
}

export interface SlapdOptions {
  /** The database suffix; its first RDN must be dc=, o= or ou=. */
  suffix: string;
  /** Entries below the suffix, loaded with slapadd (so overlays such as memberof do not run). */
  ldif?: string;
  /** Password of cn=admin,<suffix>; 'secret' unless given. */
  rootPassword?: string;
  /** False when `ldif` carries the suffix entry itself. */
  suffixEntry?: boolean;
  /**
   * What a directory with account policies has: the syncprov overlay (contextCSN), ppolicy with a
   * default policy at cn=default-policy,<suffix> (pwdAccountLockedTime is enforced), and the lock
   * attributes of 389-ds (nsAccountLock) and RFC 2307 (shadowAccount, shadowExpire).
   */
  policies?: boolean;
  /** False: no certificate, no LDAPS listener, StartTLS refused (a server without TLS configured). */
  tls?: boolean;
}

export type LdapToolName = 'ldapsearch' | 'ldapwhoami' | 'ldappasswd' | 'ldapcompare' | 'ldapmodify' | 'ldapadd' | 'ldapdelete';

export interface LdapToolOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  timeoutMs?: number;
}

export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** null when slapd has the modules `policies` loads; otherwise why not. */
export function slapdPoliciesUnavailable(): string | null {
  const missing = [join(MODULE_DIR, 'syncprov.la'), join(MODULE_DIR, 'ppolicy.la')].filter((f) => !existsSync(f));
  return missing.length === 0 ? null : `slapd's syncprov/ppolicy modules are not installed (missing ${missing.join(', ')})`;
}

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

/** null when OpenLDAP's server and client tools are installed; otherwise why not. */
export function slapdUnavailable(): string | null {
  const missing = [SLAPD, SLAPADD, join(LDAP_UTILS, 'ldapsearch')].filter((file) => !existsSync(file));
  if (missing.length === 0) return null;
  return `OpenLDAP is not installed (missing ${missing.join(', ')}; apt-get install slapd ldap-utils)`;
}

/**
 * Runs an ldap-utils tool with the machine's ldap.conf and ldaprc out of the way. Resolves with the
 * exit code whatever it is; a tool killed after timeoutMs (15 s unless given) exits with 137.
 */
export function ldapTool(tool: LdapToolName, args: string[], options: LdapToolOptions = {}): Promise<ProcessResult> {
  return runProcess(join(LDAP_UTILS, tool), args, {
    env: { ...process.env, LDAPCONF: '/dev/null', LDAPRC: '/dev/null', ...options.env },
    input: options.input,
    timeoutMs: options.timeoutMs ?? 15_000,
  });
}

/** A throwaway slapd on loopback ports of its own, with the suffix entry and `ldif` loaded. */
export async function startSlapd(options: SlapdOptions): Promise<Slapd> {
  const reason = slapdUnavailable();
  if (reason) throw new Error(reason);
  const { suffix } = options;
  const rootDn = `cn=admin,${suffix}`;
  const rootPassword = options.rootPassword ?? 'secret';

  const dir = await mkdtemp(join(tmpdir(), 'roster-slapd-'));
  try {
    await mkdir(join(dir, 'data'));
    const certs = await makeTestCertificates(dir);
    const confFile = join(dir, 'slapd.conf');
    if (options.policies) await writeFile(join(dir, 'lock.schema'), LOCK_SCHEMA);
    await writeFile(confFile, slapdConf({ dir, suffix, rootDn, rootPassword, certs: options.tls === false ? undefined : certs, policies: options.policies === true }));
    await mustRun(SLAPTEST, ['-f', confFile, '-u']);

    const ldifFiles: [string, string][] = options.suffixEntry === false ? [] : [[join(dir, 'suffix.ldif'), suffixEntry(suffix)]];
    // ppolicy enforces pwdAccountLockedTime only for accounts a policy applies to.
    if (options.policies) ldifFiles.push([join(dir, 'policy.ldif'), `dn: cn=default-policy,${suffix}\nobjectClass: device\nobjectClass: pwdPolicy\ncn: default-policy\npwdAttribute: userPassword\npwdLockout: TRUE\n`]);
    if (options.ldif) ldifFiles.push([join(dir, 'entries.ldif'), withoutVersionLine(options.ldif)]);
    const loading = process.hrtime.bigint();
    for (const [file, content] of ldifFiles) {
      await writeFile(file, content);
      await mustRun(SLAPADD, ['-q', '-f', confFile, '-b', suffix, '-l', file]);
    }
    const loadSeconds = Number(process.hrtime.bigint() - loading) / 1e9;

    for (let attempt = 1; ; attempt++) {
      const [port, tlsPort] = await freeLoopbackPorts();
      const url = `ldap://127.0.0.1:${port}`;
      const ldapsUrl = options.tls === false ? '' : `ldaps://127.0.0.1:${tlsPort}`;
      const server = await launchSlapd(confFile, ldapsUrl ? `${url}/ ${ldapsUrl}/` : `${url}/`, url).catch((e: unknown) => {
        if (e instanceof PortTakenError && attempt < START_ATTEMPTS) return null;
        throw e;
      });
      if (!server) continue;
      let stopping: Promise<void> | undefined;
      return {
        url,
        ldapsUrl,
        port,
        tlsPort,
        rootDn,
        rootPassword,
        caFile: certs.caFile,
        dir,
        pid: server.pid!,
        loadSeconds,
        stop: () =>
          (stopping ??= (async () => {
            await terminate(server);
            await rm(dir, { recursive: true, force: true });
          })()),
      };
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

interface ConfParams {
  dir: string;
  suffix: string;
  rootDn: string;
  rootPassword: string;
  /** Absent: no TLS. */
  certs: TestCertificates | undefined;
  policies: boolean;
}

function slapdConf({ dir, suffix, rootDn, rootPassword, certs, policies }: ConfParams): string {
  const schemas = [
    join(SYSTEM_SCHEMA_DIR, 'core.schema'),
    join(SYSTEM_SCHEMA_DIR, 'cosine.schema'),
    join(SYSTEM_SCHEMA_DIR, 'inetorgperson.schema'),
    join(OWN_SCHEMA_DIR, 'rfc2307bis.schema'),
    join(OWN_SCHEMA_DIR, 'openssh-lpk.schema'),
    ...(policies ? [join(dir, 'lock.schema')] : []),
  ];
  return [
    ...schemas.map((file) => `include ${quote(file)}`),
    `modulepath ${quote(MODULE_DIR)}`,
    'moduleload back_mdb',
    'moduleload memberof',
    ...(policies ? ['moduleload syncprov', 'moduleload ppolicy'] : []),
    `pidfile ${quote(join(dir, 'slapd.pid'))}`,
    `argsfile ${quote(join(dir, 'slapd.args'))}`,
    ...(certs ? [`TLSCACertificateFile ${quote(certs.caFile)}`, `TLSCertificateFile ${quote(certs.certFile)}`, `TLSCertificateKeyFile ${quote(certs.keyFile)}`] : []),
    'sizelimit unlimited',
    // Nothing to syslog: logging costs slapd time in the benchmark, and tests read results, not logs.
    'loglevel none',
    '',
    'database mdb',
    `suffix ${quote(suffix)}`,
    `rootdn ${quote(rootDn)}`,
    `rootpw ${quote(rootPassword)}`,
    `directory ${quote(join(dir, 'data'))}`,
    'maxsize 1073741824',
    'index objectClass eq',
    'index uid,cn,mail,sn,givenName eq,sub',
    'index uidNumber,gidNumber eq',
    'index member,memberUid,memberOf eq',
    'index entryUUID eq',
    ...(policies ? ['index entryCSN eq'] : []),
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
    'overlay memberof',
    ...(policies ? ['overlay syncprov', 'overlay ppolicy', `ppolicy_default ${quote(`cn=default-policy,${suffix}`)}`] : []),
    '',
  ].join('\n');
}

const quote = (value: string): string => `"${value.replace(/["\\]/g, '\\$&')}"`;

/** The LDIF of the suffix entry itself, shaped by the type of its first RDN. */
function suffixEntry(suffix: string): string {
  const rdn = /^\s*(dc|o|ou)\s*=\s*([^,+\\"]+?)\s*(?:,|$)/i.exec(suffix);
  if (!rdn) throw new Error(`unsupported suffix ${JSON.stringify(suffix)}: its first RDN must be a plain dc=, o= or ou= value`);
  const type = rdn[1]!.toLowerCase();
  const value = rdn[2]!;
  const lines = [ldifLine('dn', suffix)];
  if (type === 'dc') lines.push('objectClass: dcObject', 'objectClass: organization', ldifLine('dc', value), ldifLine('o', value));
  else if (type === 'o') lines.push('objectClass: organization', ldifLine('o', value));
  else lines.push('objectClass: organizationalUnit', ldifLine('ou', value));
  return `${lines.join('\n')}\n`;
}

/** slapadd reads `version: 1` as an attribute of a first entry that has no dn. */
const withoutVersionLine = (ldif: string): string => ldif.replace(/^version:[ \t]*1[ \t]*\r?\n/, '');

function ldifLine(attribute: string, value: string): string {
  const safe = /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(value) && !value.endsWith(' ');
  return safe ? `${attribute}: ${value}` : `${attribute}:: ${Buffer.from(value).toString('base64')}`;
}

/** Two distinct ports that were free on 127.0.0.1 a moment ago. */
async function freeLoopbackPorts(): Promise<[number, number]> {
  const listen = () =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    });
  const servers = [await listen(), await listen()] as const;
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return [ports[0]!, ports[1]!];
}

class PortTakenError extends Error {}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts slapd in the foreground (-d 0) and waits until it answers a root DSE search on `url`. */
async function launchSlapd(confFile: string, listeners: string, url: string): Promise<ChildProcess> {
  const child = spawn(SLAPD, ['-d', '0', '-f', confFile, '-h', listeners], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let spawnError: Error | undefined;
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.once('error', (e) => (spawnError = e));
  running.add(child);
  child.once('exit', () => running.delete(child));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (spawnError) throw spawnError;
    if (exited(child)) {
      const message = `slapd exited with ${child.exitCode ?? child.signalCode} before answering on ${url}:\n${output}`;
      throw /errno=98|address already in use/i.test(output) ? new PortTakenError(message) : new Error(message);
    }
    const probe = await ldapTool('ldapsearch', ['-x', '-H', url, '-s', 'base', '-b', '', 'namingContexts'], { timeoutMs: 2_000 });
    if (probe.code === 0) return child;
    if (Date.now() >= deadline) {
      await terminate(child);
      throw new Error(`slapd did not answer on ${url} within ${READY_TIMEOUT_MS / 1000} s:\n${output}${probe.stderr}`);
    }
    await sleep(100);
  }
}

const exited = (child: ChildProcess): boolean => child.exitCode !== null || child.signalCode !== null;

async function terminate(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const exit = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exit;
  clearTimeout(killer);
}

async function mustRun(command: string, args: string[]): Promise<void> {
  const result = await runProcess(command, args, { env: process.env, timeoutMs: 30_000 });
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.code}:\n${result.stderr}${result.stdout}`);
}

function runProcess(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; input?: string | undefined; timeoutMs: number },
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: options.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) stderr += `${command} killed after ${options.timeoutMs} ms\n`;
      resolve({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

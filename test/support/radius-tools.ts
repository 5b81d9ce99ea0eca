import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { accessSync, constants as fsConstants, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { constants as osConstants, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

// Debian's freeradius, freeradius-utils and eapoltest packages.
const RADCLIENT = '/usr/bin/radclient';
const RADTEST = '/usr/bin/radtest';
const EAPOL_TEST = '/usr/bin/eapol_test';
const FREERADIUS = '/usr/sbin/freeradius';
const PACKAGED_RADDB = '/etc/freeradius/3.0';

const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;
const START_ATTEMPTS = 3;
const KEPT_OUTPUT = 64 * 1024;

/** undefined when radclient, radtest and eapol_test are installed; otherwise why not. */
export function radiusToolsUnavailable(): string | undefined {
  const missing = [RADCLIENT, RADTEST, EAPOL_TEST].filter((file) => !existsSync(file));
  if (missing.length === 0) return undefined;
  return `the RADIUS test clients are not installed (missing ${missing.join(', ')}; apt-get install freeradius-utils eapoltest)`;
}

/** undefined when a throwaway FreeRADIUS can be started here; otherwise why not. */
export function freeradiusUnavailable(): string | undefined {
  if (!existsSync(FREERADIUS)) return `FreeRADIUS is not installed (missing ${FREERADIUS}; apt-get install freeradius)`;
  try {
    accessSync(join(PACKAGED_RADDB, 'radiusd.conf'), fsConstants.R_OK);
  } catch {
    return `${PACKAGED_RADDB} is not readable by this user (run as root or in the freerad group)`;
  }
  if (!onPath('openssl')) return 'openssl is not installed (FreeRADIUS test certificates need it)';
  return undefined;
}

export interface ToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** A packet radclient printed as received, with every attribute's values in the order they came. */
export interface RadiusReply {
  code: string;
  id: number;
  attributes: Record<string, string[]>;
}

export interface RadclientResult extends ToolResult {
  replies: RadiusReply[];
}

export interface RadclientOptions {
  host: string;
  port: number;
  secret: string;
  code: 'auth' | 'acct' | 'status';
  /** One packet per element; numbers are written bare, strings quoted ("0x…" is octets). */
  attributes: Record<string, string | number>[];
  /** Sends each packet this many times (-c). */
  count?: number;
  /** Packets in flight at once (-p). */
  parallel?: number;
  /** Retransmissions after a timeout (-r); 2 unless given. */
  retries?: number;
  /** Seconds before a retransmission (-t); 2 unless given. */
  timeoutSeconds?: number;
  extraArgs?: string[];
}

/**
 * Sends packets with radclient -x and parses what it printed for each reply:
 * `Received Access-Accept Id 12 from 127.0.0.1:1812 to 127.0.0.1:50000 length 44` followed by
 * one `\tName = value` line per attribute. Strings come back unquoted, octets as 0x… and
 * enumerated values by name. radclient exits 1 when any reply is a reject or none arrived.
 */
export async function radclient(options: RadclientOptions): Promise<RadclientResult> {
  const timeoutSeconds = options.timeoutSeconds ?? 2;
  const retries = options.retries ?? 2;
  const args = ['-x', '-t', String(timeoutSeconds), '-r', String(retries)];
  if (options.count !== undefined) args.push('-c', String(options.count));
  if (options.parallel !== undefined) args.push('-p', String(options.parallel));
  args.push(...(options.extraArgs ?? []), `${options.host}:${options.port}`, options.code, options.secret);
  const packets = options.attributes.map((attributes) =>
    // RFC 5997 section 3: a Status-Server packet carries a Message-Authenticator.
    options.code === 'status' && !('Message-Authenticator' in attributes) ? { ...attributes, 'Message-Authenticator': '0x00' } : attributes,
  );
  const input = packets.map(radclientPacketLine).join('\n\n');
  const rounds = Math.ceil((packets.length * (options.count ?? 1)) / (options.parallel ?? 1));
  const result = await runTool(RADCLIENT, args, { input, timeoutMs: 30_000 + rounds * timeoutSeconds * (retries + 1) * 1000 });
  return { ...result, replies: parseRadclientReplies(result.stdout) };
}

export interface RadtestOptions {
  nasPort?: number;
  type?: 'pap' | 'chap' | 'mschap';
}

/** radtest (radclient underneath, so replies are parsed the same way); 'mschap' is MS-CHAPv1. */
export async function radtest(
  user: string,
  password: string,
  hostAndPort: string,
  secret: string,
  options: RadtestOptions = {},
): Promise<RadclientResult> {
  const args = ['-t', options.type ?? 'pap', user, password, hostAndPort, String(options.nasPort ?? 0), secret];
  const result = await runTool(RADTEST, args, { timeoutMs: 60_000 });
  return { ...result, replies: parseRadclientReplies(result.stdout) };
}

export interface EapolTestOptions {
  host: string;
  port: number;
  secret: string;
  /** The body of a wpa_supplicant network={} block, one setting per line. */
  network: string;
  /** eapol_test's own limit (-t); 10 s unless given. */
  timeoutSeconds?: number;
  extraArgs?: string[];
}

export interface EapolTestResult {
  /** eapol_test printed SUCCESS and exited 0. */
  success: boolean;
  exitCode: number;
  output: string;
  /** From `MPPE keys OK: 1  mismatch: 0`: the server's MS-MPPE keys equal the peer's MSK. */
  mppeOk?: boolean;
  /** The last Access-Accept or Access-Reject, e.g. Access-Accept. */
  replyCode?: string;
  /** Its attributes by name: strings unquoted, integers in decimal, the rest in hex. */
  replyAttributes?: Record<string, string[]>;
  /** The peer's MSK (its first 32 octets) and the server's decrypted MS-MPPE keys, as eapol_test printed them. */
  keys?: { peerPmk?: Buffer; serverRecvKey?: Buffer; serverSendKey?: Buffer };
}

/**
 * Runs one EAP authentication with eapol_test (no reauthentication, -r0) against a RADIUS server.
 * eapol_test prints, among its debug output, `RADIUS message: code=2 (Access-Accept) …` followed
 * by `   Attribute 18 (Reply-Message) length=7` and `      Value: 'Hello'` lines, then
 * `MPPE keys OK: 1  mismatch: 0` and `SUCCESS` or `FAILURE` last.
 */
export async function eapolTest(options: EapolTestOptions): Promise<EapolTestResult> {
  const timeoutSeconds = options.timeoutSeconds ?? 10;
  const dir = await mkdtemp(join(tmpdir(), 'roster-eapol-'));
  try {
    const conf = join(dir, 'eapol_test.conf');
    const body = options.network.split('\n').map((line) => `\t${line.trim()}`);
    await writeFile(conf, `network={\n${body.join('\n')}\n}\n`, { mode: 0o600 });
    const args = ['-c', conf, '-a', options.host, '-p', String(options.port), '-s', options.secret, '-r0', '-t', String(timeoutSeconds)];
    const result = await runTool(EAPOL_TEST, [...args, ...(options.extraArgs ?? [])], { timeoutMs: (timeoutSeconds + 10) * 1000 });
    return parseEapolTest(result);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface FreeradiusUser {
  name: string;
  password: string;
  /** Reply attributes for an accept, e.g. { 'Reply-Message': 'Hello', 'Tunnel-Type': 'VLAN' }. */
  reply?: Record<string, string>;
}

export interface FreeradiusOptions {
  users: FreeradiusUser[];
  /** The authentication port; accounting takes the next one. Free ports unless given. */
  port?: number;
}

export interface Freeradius {
  host: '127.0.0.1';
  authPort: number;
  acctPort: number;
  /** The shared secret of the client 127.0.0.1. */
  secret: string;
  /** The CA that signed the EAP server certificate, for eapol_test's ca_cert. */
  caCertPath: string;
  dir: string;
  pid: number;
  /** What the server logged so far (its last 64 KiB). */
  output(): string;
  /** Stops FreeRADIUS and removes its directory. Safe to call more than once. */
  stop(): Promise<void>;
}

const SECRET = 'roster-freeradius-test-secret';

/**
 * A throwaway FreeRADIUS 3.2 on 127.0.0.1 only: a copy of the packaged configuration with its
 * paths pointed into a temporary directory, no privilege drop, no proxying, loopback listeners on
 * free ports instead of the packaged ones, test certificates from the packaged certs bootstrap,
 * EAP (PEAP, TTLS, MSCHAPv2…) as packaged, one client (127.0.0.1) and `users` in the files module.
 */
export async function startFreeradius(options: FreeradiusOptions): Promise<Freeradius> {
  const reason = freeradiusUnavailable();
  if (reason) throw new Error(reason);
  const dir = await mkdtemp(join(tmpdir(), 'roster-freeradius-'));
  try {
    const raddb = join(dir, 'raddb');
    const packagedCerts = join(PACKAGED_RADDB, 'certs');
    await cp(packagedCerts, join(raddb, 'certs'), { recursive: true });
    // The certificates take longest: made while the rest is copied and edited.
    const certificates = bootstrapCertificates(join(raddb, 'certs'), join(dir, 'certs.log'));
    const configured = (async () => {
      // Verbatim: the sites-enabled and mods-enabled links are relative and must point into the copy.
      await cp(PACKAGED_RADDB, raddb, { recursive: true, verbatimSymlinks: true, filter: (source) => source !== packagedCerts });
      await Promise.all([
        mkdir(join(dir, 'log')),
        mkdir(join(dir, 'run')),
        editFile(join(raddb, 'radiusd.conf'), (text) => serverConf(text, raddb, dir)),
        editFile(join(raddb, 'sites-available', 'inner-tunnel'), withoutListeners),
        editFile(join(raddb, 'mods-available', 'eap'), eapConf),
        writeFile(join(raddb, 'clients.conf'), `client roster-tests {\n\tipaddr = 127.0.0.1\n\tsecret = ${SECRET}\n}\n`),
        writeFile(join(raddb, 'mods-config', 'files', 'authorize'), usersFile(options.users)),
      ]);
    })();
    await Promise.all([certificates, configured]);
    const defaultSite = withoutListeners(await readFile(join(raddb, 'sites-available', 'default'), 'utf8'));

    for (let attempt = 1; ; attempt++) {
      const [authPort, acctPort] = options.port ? [options.port, options.port + 1] : await freeUdpPorts();
      await writeFile(join(raddb, 'sites-available', 'default'), withListeners(defaultSite, authPort, acctPort));
      const server = await launchFreeradius(raddb).catch((e: unknown) => {
        if (e instanceof PortTakenError && !options.port && attempt < START_ATTEMPTS) return undefined;
        throw e;
      });
      if (!server) continue;
      let stopping: Promise<void> | undefined;
      return {
        host: '127.0.0.1',
        authPort,
        acctPort,
        secret: SECRET,
        caCertPath: join(raddb, 'certs', 'ca.pem'),
        dir,
        pid: server.child.pid!,
        output: server.output,
        stop: () =>
          (stopping ??= (async () => {
            await terminate(server.child);
            await rm(dir, { recursive: true, force: true });
          })()),
      };
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}

function radclientPacketLine(attributes: Record<string, string | number>): string {
  return Object.entries(attributes)
    .map(([name, value]) => `${name} = ${typeof value === 'number' ? value : quoteFreeradius(value, '"')}`)
    .join(', ');
}

function quoteFreeradius(value: string, quote: '"' | "'"): string {
  const escaped = value
    .replace(/\\/g, '\\\\')
    .replace(quote === '"' ? /"/g : /'/g, `\\${quote}`)
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t');
  return `${quote}${escaped}${quote}`;
}

const RECEIVED = /^Received (\S+) Id (\d+) from \S+ to \S+ length \d+/;
const RADCLIENT_ATTRIBUTE = /^\t([^\s=]+) = (.*)$/;

/** The replies in radclient -x output; the attribute lines of sent packets are skipped. */
export function parseRadclientReplies(stdout: string): RadiusReply[] {
  const replies: RadiusReply[] = [];
  let current: RadiusReply | undefined;
  for (const line of stdout.split('\n')) {
    const received = RECEIVED.exec(line);
    if (received) {
      current = { code: received[1]!, id: Number(received[2]), attributes: {} };
      replies.push(current);
      continue;
    }
    const attribute = current && RADCLIENT_ATTRIBUTE.exec(line);
    if (current && attribute) (current.attributes[attribute[1]!] ??= []).push(unquoteRadclient(attribute[2]!));
    else current = undefined;
  }
  return replies;
}

const NAMED_ESCAPES: Record<number, number> = { 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09 };

/**
 * FreeRADIUS prints strings double-quoted with C escapes and \ooo octal for other bytes. Unescaped
 * over the UTF-8 bytes, where a backslash cannot be part of a multi-byte character.
 */
function unquoteRadclient(value: string): string {
  if (value.length < 2 || !value.startsWith('"') || !value.endsWith('"')) return value;
  const raw = Buffer.from(value.slice(1, -1));
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] !== 0x5c || i + 1 === raw.length) {
      bytes.push(raw[i]!);
      continue;
    }
    const octal = /^[0-7]{3}/.exec(raw.toString('latin1', i + 1, i + 4));
    if (octal) bytes.push(parseInt(octal[0], 8));
    else bytes.push(NAMED_ESCAPES[raw[i + 1]!] ?? raw[i + 1]!);
    i += octal ? 3 : 1;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The last Access-Accept or Access-Reject and the Attribute and Value lines below it. */
const FINAL_MESSAGE = /^RADIUS message: code=\d+ \((Access-Accept|Access-Reject)\).*\n((?: {3}.*\n)*)/gm;
const EAPOL_ATTRIBUTE = /^ {3}Attribute \d+ \(([^)]+)\) length=\d+\n(?: {6}Value: (.*)\n)?/gm;

function parseEapolTest(result: ToolResult): EapolTestResult {
  const output = result.stdout + result.stderr;
  const parsed: EapolTestResult = {
    success: result.exitCode === 0 && /^SUCCESS$/m.test(output),
    exitCode: result.exitCode,
    output,
  };
  const mppe = /^MPPE keys OK: (\d+) +mismatch: (\d+)/m.exec(output);
  if (mppe) parsed.mppeOk = Number(mppe[1]) > 0 && Number(mppe[2]) === 0;
  const final = [...output.matchAll(FINAL_MESSAGE)].at(-1);
  if (final) {
    const attributes: Record<string, string[]> = {};
    for (const [, name, value = ''] of final[2]!.matchAll(EAPOL_ATTRIBUTE)) (attributes[name!] ??= []).push(value.replace(/^'(.*)'$/, '$1'));
    parsed.replyCode = final[1]!;
    parsed.replyAttributes = attributes;
  }

  const hexdump = (label: string): Buffer | undefined => {
    const match = new RegExp(`^${label} - hexdump\\(len=\\d+\\): ([0-9a-f ]+)$`, 'm').exec(output);
    return match ? Buffer.from(match[1]!.replace(/ /g, ''), 'hex') : undefined;
  };
  const keys = {
    peerPmk: hexdump('PMK from EAPOL'),
    serverRecvKey: hexdump('MS-MPPE-Recv-Key \\(crypt\\)'),
    serverSendKey: hexdump('MS-MPPE-Send-Key \\(sign\\)'),
  };
  if (Object.values(keys).some(Boolean)) parsed.keys = keys;
  return parsed;
}

function serverConf(text: string, raddb: string, dir: string): string {
  return text
    .replace(/^raddbdir = .*$/m, `raddbdir = ${raddb}`)
    .replace(/^logdir = .*$/m, `logdir = ${join(dir, 'log')}`)
    .replace(/^run_dir = .*$/m, `run_dir = ${join(dir, 'run')}`)
    .replace(/^proxy_requests\s*=.*$/m, 'proxy_requests = no')
    // Rejects answer at once, not after the packaged one-second delay.
    .replace(/^(\s*)reject_delay = .*$/m, '$1reject_delay = 0')
    // No privilege drop: the copy belongs to whoever runs the tests.
    .replace(/^(\s*)(user|group) = freerad\s*$/gm, '$1#$2 = freerad');
}

function eapConf(text: string): string {
  return text
    .replace(/^(\s*)private_key_file = .*$/m, '$1private_key_file = ${certdir}/server.key')
    .replace(/^(\s*)certificate_file = .*$/m, '$1certificate_file = ${certdir}/server.pem')
    .replace(/^(\s*)ca_file = .*$/m, '$1ca_file = ${cadir}/ca.pem');
}

/** The packaged listen{} sections begin and end in column 0 of their site. */
const withoutListeners = (site: string): string => site.replace(/^listen \{\n[\s\S]*?^\}\n/gm, '');

function withListeners(site: string, authPort: number, acctPort: number): string {
  const listener = (type: string, port: number) => `listen {\n\ttype = ${type}\n\tipaddr = 127.0.0.1\n\tport = ${port}\n}\n`;
  if (!/^server default \{\n/m.test(site)) throw new Error('the packaged default site has no "server default {" line');
  return site.replace(/^server default \{\n/m, (line) => line + listener('auth', authPort) + listener('acct', acctPort));
}

/** Users for the files module, each with its own password; single quotes keep values literal. */
function usersFile(users: FreeradiusUser[]): string {
  return users
    .map(({ name, password, reply = {} }) => {
      const replies = Object.entries(reply).map(([attribute, value]) => `\t${attribute} := ${quoteFreeradius(value, "'")}`);
      return `${quoteFreeradius(name, '"')}\tCleartext-Password := ${quoteFreeradius(password, "'")}\n${replies.join(',\n')}\n`;
    })
    .join('\n');
}

/**
 * The packaged bootstrap makes a CA and a server certificate signed by it (its private key under
 * the packaged eap module's password). It also makes DH parameters when `dh` is missing, which
 * takes long at 2048 bits: a named FFDHE group is instant, and the eap module does not read it.
 */
async function bootstrapCertificates(certs: string, log: string): Promise<void> {
  if (!existsSync(join(certs, 'dh'))) {
    await mustRun('openssl', ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', join(certs, 'dh')], certs);
  }
  const result = await mustRun('sh', ['./bootstrap'], certs);
  await writeFile(log, result.stdout + result.stderr);
}

class PortTakenError extends Error {}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts FreeRADIUS in the foreground, logging to stdout, and waits until it is ready. */
async function launchFreeradius(raddb: string): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(FREERADIUS, ['-f', '-l', 'stdout', '-d', raddb], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const keep = (chunk: string) => void (output = (output + chunk).slice(-KEPT_OUTPUT));
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`FreeRADIUS was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${output}`)), READY_TIMEOUT_MS);
    const settle = (error?: Error) => {
      clearTimeout(timer);
      child.stdout!.off('data', watch);
      if (error) reject(error);
      else resolve();
    };
    const watch = () => {
      if (output.includes('Ready to process requests')) settle();
    };
    child.stdout!.on('data', watch);
    child.once('error', settle);
    child.once('exit', (code, signal) => {
      const message = `FreeRADIUS exited with ${code ?? signal} before it was ready:\n${output}`;
      settle(/Address already in use/i.test(output) ? new PortTakenError(message) : new Error(message));
    });
  });
  try {
    await ready;
  } catch (e) {
    await terminate(child);
    throw e;
  }
  return { child, output: () => output };
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exit = once(child, 'exit');
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exit;
  clearTimeout(killer);
}

/** Two distinct UDP ports that were free on 127.0.0.1 a moment ago. */
async function freeUdpPorts(): Promise<[number, number]> {
  const sockets = [createSocket('udp4'), createSocket('udp4')];
  try {
    const ports = [];
    for (const socket of sockets) {
      socket.bind(0, '127.0.0.1');
      await once(socket, 'listening');
      ports.push(socket.address().port);
    }
    return [ports[0]!, ports[1]!];
  } finally {
    for (const socket of sockets) socket.close();
  }
}

async function editFile(file: string, edit: (text: string) => string): Promise<void> {
  await writeFile(file, edit(await readFile(file, 'utf8')));
}

async function mustRun(command: string, args: string[], cwd: string): Promise<ToolResult> {
  const result = await runTool(command, args, { cwd, timeoutMs: 60_000 });
  if (result.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${result.exitCode}:\n${result.stderr}${result.stdout}`);
  return result;
}

/** Resolves with the exit code whatever it is; a tool killed at the time limit exits with 137 (SIGKILL). */
function runTool(command: string, args: string[], options: { input?: string; cwd?: string; timeoutMs: number }): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { cwd: options.cwd, timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code === 'string') return reject(error);
        const exitCode = !error ? 0 : error.signal ? 128 + (osConstants.signals[error.signal] ?? 0) : Number(error.code);
        resolve({ exitCode, stdout, stderr: error?.killed ? `${stderr}${command} killed after ${options.timeoutMs} ms\n` : stderr });
      },
    );
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(options.input ?? '');
  });
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** The network block of a tunnelled method: an anonymous outer identity, the server checked against caCert. */
export function tunnelled(method: 'PEAP' | 'TTLS', inner: 'MSCHAPV2' | 'PAP', identity: string, password: string, caCert: string): string {
  return [
    'key_mgmt=WPA-EAP',
    `eap=${method}`,
    `identity="${identity}"`,
    'anonymous_identity="anonymous"',
    `password="${password}"`,
    `phase2="auth=${inner}"`,
    `ca_cert="${caCert}"`,
  ].join('\n');
}

/** The network block of EAP-MSCHAPv2 on its own (no tunnel, no certificate). */
export function eapMschapv2(identity: string, password: string): string {
  return ['key_mgmt=WPA-EAP', 'eap=MSCHAPV2', `identity="${identity}"`, `password="${password}"`].join('\n');
}

/**
 * npm run bench:radius — PAP Access-Requests per second with `radclient -p 64`, Roster beside
 * FreeRADIUS 3.2 in the same run, the same users and the same client. Roster runs twice: with
 * every request verified against its argon2id hash, and with the verification cache on.
 * A benchmark, not a test: it prints figures and asserts nothing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startRadiusRoster, type RadiusRoster } from '../test/support/radius-roster.js';
import { eapolTest, freeradiusUnavailable, radiusToolsUnavailable, startFreeradius, tunnelled } from '../test/support/radius-tools.js';

const USERS = Number(process.env.BENCH_USERS ?? 200);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 64);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Passes over every user per measured run: full argon2id verification is slow, so fewer there. */
const PASSES_FAST = Number(process.env.BENCH_PASSES ?? 100);
const PASSES_SLOW = Number(process.env.BENCH_SLOW_PASSES ?? 5);
const SECRET = 'bench-radius-shared-secret-0123';
const CACHE_SECONDS = 300;
/** Full PEAP-MSCHAPv2 authentications, one after the other, per server. */
const PEAP_RUNS = Number(process.env.BENCH_PEAP_RUNS ?? 30);

interface Run {
  seconds: number;
  sent: number;
  accepted: number;
  lost: number;
  perSecond: number;
}

const password = (i: number) => `Bench-Radius-${String(i).padStart(5, '0')}-Pw`;
const username = (i: number) => `user${String(i).padStart(5, '0')}`;

/** One radclient run over the packet file: wall-clock time and its own summary (-s). */
function radclientRun(port: number, secret: string, file: string, passes: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const args = ['-q', '-s', '-c', String(passes), '-p', String(PARALLEL), '-r', '3', '-t', '5', '-f', file, `127.0.0.1:${port}`, 'auth', secret];
    const started = performance.now();
    const child = spawn('radclient', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      const seconds = (performance.now() - started) / 1000;
      // "Packet summary:" then "\tAccepted      : 50", "\tRejected      : 0", "\tLost          : 0".
      const count = (label: string) => Number(new RegExp(`${label}\\s*:\\s*(\\d+)`).exec(out)?.[1] ?? NaN);
      const accepted = count('Accepted');
      const denied = count('Rejected');
      const lost = count('Lost');
      if (Number.isNaN(accepted)) return reject(new Error(`radclient printed no summary:\n${out}`));
      if (denied > 0) return reject(new Error(`radclient saw ${denied} rejects:\n${out.slice(-2000)}`));
      const sent = USERS * passes;
      resolve({ seconds, sent, accepted, lost, perSecond: accepted / seconds });
    });
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function measure(name: string, port: number, secret: string, file: string, passes: number): Promise<number> {
  // A warm-up pass: connections, JIT, and for a cache its first (missing) verification of each user.
  await radclientRun(port, secret, file, 1);
  const rates: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const run = await radclientRun(port, secret, file, passes);
    rates.push(run.perSecond);
    console.log(`  ${name} run ${i + 1}: ${run.accepted}/${run.sent} accepted in ${run.seconds.toFixed(2)} s = ${run.perSecond.toFixed(1)}/s${run.lost ? ` (${run.lost} lost)` : ''}`);
  }
  return median(rates);
}

/**
 * Wall-clock time of complete PEAP-MSCHAPv2 authentications with eapol_test (a TLS handshake, the
 * inner MS-CHAPv2 exchange, about 8 round trips), one after the other; the median, in ms. Each run
 * includes starting eapol_test, the same for both servers.
 */
async function peapLatency(name: string, port: number, secret: string, caCert: string): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PEAP_RUNS; i++) {
    const started = performance.now();
    const result = await eapolTest({ host: '127.0.0.1', port, secret, network: tunnelled('PEAP', 'MSCHAPV2', username(i % USERS), password(i % USERS), caCert) });
    if (!result.success) throw new Error(`${name}: PEAP-MSCHAPv2 failed:\n${result.output.slice(-2000)}`);
    times.push(performance.now() - started);
  }
  const ms = median(times);
  console.log(`  ${name} PEAP-MSCHAPv2: median ${ms.toFixed(1)} ms over ${PEAP_RUNS} authentications`);
  return ms;
}

async function rosterWith(env: NodeJS.ProcessEnv): Promise<RadiusRoster> {
  // One client address sends everything here, so lift the per-client rate limit out of the way.
  const r = await startRadiusRoster({ ROSTER_RADIUS_CLIENT_RATE: '1000000', ...env });
  // NT hashes before the users exist, so their passwords get one (PEAP-MSCHAPv2).
  await r.setOrgSettings({ radius: { storeNtHashes: true } });
  const server = await r.createRadiusServer({ name: 'Bench', networkSourceIp: '127.0.0.1', sharedSecret: SECRET });
  const group = await r.createGroup('WiFi users');
  await r.connect(server, 'user_group', group);
  const ids: string[] = [];
  for (let i = 0; i < USERS; i++) ids.push(await r.createUser({ username: username(i), password: password(i) }));
  for (const id of ids) await r.addMember(group, 'user', id);
  return r;
}

async function main(): Promise<void> {
  const missing = radiusToolsUnavailable() ?? freeradiusUnavailable();
  if (missing) throw new Error(`bench:radius needs FreeRADIUS and its tools: ${missing}`);
  console.log(`bench:radius — ${USERS} users, radclient -p ${PARALLEL}, ${RUNS} measured runs each (median)`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`);
  console.log('Roster hashes passwords with argon2id, m = 19 MiB, t = 2, p = 1 (OWASP baseline); FreeRADIUS compares a cleartext password from its users file.');

  const dir = mkdtempSync(join(tmpdir(), 'roster-bench-radius-'));
  const file = join(dir, 'packets');
  writeFileSync(
    file,
    Array.from({ length: USERS }, (_, i) => `User-Name = "${username(i)}", User-Password = "${password(i)}", Message-Authenticator = 0x00`).join('\n\n') + '\n',
  );
  try {
    const freeradius = await startFreeradius({ users: Array.from({ length: USERS }, (_, i) => ({ name: username(i), password: password(i) })) });
    let peer: number;
    let peerPeap: number;
    try {
      peer = await measure('FreeRADIUS', freeradius.authPort, freeradius.secret, file, PASSES_FAST);
      peerPeap = await peapLatency('FreeRADIUS', freeradius.authPort, freeradius.secret, freeradius.caCertPath);
    } finally {
      await freeradius.stop();
    }

    let plain: number;
    let peap: number;
    let r = await rosterWith({});
    try {
      plain = await measure('Roster (no cache)', r.authPort, SECRET, file, PASSES_SLOW);
      peap = await peapLatency('Roster', r.authPort, SECRET, r.certs.caFile);
    } finally {
      await r.stop();
    }

    let cached: number;
    r = await rosterWith({ ROSTER_PASSWORD_CACHE_SECONDS: String(CACHE_SECONDS) });
    try {
      cached = await measure(`Roster (cache ${CACHE_SECONDS} s)`, r.authPort, SECRET, file, PASSES_FAST);
    } finally {
      await r.stop();
    }

    console.log('');
    console.log('| server | PAP Access-Requests/s (median) | ratio to FreeRADIUS |');
    console.log('|---|---|---|');
    console.log(`| FreeRADIUS 3.2 (cleartext users file) | ${peer.toFixed(0)} | 1.00× |`);
    console.log(`| Roster, argon2id every request | ${plain.toFixed(1)} | ${(plain / peer).toFixed(3)}× |`);
    console.log(`| Roster, verification cache ${CACHE_SECONDS} s | ${cached.toFixed(0)} | ${(cached / peer).toFixed(2)}× |`);
    console.log('');
    console.log(`PEAP-MSCHAPv2, one authentication at a time (median ms): FreeRADIUS ${peerPeap.toFixed(1)}, Roster ${peap.toFixed(1)} (${(peap / peerPeap).toFixed(2)}×)`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);

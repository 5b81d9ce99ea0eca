/**
 * npm run bench:scim — SCIM both ways, against an independent SCIM server (scimmy with
 * scimmy-routers, the peer the tests use) on this machine:
 *  - inbound: POST /Users throughput into Roster's SCIM server, and into the peer with the same
 *    client, bodies and concurrency (the peer's figure and the ratio);
 *  - outbound: provisioning 10,000 users in 100 groups into the peer (objects/s at the stated
 *    concurrency), beside the peer's own ingest rate for the same objects from a plain client;
 *  - the latency from suspending a user in Roster to active=false in the application (p50/p95).
 * Roster runs as `roster serve` (its own process, with its provisioning worker); the peer and the
 * clients run in this process. A benchmark, not a test: it prints figures and asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { startScimPeer, type ScimPeer } from '../test/support/scim-peer.js';
import { percentile, pool, startServer, type Running } from './support.js';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 25);
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
/** The targets. */
const TARGET_OBJECTS_PER_S = 500;
const TARGET_P95_MS = 2000;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

function userBody(i: number) {
  return {
    schemas: [CORE_USER, ENTERPRISE],
    userName: `user${i}@bench.example`,
    name: { givenName: `First${i}`, familyName: `Last${i}` },
    displayName: `First${i} Last${i}`,
    title: `Title ${i % 50}`,
    active: true,
    emails: [{ value: `user${i}@bench.example`, type: 'work', primary: true }],
    [ENTERPRISE]: { employeeNumber: `E${100000 + i}`, department: `Department ${i % 20}` },
  };
}

async function call(url: string, token: string, method: string, path: string, body?: unknown, header = 'authorization'): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { [header]: header === 'authorization' ? `Bearer ${token}` : token, 'content-type': header === 'authorization' ? 'application/scim+json' : 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}

/** POSTs every body at the given concurrency; returns objects per second. */
async function postAll(url: string, token: string, path: string, bodies: unknown[], ids?: string[]): Promise<number> {
  const started = performance.now();
  await pool(bodies, CONCURRENCY, async (body, i) => {
    const created = await call(url, token, 'POST', path, body);
    if (ids) ids[i] = created.id;
  });
  return bodies.length / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  console.log(`bench:scim — ${fmt(USERS)} users, ${GROUPS} groups, concurrency ${CONCURRENCY}, ${TRIALS} latency trials`);
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${fmt(totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}`);
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-scim-'));
  const peer: ScimPeer = await startScimPeer();
  const peers = [peer];
  let roster: Running | undefined;
  try {
    roster = await startServer({
      ROSTER_DATA_DIR: dataDir,
      ROSTER_MASTER_KEY: randomBytes(32).toString('base64'),
      ROSTER_HTTP_PORT: '0',
      ROSTER_LDAP_PORT: 'off',
      ROSTER_LDAPS_PORT: 'off',
      ROSTER_RADIUS_PORT: 'off',
      ROSTER_RADIUS_ACCT_PORT: 'off',
      ...(process.env.BENCH_DATABASE_URL ? { DATABASE_URL: process.env.BENCH_DATABASE_URL } : {}),
    });
    const api = (method: string, path: string, body?: unknown) => call(roster!.url, roster!.apiKey, method, path, body, 'x-api-key');
    const source = await api('POST', '/api/v2/scimsources', { name: 'Bench HR' });
    const { token } = await api('POST', `/api/v2/scimsources/${source.id}/tokens`, { name: 'bench' });
    const scim = `${roster.url}/scim/v2`;

    // ---- Inbound: the same bodies into the peer, then into Roster ----
    const bodies = Array.from({ length: USERS }, (_, i) => userBody(i));
    const peerIn = await postAll(peer.url, peer.token, '/Users', bodies);
    peer.reset();
    const ids: string[] = [];
    const rosterIn = await postAll(scim, token, '/Users', bodies, ids);
    console.log(`\ninbound POST /Users, ${fmt(USERS)} users, ${CONCURRENCY} in flight`);
    console.log(`  peer (scimmy)   ${fmt(peerIn)} users/s`);
    console.log(`  Roster          ${fmt(rosterIn)} users/s   ratio ${fmt(rosterIn / peerIn, 2)}×`);

    // Groups of USERS / GROUPS members each, through Roster's SCIM server too.
    const size = Math.ceil(USERS / GROUPS);
    const groupIds: string[] = [];
    const groupBodies = Array.from({ length: GROUPS }, (_, g) => ({
      schemas: [CORE_GROUP],
      displayName: `team-${String(g).padStart(3, '0')}`,
      members: ids.slice(g * size, (g + 1) * size).map((value) => ({ value })),
    }));
    const groupsIn = await postAll(scim, token, '/Groups', groupBodies, groupIds);
    console.log(`  (setup) ${GROUPS} groups of ${size} members through POST /Groups: ${fmt(groupsIn, 1)} groups/s`);

    // ---- Outbound: the peer's own ingest rate for the same objects from a plain client, one request per object and in bulk ----
    const bulkPeer = await startScimPeer({ bulk: true });
    peers.push(bulkPeer);
    const ingest = async (target: ScimPeer, bulk: boolean) => {
      target.reset();
      const started = performance.now();
      const peerIds: string[] = [];
      if (bulk) {
        const batches = Array.from({ length: Math.ceil(USERS / 100) }, (_, b) => bodies.slice(b * 100, b * 100 + 100));
        await pool(batches, Math.max(1, CONCURRENCY / 4), async (batch, b) => {
          const answer = await call(target.url, target.token, 'POST', '/Bulk', {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
            Operations: batch.map((data, i) => ({ method: 'POST', path: '/Users', bulkId: String(b * 100 + i), data })),
          });
          for (const op of answer.Operations) peerIds[Number(op.bulkId)] = String(op.location).split('/').at(-1)!;
        });
      } else await postAll(target.url, target.token, '/Users', bodies, peerIds);
      const peerGroupBodies = groupBodies.map((g, i) => ({ ...g, members: peerIds.slice(i * size, (i + 1) * size).map((value) => ({ value })) }));
      await postAll(target.url, target.token, '/Groups', peerGroupBodies);
      const rate = (USERS + GROUPS) / ((performance.now() - started) / 1000);
      target.reset();
      return rate;
    };
    const plainCeiling = await ingest(peer, false);
    const bulkCeiling = await ingest(bulkPeer, true);

    const associated = async (name: string) => {
      const app = await api('POST', '/api/applications', { name, displayLabel: name });
      const id = app._id ?? app.id;
      await pool(groupIds, 8, async (g) => {
        await api('POST', `/api/v2/applications/${id}/associations`, { op: 'add', type: 'user_group', id: g });
      });
      return id as string;
    };
    const provision = async (appId: string, target: ScimPeer) => {
      const enabled = performance.now();
      await api('PUT', `/api/v2/applications/${appId}/provisioning`, { enabled: true, baseUrl: target.url, token: target.token, concurrency: CONCURRENCY });
      for (;;) {
        const n = target.sizes();
        if (n.users === USERS && n.groups === GROUPS && n.members === USERS) break;
        if (performance.now() - enabled > 900_000) throw new Error(`outbound provisioning stalled at ${JSON.stringify(n)}`);
        await sleep(50);
      }
      const seconds = (performance.now() - enabled) / 1000;
      const status = await api('GET', `/api/v2/applications/${appId}/provisioning`);
      return { seconds, rate: (USERS + GROUPS) / seconds, requests: target.requests.length, counters: status.counters };
    };
    const bulkApp = await associated('Bench app (bulk)');
    const viaBulk = await provision(bulkApp, bulkPeer);
    await api('PUT', `/api/v2/applications/${bulkApp}/provisioning`, { enabled: false });
    const appId = await associated('Bench app');
    const plain = await provision(appId, peer);
    console.log(`\noutbound provisioning, ${fmt(USERS)} users in ${GROUPS} groups of ${size}, concurrency ${CONCURRENCY}`);
    console.log(`  into a peer offering Bulk:   peer ingest from a plain client (100 per Bulk request) ${fmt(bulkCeiling)} objects/s`);
    console.log(`    Roster → peer   ${fmt(viaBulk.rate)} objects/s in ${fmt(viaBulk.seconds, 1)} s (${fmt(viaBulk.requests)} requests)   ratio ${fmt(viaBulk.rate / bulkCeiling, 2)}×   target ≥ ${TARGET_OBJECTS_PER_S}: ${viaBulk.rate >= TARGET_OBJECTS_PER_S ? 'met' : 'NOT met'}`);
    console.log(`  into a peer without Bulk:    peer ingest from a plain client (one request per object) ${fmt(plainCeiling)} objects/s`);
    console.log(`    Roster → peer   ${fmt(plain.rate)} objects/s in ${fmt(plain.seconds, 1)} s (${fmt(plain.requests)} requests)   ratio ${fmt(plain.rate / plainCeiling, 2)}×   target ≥ ${TARGET_OBJECTS_PER_S}: ${plain.rate >= TARGET_OBJECTS_PER_S ? 'met' : 'NOT met'}`);

    // ---- Latency: suspension in Roster → active=false in the application ----
    const remoteOf = new Map(peer.users().map((u) => [u.externalId, u.id]));
    const latencies: number[] = [];
    for (let t = 0; t < TRIALS; t++) {
      const i = Math.floor(Math.random() * USERS);
      const remote = remoteOf.get(ids[i]!)!;
      const from = peer.requests.length;
      const t0 = performance.now();
      await api('PUT', `/api/systemusers/${ids[i]}`, { suspended: true });
      for (;;) {
        const hit = peer.requests.slice(from).find((r) => r.path === `/Users/${remote}` && r.status >= 200 && r.status < 300);
        if (hit) break;
        if (performance.now() - t0 > 30_000) throw new Error('suspension did not reach the application in 30 s');
        await sleep(2);
      }
      latencies.push(performance.now() - t0);
      if (peer.users().find((u) => u.id === remote)?.active !== false) throw new Error('the account is not inactive');
      // Reactivate and let the worker settle before the next trial.
      const back = peer.requests.length;
      await api('PUT', `/api/systemusers/${ids[i]}`, { suspended: false });
      while (!peer.requests.slice(back).some((r) => r.path === `/Users/${remote}` && r.status >= 200 && r.status < 300)) await sleep(5);
      await sleep(300);
    }
    latencies.sort((a, b) => a - b);
    const p95 = percentile(latencies, 95);
    console.log(`\nsuspension → active=false in the application, ${TRIALS} trials (${fmt(USERS)} users provisioned)`);
    console.log(`  p50 ${fmt(percentile(latencies, 50))} ms   p95 ${fmt(p95)} ms   max ${fmt(latencies.at(-1)!)} ms   target p95 < ${TARGET_P95_MS} ms: ${p95 < TARGET_P95_MS ? 'met' : 'NOT met'}`);
    console.log(`\nRoster peak RSS: ${fmt(roster.rss.peak)} MiB`);
  } finally {
    await roster?.stop();
    for (const p of peers) await p.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();

/**
 * npm run bench:cloud-directories — exporting users to Google Workspace and Microsoft 365 at the
 * real APIs' documented rate limits, through the official client libraries, against the emulators
 * the tests use (test/support/google-emulator.ts, graph-emulator.ts) throttling as documented:
 *  - Google Admin SDK Directory API: 2,400 queries per minute per user (the impersonated admin),
 *    https://developers.google.com/workspace/admin/directory/v1/limits — 403 userRateLimitExceeded;
 *  - Microsoft Graph, identity and access: 3,000 writes per 2 min 30 s per app per tenant,
 *    https://learn.microsoft.com/en-us/graph/throttling-limits — 429 with Retry-After.
 * For each: the whole export of BENCH_USERS users (associated with the directory) by the sync
 * worker (plan → writes → record, in rounds of 500), and, as the peer figure, the same connector
 * creating as many users in a plain loop at the same concurrency with no engine around it, against
 * a fresh emulator with the same limit (Graph's budget starts full, so both start alike).
 * A benchmark, not a test: it prints figures and asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { OrgId } from '../src/core/ids.js';
import type { CloudDirectoryType } from '../src/core/services/cloud-directories.js';
import type { ExportOp } from '../src/core/services/directory-export.js';
import type { CloudConnector } from '../src/sync/cloud-connector.js';
import { cachedConnectors, connectorFor } from '../src/app/cloud-connectors.js';
import { CloudDirectoryWorker } from '../src/integrations/cloud-directory/worker.js';
import { mapPool } from '../src/sync/pool.js';
import { operatorContext } from '../src/core/context.js';
import { createDirectoryCore } from '../src/core/directory.js';
import { SecretBox } from '../src/core/secrets.js';
import { openStore } from '../src/store/index.js';
import { startGoogleEmulator } from '../test/support/google-emulator.js';
import { startGraphEmulator } from '../test/support/graph-emulator.js';

const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const PEER_USERS = Number(process.env.BENCH_PEER_USERS ?? USERS);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const only = process.env.BENCH_ONLY;
const log = (line: string) => process.stdout.write(`${line}\n`);
const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

interface Target {
  name: string;
  type: CloudDirectoryType;
  limit: string;
  /** The documented limit as writes per second, sustained. */
  ceiling: number;
  settings: Record<string, unknown>;
  domain: string;
  throttled(): number;
  accounts(): number;
  close(): Promise<void>;
}

async function google(domain = 'example.com'): Promise<Target> {
  const g = await startGoogleEmulator({ domain });
  g.rateLimit(2400);
  return {
    name: 'Google Workspace (Admin SDK Directory API)',
    type: 'g_suite',
    limit: '2,400 queries per minute per user',
    ceiling: 40,
    domain: g.domain,
    settings: { domain: g.domain, adminEmail: g.adminEmail, serviceAccountKey: g.serviceAccountKey, endpoints: { rootUrl: g.rootUrl, tokenUrl: g.tokenUrl } },
    throttled: () => g.requests.filter((r) => r.status === 403 || r.status === 429).length,
    accounts: () => g.users().length,
    close: () => g.close(),
  };
}

async function microsoft(domain = 'contoso.example'): Promise<Target> {
  const m = await startGraphEmulator({ domain });
  m.rateLimit({ writesPer150s: 3000 });
  return {
    name: 'Microsoft 365 (Microsoft Graph)',
    type: 'office_365',
    limit: '3,000 writes per 2 min 30 s per app per tenant (a full bucket at the start)',
    ceiling: 20,
    domain: m.domain,
    settings: {
      domain: m.domain,
      tenantId: m.tenantId,
      clientId: m.clientId,
      clientSecret: m.clientSecret,
      usageLocation: 'US',
      endpoints: { authorityHost: m.authorityHost, graphBaseUrl: m.graphBaseUrl },
      caCertificates: m.ca,
    },
    throttled: () => m.requests.filter((r) => r.status === 429).length,
    accounts: () => m.users().length,
    close: () => m.close(),
  };
}

/** The peer figure: the same connector creating accounts in a plain loop, no store, no plan, no journal. */
async function plainLoop(connector: CloudConnector, domain: string, count: number): Promise<number> {
  const ops: ExportOp[] = Array.from({ length: count }, (_, i) => ({
    op: 'create_user',
    localId: `peer${i}`,
    name: `peer${i}`,
    parentDn: '',
    attributes: { username: `peer${i}`, primaryemail: `peer${i}@${domain}`, mail: `peer${i}@${domain}`, givenname: 'Peer', familyname: String(i), surname: String(i) },
    disabled: false,
  }));
  const started = performance.now();
  const results = await mapPool(ops, CONCURRENCY, (op) => connector.apply(op));
  const seconds = (performance.now() - started) / 1000;
  const failed = results.filter((r) => r.status === 'rejected' || !r.value.ok).length;
  if (failed > 0) log(`  (plain loop: ${failed} of ${count} failed)`);
  return count / seconds;
}

async function run(make: (domain?: string) => Promise<Target>): Promise<void> {
  const target = await make();
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-cloud-'));
  const store = await openStore({ dataDir });
  try {
    const core = createDirectoryCore(store, SecretBox.fromKey(randomBytes(32)));
    const org = await core.organizations.create('Bench');
    const ctx = operatorContext(org.id);
    const directory = await core.cloudDirectories.create(ctx, target.type, { ...target.settings, exportConcurrency: CONCURRENCY, deleteThreshold: { count: USERS, percent: 100 } });
    log(`\n${target.name} — limit ${target.limit}: at most ${target.ceiling} writes/s sustained`);
    const loadStart = performance.now();
    for (let i = 0; i < USERS; i++) {
      const u = await core.users.create(ctx, { username: `user${i}`, email: `user${i}@${target.domain}`, firstname: `First${i}`, lastname: `Last${i}`, jobTitle: `Title ${i % 50}`, department: `Department ${i % 20}` });
      await core.associations.change(ctx, { type: 'user', id: u.id }, { type: target.type, id: directory.id }, 'add');
    }
    log(`  loaded ${USERS} users associated with the directory in ${fmt((performance.now() - loadStart) / 1000)} s`);
    const connectors = cachedConnectors((c) => connectorFor(c));
    const worker = new CloudDirectoryWorker(core, connectors);
    const started = performance.now();
    const result = await worker.runNow(ctx.orgId as OrgId, directory.id, { read: false });
    const seconds = (performance.now() - started) / 1000;
    const created = result.exports.reduce((n, r) => n + (r.counts.create ?? 0), 0);
    const failed = result.exports.reduce((n, r) => n + (r.counts.failed ?? 0), 0);
    const rate = created / seconds;
    log(`  Roster export: ${created} users in ${fmt(seconds)} s = ${fmt(rate)} users/s (${result.exports.length} rounds, ${failed} failed writes retried next round, ${target.throttled()} throttled answers, ${target.accounts()} accounts in the directory)`);
    const fresh = await make('peer.example');
    try {
      const peerDirectory = await core.cloudDirectories.create(ctx, fresh.type, { ...fresh.settings, name: 'Peer' });
      const connection = (await core.cloudDirectories.connection(ctx.orgId as OrgId, peerDirectory.id))!;
      const peer = await plainLoop(connectorFor(connection), fresh.domain, PEER_USERS);
      log(`  peer (the same connector in a plain loop on a fresh emulator, ${PEER_USERS} users, concurrency ${CONCURRENCY}): ${fmt(peer)} users/s (${fresh.throttled()} throttled answers)`);
      log(`  ratio Roster / plain loop: ${fmt(rate / peer, 2)}; Roster / documented sustained limit: ${fmt(rate / target.ceiling, 2)}`);
    } finally {
      await fresh.close();
    }
    await worker.stop();
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
    await target.close();
  }
}

async function main(): Promise<void> {
  log(`bench:cloud-directories — ${new Date().toISOString()} — ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, SQLite store, concurrency ${CONCURRENCY}`);
  if (only !== 'm365') await run(google);
  if (only !== 'google') await run(microsoft);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});

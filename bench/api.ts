/**
 * npm run bench:api — the foundation benchmark: 100,000 users imported from CSV and 1,000
 * groups, then list and lookup latency and peak memory, on SQLite and on PostgreSQL.
 * A benchmark, not a test: it prints figures and asserts nothing.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { measure, percentile, runRoster, startServer } from './support.js';

const USERS = Number(process.env.BENCH_USERS ?? 100_000);
const GROUPS = Number(process.env.BENCH_GROUPS ?? 1_000);
const MEMBERS_PER_GROUP = 10;
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1_000);
const PG_URL = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function csv(users: number): string {
  const lines = ['username,email,firstname,lastname,department,jobTitle,employeeIdentifier,location'];
  const departments = ['Engineering', 'Sales', 'Support', 'Finance', 'Operations', 'Légal'];
  for (let i = 0; i < users; i++) {
    lines.push(`user${i},user${i}@bench.example,First${i},Last${i},${departments[i % departments.length]},Title ${i % 50},E${100000 + i},Site ${i % 20}`);
  }
  return `${lines.join('\n')}\n`;
}

interface Result {
  store: string;
  importSeconds: number;
  importRate: number;
  importRssMiB: number;
  groupSeconds: number;
  listP50: number;
  listP99: number;
  deepP50: number;
  deepP99: number;
  cursorP50: number;
  cursorP99: number;
  emailP50: number;
  emailP99: number;
  serverRssMiB: number;
}

async function run(store: 'sqlite' | 'postgres', file: string): Promise<Result> {
  const dataDir = mkdtempSync(join(tmpdir(), 'roster-bench-'));
  const env: NodeJS.ProcessEnv = { ROSTER_DATA_DIR: dataDir, ROSTER_HTTP_PORT: '0', ROSTER_LDAP_PORT: 'off', ROSTER_LDAPS_PORT: 'off', ROSTER_MASTER_KEY: randomBytes(32).toString('base64') };
  let schema: string | undefined;
  if (store === 'postgres') {
    schema = `roster_bench_${randomBytes(4).toString('hex')}`;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    await client.query(`create schema ${schema}`);
    await client.end();
    env.DATABASE_URL = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  }
  const server = await startServer(env);
  try {
    const headers = { 'x-api-key': server.apiKey, 'content-type': 'application/json' };
    const imported = await runRoster(['users', 'import', file], env);

    const groupStart = process.hrtime.bigint();
    const ids: string[] = [];
    let skip = 0;
    while (ids.length < GROUPS * MEMBERS_PER_GROUP) {
      const res = await fetch(`${server.url}/api/systemusers?limit=100&skip=${skip}&fields=_id`, { headers });
      const page = (await res.json()) as { results: { _id: string }[] };
      if (page.results.length === 0) break;
      ids.push(...page.results.map((u) => u._id));
      skip += 100;
    }
    const makeGroup = async (g: number) => {
      const res = await fetch(`${server.url}/api/v2/usergroups`, { method: 'POST', headers, body: JSON.stringify({ name: `group-${g}` }) });
      const { id } = (await res.json()) as { id: string };
      for (let m = 0; m < MEMBERS_PER_GROUP; m++) {
        const member = ids[(g * MEMBERS_PER_GROUP + m) % ids.length];
        const r = await fetch(`${server.url}/api/v2/usergroups/${id}/members`, { method: 'POST', headers, body: JSON.stringify({ op: 'add', type: 'user', id: member }) });
        if (r.status !== 204) throw new Error(`member add: ${r.status}`);
      }
    };
    for (let g = 0; g < GROUPS; g += 8) await Promise.all(Array.from({ length: Math.min(8, GROUPS - g) }, (_, k) => makeGroup(g + k)));
    const groupSeconds = Number(process.hrtime.bigint() - groupStart) / 1e9;

    const get = (path: string) => fetch(`${server.url}${path}`, { headers: { 'x-api-key': server.apiKey } });
    await measure(100, () => get('/api/systemusers?limit=100'));
    const list = await measure(SAMPLES, () => get('/api/systemusers?limit=100'));
    const deep = await measure(SAMPLES, () => get(`/api/systemusers?limit=100&skip=${Math.floor(Math.random() * (USERS - 100))}`));
    const cursor = await measure(SAMPLES, () => get(`/api/systemusers?limit=100&after=${ids[Math.floor(Math.random() * ids.length)]}`));
    const email = await measure(SAMPLES, () => get(`/api/systemusers?filter=email:$eq:USER${Math.floor(Math.random() * USERS)}@bench.example`));
    return {
      store,
      importSeconds: imported.seconds,
      importRate: USERS / imported.seconds,
      importRssMiB: imported.rssMiB,
      groupSeconds,
      listP50: percentile(list, 50),
      listP99: percentile(list, 99),
      deepP50: percentile(deep, 50),
      deepP99: percentile(deep, 99),
      cursorP50: percentile(cursor, 50),
      cursorP99: percentile(cursor, 99),
      emailP50: percentile(email, 50),
      emailP99: percentile(email, 99),
      serverRssMiB: server.rss.stop(),
    };
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    if (schema) {
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    }
  }
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main() {
  const stores = (process.env.BENCH_STORES ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
  const dir = mkdtempSync(join(tmpdir(), 'roster-bench-csv-'));
  const file = join(dir, 'users.csv');
  writeFileSync(file, csv(USERS));
  console.log(`Roster API benchmark: ${USERS.toLocaleString('en-US')} users (CSV import), ${GROUPS} groups of ${MEMBERS_PER_GROUP}, ${SAMPLES} samples per latency`);
  console.log(`Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  const results: Result[] = [];
  for (const store of stores) {
    console.log(`\n[${store}] running…`);
    const r = await run(store, file);
    results.push(r);
    console.log(`[${store}] CSV import: ${fmt(r.importSeconds)} s = ${Math.round(r.importRate).toLocaleString('en-US')} users/s (importer peak RSS ${fmt(r.importRssMiB, 0)} MiB)`);
    console.log(`[${store}] ${GROUPS} groups with ${GROUPS * MEMBERS_PER_GROUP} memberships over the API: ${fmt(r.groupSeconds)} s`);
    console.log(`[${store}] GET /api/systemusers?limit=100          p50 ${fmt(r.listP50, 2)} ms  p99 ${fmt(r.listP99, 2)} ms`);
    console.log(`[${store}] … with a random skip (deep pages)        p50 ${fmt(r.deepP50, 2)} ms  p99 ${fmt(r.deepP99, 2)} ms`);
    console.log(`[${store}] … with a random after=<id> cursor          p50 ${fmt(r.cursorP50, 2)} ms  p99 ${fmt(r.cursorP99, 2)} ms`);
    console.log(`[${store}] GET /api/systemusers?filter=email:$eq:… p50 ${fmt(r.emailP50, 2)} ms  p99 ${fmt(r.emailP99, 2)} ms`);
    console.log(`[${store}] server peak RSS ${fmt(r.serverRssMiB, 0)} MiB`);
  }
  rmSync(dir, { recursive: true, force: true });
  console.log('\n| store | import users/s | list p50 / p99 ms | random skip p50 / p99 ms | random after= p50 / p99 ms | email lookup p50 / p99 ms | server peak RSS MiB | importer peak RSS MiB |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    console.log(`| ${r.store} | ${Math.round(r.importRate).toLocaleString('en-US')} | ${fmt(r.listP50, 2)} / ${fmt(r.listP99, 2)} | ${fmt(r.deepP50, 2)} / ${fmt(r.deepP99, 2)} | ${fmt(r.cursorP50, 2)} / ${fmt(r.cursorP99, 2)} | ${fmt(r.emailP50, 2)} / ${fmt(r.emailP99, 2)} | ${fmt(r.serverRssMiB, 0)} | ${fmt(r.importRssMiB, 0)} |`);
  }
  console.log('\nTargets: import ≥ 2,000 users/s; list p99 < 20 ms; RSS < 400 MB. No peer runs the JumpCloud API locally, so there is no peer figure.');
}

await main();

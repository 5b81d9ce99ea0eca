/**
 * npm run bench:ad — Active Directory import through `roster agent` from a real Samba AD DC:
 *   1. a full import of 5,000 users in nested groups, in users/s, beside the raw paged read of the
 *      same scope from the same DC in the same run (the limit an import cannot beat);
 *   2. the propagation latency from disabling a user in AD to the user suspended in Roster, over
 *      20 trials (p50, p95);
 *   3. the other way, once the domain is switched to two-way: suspending a user in Roster to the
 *      account disabled in AD, and the time an administrator's password change takes now that it
 *      is written to AD first (p50, p95 over the same trials);
 *   4. the first export of a group of 1,000 users made in Roster: from its association with the
 *      domain until AD holds every account in the group, in users/s.
 * Needs root and Samba (as the tests do). A benchmark, not a test: it prints figures and asserts nothing.
 */
import type { ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { spawnAgent, stopProcess } from '../test/support/agent-process.js';
import { useSamba, type SambaDc, type TestOu } from '../test/support/samba.js';
import { tempDir } from '../test/support/roster-process.js';
import { startTestRoster, waitFor, type TestRoster } from '../test/support/test-roster.js';
import { percentile } from './support.js';

const USERS = Number(process.env.BENCH_USERS ?? 5_000);
const LEAF_GROUPS = Number(process.env.BENCH_GROUPS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 20);
const EXPORT_USERS = Number(process.env.BENCH_EXPORT_USERS ?? 1_000);
const TARGET_RATIO = 0.5;
const TARGET_P95_MS = 5_000;
const USER_ATTRIBUTES = ['samaccountname', 'mail', 'givenname', 'sn', 'displayname', 'title', 'department', 'company', 'description', 'physicaldeliveryofficename', 'employeeid', 'userprincipalname', 'useraccountcontrol', 'admincount'];

const median = (values: number[]) => percentile([...values].sort((a, b) => a - b), 50);
const log = (line: string) => process.stdout.write(`${line}\n`);

interface Scope {
  dn: string;
  trialDns: string[];
}

/** The data: a scope group, 5 groups in it, LEAF_GROUPS groups under those, USERS users spread over them, and TRIALS users with passwords. */
async function load(ou: TestOu): Promise<Scope> {
  const started = Date.now();
  const scope = await ou.createGroup('bench-scope');
  const mids: string[] = [];
  for (let i = 0; i < 5; i++) mids.push((await ou.createGroup(`bench-mid-${i}`)).dn);
  await ou.client.addMembers(scope.dn, mids);
  const perLeaf = Math.ceil(USERS / LEAF_GROUPS);
  for (let g = 0; g < LEAF_GROUPS; g++) {
    const leaf = await ou.createGroup(`bench-leaf-${g}`);
    await ou.client.addMembers(mids[g % mids.length]!, [leaf.dn]);
    await ou.createUsers(`b${g}-`, Math.min(perLeaf, USERS - g * perLeaf), { memberOf: leaf.dn });
  }
  const trialDns: string[] = [];
  for (let i = 0; i < TRIALS; i++) {
    const user = await ou.createUser(`trial-${i}`, { password: `Passw0rd!trial${i}` });
    trialDns.push(user.dn);
  }
  await ou.client.addMembers(scope.dn, trialDns);
  log(`loaded ${USERS} users in ${LEAF_GROUPS} nested groups and ${TRIALS} trial users into Samba in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { dn: scope.dn, trialDns };
}

/** The raw paged read of the whole scope (users with the attributes the agent reads, and groups): what an import cannot beat. */
async function rawRead(dc: SambaDc, scopeDn: string): Promise<number> {
  const client = await dc.connect();
  try {
    const started = process.hrtime.bigint();
    const scope = await client.scope(scopeDn, { userAttributes: USER_ATTRIBUTES });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    return scope.users.length / seconds;
  } finally {
    await client.close();
  }
}

function startAgent(roster: TestRoster, dc: SambaDc, dir: string, connectKey: string): ChildProcess {
  return spawnAgent({
    roster,
    stateFile: join(dir, `agent-${Date.now()}.json`),
    connectKey,
    ldapUrl: dc.url,
    ldapCa: dc.caFile,
    bindDn: dc.adminDn,
    password: dc.adminPassword,
    env: { ROSTER_AGENT_POLL_SECONDS: '30' },
    output: 'inherit',
  });
}

/** One full import into a fresh Roster: from the agent's start to the run's end, in users/s. Leaves the agent and Roster running for `then`. */
async function importOnce(dc: SambaDc, scope: Scope, dir: string, then?: (roster: TestRoster, domainId: string) => Promise<void>): Promise<number> {
  const roster = await startTestRoster({ prefix: 'roster-bench-ad-', orgName: 'Bench AD', domain: 'bench.test' });
  try {
    const domain = await roster.must('POST', '/api/v2/activedirectories', { domain: dc.realm.toLowerCase(), importScopeGroupDn: scope.dn }, 201);
    const { connectKey } = await roster.must('POST', `/api/v2/activedirectories/${domain.id}/agents`, {}, 201);
    const started = Date.now();
    const agent = startAgent(roster, dc, dir, connectKey);
    try {
      const run = await waitFor(async () => {
        const s = (await roster.api('GET', `/api/v2/activedirectories/${domain.id}/sync`)).body;
        return s.lastRun && s.lastRun.status !== 'running' ? s.lastRun : undefined;
      }, 600_000, () => 'the full import did not finish in 10 minutes');
      const seconds = (Date.now() - started) / 1000;
      const imported = (run.counts.create ?? 0) + (run.counts.link ?? 0);
      log(`  import: ${imported} users and groups created in ${seconds.toFixed(1)} s (${run.status}, ${JSON.stringify(run.counts)})`);
      if (then) await then(roster, domain.id);
      return (USERS + TRIALS) / seconds;
    } finally {
      await stopProcess(agent);
    }
  } finally {
    await roster.stop();
  }
}

/** Disabling a user in AD → suspended in Roster, TRIALS times; sorted latencies in ms. */
async function propagation(dc: SambaDc, ou: TestOu, scope: Scope, roster: TestRoster): Promise<number[]> {
  const latencies: number[] = [];
  const userOf = async (i: number) => (await roster.api('GET', `/api/systemusers?filter=username:$eq:trial-${i}`)).body.results?.[0];
  for (let i = 0; i < scope.trialDns.length; i++) {
    await waitFor(async () => ((await userOf(i))?.suspended === false ? true : undefined), 30_000, () => `trial-${i} is not active in Roster`);
    const started = Date.now();
    await ou.client.setEnabled(scope.trialDns[i]!, false);
    await waitFor(async () => ((await userOf(i))?.suspended === true ? true : undefined), 60_000, () => `trial-${i} was not suspended within a minute`);
    latencies.push(Date.now() - started);
    await ou.client.setEnabled(scope.trialDns[i]!, true);
  }
  void dc;
  return latencies.sort((a, b) => a - b);
}

/**
 * Two-way, Roster → AD: suspending a trial user through the API until AD shows the account
 * disabled (and back), and a password set through the API, which returns once AD has it. Sorted
 * latencies in ms.
 */
async function reverse(ou: TestOu, scope: Scope, roster: TestRoster, domainId: string): Promise<{ suspend: number[]; password: number[] }> {
  await roster.must('PATCH', `/api/v2/activedirectories/${domainId}`, { configuration: 'two_way', usersOu: ou.dn, groupsOu: ou.dn }, 200);
  // The switch asks for a full import; wait for it to finish so the trials measure the export alone.
  await waitFor(async () => {
    const s = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body;
    return !s.fullImportWanted && s.lastRun?.status !== 'running' ? true : undefined;
  }, 600_000, () => 'the full import after the switch to two-way did not finish');
  const disabled = async (dn: string) => {
    const entry = await ou.client.entry(dn, ['userAccountControl']);
    return (Number(entry?.attributes.useraccountcontrol?.[0] ?? 0) & 0x2) !== 0;
  };
  const suspend: number[] = [];
  const password: number[] = [];
  for (let i = 0; i < scope.trialDns.length; i++) {
    const user = (await roster.api('GET', `/api/systemusers?filter=username:$eq:trial-${i}`)).body.results?.[0];
    let started = Date.now();
    await roster.must('PUT', `/api/systemusers/${user._id}`, { state: 'SUSPENDED' }, 200);
    await waitFor(async () => ((await disabled(scope.trialDns[i]!)) ? true : undefined), 60_000, () => `trial-${i} was not disabled in AD within a minute`);
    suspend.push(Date.now() - started);
    await roster.must('PUT', `/api/systemusers/${user._id}`, { state: 'ACTIVATED' }, 200);
    await waitFor(async () => (!(await disabled(scope.trialDns[i]!)) ? true : undefined), 60_000, () => `trial-${i} was not enabled again in AD`);
    started = Date.now();
    await roster.must('PUT', `/api/systemusers/${user._id}`, { password: `Bench-${i}-New-Passw0rd` }, 200);
    password.push(Date.now() - started);
  }
  return { suspend: suspend.sort((a, b) => a - b), password: password.sort((a, b) => a - b) };
}

/** A group of EXPORT_USERS users made in Roster, associated with the domain: seconds until AD holds them all in the group. */
async function firstExport(ou: TestOu, roster: TestRoster, domainId: string): Promise<number> {
  const group = await roster.createGroup('bench-export');
  for (let i = 0; i < EXPORT_USERS; i++) {
    const id = await roster.createUser({ username: `bx${i}`, firstname: 'Bench', lastname: `Export ${i}`, email: `bx${i}@bench.test` });
    await roster.addMember(group, 'user', id);
  }
  const started = Date.now();
  await roster.must('POST', `/api/v2/activedirectories/${domainId}/associations`, { op: 'add', type: 'user_group', id: group }, 204);
  await waitFor(async () => {
    for await (const g of ou.client.pagedSearch(ou.dn, '(&(objectClass=group)(cn=bench-export))', ['member'], 1)) return (g.attributes.member ?? []).length === EXPORT_USERS ? true : undefined;
    return undefined;
  }, 900_000, () => 'the first export did not finish in 15 minutes');
  return (Date.now() - started) / 1000;
}

async function main(): Promise<void> {
  const dc = await useSamba();
  if (!dc) throw new Error('bench:ad needs the Samba AD DC (see test/support/samba.ts)');
  log(`bench:ad on ${cpus().length} cores, Node ${process.version}; Samba AD DC at ${dc.url}`);
  const ou = await dc.createOu('bench');
  const dir = tempDir('roster-bench-agent-');
  try {
    const scope = await load(ou);
    const raw: number[] = [];
    const imports: number[] = [];
    let latencies: number[] = [];
    let back: { suspend: number[]; password: number[] } = { suspend: [], password: [] };
    let exportSeconds = 0;
    for (let run = 1; run <= RUNS; run++) {
      log(`run ${run} of ${RUNS}`);
      raw.push(await rawRead(dc, scope.dn));
      log(`  raw paged read of the scope: ${raw.at(-1)!.toFixed(0)} users/s`);
      imports.push(
        await importOnce(dc, scope, dir.path, run === RUNS ? async (roster, domainId) => {
          latencies = await propagation(dc, ou, scope, roster);
          back = await reverse(ou, scope, roster, domainId);
          exportSeconds = await firstExport(ou, roster, domainId);
        } : undefined),
      );
    }
    const rawMedian = median(raw);
    const importMedian = median(imports);
    log('');
    log(`full import of ${USERS + TRIALS} users: ${importMedian.toFixed(0)} users/s (median of ${RUNS}: ${imports.map((v) => v.toFixed(0)).join(' / ')})`);
    log(`raw paged read of the same scope: ${rawMedian.toFixed(0)} users/s (median of ${RUNS}: ${raw.map((v) => v.toFixed(0)).join(' / ')})`);
    log(`ratio: ${(importMedian / rawMedian).toFixed(2)} (target ≥ ${TARGET_RATIO})`);
    log(`disable in AD → suspended in Roster, ${latencies.length} trials: p50 ${percentile(latencies, 50)} ms, p95 ${percentile(latencies, 95)} ms, max ${latencies.at(-1)} ms (target p95 < ${TARGET_P95_MS} ms)`);
    log(`two-way, suspended in Roster → disabled in AD, ${back.suspend.length} trials: p50 ${percentile(back.suspend, 50)} ms, p95 ${percentile(back.suspend, 95)} ms, max ${back.suspend.at(-1)} ms`);
    log(`two-way, password set through the API (written to AD first), ${back.password.length} trials: p50 ${percentile(back.password, 50)} ms, p95 ${percentile(back.password, 95)} ms, max ${back.password.at(-1)} ms`);
    log(`first export of ${EXPORT_USERS} users made in Roster, with their group: ${exportSeconds.toFixed(1)} s, ${(EXPORT_USERS / exportSeconds).toFixed(0)} users/s`);
  } finally {
    await ou.remove();
    dir.remove();
  }
}

await main();

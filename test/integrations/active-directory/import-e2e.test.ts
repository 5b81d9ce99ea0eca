import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, stopProcess } from '../../support/agent-process.js';
import { tempDir } from '../../support/roster-process.js';
import { useSamba, type SambaDc, type TestOu } from '../../support/samba.js';
import { startTestRoster, waitFor, type TestRoster } from '../../support/test-roster.js';

const dc = await useSamba();
/** Users of the SIGKILL test: enough batches of 20 that the kill lands mid-run. */
const BULK = 1200;

/**
 * The AD-authoritative configuration end to end: a real Samba AD DC, the real `roster serve`, and
 * `roster agent` as its own process between them, registered with a connect key.
 */
describe.skipIf(!dc)('Active Directory import through roster agent (Samba AD DC)', () => {
  const samba = dc as SambaDc;
  let roster: TestRoster;
  let ou: TestOu;
  let domainId: string;
  let scopeDn: string;
  let engDn: string;
  const dir = tempDir('roster-agent-');
  const agents: ChildProcess[] = [];

  /** `roster agent` as a process against the DC, its output kept for failures. */
  const startAgent = (extra: Record<string, string> = {}, stateFile = join(dir.path, 'agent.json')) => {
    const child = spawnAgent({ roster, stateFile, ldapUrl: samba.url, ldapCa: samba.caFile, bindDn: samba.adminDn, password: samba.adminPassword, env: extra });
    agents.push(child);
    return child;
  };
  const stopAgent = stopProcess;
  const userNamed = async (username: string) => (await roster.api('GET', `/api/systemusers?filter=username:$eq:${encodeURIComponent(username)}`)).body.results?.[0];
  const waitUser = (username: string, check: (u: any) => boolean = () => true, timeoutMs = 30_000) =>
    waitFor(async () => {
      const u = await userNamed(username);
      return u && check(u) ? u : undefined;
    }, timeoutMs, () => `${username} did not reach the expected state in Roster`);
  const newAgentKey = async () => (await roster.must('POST', `/api/v2/activedirectories/${domainId}/agents`, {}, 201)).connectKey as string;

  beforeAll(async () => {
    roster = await startTestRoster({ prefix: 'roster-ad-', orgName: 'Roster AD', domain: 'roster.test' });
    ou = await samba.createOu('import');
    const ann = await ou.createUser('ann-imp', { password: 'Passw0rd!ann', attrs: { givenName: 'Ann', sn: 'Imp', mail: 'ann@roster.test', title: 'Engineer' } });
    const bob = await ou.createUser('bob-imp', { password: 'Passw0rd!bob', attrs: { givenName: 'Bob', sn: 'Imp' } });
    await ou.createUser('carl-out', { password: 'Passw0rd!carl', attrs: { givenName: 'Carl' } });
    const eng = await ou.createGroup('Eng-imp', [bob.dn]);
    engDn = eng.dn;
    const boss = await ou.createUser('boss-imp', { password: 'Passw0rd!boss' });
    await ou.client.addMembers(`CN=Domain Admins,CN=Users,${samba.baseDn}`, [boss.dn]);
    const scope = await ou.createGroup('Roster-scope-imp', [ann.dn, eng.dn, boss.dn]);
    scopeDn = scope.dn;
    const domain = await roster.must('POST', '/api/v2/activedirectories', { domain: samba.realm.toLowerCase(), importScopeGroupDn: scopeDn }, 201);
    domainId = domain.id;
  }, 300_000);

  afterAll(async () => {
    for (const a of agents) await stopAgent(a, 'SIGKILL');
    await ou?.remove();
    await roster?.stop();
    dir.remove();
  });

  it('registers with the connect key and imports the scope: users, nested groups and membership, never privileged accounts or users outside it', async () => {
    const connectKey = await newAgentKey();
    const agent = startAgent({ ROSTER_AGENT_CONNECT_KEY: connectKey });
    try {
      const ann = await waitUser('ann-imp', () => true, 60_000);
      expect(ann).toMatchObject({ firstname: 'Ann', lastname: 'Imp', email: 'ann@roster.test', jobTitle: 'Engineer', state: 'ACTIVATED' });
      await waitUser('bob-imp');
      expect(await userNamed('carl-out')).toBeUndefined();
      expect(await userNamed('boss-imp')).toBeUndefined();
      const groups = (await roster.api('GET', '/api/v2/usergroups?filter=name:eq:Eng-imp')).body;
      expect(groups).toHaveLength(1);
      const members = (await roster.api('GET', `/api/v2/usergroups/${groups[0].id}/members`)).body;
      expect(members.map((m: any) => m.to.id)).toEqual([(await userNamed('bob-imp'))._id]);
      const sync = await waitFor(async () => {
        const s = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body;
        return s.lastRun?.status === 'succeeded' ? s : undefined;
      }, 30_000, () => 'no successful run');
      expect(sync).toMatchObject({ cursor: true, fullImportWanted: false, agents: [expect.objectContaining({ state: 'active' })] });
      const runs = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs`)).body;
      const plan = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs/${runs.at(-1).id}`)).body.plan;
      expect(plan).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'skip', name: 'boss-imp', reason: expect.stringContaining('privileged') })]));
      expect(agent.output).toContain('Registered agent');
    } finally {
      await stopAgent(agent);
    }
  }, 120_000);

  it('follows AD: an edit, a disabled user suspended, a deleted user suspended by the removal policy', async () => {
    const agent = startAgent();
    try {
      await waitFor(async () => ((await roster.api('GET', `/api/v2/activedirectories/${domainId}/agents`)).body[0]?.contactAt ? true : undefined), 30_000, () => 'the agent never called');
      await ou.client.modify(`CN=ann-imp,${ou.dn}`, [{ attribute: 'title', values: ['Lead Engineer'] }]);
      await waitUser('ann-imp', (u) => u.jobTitle === 'Lead Engineer', 30_000);

      // How fast is measured by npm run bench:ad; here only that it happens.
      await ou.client.setEnabled(`CN=bob-imp,${ou.dn}`, false);
      await waitUser('bob-imp', (u) => u.suspended === true, 30_000);
      await ou.client.setEnabled(`CN=bob-imp,${ou.dn}`, true);
      await waitUser('bob-imp', (u) => u.suspended === false, 30_000);

      const temp = await ou.createUser('dan-imp', { password: 'Passw0rd!dan' });
      await ou.client.addMembers(scopeDn, [temp.dn]);
      await waitUser('dan-imp');
      await ou.client.delete(temp.dn);
      await waitUser('dan-imp', (u) => u.suspended === true, 30_000);
    } catch (e) {
      throw new Error(`${(e as Error).message}\nagent output:\n${agent.output}`);
    } finally {
      await stopAgent(agent);
    }
  }, 120_000);

  it('deletes nothing when the scope suddenly holds no users; the removals are held back and shown', async () => {
    const agent = startAgent();
    try {
      await ou.client.removeMembers(scopeDn, [`CN=ann-imp,${ou.dn}`, engDn]);
      const held = await waitFor(async () => {
        const s = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body;
        return s.lastRun?.status === 'held' ? s : undefined;
      }, 30_000, () => `no held run; agent output:\n${agent.output}`);
      expect(held.lastError).toContain('no users');
      expect((await userNamed('ann-imp')).suspended).toBe(false);
      expect((await userNamed('bob-imp')).suspended).toBe(false);
      await ou.client.addMembers(scopeDn, [`CN=ann-imp,${ou.dn}`, engDn]);
      await waitFor(async () => ((await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body.lastRun?.status === 'succeeded' ? true : undefined), 30_000, () => 'no run after the scope came back');
    } finally {
      await stopAgent(agent);
    }
  }, 120_000);

  it('resumes after SIGKILL mid-run with nothing lost or doubled', async () => {
    const names = await ou.createUsers('bulk-imp', BULK, { memberOf: scopeDn });
    expect(names).toHaveLength(BULK);
    await roster.must('POST', `/api/v2/activedirectories/${domainId}/sync/full`, undefined, 202);
    const first = startAgent({ ROSTER_AGENT_BATCH_SIZE: '20' });
    // Kill it as soon as the full run has applied its first batches, long before it completes
    // (60 batches of 20): polled tightly, as a batch takes tens of milliseconds.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body.lastRun;
      if (run?.status === 'running' && run.mode === 'full') break;
      if (Date.now() > deadline) throw new Error('the full run never started');
      await new Promise((r) => setTimeout(r, 20));
    }
    await stopAgent(first, 'SIGKILL');
    const partial = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body;
    expect(partial.fullImportWanted).toBe(true);

    const second = startAgent({ ROSTER_AGENT_BATCH_SIZE: '20' });
    try {
      await waitFor(async () => {
        const s = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body;
        return !s.fullImportWanted && s.lastRun?.status === 'succeeded' ? s : undefined;
      }, 90_000, () => 'the resumed full import never finished');
      const usernames: string[] = [];
      for (let skip = 0; ; skip += 100) {
        const page = (await roster.api('GET', `/api/systemusers?search[searchTerm]=bulk-imp&search[fields][]=username&limit=100&skip=${skip}`)).body;
        usernames.push(...page.results.map((u: any) => u.username));
        if (page.results.length < 100) break;
      }
      expect(usernames).toHaveLength(BULK);
      expect(new Set(usernames).size).toBe(BULK);
      const runs = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs?limit=100`)).body;
      expect(runs.some((r: any) => r.status === 'failed' && /abandoned/.test(r.error))).toBe(true);
    } finally {
      await stopAgent(second);
    }
  }, 240_000);

  it('retries with backoff when the domain controller cannot be reached, reporting it and changing nothing', async () => {
    const before = (await roster.api('GET', '/api/systemusers?limit=1')).body.totalCount;
    const key = await newAgentKey();
    const agent = startAgent({ ROSTER_AGENT_CONNECT_KEY: key, ROSTER_AGENT_LDAP_URL: 'ldaps://127.0.0.1:1' }, join(dir.path, 'unreachable.json'));
    try {
      // The healthy agent holds no lease now (stopped), so this one becomes the writer and fails to reach AD.
      const state = await waitFor(async () => {
        const s = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync`)).body;
        return s.lastError?.includes('127.0.0.1:1') || s.lastError?.includes('ECONNREFUSED') ? s : undefined;
      }, 90_000, () => `no error reported:\n${agent.output}`);
      expect(state.lastError).toBeTruthy();
      expect((await roster.api('GET', '/api/systemusers?limit=1')).body.totalCount).toBe(before);
      expect(agent.output).toMatch(/retrying/);
      expect(agent.exitCode).toBeNull();
    } finally {
      await stopAgent(agent);
    }
  }, 150_000);
});

import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdEntry } from '../../../src/integrations/active-directory/ldap-client.js';
import { spawnAgent, stopProcess, type AgentProcess } from '../../support/agent-process.js';
import { startLdapRoster, type LdapRoster } from '../../support/ldap.js';
import { tempDir } from '../../support/roster-process.js';
import { useSamba, type SambaDc, type TestOu } from '../../support/samba.js';
import { waitFor } from '../../support/test-roster.js';

const dc = await useSamba();
const UAC_DISABLED = 0x2;

/**
 * Roster → AD and two-way, end to end: a real Samba AD DC, the real `roster serve` (with its LDAP
 * service, for logins), and `roster agent` as its own process. One domain goes through the three
 * configurations in turn, switched through the API, as an administrator would.
 */
describe.skipIf(!dc)('Active Directory sync through roster agent: Roster authoritative, two-way, AD authoritative (Samba AD DC)', () => {
  const samba = dc as SambaDc;
  let roster: LdapRoster;
  let ou: TestOu;
  let domainId: string;
  let agent: AgentProcess | undefined;
  const dir = tempDir('roster-sync-');
  const stateFile = join(dir.path, 'agent.json');

  const startAgent = async () => {
    const registered = existsSync(stateFile);
    const connectKey = registered ? undefined : (await roster.must('POST', `/api/v2/activedirectories/${domainId}/agents`, {}, 201)).connectKey;
    agent = spawnAgent({ roster, stateFile, ldapUrl: samba.url, ldapCa: samba.caFile, bindDn: samba.adminDn, password: samba.adminPassword, ...(connectKey ? { connectKey } : {}) });
  };
  const stopAgent = async () => {
    const child = agent;
    agent = undefined;
    await stopProcess(child);
  };
  const configure = (settings: Record<string, unknown>) => roster.must('PATCH', `/api/v2/activedirectories/${domainId}`, settings, 200);

  const adUser = async (name: string, attributes = ['givenname', 'sn', 'mail', 'title', 'department', 'useraccountcontrol', 'usnchanged', 'memberof']): Promise<AdEntry | undefined> => {
    for await (const entry of ou.client.pagedSearch(samba.baseDn, `(sAMAccountName=${name})`, attributes, 1)) return entry;
    return undefined;
  };
  const waitAd = <T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000) =>
    waitFor(async () => (await probe()) || undefined, timeoutMs, () => `${what}${agent ? `\nagent output:\n${agent.output.slice(-3000)}` : ''}`);
  const disabled = (e: AdEntry | undefined) => (Number(e?.attributes.useraccountcontrol?.[0] ?? 0) & UAC_DISABLED) !== 0;
  const userNamed = async (username: string) => (await roster.api('GET', `/api/systemusers?filter=username:$eq:${encodeURIComponent(username)}`)).body.results?.[0];
  /** A simple bind to Roster's LDAP service as the user: 0 when it succeeds. */
  const rosterBind = async (username: string, password: string) => (await roster.ldapwhoami('ldaps', roster.userDn(username), password)).code;

  beforeAll(async () => {
    roster = await startLdapRoster();
    ou = await samba.createOu('sync');
    const domain = await roster.must('POST', '/api/v2/activedirectories', { domain: samba.realm.toLowerCase(), configuration: 'roster_authoritative', usersOu: ou.dn, groupsOu: ou.dn }, 201);
    domainId = domain.id;
    await startAgent();
  }, 300_000);

  afterAll(async () => {
    await stopAgent();
    await ou?.remove();
    await roster?.stop();
    dir.remove();
  });

  it('Roster authoritative: creates the associated users and group in the OU, then follows updates, suspension, membership and passwords', async () => {
    const hal = await roster.createUser({ username: 'hal-syn', firstname: 'Hal', lastname: 'Syn', email: 'hal@roster.test' });
    const ivy = await roster.createUser({ username: 'ivy-syn', firstname: 'Ivy', lastname: 'Syn', email: 'ivy@roster.test' });
    const ops = await roster.createGroup('Ops-syn');
    await roster.addMember(ops, 'user', hal);
    await roster.addMember(ops, 'user', ivy);
    await roster.must('POST', `/api/v2/activedirectories/${domainId}/associations`, { op: 'add', type: 'user_group', id: ops }, 204);

    const halAd = await waitAd(() => adUser('hal-syn'), 'hal-syn was not created in AD');
    expect(halAd.dn.toLowerCase()).toBe(`cn=hal syn,${ou.dn}`.toLowerCase());
    expect(halAd.attributes).toMatchObject({ givenname: ['Hal'], sn: ['Syn'], mail: ['hal@roster.test'] });
    // No password yet: created disabled.
    expect(disabled(halAd)).toBe(true);
    const group = await waitAd(async () => {
      for await (const g of ou.client.pagedSearch(ou.dn, '(&(objectClass=group)(cn=Ops-syn))', ['member'], 1)) return (g.attributes.member ?? []).length === 2 ? g : undefined;
      return undefined;
    }, 'Ops-syn did not get its two members in AD');
    expect(group.attributes.member!.map((m) => m.toLowerCase()).sort()).toContain(halAd.dn.toLowerCase());

    // A password set in Roster is written to AD at once (and enables the account): AD accepts a bind with it.
    await roster.must('PUT', `/api/systemusers/${hal}`, { password: 'Kestrel-first-Passw0rd' }, 200);
    expect(await ou.client.authenticate(halAd.dn, 'Kestrel-first-Passw0rd')).toEqual({ ok: true });
    await waitAd(async () => !disabled(await adUser('hal-syn')), 'hal-syn was not enabled');

    // AD's policy refuses a password Roster's own policy allows: the change fails with AD's reason and nothing changes.
    await roster.setPasswordPolicy({ minLength: 4, needsLowercase: false, needsUppercase: false, needsNumber: false, needsSymbol: false });
    const refused = await roster.api('PUT', `/api/systemusers/${hal}`, { password: 'Ab1!x' });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toMatch(/refused the password.*too short/i);
    expect(await ou.client.authenticate(halAd.dn, 'Kestrel-first-Passw0rd')).toEqual({ ok: true });

    // A password changed through Roster's LDAP service (password modify) reaches AD too.
    await roster.connect('user', hal);
    expect(await rosterBind('hal-syn', 'Kestrel-first-Passw0rd')).toBe(0);
    const modified = await roster.tool('ldappasswd', ['-x', '-H', roster.ldapsUrl, '-D', roster.userDn('hal-syn'), '-w', 'Kestrel-first-Passw0rd', '-a', 'Kestrel-first-Passw0rd', '-s', 'Kestrel-second-Passw0rd']);
    expect(modified.code, modified.stderr).toBe(0);
    expect(await ou.client.authenticate(halAd.dn, 'Kestrel-second-Passw0rd')).toEqual({ ok: true });

    // Updates, suspension and membership follow.
    await roster.updateUser(hal, { lastname: 'Updated', jobTitle: 'Operator' });
    await waitAd(async () => {
      const e = await adUser('hal-syn');
      return e?.attributes.sn?.[0] === 'Updated' && e.attributes.title?.[0] === 'Operator';
    }, 'the update did not reach AD');
    await roster.suspend(hal);
    await waitAd(async () => disabled(await adUser('hal-syn')), 'suspension did not disable the AD account');
    await roster.removeMember(ops, 'user', ivy);
    await waitAd(async () => {
      for await (const g of ou.client.pagedSearch(ou.dn, '(&(objectClass=group)(cn=Ops-syn))', ['member'], 1)) return (g.attributes.member ?? []).length === 1;
      return false;
    }, 'the member removal did not reach AD');
    const runs = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs`)).body as { kind: string; status: string }[];
    expect(runs.some((r) => r.kind === 'export' && r.status === 'succeeded')).toBe(true);
  }, 180_000);

  it('takes over an account of the same name already in AD (a write whose report was lost) without a duplicate, and never touches a privileged one', async () => {
    const existing = await ou.createUser('kim-syn', { attrs: { givenName: 'Old', sn: 'Kim' } });
    const kim = await roster.createUser({ username: 'kim-syn', firstname: 'Kim', lastname: 'Syn', email: 'kim@roster.test' });
    const admin = await roster.createUser({ username: 'Administrator', firstname: 'Not', lastname: 'Theadmin', email: 'not-the-admin@roster.test' });
    const uac = (await adUser('Administrator'))!.attributes.usnchanged![0];
    await roster.must('POST', `/api/v2/activedirectories/${domainId}/associations`, { op: 'add', type: 'user', id: kim }, 204);
    await roster.must('POST', `/api/v2/activedirectories/${domainId}/associations`, { op: 'add', type: 'user', id: admin }, 204);
    await waitAd(async () => (await adUser('kim-syn'))?.attributes.givenname?.[0] === 'Kim', 'kim-syn was not taken over');
    const found: string[] = [];
    for await (const e of ou.client.pagedSearch(samba.baseDn, '(sAMAccountName=kim-syn)', ['objectguid'], 10)) found.push(e.objectGuid);
    expect(found).toEqual([existing.objectGuid]);
    const runs = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs`)).body as { id: string; kind: string; counts: Record<string, number> }[];
    const failedRun = await waitFor(async () => {
      for (const r of (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs`)).body as typeof runs) {
        if (r.kind === 'export' && r.counts.failed) return r;
      }
      return undefined;
    }, 30_000, () => 'no export run reported the refused write');
    const plan = (await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs/${failedRun.id}`)).body.plan;
    expect(plan).toEqual(expect.arrayContaining([expect.objectContaining({ action: 'failed', name: 'Administrator', reason: expect.stringContaining('privileged') })]));
    expect((await adUser('Administrator'))!.attributes.usnchanged![0]).toBe(uac);
    // The refused write waits before it is tried again: no storm of runs meanwhile.
    await new Promise((r) => setTimeout(r, 4000));
    const refusedRuns = ((await roster.api('GET', `/api/v2/activedirectories/${domainId}/sync/runs`)).body as typeof runs).filter((r) => r.kind === 'export' && r.counts.failed);
    expect(refusedRuns).toHaveLength(1);
    await roster.must('POST', `/api/v2/activedirectories/${domainId}/associations`, { op: 'remove', type: 'user', id: admin }, 204);
  }, 120_000);

  it('two-way: imports the scope, takes AD changes and sends Roster changes, with no echo either way', async () => {
    const jon = await ou.createUser('jon-syn', { password: 'Jon-Passw0rd-1', attrs: { givenName: 'Jon', sn: 'Syn', mail: 'jon@roster.test' } });
    const scope = await ou.createGroup('Scope-syn', [jon.dn]);
    await configure({ configuration: 'two_way', importScopeGroupDn: scope.dn });
    const imported = await waitFor(async () => userNamed('jon-syn'), 60_000, () => `jon-syn was not imported\n${agent?.output.slice(-3000)}`);
    expect(imported).toMatchObject({ firstname: 'Jon', lastname: 'Syn' });

    // AD changes: Roster follows, and nothing is written back to AD (its uSNChanged stays put).
    await ou.client.modify(jon.dn, [{ attribute: 'title', op: 'replace', values: ['Analyst'] }]);
    await waitFor(async () => ((await userNamed('jon-syn'))?.jobTitle === 'Analyst' ? true : undefined), 30_000, () => 'the AD change was not imported');
    const usnAfterImport = (await adUser('jon-syn'))!.attributes.usnchanged![0];
    await new Promise((r) => setTimeout(r, 6000));
    expect((await adUser('jon-syn'))!.attributes.usnchanged![0]).toBe(usnAfterImport);

    // Roster changes: AD follows, and the change coming back from AD changes nothing in Roster.
    const since = await roster.journalHead();
    await roster.updateUser(imported._id, { department: 'Research' });
    await waitAd(async () => (await adUser('jon-syn'))?.attributes.department?.[0] === 'Research', 'the Roster change did not reach AD');
    const usnAfterExport = (await adUser('jon-syn'))!.attributes.usnchanged![0];
    await new Promise((r) => setTimeout(r, 6000));
    expect((await adUser('jon-syn'))!.attributes.usnchanged![0]).toBe(usnAfterExport);
    const userRows = (await roster.journal([], since)).filter((e) => e.objectType === 'user' && e.objectId === imported._id);
    // The administrator's change only: the echo from AD was no change.
    expect(userRows.map((e) => `${e.operation}:${e.origin}`)).toEqual(['update:api']);
  }, 180_000);

  it('AD authoritative: logins are verified against AD (delegated), Roster refuses password changes, and the password filter endpoint keeps a pushed password', async () => {
    await configure({ configuration: 'ad_authoritative' });
    const jon = (await userNamed('jon-syn'))!;
    await roster.connect('user', jon._id);
    expect(await rosterBind('jon-syn', 'Jon-Passw0rd-1')).toBe(0);
    expect(await rosterBind('jon-syn', 'not-his-password')).not.toBe(0);
    // Changed in AD: the new password works in Roster at once, the old one no longer.
    const jonDn = (await adUser('jon-syn'))!.dn;
    await ou.client.setPassword(jonDn, 'Jon-Passw0rd-2');
    expect(await rosterBind('jon-syn', 'Jon-Passw0rd-2')).toBe(0);
    expect(await rosterBind('jon-syn', 'Jon-Passw0rd-1')).not.toBe(0);
    const refused = await roster.api('PUT', `/api/systemusers/${jon._id}`, { password: 'Roster-side-Passw0rd' });
    expect(refused.status).toBe(409);
    expect(JSON.stringify(refused.body)).toContain('managed by Active Directory');

    // A DC's password filter pushes a change; with the agent gone, Roster falls back to the password it keeps.
    const credential = (JSON.parse(readFileSync(stateFile, 'utf8')) as { credential: string }).credential;
    const pushed = await agentCall(roster, credential, '/password', { username: 'jon-syn', password: 'Jon-Passw0rd-3' });
    expect(pushed).toBe(204);
    await stopAgent();
    expect(await rosterBind('jon-syn', 'Jon-Passw0rd-3')).toBe(0);
    await startAgent();
  }, 180_000);
});

/** POST to the agent protocol with an agent's credential; the status. */
function agentCall(roster: LdapRoster, credential: string, path: string, body: unknown): Promise<number> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(`${roster.apiUrl}/api/agent/v1${path}`, {
      method: 'POST',
      ca: roster.ca,
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json', 'content-length': String(payload.length) },
    }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GroupId } from '../../../src/core/ids.js';
import { failure } from '../../support/core.js';
import { openCloudSync, userIdOf, type CloudSync } from '../../support/cloud-sync.js';
import { startGraphEmulator, type GraphEmulator } from '../../support/graph-emulator.js';
import { describeEachStore } from '../../support/stores.js';

/**
 * Microsoft 365 two-way, end to end: the sync engine, the worker and the password writer drive
 * Microsoft's own libraries (@azure/identity for tokens, @microsoft/microsoft-graph-client) over
 * TLS against the emulator of Microsoft Graph, reading through delta queries.
 */
describeEachStore('Microsoft 365 sync (official clients against the Graph emulator)', (kind) => {
  let graph: GraphEmulator;
  let s: CloudSync;
  const upn = (local: string) => `${local}@${graph.domain}`;
  const accounts = (local: string) => graph.users().filter((u) => u.userPrincipalName.toLowerCase() === upn(local));
  const writes = () => [...graph.writes.values()].reduce((a, b) => a + b, 0);
  const membersOf = async (name: string) => {
    const group = (await s.core.store.read.groups.findByName(s.ctx.orgId, name))!;
    return (await s.core.groups.members(s.ctx, group.id, { limit: 100, skip: 0 })).items.map((m) => m.memberId);
  };

  beforeAll(async () => {
    graph = await startGraphEmulator();
    const alice = graph.admin.createUser({ userPrincipalName: upn('alice'), displayName: 'Alice Ng', givenName: 'Alice', surname: 'Ng', mail: upn('alice'), jobTitle: 'Engineer', accountEnabled: true });
    const bob = graph.admin.createUser({ userPrincipalName: upn('bob'), displayName: 'Bob Ode', givenName: 'Bob', surname: 'Ode', mail: upn('bob'), accountEnabled: true });
    const root = graph.admin.createUser({ userPrincipalName: upn('root'), displayName: 'Global Admin', accountEnabled: true });
    graph.admin.assignRole(root.id);
    for (let i = 0; i < 6; i++) graph.admin.createUser({ userPrincipalName: upn(`temp${i}`), displayName: `Temp ${i}`, mail: upn(`temp${i}`), accountEnabled: true });
    graph.admin.createGroup({ displayName: 'Engineering', type: 'security', members: [alice.id, bob.id] });
    graph.admin.createGroup({ displayName: 'All Staff list', type: 'distribution' });
    s = await openCloudSync(kind, 'office_365', {
      domain: graph.domain,
      tenantId: graph.tenantId,
      clientId: graph.clientId,
      clientSecret: graph.clientSecret,
      usageLocation: 'US',
      configuration: 'two_way',
      endpoints: { authorityHost: graph.authorityHost, graphBaseUrl: graph.graphBaseUrl },
      caCertificates: graph.ca,
      deleteThreshold: { count: 3, percent: 0 },
    });
  });
  afterAll(async () => {
    await s?.dispose();
    await graph?.close();
  });

  it('imports users and security groups with members through delta queries, never a role holder or a distribution list', async () => {
    const { read } = await s.turn();
    expect(read).toMatchObject({ status: 'succeeded', mode: 'full' });
    const alice = await s.user('alice');
    expect(alice).toMatchObject({ email: upn('alice'), firstname: 'Alice', lastname: 'Ng', displayname: 'Alice Ng', jobTitle: 'Engineer', state: 'ACTIVATED' });
    expect(await s.link(alice!.id)).toBe(graph.user(upn('alice'))!.id);
    expect(await s.user('root')).toBeUndefined();
    expect(await s.core.store.read.groups.findByName(s.ctx.orgId, 'All Staff list')).toBeUndefined();
    expect(new Set(await membersOf('Engineering'))).toEqual(new Set([alice!.id, userIdOf(await s.user('bob'))]));
    // The delta link is kept: the next read is incremental.
    expect((await s.core.cloudDirectories.state(s.ctx, 'office_365', s.directoryId)).importCursor).not.toBeNull();
  });

  it('reads only the changes next time, and writes nothing back (no echo)', async () => {
    const before = writes();
    const { read } = await s.turn();
    expect(read).toMatchObject({ mode: 'incremental', status: 'succeeded' });
    expect(read?.plan).toEqual([]);
    await s.turn({ full: true });
    expect(writes()).toBe(before);
  });

  it('exports an associated user with a usage location, then membership, suspension and attribute changes', async () => {
    const carol = await s.newUser('carol', { jobTitle: 'Designer' });
    await s.associate({ type: 'user', id: carol.id });
    await s.turn({ read: false });
    const [created] = accounts('carol');
    expect(created).toMatchObject({ accountEnabled: true, usageLocation: 'US', mail: upn('carol'), jobTitle: 'Designer', givenName: 'carol', surname: 'Test' });
    expect(await s.link(carol.id)).toBe(created!.id);

    const eng = (await s.core.store.read.groups.findByName(s.ctx.orgId, 'Engineering'))!;
    await s.core.groups.change(s.ctx, eng.id as GroupId, { add: [{ type: 'user', id: carol.id }] });
    await s.core.users.update(s.ctx, carol.id, { state: 'SUSPENDED', department: 'Design' });
    await s.turn({ read: false });
    const engInGraph = graph.groups().find((g) => g.displayName === 'Engineering')!;
    expect(engInGraph.members).toContain(created!.id);
    expect(graph.user(created!.id)).toMatchObject({ accountEnabled: false, department: 'Design' });
    // Graph requires a displayName: the one made for carol comes back once and is kept in Roster.
    await s.turn();
    expect((await s.user('carol'))?.displayname).toBe('carol Test');
    // Converged: the delta of Roster's own writes changes nothing in Roster and writes nothing.
    const before = writes();
    const { read } = await s.turn();
    expect(read?.plan.filter((p) => p.action !== 'skip')).toEqual([]);
    expect(writes()).toBe(before);
    expect(await s.user('carol')).toMatchObject({ state: 'SUSPENDED', department: 'Design' });
  });

  it('follows a disable and a membership removal made in Entra through the delta', async () => {
    const bob = graph.user(upn('bob'))!;
    graph.admin.updateUser(bob.id, { accountEnabled: false });
    graph.admin.removeMember(graph.groups().find((g) => g.displayName === 'Engineering')!.id, bob.id);
    const { read } = await s.turn();
    expect(read?.mode).toBe('incremental');
    expect((await s.user('bob'))?.state).toBe('SUSPENDED');
    expect(await membersOf('Engineering')).not.toContain(userIdOf(await s.user('bob')));
  });

  it("pushes a password set in Roster; Graph's complexity refusal fails the change with Graph's reason", async () => {
    const alice = (await s.user('alice'))!;
    await s.core.users.setPassword(s.ctx, alice, 'Correct-Horse-42');
    expect(graph.user(upn('alice'))?.password).toBe('Correct-Horse-42');
    // An org policy laxer than Entra's: Roster would take it, Microsoft 365 does not.
    await s.core.organizations.update(s.ctx, s.ctx.orgId, { passwordPolicy: { needsUppercase: false, needsNumeric: false } });
    const refused = await failure(s.core.users.setPassword(s.ctx, alice, 'onlylowercaseletters'));
    expect(refused.code).toBe('PASSWORD_REFUSED_BY_DIRECTORY');
    expect(refused.message).toContain('password complexity');
    expect(graph.user(upn('alice'))?.password).toBe('Correct-Horse-42');
    expect((await s.core.authentication.verify(s.ctx.orgId, 'alice', 'onlylowercaseletters', 'ldap')).ok).toBe(false);
  });

  it('survives 429 with Retry-After and 5xx, including creates whose answers were lost: each account once', async () => {
    const users = await Promise.all(['dan', 'erin', 'fay'].map((n) => s.newUser(n)));
    for (const u of users) await s.associate({ type: 'user', id: u.id });
    graph.fail({ times: 2, status: 429, retryAfterSeconds: 1 });
    graph.fail({ times: 2, status: 503, afterCommit: true, match: (method, path) => method === 'POST' && path.endsWith('/users') });
    graph.fail({ times: 1, status: 504 });
    const started = Date.now();
    await s.turn({ read: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    for (const n of ['dan', 'erin', 'fay']) {
      expect(accounts(n)).toHaveLength(1);
      expect(await s.link(userIdOf(await s.user(n)))).toBe(accounts(n)[0]!.id);
    }
    expect(graph.requests.some((r) => r.status === 429)).toBe(true);
  });

  it('holds removals back when more accounts are deleted than the delete threshold allows', async () => {
    for (let i = 0; i < 6; i++) graph.admin.deleteUser(graph.user(upn(`temp${i}`))!.id, { permanently: true });
    const { read } = await s.turn();
    expect(read?.status).toBe('held');
    for (let i = 0; i < 6; i++) expect((await s.user(`temp${i}`))?.state).toBe('ACTIVATED');
    expect((await s.core.cloudDirectories.state(s.ctx, 'office_365', s.directoryId)).lastError).toContain('delete threshold');
  });

  it('reports an account re-created with the same UPN and a new object id as a conflict, never merged', async () => {
    const alice = (await s.user('alice'))!;
    const old = graph.user(upn('alice'))!;
    graph.admin.deleteUser(old.id, { permanently: true });
    const recreated = graph.admin.createUser({ userPrincipalName: upn('alice'), displayName: 'Another Alice', givenName: 'Another', accountEnabled: true });
    const { read } = await s.turn({ full: true });
    const conflict = read?.plan.find((p) => p.action === 'conflict' && p.externalId === recreated.id);
    expect(conflict?.reason).toContain('re-created account is not merged');
    expect((await s.user('alice'))?.firstname).toBe('Alice');
    expect(await s.link(alice.id)).not.toBe(recreated.id);
  });

  it('deletes the account of a user no longer associated when the policy is delete, and forgets the link', async () => {
    await s.core.cloudDirectories.update(s.ctx, 'office_365', s.directoryId, { deprovision: 'delete' });
    const dan = (await s.user('dan'))!;
    const id = (await s.link(dan.id))!;
    await s.core.associations.change(s.ctx, { type: 'user', id: dan.id }, { type: 'office_365', id: s.directoryId }, 'remove');
    const { exports } = await s.turn({ read: false });
    expect(exports.flatMap((r) => r.plan).find((p) => p.localId === dan.id)).toMatchObject({ action: 'delete' });
    expect(graph.user(id)).toBeUndefined();
    expect(await s.link(dan.id)).toBeUndefined();
    expect((await s.user('dan'))?.state).toBe('ACTIVATED');
  });

  it('stops on a refused client secret and says so in the directory state', async () => {
    await s.core.cloudDirectories.update(s.ctx, 'office_365', s.directoryId, { clientSecret: 'not-the-secret' });
    await expect(s.turn()).rejects.toThrow();
    s.worker.start();
    await new Promise((r) => setTimeout(r, 600));
    await s.worker.stop();
    const state = await s.core.cloudDirectories.state(s.ctx, 'office_365', s.directoryId);
    expect(state.lastError).toMatch(/secret|credential|client/i);
  });
});

import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { User, UserGroup } from '../../src/core/model.js';
import { openProvisioning, type ProvisioningFixture } from '../support/provisioning.js';
import { startScimPeer, type PeerGroup, type PeerUser, type ScimPeer } from '../support/scim-peer.js';
import { describeEachStore } from '../support/stores.js';

/** The peer's accounts by userName, and each group's members as userNames. */
function snapshot(peer: ScimPeer) {
  const users = new Map<string, PeerUser>(peer.users().map((u) => [u.userName, u]));
  const nameOf = new Map(peer.users().map((u) => [u.id, u.userName]));
  const groups = new Map<string, string[]>(peer.groups().map((g: PeerGroup) => [g.displayName, g.members.map((m) => nameOf.get(m.value) ?? `?${m.value}`).sort()]));
  return { users, groups };
}

const roles = (u: PeerUser | undefined) => (u?.roles ?? []).map((r) => r.value).sort();

describeEachStore('Outbound SCIM provisioning into an independent SCIM server', (kind) => {
  let peer: ScimPeer;
  let f: ProvisioningFixture;
  let engineers: UserGroup;
  let admins: UserGroup;
  let staff: UserGroup;
  const u: Record<string, User> = {};

  beforeAll(async () => {
    peer = await startScimPeer();
  });
  afterAll(() => peer?.close());

  beforeEach(async () => {
    peer.reset();
    peer.setChaos(undefined);
    f = await openProvisioning(kind);
    for (const name of ['ada', 'grace', 'alan', 'edsger', 'barbara', 'ken', 'dennis']) u[name] = await f.user(name, { jobTitle: 'Engineer', department: 'R&D' });
    // engineers ⊃ (ada, grace, alan) and, nested, admins ⊃ (edsger); staff ⊃ (barbara); ken is associated directly.
    admins = await f.group('Admins', [u.edsger!]);
    engineers = await f.group('Engineers', [u.ada!, u.grace!, u.alan!]);
    await f.core.groups.addMember(f.ctx, engineers.id, 'user_group', admins.id);
    staff = await f.group('Staff', [u.barbara!, u.ada!]);
    await f.associate(engineers);
    await f.associate(staff);
    await f.associate(u.ken!);
  });
  afterEach(() => f?.dispose());

  it('creates the associated users and groups with their members and mapped roles, then has nothing left to do', async () => {
    await f.enable(peer, { roleMappings: [{ groupId: admins.id, role: 'admin' }, { groupId: engineers.id, role: 'developer' }] });
    const [first] = await f.converge(1);
    expect(first!.counters).toMatchObject({ created: 8 });
    const { users, groups } = snapshot(peer);
    expect([...users.keys()].sort()).toEqual(['ada', 'alan', 'barbara', 'edsger', 'grace', 'ken']);
    expect(users.get('ada')).toMatchObject({
      userName: 'ada',
      externalId: u.ada!.id,
      active: true,
      name: { givenName: 'Ada', familyName: 'Tester' },
      title: 'Engineer',
      emails: [expect.objectContaining({ value: 'ada@example.com', primary: true })],
      'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': expect.objectContaining({ department: 'R&D' }),
    });
    // Roles follow nesting: edsger is an engineer through Admins.
    expect(roles(users.get('edsger'))).toEqual(['admin', 'developer']);
    expect(roles(users.get('ada'))).toEqual(['developer']);
    expect(roles(users.get('barbara'))).toEqual([]);
    // Only the associated groups are pushed, with every user below them.
    expect(groups).toEqual(
      new Map([
        ['Engineers', ['ada', 'alan', 'edsger', 'grace']],
        ['Staff', ['ada', 'barbara']],
      ]),
    );
    expect(users.has('dennis')).toBe(false);

    const before = peer.requests.length;
    const again = await f.run();
    expect(again.errors).toEqual([]);
    // Nothing to send: the application is not called at all.
    expect(peer.requests.slice(before)).toEqual([]);
    const status = await f.core.provisioning.get(f.ctx, f.appId);
    expect(status).toMatchObject({ status: 'idle', lastError: null });
    expect(status.cursor).toBeGreaterThan(0);
  });

  it('follows changes: attributes, suspension, leaving a group, leaving the application, deletion, renames and dissociated groups', async () => {
    await f.enable(peer, { roleMappings: [{ groupId: staff.id, role: 'staff' }] });
    await f.converge(1);

    await f.core.users.update(f.ctx, u.grace!.id, { jobTitle: 'Rear Admiral', email: 'grace@navy.example' });
    await f.core.users.update(f.ctx, u.alan!.id, { state: 'SUSPENDED' });
    // ada leaves Staff but stays an engineer: still active, no longer a Staff member, loses the role.
    await f.core.groups.removeMember(f.ctx, staff.id, 'user', u.ada!.id);
    // barbara leaves Staff, her only way in: deactivated and removed from the group.
    await f.core.groups.removeMember(f.ctx, staff.id, 'user', u.barbara!.id);
    await f.core.users.delete(f.ctx, u.ken!.id);
    await f.core.groups.update(f.ctx, engineers.id, { name: 'Engineering' });
    await f.converge(1);

    let { users, groups } = snapshot(peer);
    expect(users.get('grace')).toMatchObject({ title: 'Rear Admiral', active: true, emails: [expect.objectContaining({ value: 'grace@navy.example' })] });
    expect(users.get('alan')?.active).toBe(false);
    expect(users.get('ada')?.active).toBe(true);
    expect(roles(users.get('ada'))).toEqual([]);
    expect(users.get('barbara')?.active).toBe(false);
    expect(users.get('ken')?.active).toBe(false);
    expect(groups.get('Staff')).toEqual([]);
    // A suspended user keeps the memberships Roster gives them; the account is only inactive.
    expect(groups.get('Engineering')).toEqual(['ada', 'alan', 'edsger', 'grace']);
    expect(groups.has('Engineers')).toBe(false);

    // Dissociating a group deletes it in the application and deactivates the users it alone gave access.
    await f.dissociate(engineers);
    await f.core.users.update(f.ctx, u.alan!.id, { state: 'ACTIVATED' });
    await f.converge(1);
    ({ users, groups } = snapshot(peer));
    expect([...groups.keys()]).toEqual(['Staff']);
    for (const name of ['ada', 'alan', 'edsger', 'grace']) expect(users.get(name)?.active, name).toBe(false);

    // Associated again: the same accounts come back to life, none is created twice.
    await f.associate(engineers);
    await f.converge(1);
    ({ users } = snapshot(peer));
    for (const name of ['ada', 'alan', 'edsger', 'grace']) expect(users.get(name)?.active, name).toBe(true);
    expect(peer.users()).toHaveLength(6);
  });

  it('deletes instead of deactivating when the policy says so', async () => {
    await f.enable(peer, { deprovision: 'delete' });
    await f.converge(1);
    await f.core.groups.removeMember(f.ctx, staff.id, 'user', u.barbara!.id);
    await f.core.users.delete(f.ctx, u.ken!.id);
    const [run] = await f.converge(1);
    expect(run!.counters.deleted).toBe(2);
    const { users } = snapshot(peer);
    expect(users.has('barbara')).toBe(false);
    expect(users.has('ken')).toBe(false);
    const records = await f.core.provisioning.objects(f.ctx, f.appId, { objectType: 'user', page: { limit: 100, skip: 0 } });
    expect(records.items.find((r) => r.localId === u.barbara!.id)).toMatchObject({ state: 'deleted', remoteId: null });
  });

  it('converges with a target answering 429 and 500 at random, losing answers to applied writes, with nothing lost or duplicated', async () => {
    peer.setChaos({ rate: 0.35, seed: 7, retryAfterSeconds: 0 });
    await f.enable(peer, { roleMappings: [{ groupId: engineers.id, role: 'developer' }], concurrency: 4 });
    for (let i = 0; i < 30; i++) await f.core.groups.addMember(f.ctx, staff.id, 'user', (await f.user(`temp${i}`)).id);
    const runs = await f.converge(20);
    await f.core.users.update(f.ctx, u.alan!.id, { state: 'SUSPENDED' });
    await f.core.groups.removeMember(f.ctx, engineers.id, 'user', u.grace!.id);
    await f.core.groups.addMember(f.ctx, engineers.id, 'user', u.barbara!.id);
    runs.push(...(await f.converge(20)));
    const chaos = peer.counts().chaos;
    expect(chaos).toBeGreaterThan(10);
    expect(peer.requests.some((r) => r.chaos === 'lost')).toBe(true);

    peer.setChaos(undefined);
    const { users, groups } = snapshot(peer);
    // Nothing duplicated: one account per user, one group per group.
    expect(peer.users()).toHaveLength(users.size);
    expect(peer.groups()).toHaveLength(2);
    expect(users.size).toBe(36);
    expect(users.get('alan')?.active).toBe(false);
    expect(roles(users.get('barbara'))).toEqual(['developer']);
    // grace left her only group: deactivated, and out of it.
    expect(users.get('grace')?.active).toBe(false);
    expect(groups.get('Engineers')).toEqual(['ada', 'alan', 'barbara', 'edsger']);
    expect(groups.get('Staff')).toHaveLength(32);
    // Nothing lost: the records agree with the peer, and a calm run has nothing to do.
    const before = peer.requests.length;
    expect((await f.run()).errors).toEqual([]);
    expect(peer.requests.length).toBe(before);
  });

  it('sends new users in Bulk requests where the application offers Bulk, and still converges when bulk answers are lost', async () => {
    const bulk = await startScimPeer({ bulk: true });
    try {
      for (let i = 0; i < 120; i++) await f.core.groups.addMember(f.ctx, staff.id, 'user', (await f.user(`bulk${i}`)).id);
      await f.enable(bulk);
      const [first] = await f.converge(1);
      expect(first!.counters).toMatchObject({ created: 128, bulkRequests: 2 });
      expect(bulk.requests.filter((r) => r.method === 'POST' && r.path === '/Users')).toEqual([]);
      expect(bulk.users()).toHaveLength(126);

      // A lost answer to an applied bulk request: every user it created is found again, none twice.
      bulk.reset();
      bulk.setChaos({ rate: 1, kinds: ['lost'], methods: ['POST'] });
      await f.core.provisioning.configure(f.ctx, f.appId, { reconcileMinutes: 60 });
      const lost = await f.run({ reconcile: true });
      bulk.setChaos(undefined);
      await f.converge(10);
      expect(lost.counters.bulkFallbacks).toBeGreaterThan(0);
      expect(bulk.users()).toHaveLength(126);
      expect(snapshot(bulk).groups.get('Staff')).toHaveLength(122);
    } finally {
      await bulk.close();
    }
  });

  it('handles a target without PATCH by replacing whole resources', async () => {
    const plain = await startScimPeer({ patch: false });
    try {
      await f.enable(plain);
      await f.converge(1);
      await f.core.groups.removeMember(f.ctx, engineers.id, 'user', u.grace!.id);
      await f.core.users.update(f.ctx, u.alan!.id, { state: 'SUSPENDED', jobTitle: 'Cryptanalyst' });
      await f.core.groups.removeMember(f.ctx, staff.id, 'user', u.barbara!.id);
      await f.converge(1);
      const { users, groups } = snapshot(plain);
      expect(users.get('alan')).toMatchObject({ active: false, title: 'Cryptanalyst' });
      expect(users.get('barbara')?.active).toBe(false);
      expect(users.get('grace')?.active).toBe(false);
      expect(users.get('ada')?.active).toBe(true);
      expect(groups.get('Engineers')).toEqual(['ada', 'alan', 'edsger']);
      expect(groups.get('Staff')).toEqual(['ada']);
      expect(plain.requests.filter((r) => r.method === 'PATCH')).toEqual([]);
      expect(plain.requests.filter((r) => r.method === 'PUT').length).toBeGreaterThanOrEqual(3);
    } finally {
      await plain.close();
    }
  });

  it('sends membership changes in the form the application takes', async () => {
    await f.enable(peer);
    for (const memberPatch of ['filter', 'value', 'replace'] as const) {
      // The application emptied behind Roster's back: the reconciliation provisions it afresh.
      peer.reset();
      await f.core.provisioning.configure(f.ctx, f.appId, { memberPatch });
      await f.converge(1, { reconcile: true });
      expect(snapshot(peer).groups.get('Engineers')).toEqual(['ada', 'alan', 'edsger', 'grace']);
      await f.core.groups.removeMember(f.ctx, engineers.id, 'user', u.grace!.id);
      await f.converge(1);
      const patch = peer.requests.filter((r) => r.method === 'PATCH' && r.path.startsWith('/Groups/')).at(-1);
      const ops = (patch?.body as { Operations: { op: string; path: string; value?: unknown }[] }).Operations;
      if (memberPatch === 'filter') expect(ops).toEqual([{ op: 'remove', path: expect.stringMatching(/^members\[value eq ".+"\]$/) }]);
      if (memberPatch === 'value') expect(ops).toEqual([{ op: 'remove', path: 'members', value: [{ value: expect.any(String) }] }]);
      if (memberPatch === 'replace') expect(ops).toEqual([{ op: 'replace', path: 'members', value: expect.any(Array) }]);
      expect(snapshot(peer).groups.get('Engineers'), memberPatch).toEqual(['ada', 'alan', 'edsger']);
      await f.core.groups.addMember(f.ctx, engineers.id, 'user', u.grace!.id);
    }
  });

  it('takes over accounts that already exist in the application, matched by userName, case-insensitively', async () => {
    await peer.createUser({ userName: 'ADA', active: false, title: 'Countess' });
    await peer.createGroup({ displayName: 'Staff', members: [] });
    await f.enable(peer);
    const [run] = await f.converge(1);
    expect(run!.counters.adopted).toBe(2);
    const { users, groups } = snapshot(peer);
    expect(peer.users().filter((x) => x.userName.toLowerCase() === 'ada')).toHaveLength(1);
    expect(users.get('ada')).toMatchObject({ active: true, title: 'Engineer', externalId: u.ada!.id });
    expect(peer.groups().filter((g) => g.displayName === 'Staff')).toHaveLength(1);
    expect(groups.get('Staff')).toEqual(['ada', 'barbara']);
  });

  it('reconciles: accounts deleted or changed in the application behind Roster are repaired', async () => {
    await f.enable(peer);
    await f.converge(1);
    const remote = snapshot(peer).users;
    const call = (method: string, path: string, body?: unknown) =>
      fetch(`${peer.url}${path}`, { method, headers: { authorization: `Bearer ${peer.token}`, 'content-type': 'application/scim+json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    expect((await call('DELETE', `/Users/${remote.get('grace')!.id}`)).status).toBe(204);
    const patch = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] };
    expect((await call('PATCH', `/Users/${remote.get('ada')!.id}`, patch)).status).toBe(200);
    // An ordinary run trusts its records…
    await f.run();
    expect(snapshot(peer).users.has('grace')).toBe(false);
    // …a reconciliation reads the application back.
    const [run] = await f.converge(1, { reconcile: true });
    // grace's account is missing; ada's and the Engineers group (without grace) drifted.
    expect(run!.counters).toMatchObject({ missing: 1, drifted: 2 });
    const { users, groups } = snapshot(peer);
    expect(users.get('grace')?.active).toBe(true);
    expect(users.get('ada')?.active).toBe(true);
    expect(groups.get('Engineers')).toEqual(['ada', 'alan', 'edsger', 'grace']);
    expect((await f.core.provisioning.get(f.ctx, f.appId)).reconciledAt).not.toBeNull();
  });

  it('stops on a refused token, records the error, and recovers once the token is right', async () => {
    await f.core.provisioning.configure(f.ctx, f.appId, { enabled: true, baseUrl: peer.url, token: 'wrong' });
    const result = await f.run();
    expect(result.stopped).toMatch(/401.*token/);
    expect(peer.users()).toEqual([]);
    const status = await f.core.provisioning.get(f.ctx, f.appId);
    expect(status).toMatchObject({ status: 'error', lastError: expect.stringMatching(/401/) });
    await f.core.provisioning.configure(f.ctx, f.appId, { token: peer.token });
    await f.converge(1);
    expect(peer.users()).toHaveLength(6);
    expect((await f.core.provisioning.get(f.ctx, f.appId)).status).toBe('idle');
  });
});

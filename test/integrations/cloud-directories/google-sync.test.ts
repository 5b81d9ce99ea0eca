import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GroupId } from '../../../src/core/ids.js';
import { failure } from '../../support/core.js';
import { cachedConnectors, connectorFor } from '../../../src/app/cloud-connectors.js';
import { CloudDirectoryWorker } from '../../../src/integrations/cloud-directory/worker.js';
import { FAST_RETRY, openCloudSync, userIdOf, type CloudSync } from '../../support/cloud-sync.js';
import { startGoogleEmulator, type GoogleEmulator } from '../../support/google-emulator.js';
import { describeEachStore } from '../../support/stores.js';

/**
 * Google Workspace two-way, end to end: the sync engine, the worker and the password writer drive
 * Google's own client library (@googleapis/admin) against the emulator of the Directory API.
 * Each step builds on the one before, as an administrator's day would.
 */
describeEachStore('Google Workspace sync (official client against the Directory API emulator)', (kind) => {
  let google: GoogleEmulator;
  let s: CloudSync;
  const emails = (local: string) => google.users().filter((u) => u.primaryEmail.toLowerCase() === `${local}@${google.domain}`);

  beforeAll(async () => {
    google = await startGoogleEmulator();
    google.addUser({ primaryEmail: `alice@${google.domain}`, givenName: 'Alice', familyName: 'Ng', organizations: [{ primary: true, title: 'Engineer' }] });
    google.addUser({ primaryEmail: `bob@${google.domain}`, givenName: 'Bob', familyName: 'Ode' });
    google.addUser({ primaryEmail: `root@${google.domain}`, givenName: 'Super', familyName: 'Admin', isAdmin: true });
    for (let i = 0; i < 6; i++) google.addUser({ primaryEmail: `temp${i}@${google.domain}`, givenName: 'Temp', familyName: String(i) });
    google.addGroup({ email: `eng@${google.domain}`, name: 'Engineering' });
    google.addMember(`eng@${google.domain}`, `alice@${google.domain}`);
    google.addMember(`eng@${google.domain}`, `bob@${google.domain}`);
    s = await openCloudSync(kind, 'g_suite', {
      domain: google.domain,
      adminEmail: google.adminEmail,
      serviceAccountKey: google.serviceAccountKey,
      configuration: 'two_way',
      endpoints: { rootUrl: google.rootUrl, tokenUrl: google.tokenUrl },
      deleteThreshold: { count: 3, percent: 0 },
    });
  });
  afterAll(async () => {
    await s?.dispose();
    await google?.close();
  });

  it('imports users and groups with their members, never an administrator, and links them by Google id', async () => {
    const { read } = await s.turn();
    expect(read?.status).toBe('succeeded');
    const alice = await s.user('alice');
    expect(alice).toMatchObject({ email: `alice@${google.domain}`, firstname: 'Alice', lastname: 'Ng', jobTitle: 'Engineer', state: 'ACTIVATED' });
    expect(await s.link(alice!.id)).toBe(google.user(`alice@${google.domain}`)!.id);
    expect(await s.user('root')).toBeUndefined();
    expect(read?.plan.some((p) => p.action === 'skip' && p.name === 'root')).toBe(true);
    const eng = await s.core.store.read.groups.findByName(s.ctx.orgId, 'Engineering');
    const members = (await s.core.groups.members(s.ctx, eng!.id, { limit: 100, skip: 0 })).items.map((m) => m.memberId);
    expect(new Set(members)).toEqual(new Set([alice!.id, userIdOf(await s.user('bob'))]));
  });

  it('writes nothing back after an import, and nothing on a second turn (no echo)', async () => {
    const before = google.writes;
    await s.turn();
    await s.turn({ full: true });
    expect(google.writes).toBe(before);
  });

  it('exports a user associated with the directory, then their group membership, suspension and attribute changes', async () => {
    const carol = await s.newUser('carol', { jobTitle: 'Designer' });
    await s.associate({ type: 'user', id: carol.id });
    await s.turn({ read: false });
    const [created] = emails('carol');
    expect(created).toMatchObject({ name: { givenName: 'carol', familyName: 'Test' }, suspended: false });
    expect(await s.link(carol.id)).toBe(created!.id);

    const eng = (await s.core.store.read.groups.findByName(s.ctx.orgId, 'Engineering'))!;
    await s.core.groups.change(s.ctx, eng.id as GroupId, { add: [{ type: 'user', id: carol.id }] });
    await s.core.users.update(s.ctx, carol.id, { state: 'SUSPENDED', department: 'Design' });
    await s.turn({ read: false });
    expect(google.members(`eng@${google.domain}`).map((m) => m.id)).toContain(created!.id);
    expect(google.user(created!.id)).toMatchObject({ suspended: true });
    expect(JSON.stringify(google.user(created!.id))).toContain('Design');
    // Converged: a read changes nothing in Roster and the next turn writes nothing.
    const writes = google.writes;
    await s.turn({ full: true });
    expect(google.writes).toBe(writes);
    expect(await s.user('carol')).toMatchObject({ state: 'SUSPENDED', department: 'Design' });
  });

  it('imports a suspension and a membership change made in Google', async () => {
    google.updateUser(`bob@${google.domain}`, { suspended: true });
    google.removeMember(`eng@${google.domain}`, `bob@${google.domain}`);
    await s.turn();
    const bob = await s.user('bob');
    expect(bob?.state).toBe('SUSPENDED');
    const eng = (await s.core.store.read.groups.findByName(s.ctx.orgId, 'Engineering'))!;
    const members = (await s.core.groups.members(s.ctx, eng.id, { limit: 100, skip: 0 })).items.map((m) => m.memberId);
    expect(members).not.toContain(bob!.id);
  });

  it("pushes a password set in Roster; Google's refusal fails the change and Roster keeps the old one", async () => {
    const alice = (await s.user('alice'))!;
    await s.core.users.setPassword(s.ctx, alice, 'Correct-Horse-42');
    expect(google.user(`alice@${google.domain}`)?.password).toBe('Correct-Horse-42');
    const tooLong = `Aa1${'x'.repeat(120)}`;
    const refused = await failure(s.core.users.setPassword(s.ctx, alice, tooLong));
    expect(refused.code).toBe('PASSWORD_REFUSED_BY_DIRECTORY');
    expect(refused.message).toContain('Google Workspace refused the password');
    expect(google.user(`alice@${google.domain}`)?.password).toBe('Correct-Horse-42');
    expect((await s.core.authentication.verify(s.ctx.orgId, 'alice', 'Correct-Horse-42', 'ldap')).ok).toBe(true);
  });

  it('survives 429 with Retry-After and 5xx, including a create whose answer was lost: each account once', async () => {
    const users = await Promise.all(['dan', 'erin', 'fay'].map((n) => s.newUser(n)));
    for (const u of users) await s.associate({ type: 'user', id: u.id });
    google.fail({ status: 429, times: 2, retryAfterSeconds: 1 });
    google.fail({ status: 503, times: 2, afterCommit: true, match: (method, path) => method === 'POST' && path.endsWith('/users') });
    google.fail({ status: 500, times: 1 });
    const started = Date.now();
    await s.turn({ read: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    for (const n of ['dan', 'erin', 'fay']) {
      expect(emails(n)).toHaveLength(1);
      expect(await s.link(userIdOf(await s.user(n)))).toBe(emails(n)[0]!.id);
    }
    expect(google.requests.some((r) => r.status === 429)).toBe(true);
  });

  it('plans an import without applying it when an administrator asks for a dry run', async () => {
    google.updateUser(`alice@${google.domain}`, { givenName: 'Alicia' });
    await s.core.cloudDirectories.requestRead(s.ctx, 'g_suite', s.directoryId, true);
    const { read } = await s.turn();
    expect(read).toMatchObject({ dryRun: true, mode: 'full' });
    expect(read?.plan.find((p) => p.name === 'alice')?.changes).toMatchObject({ firstname: { before: 'Alice', after: 'Alicia' } });
    expect((await s.user('alice'))?.firstname).toBe('Alice');
    expect((await s.core.cloudDirectories.state(s.ctx, 'g_suite', s.directoryId)).dryRunWanted).toBe(false);
    google.updateUser(`alice@${google.domain}`, { givenName: 'Alice' });
  });

  it('holds removals back when more accounts vanish than the delete threshold allows', async () => {
    for (let i = 0; i < 6; i++) google.deleteUser(`temp${i}@${google.domain}`);
    const { read } = await s.turn({ full: true });
    expect(read?.status).toBe('held');
    for (let i = 0; i < 6; i++) expect((await s.user(`temp${i}`))?.state).toBe('ACTIVATED');
    const state = await s.core.cloudDirectories.state(s.ctx, 'g_suite', s.directoryId);
    expect(state.lastError).toContain('delete threshold');
    // Raised by an administrator: they go (suspended, deleted after the grace period).
    await s.core.cloudDirectories.update(s.ctx, 'g_suite', s.directoryId, { deleteThreshold: { count: 10, percent: 0 } });
    await s.turn({ full: true });
    for (let i = 0; i < 6; i++) expect((await s.user(`temp${i}`))?.state).toBe('SUSPENDED');
    // Their accounts are gone: nothing is written for them while they wait out the grace period.
    const writes = google.writes;
    const { exports } = await s.turn();
    expect(exports).toEqual([]);
    expect(google.writes).toBe(writes);
  });

  it('reports an account re-created with the same email and a new id as a conflict, never merged', async () => {
    const alice = (await s.user('alice'))!;
    const oldId = await s.link(alice.id);
    google.deleteUser(`alice@${google.domain}`);
    const recreated = google.addUser({ primaryEmail: `alice@${google.domain}`, givenName: 'Other', familyName: 'Alice' });
    const { read } = await s.turn({ full: true });
    const conflict = read?.plan.find((p) => p.action === 'conflict' && p.externalId === recreated.id);
    expect(conflict?.reason).toContain('re-created account is not merged');
    const after = (await s.user('alice'))!;
    expect(after.firstname).toBe('Alice');
    expect(await s.link(alice.id)).not.toBe(recreated.id);
    expect(oldId).not.toBe(recreated.id);
  });

  it('follows a change in Roster within moments once started (journal-driven), and holds mass deprovisioning back', async () => {
    await s.core.cloudDirectories.update(s.ctx, 'g_suite', s.directoryId, { deleteThreshold: { count: 3, percent: 0 } });
    const team = await s.core.groups.create(s.ctx, { name: 'Contractors' });
    const people = await Promise.all(['gus', 'hal', 'ivy', 'jo', 'kim'].map((n) => s.newUser(n)));
    await s.core.groups.change(s.ctx, team.id, { add: people.map((p) => ({ type: 'user' as const, id: p.id })) });
    await s.associate({ type: 'user_group', id: team.id });
    // Two processes' workers on one store: the lease keeps the directory to one at a time.
    const other = new CloudDirectoryWorker(s.core, cachedConnectors((c) => connectorFor(c, { retry: FAST_RETRY })), { tickMs: 50 });
    s.worker.start();
    other.start();
    try {
      const deadline = Date.now() + 10_000;
      while (emails('kim').length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(emails('kim')).toHaveLength(1);
      const started = Date.now();
      await s.core.users.update(s.ctx, people[0]!.id, { state: 'SUSPENDED' });
      while (!emails('gus')[0]?.suspended && Date.now() - started < 10_000) await new Promise((r) => setTimeout(r, 20));
      expect(emails('gus')[0]?.suspended).toBe(true);
      expect(Date.now() - started).toBeLessThan(3_000);
      // The group's association removed by mistake: 5 accounts would be suspended, more than the threshold (3).
      await s.core.associations.change(s.ctx, { type: 'user_group', id: team.id }, { type: 'g_suite', id: s.directoryId }, 'remove');
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await Promise.all([s.worker.stop(), other.stop()]);
    }
    for (const n of ['gus', 'hal', 'ivy', 'jo', 'kim']) expect(emails(n)).toHaveLength(1);
    const contractors = google.groups().find((g) => g.name === 'Contractors');
    expect(google.members(contractors!.email).map((m) => m.id).sort()).toEqual(['gus', 'hal', 'ivy', 'jo', 'kim'].map((n) => emails(n)[0]!.id).sort());
    for (const n of ['hal', 'ivy', 'jo', 'kim']) expect(emails(n)[0]?.suspended).toBe(false);
    const plan = await s.core.cloudDirectories.exportPlan(s.ctx, 'g_suite', s.directoryId);
    expect(plan.held?.count).toBe(4);
    expect((await s.core.cloudDirectories.state(s.ctx, 'g_suite', s.directoryId)).lastError).toContain('Deprovisioning held back');
  });

  it('keeps its credential sealed: the key is in no API answer, journal entry or stored configuration', async () => {
    const key = JSON.parse(google.serviceAccountKey) as { private_key: string };
    const secretLine = key.private_key.split('\n')[1]!;
    const directory = await s.core.cloudDirectories.get(s.ctx, 'g_suite', s.directoryId);
    expect(JSON.stringify(directory.config)).not.toContain(secretLine);
    const entries = await s.core.journal.list(s.ctx, 0, 10_000);
    expect(JSON.stringify(entries)).not.toContain(secretLine);
  });
});

/** Roster authoritative: Google holds what Roster says, and reconciliation puts back what was changed behind its back. */
describeEachStore('Google Workspace sync, Roster authoritative: reconciliation', (kind) => {
  let google: GoogleEmulator;
  let s: CloudSync;
  const account = (local: string) => google.users().find((u) => u.primaryEmail === `${local}@${google.domain}`);

  beforeAll(async () => {
    google = await startGoogleEmulator();
    google.addUser({ primaryEmail: `outsider@${google.domain}`, givenName: 'Out', familyName: 'Sider' });
    google.addUser({ primaryEmail: `lee@${google.domain}`, givenName: 'Lee', familyName: 'Old', organizations: [{ primary: true, title: 'Old title' }] });
    s = await openCloudSync(kind, 'g_suite', { domain: google.domain, adminEmail: google.adminEmail, serviceAccountKey: google.serviceAccountKey, endpoints: { rootUrl: google.rootUrl, tokenUrl: google.tokenUrl } });
  });
  afterAll(async () => {
    await s?.dispose();
    await google?.close();
  });

  it("links an existing account, writes Roster's values over it, leaves other accounts alone, and repairs drift and deletions", async () => {
    const lee = await s.newUser('lee', { firstname: 'Lee', lastname: 'New', jobTitle: 'Analyst' });
    await s.associate({ type: 'user', id: lee.id });
    const { read } = await s.turn();
    expect(await s.user('outsider')).toBeUndefined();
    expect(read?.plan.find((p) => p.name === 'outsider')?.reason).toContain('Roster is authoritative');
    expect(await s.link(lee.id)).toBe(account('lee')!.id);
    expect(account('lee')).toMatchObject({ name: { familyName: 'New' } });
    expect(JSON.stringify(account('lee'))).toContain('Analyst');
    expect(account('outsider')).toMatchObject({ name: { givenName: 'Out', familyName: 'Sider' }, suspended: false });
    // What an administrator could import: the accounts no Roster user is linked to.
    const available = await s.core.cloudDirectories.availableForImport(s.ctx, 'g_suite', s.directoryId);
    expect(available.map((u) => u.attributes.primaryemail)).toEqual([`outsider@${google.domain}`]);
    expect(await s.core.cloudDirectories.availableForImport(s.ctx, 'g_suite', s.directoryId, 'nobody')).toEqual([]);

    // Behind Roster's back: a change, then a deletion. A full read puts both right.
    google.updateUser(account('lee')!.id, { familyName: 'Changed', suspended: true });
    await s.turn({ full: true });
    expect(account('lee')).toMatchObject({ name: { familyName: 'New' }, suspended: false });
    expect((await s.user('lee'))?.lastname).toBe('New');
    const oldId = account('lee')!.id;
    google.deleteUser(oldId);
    await s.turn({ full: true });
    expect(account('lee')).toBeDefined();
    expect(account('lee')!.id).not.toBe(oldId);
    expect(await s.link(lee.id)).toBe(account('lee')!.id);
    expect((await s.user('lee'))?.state).toBe('ACTIVATED');

    // Deleted in Roster: the account is suspended (the default deprovisioning), then forgotten.
    const leeId = account('lee')!.id;
    await s.core.users.delete(s.ctx, lee.id);
    const { exports } = await s.turn({ read: false });
    expect(exports.flatMap((r) => r.plan).find((p) => p.externalId === leeId)).toMatchObject({ action: 'suspend', reason: expect.stringContaining('deleted in Roster') });
    expect(google.user(leeId)?.suspended).toBe(true);
    expect(await s.core.store.read.identityLinks.findByExternalIds(s.ctx.orgId, s.directoryId, 'user', [leeId])).toEqual([]);
    const writes = google.writes;
    await s.turn({ full: true });
    expect(google.writes).toBe(writes);
  });
});

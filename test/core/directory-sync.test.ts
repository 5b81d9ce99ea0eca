import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DirectoryAgent, User } from '../../src/core/model.js';
import type { ImportBatch, SourceObject } from '../../src/core/services/directory-sync.js';
import { failure, openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

/** An AD user as an agent sends it. */
const adUser = (sam: string, extra: Partial<SourceObject> & { attributes?: Record<string, string[]> } = {}): SourceObject => ({
  kind: 'user',
  externalId: extra.externalId ?? randomUUID(),
  present: true,
  disabled: false,
  ...extra,
  attributes: { samaccountname: [sam], givenname: [sam[0]!.toUpperCase() + sam.slice(1)], sn: ['Tester'], mail: [`${sam}@corp.example.test`], ...extra.attributes },
});
const adGroup = (cn: string, members: SourceObject[] = [], extra: Partial<SourceObject> = {}): SourceObject => ({
  kind: 'user_group',
  externalId: extra.externalId ?? randomUUID(),
  present: true,
  attributes: { cn: [cn], description: [`${cn} from AD`] },
  members: members.map((m) => ({ kind: m.kind, externalId: m.externalId })),
  ...extra,
});

describeEachStore('Directory sync: imports from an AD agent', (kind) => {
  let t: TestCore;
  let agent: DirectoryAgent;
  let directoryId: string;

  beforeEach(async () => {
    t = await openTestCore(kind);
    const domain = await t.core.activeDirectory.create(t.ctx, { domain: 'corp.example.test', importScopeGroupDn: 'CN=Roster Users,CN=Users,DC=corp,DC=example,DC=test' });
    directoryId = domain.id;
    const { connectKey } = await t.core.activeDirectory.createAgent(t.ctx, domain.id);
    const registered = await t.core.activeDirectory.register(connectKey, { hostname: 'dc1', version: 'test', ip: '127.0.0.1' });
    agent = registered!.agent;
  });
  afterEach(async () => t?.dispose());

  const full = (objects: SourceObject[], extra: Partial<ImportBatch> = {}): ImportBatch => ({
    mode: 'full',
    objects,
    complete: { seen: { users: objects.filter((o) => o.kind === 'user').map((o) => o.externalId), groups: objects.filter((o) => o.kind === 'user_group').map((o) => o.externalId) } },
    cursor: 'cookie-1',
    ...extra,
  });
  const byName = async (username: string): Promise<User | undefined> => (await t.core.users.list(t.ctx, { filter: { kind: 'compare', field: 'username', op: 'eq', value: username }, sort: [], page: { limit: 1, skip: 0 } })).items[0];
  const linkOf = async (userId: string) => (await t.core.identityLinks.externalIds(t.ctx, directoryId as never, 'user', [userId])).get(userId);

  it('imports users, groups and nested membership, linked by objectGUID, journaled with the directory as origin, and advances the cursor', async () => {
    const ann = adUser('ann');
    const bob = adUser('bob', { disabled: true });
    const inner = adGroup('Engineering', [bob]);
    const outer = adGroup('Staff', [ann, inner]);
    const { run, plan } = await t.core.directorySync.importBatch(agent, full([ann, bob, inner, outer]));
    expect(run.status).toBe('succeeded');
    expect(run.counts).toMatchObject({ create: 4, member_add: 3 });
    expect(plan.find((p) => p.name === 'ann')).toMatchObject({ action: 'create', changes: { firstname: { before: null, after: 'Ann' } } });

    const a = (await byName('ann'))!;
    expect(a).toMatchObject({ firstname: 'Ann', lastname: 'Tester', email: 'ann@corp.example.test', state: 'ACTIVATED' });
    expect((await byName('bob'))!.state).toBe('SUSPENDED');
    expect(await linkOf(a.id)).toBe(ann.externalId);
    const staff = (await t.core.groups.list(t.ctx, { filter: { kind: 'compare', field: 'name', op: 'eq', value: 'Staff' }, sort: [], page: { limit: 1, skip: 0 } })).items[0]!;
    const members = (await t.core.groups.members(t.ctx, staff.id, { limit: 10, skip: 0 })).items.map((m) => m.memberType);
    expect(members.sort()).toEqual(['user', 'user_group']);

    const journal = await t.core.journal.list(t.ctx, 0, 1000);
    expect(journal.filter((e) => e.objectType === 'user' && e.operation === 'create').every((e) => e.origin === `sync:${directoryId}`)).toBe(true);
    expect(journal.find((e) => e.operation === 'sync_run')?.details).toMatchObject({ status: 'succeeded', counts: { create: 4 } });
    const state = await t.core.activeDirectory.state(t.ctx, directoryId);
    expect(state).toMatchObject({ importCursor: 'cookie-1', fullImportWanted: false });
  });

  it('applies changes incrementally: attribute edits, disable → suspended, enable → active; nothing when nothing changed', async () => {
    const ann = adUser('ann');
    await t.core.directorySync.importBatch(agent, full([ann]));
    const edited = { ...ann, attributes: { ...ann.attributes, sn: ['Smith'], title: ['Engineer'] } };
    let result = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [edited], complete: {}, cursor: 'cookie-2' });
    expect(result.plan).toEqual([expect.objectContaining({ action: 'update', changes: { lastname: { before: 'Tester', after: 'Smith' }, jobTitle: { before: '', after: 'Engineer' } } })]);
    result = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [{ ...edited, disabled: true }], complete: {}, cursor: 'cookie-3' });
    expect(result.plan[0]).toMatchObject({ action: 'suspend' });
    expect((await byName('ann'))!.state).toBe('SUSPENDED');
    result = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [edited], complete: {}, cursor: 'cookie-4' });
    expect(result.plan[0]).toMatchObject({ action: 'unsuspend' });
    result = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [edited], complete: {}, cursor: 'cookie-5' });
    expect(result.plan).toEqual([]);
    expect((await t.core.activeDirectory.state(t.ctx, directoryId)).importCursor).toBe('cookie-5');
  });

  it('links an existing Roster user by username on the first import, and reports a re-created account (same name, new id) as a conflict', async () => {
    const existing = await t.core.users.create(t.ctx, { username: 'Carol', email: 'carol@old.example', firstname: 'C' });
    const carol = adUser('carol');
    const { plan } = await t.core.directorySync.importBatch(agent, full([carol]));
    expect(plan[0]).toMatchObject({ action: 'link', localId: existing.id });
    expect(await linkOf(existing.id)).toBe(carol.externalId);
    expect((await t.core.users.get(t.ctx, existing.id)).email).toBe('carol@corp.example.test');

    const recreated = adUser('carol');
    const again = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [recreated], complete: {} });
    expect(again.plan[0]).toMatchObject({ action: 'conflict', reason: expect.stringContaining('re-created account is not merged') });
    expect(await linkOf(existing.id)).toBe(carol.externalId);
  });

  it('never imports privileged accounts', async () => {
    const admin = adUser('administrator', { privileged: true });
    const { plan } = await t.core.directorySync.importBatch(agent, full([admin]));
    expect(plan[0]).toMatchObject({ action: 'skip', reason: expect.stringContaining('privileged') });
    expect(await byName('administrator')).toBeUndefined();
  });

  it('suspends users deleted in AD or gone from the scope, deletes them after the grace period, and brings back one that returns', async () => {
    const [ann, bob, cid] = [adUser('ann'), adUser('bob'), adUser('cid')];
    await t.core.directorySync.importBatch(agent, full([ann, bob, cid]));
    // bob deleted in AD (incremental), cid gone from the scope (seen in a full run).
    const deleted = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [{ ...bob, present: false, gone: 'deleted' }], complete: {} });
    expect(deleted.plan[0]).toMatchObject({ action: 'suspend', reason: expect.stringContaining('deleted in the directory') });
    const scoped = await t.core.directorySync.importBatch(agent, full([ann]));
    expect(scoped.plan).toEqual([expect.objectContaining({ action: 'suspend', name: 'cid', reason: expect.stringContaining('not in the import scope') })]);
    expect((await byName('cid'))!.state).toBe('SUSPENDED');

    // cid comes back before the grace period ends.
    const back = await t.core.directorySync.importBatch(agent, full([ann, cid]));
    expect(back.plan).toEqual([expect.objectContaining({ action: 'unsuspend', name: 'cid', reason: 'back in the import scope' })]);

    t.clock.now = new Date(t.clock.now.getTime() + 31 * 86_400_000);
    expect(await t.core.directorySync.deleteDueRemovals()).toBe(1);
    expect(await byName('bob')).toBeUndefined();
    expect((await byName('cid'))!.state).toBe('ACTIVATED');
  });

  it('holds back every removal when the source suddenly returns no users, and when removals exceed the threshold; the rest applies', async () => {
    await t.core.activeDirectory.updateSettings(t.ctx, directoryId, { deleteThreshold: { count: 2, percent: 0 } });
    const users = ['u1', 'u2', 'u3', 'u4', 'u5'].map((n) => adUser(n));
    await t.core.directorySync.importBatch(agent, full(users));

    const empty = await t.core.directorySync.importBatch(agent, full([]));
    expect(empty.run.status).toBe('held');
    expect(empty.plan.every((p) => p.held)).toBe(true);
    expect(empty.plan).toHaveLength(5);
    expect((await byName('u1'))!.state).toBe('ACTIVATED');
    expect((await t.core.activeDirectory.state(t.ctx, directoryId)).lastError).toContain('no users');

    const newcomer = adUser('u6');
    const many = await t.core.directorySync.importBatch(agent, full([users[0]!, newcomer]));
    expect(many.run.status).toBe('held');
    expect(many.plan.filter((p) => p.held)).toHaveLength(4);
    expect(await byName('u6')).toBeDefined();
    expect((await byName('u2'))!.state).toBe('ACTIVATED');

    const two = await t.core.directorySync.importBatch(agent, full([users[0]!, users[1]!, users[2]!, newcomer]));
    expect(two.run.status).toBe('succeeded');
    expect(two.plan.filter((p) => p.action === 'suspend')).toHaveLength(2);
  });

  it('plans without applying in a dry run, and keeps the plan on the run', async () => {
    const ann = adUser('ann');
    const { run, plan } = await t.core.directorySync.importBatch(agent, full([ann], { dryRun: true }));
    expect(plan).toEqual([expect.objectContaining({ action: 'create', name: 'ann' })]);
    expect(await byName('ann')).toBeUndefined();
    expect((await t.core.activeDirectory.state(t.ctx, directoryId)).importCursor).toBeNull();
    const stored = await t.core.activeDirectory.run(t.ctx, directoryId, run.id);
    expect(stored).toMatchObject({ dryRun: true, status: 'succeeded', plan: [expect.objectContaining({ action: 'create' })] });
  });

  it('marks a run its agent left unfinished as failed when the next run starts; the batches it applied stand', async () => {
    const [ann, bob] = [adUser('ann'), adUser('bob')];
    const left = await t.core.directorySync.importBatch(agent, { mode: 'full', objects: [ann] });
    expect(left.run.status).toBe('running');
    const next = await t.core.directorySync.importBatch(agent, full([ann, bob]));
    expect(next.run.status).toBe('succeeded');
    expect(await t.core.activeDirectory.run(t.ctx, directoryId, left.run.id)).toMatchObject({ status: 'failed', error: expect.stringContaining('abandoned'), finished: expect.any(String) });
    expect(await byName('ann')).toBeDefined();
  });

  it('applies a batch whole or not at all: a failing batch leaves no object and no cursor behind', async () => {
    const ann = adUser('ann');
    await t.core.directorySync.importBatch(agent, full([ann]));
    const before = await t.core.activeDirectory.state(t.ctx, directoryId);
    const broken = { runId: 'ffffffffffffffffffffffff', mode: 'incremental' as const, objects: [adUser('zed')], cursor: 'never' };
    expect((await failure(t.core.directorySync.importBatch(agent, broken))).code).toBe('SYNC_RUN_NOT_FOUND');
    expect(await byName('zed')).toBeUndefined();
    expect((await t.core.activeDirectory.state(t.ctx, directoryId)).importCursor).toBe(before.importCursor);
  });

  it('gives an agent its credential once: a connect key works once, and a removed agent is refused', async () => {
    const { agent: fresh, connectKey } = await t.core.activeDirectory.createAgent(t.ctx, directoryId);
    expect(fresh.state).toBe('unsealed');
    const registered = await t.core.activeDirectory.register(connectKey, { hostname: 'dc2', version: '1', ip: '10.0.0.2' });
    expect(registered?.credential).toMatch(/^rag_/);
    expect(await t.core.activeDirectory.register(connectKey, { hostname: 'evil', version: '1', ip: '10.0.0.9' })).toBeUndefined();
    expect((await t.core.activeDirectory.authenticate(registered!.credential, '10.0.0.2'))?.agent.id).toBe(fresh.id);
    const rotated = await t.core.activeDirectory.rotateCredential(registered!.agent);
    expect(await t.core.activeDirectory.authenticate(registered!.credential, '10.0.0.2')).toBeUndefined();
    expect(await t.core.activeDirectory.authenticate(rotated, '10.0.0.2')).toBeDefined();
    await t.core.activeDirectory.deleteAgent(t.ctx, directoryId, fresh.id);
    expect(await t.core.activeDirectory.authenticate(rotated, '10.0.0.2')).toBeUndefined();
  });

  it('lets one agent write at a time; another takes over when the lease lapses', async () => {
    const { connectKey } = await t.core.activeDirectory.createAgent(t.ctx, directoryId);
    const second = (await t.core.activeDirectory.register(connectKey, { hostname: 'dc2', version: '1', ip: '127.0.0.1' }))!.agent;
    expect(await t.core.activeDirectory.takeWriterLease(agent, 30)).toBe(true);
    expect(await t.core.activeDirectory.takeWriterLease(second, 30)).toBe(false);
    expect(await t.core.activeDirectory.takeWriterLease(agent, 30)).toBe(true);
    t.clock.now = new Date(t.clock.now.getTime() + 31_000);
    expect(await t.core.activeDirectory.takeWriterLease(second, 30)).toBe(true);
    expect(await t.core.activeDirectory.takeWriterLease(agent, 30)).toBe(false);
  });
});

import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { DirectoryAgent, User } from '../../src/core/model.js';
import type { AgentTaskAnswer, AgentTaskRequest } from '../../src/core/services/agent-tasks.js';
import type { ExportOp, ExportOutcome } from '../../src/core/services/directory-export.js';
import type { SourceObject } from '../../src/core/services/directory-sync.js';
import { failure, openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

/**
 * A directory in memory that carries out export plans as the agent would, so the plans, what
 * Roster records of them and the two-way merge can be checked without a domain controller (the
 * Samba tests do the same against AD).
 */
class FakeDirectory {
  readonly objects = new Map<string, { kind: 'user' | 'user_group'; attributes: Record<string, string | null>; disabled?: boolean; members: Set<string> }>();
  writes = 0;

  apply(op: ExportOp): ExportOutcome {
    this.writes++;
    switch (op.op) {
      case 'create_user': {
        const id = randomUUID();
        this.objects.set(id, { kind: 'user', attributes: { ...op.attributes }, disabled: true, members: new Set() });
        return { op, ok: true, externalId: id, dn: `CN=${op.attributes.cn},${op.parentDn}` };
      }
      case 'create_group': {
        const id = randomUUID();
        this.objects.set(id, { kind: 'user_group', attributes: { cn: op.name, ...op.attributes }, members: new Set() });
        return { op, ok: true, externalId: id };
      }
      case 'delete_user':
        this.objects.delete(op.externalId);
        return { op, ok: true, deleted: true };
      case 'update_user':
      case 'update_group': {
        const o = this.objects.get(op.externalId);
        if (!o) return { op, ok: false, error: 'no such object' };
        Object.assign(o.attributes, op.changes);
        if (op.op === 'update_user' && op.disabled !== undefined) o.disabled = op.disabled;
        if (op.op === 'update_group') {
          for (const m of op.add) o.members.add(m);
          for (const m of op.remove) o.members.delete(m);
        }
        return { op, ok: true };
      }
    }
  }

  /** The object as the agent would send it in an import. */
  source(id: string, changedAt?: string): SourceObject {
    const o = this.objects.get(id)!;
    const attributes = Object.fromEntries(Object.entries(o.attributes).filter(([, v]) => v !== null).map(([k, v]) => [k, [v!]]));
    return {
      kind: o.kind,
      externalId: id,
      attributes,
      present: true,
      ...(o.kind === 'user' ? { disabled: o.disabled ?? false } : { members: [...o.members].map((m) => ({ kind: this.objects.get(m)!.kind, externalId: m })) }),
      ...(changedAt ? { changedAt } : {}),
    };
  }
}

describeEachStore('Directory sync: Roster → AD (export), two-way merge and passwords', (kind) => {
  let t: TestCore;
  let agent: DirectoryAgent;
  let directoryId: string;
  let ad: FakeDirectory;

  const connect = async (configuration: string, extra: Record<string, unknown> = {}) => {
    const domain = await t.core.activeDirectory.create(t.ctx, {
      domain: 'corp.example.test',
      configuration,
      importScopeGroupDn: 'CN=Roster Users,CN=Users,DC=corp,DC=example,DC=test',
      usersOu: 'OU=Roster,DC=corp,DC=example,DC=test',
      groupsOu: 'OU=Roster Groups,DC=corp,DC=example,DC=test',
      ...extra,
    });
    directoryId = domain.id;
    const { connectKey } = await t.core.activeDirectory.createAgent(t.ctx, domain.id);
    agent = (await t.core.activeDirectory.register(connectKey, { hostname: 'dc1', version: 'test', ip: '127.0.0.1' }))!.agent;
  };

  /** Plans and carries out until nothing is left, as the agent's export does; the operations carried out. */
  const exportAll = async (): Promise<ExportOp[]> => {
    const done: ExportOp[] = [];
    for (let round = 0; round < 10; round++) {
      const plan = await t.core.directoryExport.plan(agent.orgId, agent.directoryId);
      if (plan.ops.length === 0) return done;
      await t.core.directoryExport.record(agent, plan.ops.map((op) => ad.apply(op)));
      done.push(...plan.ops);
    }
    throw new Error('the export did not converge');
  };

  /** Answers the agent tasks that arrive with `answer`, until stopped; the requests seen. */
  const serveTasks = (answer: (request: AgentTaskRequest) => AgentTaskAnswer) => {
    const seen: AgentTaskRequest[] = [];
    let running = true;
    const loop = (async () => {
      // The agent that answers holds the writer lease, as a running agent does.
      await t.core.activeDirectory.takeWriterLease(agent, 60);
      while (running) {
        for (const task of await t.core.agentTasks.take(agent, 200)) {
          seen.push(task.request);
          await t.core.agentTasks.answer(agent, task.id, answer(task.request));
        }
      }
    })();
    return { seen, stop: async () => ((running = false), await loop) };
  };

  const linkOf = async (userId: string) => (await t.core.identityLinks.externalIds(t.ctx, directoryId as never, 'user', [userId])).get(userId);
  const newUser = (username: string, extra: Record<string, unknown> = {}) =>
    t.core.users.create(t.ctx, { username, email: `${username}@example.test`, firstname: username[0]!.toUpperCase() + username.slice(1), lastname: 'Tester', ...extra });
  const associate = (type: 'user' | 'user_group', id: string) => t.core.associations.change(t.ctx, { type, id }, { type: 'active_directory', id: directoryId }, 'add');

  beforeEach(async () => {
    t = await openTestCore(kind, { passwordCacheSeconds: 0, directoryPasswords: { writeTimeoutMs: 1500, verifyTimeoutMs: 1000 } });
    ad = new FakeDirectory();
  });
  afterEach(async () => t?.dispose());

  it('creates the users and groups associated with the domain in its OUs, then their membership, and nothing once they are there', async () => {
    await connect('roster_authoritative');
    const ann = await newUser('ann', { displayname: 'Ann Tester', jobTitle: 'Engineer' });
    const bob = await newUser('bob');
    const staff = await t.core.groups.create(t.ctx, { name: 'Staff', description: 'Everyone' }, [{ type: 'user', id: ann.id }, { type: 'user', id: bob.id }]);
    await associate('user_group', staff.id);
    const ops = await exportAll();
    const create = ops.find((o) => o.op === 'create_user' && o.name === 'ann') as Extract<ExportOp, { op: 'create_user' }>;
    expect(create).toMatchObject({
      parentDn: 'OU=Roster,DC=corp,DC=example,DC=test',
      disabled: false,
      attributes: { samaccountname: 'ann', givenname: 'Ann', sn: 'Tester', mail: 'ann@example.test', displayname: 'Ann Tester', title: 'Engineer', cn: 'Ann Tester', userprincipalname: 'ann@corp.example.test' },
    });
    expect(ops.find((o) => o.op === 'create_group')).toMatchObject({ name: 'Staff', parentDn: 'OU=Roster Groups,DC=corp,DC=example,DC=test', attributes: { description: 'Everyone' } });
    const group = [...ad.objects.values()].find((o) => o.kind === 'user_group')!;
    expect(group.members.size).toBe(2);
    // Created without a password: disabled until Roster has one to write.
    const annId = (await linkOf(ann.id))!;
    expect(ad.objects.get(annId)).toMatchObject({ disabled: true });
    expect(await exportAll()).toEqual([]);
    const runs = await t.core.activeDirectory.runs(t.ctx, directoryId, 10, 0);
    expect(runs.items[0]).toMatchObject({ kind: 'export', status: 'succeeded' });
  });

  it('writes only what changed, disables on suspension, and disables an account it created once it is no longer associated', async () => {
    await connect('roster_authoritative');
    const ann = await newUser('ann');
    await associate('user', ann.id);
    await exportAll();
    const id = (await linkOf(ann.id))!;
    await t.core.users.update(t.ctx, ann.id, { lastname: 'Smith' });
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_user', changes: { sn: 'Smith' } })]);
    await t.core.users.update(t.ctx, ann.id, { department: '' });
    expect(await exportAll()).toEqual([]);
    // Still waiting for its first password: disabled whatever Roster says.
    expect(ad.objects.get(id)!.disabled).toBe(true);
    const serving = serveTasks(() => ({ ok: true }));
    await t.core.users.update(t.ctx, ann.id, { password: 'First-pass-123' });
    await serving.stop();
    expect(await exportAll()).toEqual([]);
    ad.objects.get(id)!.disabled = false;
    await t.core.users.update(t.ctx, ann.id, { state: 'SUSPENDED' });
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_user', disabled: true })]);
    expect(ad.objects.get(id)!.disabled).toBe(true);
    await t.core.users.update(t.ctx, ann.id, { state: 'ACTIVATED' });
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_user', disabled: false })]);
    await t.core.associations.change(t.ctx, { type: 'user', id: ann.id }, { type: 'active_directory', id: directoryId }, 'remove');
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_user', disabled: true, reason: 'no longer associated with the domain' })]);
    // Deleted in Roster: the account is disabled (not left enabled and unmanaged), then the link goes.
    await associate('user', ann.id);
    await exportAll();
    expect(ad.objects.get(id)!.disabled).toBe(false);
    await t.core.users.delete(t.ctx, ann.id);
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_user', disabled: true, deletedInRoster: true, name: 'ann' })]);
    expect(ad.objects.get(id)!.disabled).toBe(true);
    expect(await t.core.store.read.identityLinks.listByDirectory(t.ctx.orgId, directoryId as never, 'user')).toEqual([]);
    expect(await exportAll()).toEqual([]);
  });

  it('writes a password to AD before Roster keeps it: AD refusing fails the change with its reason and changes nothing', async () => {
    await connect('roster_authoritative');
    const ann = await newUser('ann', { password: 'Original-pass-1' });
    await associate('user', ann.id);
    await exportAll();
    const id = (await linkOf(ann.id))!;
    const refusing = serveTasks(() => ({ ok: false, outcome: 'refused', reason: 'the password does not meet the domain policy' }));
    const error = await failure(t.core.users.update(t.ctx, ann.id, { password: 'Another-pass-22' }));
    await refusing.stop();
    expect(error).toMatchObject({ kind: 'invalid', code: 'PASSWORD_REFUSED_BY_DIRECTORY' });
    expect(error.message).toBe('Active Directory corp.example.test refused the password: the password does not meet the domain policy');
    expect(refusing.seen[0]).toMatchObject({ kind: 'set_password', externalId: id, enable: true, password: 'Another-pass-22' });
    expect((await t.core.authentication.verify(t.ctx.orgId, 'ann', 'Original-pass-1', 'api')).ok).toBe(true);

    const accepting = serveTasks(() => ({ ok: true }));
    await t.core.users.update(t.ctx, ann.id, { password: 'Another-pass-22' });
    await accepting.stop();
    expect((await t.core.authentication.verify(t.ctx.orgId, 'ann', 'Another-pass-22', 'api')).ok).toBe(true);
    // The account waited for its password: enabled with it, and the next plan knows.
    expect(await t.core.directoryExport.plan(agent.orgId, agent.directoryId)).toEqual({ ops: [], more: false });

    // No agent answering: the change fails as unavailable, and Roster keeps the old password.
    const unavailable = await failure(t.core.users.update(t.ctx, ann.id, { password: 'Third-pass-333' }));
    expect(unavailable).toMatchObject({ kind: 'unavailable', code: 'DIRECTORY_UNAVAILABLE' });
    expect(unavailable.message).toContain('no agent of the domain answered in time');
    // No agent connected at all: it fails at once.
    await t.core.activeDirectory.releaseWriterLease(agent);
    const started = Date.now();
    expect((await failure(t.core.users.update(t.ctx, ann.id, { password: 'Third-pass-333' }))).message).toContain('no agent of the domain is connected');
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await t.core.authentication.verify(t.ctx.orgId, 'ann', 'Another-pass-22', 'api')).ok).toBe(true);
  });

  it('creates a user not yet in AD with the password set for it', async () => {
    await connect('two_way');
    const ann = await newUser('ann');
    await associate('user', ann.id);
    const created = randomUUID();
    const serving = serveTasks(() => ({ ok: true, externalId: created }));
    await t.core.users.update(t.ctx, ann.id, { password: 'Brand-new-pass-1' });
    await serving.stop();
    expect(serving.seen[0]).toMatchObject({ kind: 'set_password', externalId: null, enable: true, create: { op: 'create_user', attributes: { samaccountname: 'ann' } } });
    expect(await linkOf(ann.id)).toBe(created);
    expect(await t.core.directoryExport.plan(agent.orgId, agent.directoryId)).toEqual({ ops: [], more: false });
  });

  it('two-way: an import is not written back, and a Roster change that AD reports back changes nothing (no echo)', async () => {
    await connect('two_way');
    const id = randomUUID();
    ad.objects.set(id, { kind: 'user', attributes: { samaccountname: 'carl', givenname: 'Carl', sn: 'Tester', mail: 'carl@corp.example.test' }, disabled: false, members: new Set() });
    // One without mail: Roster makes an email up (username@domain), which is not written back as a change.
    const noMail = randomUUID();
    ad.objects.set(noMail, { kind: 'user', attributes: { samaccountname: 'nomail', sn: 'Tester' }, disabled: false, members: new Set() });
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(id), ad.source(noMail)], complete: {} });
    ad.writes = 0;
    expect(await exportAll()).toEqual([]);
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(noMail)], complete: {} });
    expect(await exportAll()).toEqual([]);
    // AD changes; the import brings it in, and export has nothing to write.
    ad.objects.get(id)!.attributes.sn = 'Changed-in-AD';
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(id)], complete: {} });
    const carl = (await t.core.users.list(t.ctx, { filter: { kind: 'compare', field: 'username', op: 'eq', value: 'carl' }, sort: [], page: { limit: 1, skip: 0 } })).items[0] as User;
    expect(carl.lastname).toBe('Changed-in-AD');
    expect(await exportAll()).toEqual([]);
    expect(ad.writes).toBe(0);
    // Roster changes; export writes it; AD reports it back and the import changes nothing.
    await t.core.users.update(t.ctx, carl.id, { jobTitle: 'Manager' });
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_user', changes: { title: 'Manager' } })]);
    const before = await t.core.store.read.journal.head(t.ctx.orgId);
    const { plan } = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(id)], complete: {} });
    expect(plan).toEqual([]);
    const after = await t.core.journal.list(t.ctx, before, 100);
    expect(after.filter((e) => e.objectType === 'user')).toEqual([]);
    expect(await exportAll()).toEqual([]);
  });

  it('two-way: a change on both sides goes to the newer one, and the loser is journaled as a conflict', async () => {
    await connect('two_way');
    const id = randomUUID();
    ad.objects.set(id, { kind: 'user', attributes: { samaccountname: 'dora', givenname: 'Dora', sn: 'Tester', mail: 'dora@corp.example.test', title: 'Analyst' }, disabled: false, members: new Set() });
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(id)], complete: {} });
    const dora = (await t.core.users.list(t.ctx, { filter: { kind: 'compare', field: 'username', op: 'eq', value: 'dora' }, sort: [], page: { limit: 1, skip: 0 } })).items[0] as User;

    // Roster changes the title now; AD changed it earlier: Roster's wins.
    t.clock.now = new Date(Date.now() + 60_000);
    await t.core.users.update(t.ctx, dora.id, { jobTitle: 'Lead' });
    ad.objects.get(id)!.attributes.title = 'Senior Analyst';
    let result = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(id, new Date(Date.now() - 60_000).toISOString())], complete: {} });
    expect(result.plan[0]).toMatchObject({ action: 'conflict', changes: { jobTitle: { before: 'Senior Analyst', after: 'Lead' } } });
    expect((await t.core.users.get(t.ctx, dora.id)).jobTitle).toBe('Lead');
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_user', changes: { title: 'Lead' } })]);

    // Both change again, AD later: AD's wins.
    await t.core.users.update(t.ctx, dora.id, { jobTitle: 'Director' });
    ad.objects.get(id)!.attributes.title = 'Principal';
    result = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(id, new Date(t.clock.now.getTime() + 60_000).toISOString())], complete: {} });
    expect(result.plan[0]).toMatchObject({ action: 'conflict', changes: { jobTitle: { before: 'Director', after: 'Principal' } } });
    expect((await t.core.users.get(t.ctx, dora.id)).jobTitle).toBe('Principal');
    const conflicts = (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.operation === 'sync_conflict');
    expect(conflicts).toHaveLength(2);
    expect(conflicts[1]!.details).toMatchObject({ directoryId, winners: { jobTitle: 'directory' } });

    // Only AD changed: imported, no conflict.
    ad.objects.get(id)!.attributes.sn = 'Renamed';
    result = await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(id)], complete: {} });
    expect(result.plan[0]).toMatchObject({ action: 'update', changes: { lastname: { before: 'Tester', after: 'Renamed' } } });
  });

  it('two-way membership: a member Roster added is kept until exported, and one AD removed is removed', async () => {
    await connect('two_way');
    const u1 = randomUUID();
    const u2 = randomUUID();
    const g = randomUUID();
    ad.objects.set(u1, { kind: 'user', attributes: { samaccountname: 'eve', mail: 'eve@corp.example.test' }, disabled: false, members: new Set() });
    ad.objects.set(u2, { kind: 'user', attributes: { samaccountname: 'fay', mail: 'fay@corp.example.test' }, disabled: false, members: new Set() });
    ad.objects.set(g, { kind: 'user_group', attributes: { cn: 'Team' }, members: new Set([u1]), disabled: undefined });
    const all = [ad.source(u1), ad.source(u2), ad.source(g)];
    await t.core.directorySync.importBatch(agent, { mode: 'full', objects: all, complete: { seen: { users: [u1, u2], groups: [g] } } });
    const team = (await t.core.groups.list(t.ctx, { filter: { kind: 'compare', field: 'name', op: 'eq', value: 'Team' }, sort: [], page: { limit: 1, skip: 0 } })).items[0]!;
    const fay = (await t.core.users.list(t.ctx, { filter: { kind: 'compare', field: 'username', op: 'eq', value: 'fay' }, sort: [], page: { limit: 1, skip: 0 } })).items[0]!;
    await t.core.groups.change(t.ctx, team.id, { add: [{ type: 'user', id: fay.id }] });
    // An import before the export: fay stays.
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(g)], complete: {} });
    const members = async () => (await t.core.groups.members(t.ctx, team.id, { limit: 10, skip: 0 })).items.length;
    expect(await members()).toBe(2);
    expect(await exportAll()).toEqual([expect.objectContaining({ op: 'update_group', add: [u2], remove: [] })]);
    expect(ad.objects.get(g)!.members.size).toBe(2);
    // AD removes eve: Roster follows.
    ad.objects.get(g)!.members.delete(u1);
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [ad.source(g)], complete: {} });
    expect(await members()).toBe(1);
    expect(await exportAll()).toEqual([]);
  });

  it('AD authoritative: verifies linked users against AD (delegated), keeps the hash, falls back to it when AD cannot answer, and refuses password changes in Roster', async () => {
    await connect('ad_authoritative');
    const id = randomUUID();
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [{ kind: 'user', externalId: id, attributes: { samaccountname: ['gus'], mail: ['gus@corp.example.test'] }, present: true, disabled: false }], complete: {} });
    const accepting = serveTasks((r) => (r.kind === 'verify_password' && r.password === 'Ad-password-1' ? { ok: true } : { ok: false, outcome: 'refused', reason: 'wrong password' }));
    expect((await t.core.authentication.verify(t.ctx.orgId, 'gus', 'Ad-password-1', 'ldap')).ok).toBe(true);
    expect(await t.core.authentication.verify(t.ctx.orgId, 'gus', 'wrong', 'ldap')).toMatchObject({ ok: false, reason: 'INVALID_CREDENTIALS' });
    await accepting.stop();
    expect(accepting.seen[0]).toMatchObject({ kind: 'verify_password', externalId: id, username: 'gus' });
    // No agent: the hash kept from the last good login.
    expect((await t.core.authentication.verify(t.ctx.orgId, 'gus', 'Ad-password-1', 'ldap')).ok).toBe(true);
    const gus = (await t.core.users.list(t.ctx, { filter: { kind: 'compare', field: 'username', op: 'eq', value: 'gus' }, sort: [], page: { limit: 1, skip: 0 } })).items[0]!;
    const refused = await failure(t.core.users.update(t.ctx, gus.id, { password: 'Roster-pass-1' }));
    expect(refused).toMatchObject({ kind: 'conflict', code: 'PASSWORD_MANAGED_BY_DIRECTORY' });
    // A password change pushed by the DC's password filter is kept.
    await t.core.directorySync.passwordFromDirectory(agent, { username: 'gus', password: 'Pushed-from-AD-2' });
    expect((await t.core.authentication.verify(t.ctx.orgId, 'gus', 'Pushed-from-AD-2', 'ldap')).ok).toBe(true);
  });

  it('two-way: a user whose password authority is set to the directory is verified against AD; back to the configuration, Roster\'s password counts', async () => {
    await connect('two_way');
    const id = randomUUID();
    await t.core.directorySync.importBatch(agent, { mode: 'incremental', objects: [{ kind: 'user', externalId: id, attributes: { samaccountname: ['hank'], mail: ['hank@corp.example.test'] }, present: true, disabled: false }], complete: {} });
    const hank = (await t.core.users.list(t.ctx, { filter: { kind: 'compare', field: 'username', op: 'eq', value: 'hank' }, sort: [], page: { limit: 1, skip: 0 } })).items[0]!;
    const serving = serveTasks((r) => (r.kind === 'verify_password' ? (r.password === 'From-AD-pass-1' ? { ok: true } : { ok: false, outcome: 'refused', reason: 'wrong password' }) : { ok: true }));
    expect((await t.core.authentication.verify(t.ctx.orgId, 'hank', 'From-AD-pass-1', 'ldap')).ok).toBe(false);
    expect(await t.core.activeDirectory.setPasswordAuthority(t.ctx, directoryId, hank.id, 'directory')).toBe('directory');
    expect((await t.core.authentication.verify(t.ctx.orgId, 'hank', 'From-AD-pass-1', 'ldap')).ok).toBe(true);
    expect(await t.core.activeDirectory.setPasswordAuthority(t.ctx, directoryId, hank.id, null)).toBe('roster');
    await serving.stop();
    expect(serving.seen.filter((r) => r.kind === 'verify_password')).toHaveLength(1);
    const rows = (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.objectId === hank.id && Object.keys(e.changes).some((k) => k.startsWith('passwordAuthority.')));
    expect(rows).toHaveLength(2);
    const notLinked = await newUser('ivan');
    expect(await failure(t.core.activeDirectory.setPasswordAuthority(t.ctx, directoryId, notLinked.id, 'directory'))).toMatchObject({ code: 'USER_NOT_LINKED' });
  });
});

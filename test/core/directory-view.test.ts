import { afterAll, beforeAll, expect, it } from 'vitest';
import type { GroupId, UserId } from '../../src/core/ids.js';
import type { Directory, User } from '../../src/core/model.js';
import { ALL_ROWS } from '../../src/core/query.js';
import { openTestCore, type TestCore } from '../support/core.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('core: the LDAP directory view follows the journal', (kind) => {
  let t: TestCore;
  let ldap: Directory;
  beforeAll(async () => {
    t = await openTestCore(kind);
    ldap = (await t.core.directories.list(t.ctx, { sort: [], page: ALL_ROWS }, 'ldap_server')).items[0]!;
  });
  afterAll(() => t.dispose());

  const view = () => t.core.ldapView.current(t.ctx.orgId);
  const user = (name: string): Promise<User> => t.core.users.create(t.ctx, { username: name, email: `${name}@example.test` });
  const group = async (name: string): Promise<GroupId> => (await t.core.groups.create(t.ctx, { name })).id;
  const connect = (type: 'user' | 'user_group', id: string, op: 'add' | 'remove' = 'add') =>
    t.core.associations.change(t.ctx, { type, id }, { type: 'ldap_server', id: ldap.id }, op);

  it('exposes users connected directly or through nested groups, and nothing else', async () => {
    const [direct, nested, outsider] = [await user('direct'), await user('nested'), await user('outsider')];
    const [top, middle, bottom, unrelated] = [await group('top'), await group('middle'), await group('bottom'), await group('unrelated')];
    await t.core.groups.addMember(t.ctx, top, 'user_group', middle);
    await t.core.groups.addMember(t.ctx, middle, 'user_group', bottom);
    await t.core.groups.addMember(t.ctx, bottom, 'user', nested.id);
    await t.core.groups.addMember(t.ctx, unrelated, 'user', outsider.id);
    await connect('user', direct.id);
    await connect('user_group', top);

    const v = (await view())!;
    expect([...v.users.keys()].sort()).toEqual([direct.id, nested.id].sort());
    expect([...v.groups.keys()].sort()).toEqual([top, middle, bottom].sort());
    expect(v.memberGroups.get(top)).toEqual([middle]);
    expect(v.memberUsers.get(bottom)).toEqual([nested.id]);
    expect([...v.groupsOf(nested.id)].sort()).toEqual([top, middle, bottom].sort());
    expect([...v.groupsOf(direct.id)]).toEqual([]);
    expect(v.userIdsByName.get('nested')).toBe(nested.id);
  });

  it('a membership change is seen by the very next call, as a new generation', async () => {
    const before = (await view())!;
    const late = await user('late');
    const top = before.groupIdsByName.get('top')!;
    await t.core.groups.addMember(t.ctx, top, 'user', late.id);
    const after = (await view())!;
    expect(after.users.has(late.id)).toBe(true);
    expect(after.generation).not.toBe(before.generation);
    expect(after.seq).toBeGreaterThan(before.seq);
  });

  it('a user update refreshes that user only, keeping the generation', async () => {
    const before = (await view())!;
    const id = before.userIdsByName.get('direct')!;
    await t.core.users.update(t.ctx, id, { firstname: 'Renamed' });
    const after = (await view())!;
    expect(after.users.get(id)!.firstname).toBe('Renamed');
    expect(after.generation).toBe(before.generation);
    const other = before.userIdsByName.get('nested')!;
    expect(after.users.get(other)).toBe(before.users.get(other));
  });

  it('events and unrelated changes do not rebuild the view', async () => {
    const before = (await view())!;
    await t.core.journal.recordEvents(t.ctx.orgId, 'ldap', [
      { actor: { type: 'user', id: null }, entry: { objectType: 'directory', objectId: ldap.id, operation: 'ldap_search', changes: {} } },
    ]);
    // The same object: whatever was built from the view (the LDAP tree) stays valid.
    expect(await view()).toBe(before);
  });

  it('disconnecting a group hides its users; a membership cycle does not hang', async () => {
    const [a, b] = [await group('cycle-a'), await group('cycle-b')];
    const member = await user('in-cycle');
    await t.core.groups.addMember(t.ctx, a, 'user_group', b);
    await t.core.store.transaction((tx) => tx.groups.addMember(t.ctx.orgId, { groupId: b, memberType: 'user_group', memberId: a }, new Date().toISOString()));
    await t.core.groups.addMember(t.ctx, b, 'user', member.id);
    await connect('user_group', a);
    const v = (await view())!;
    expect(v.users.has(member.id)).toBe(true);
    expect([...v.groupsOf(member.id)].sort()).toEqual([a, b].sort());
    await connect('user_group', a, 'remove');
    expect((await view())!.users.has(member.id as UserId)).toBe(false);
  });

  it('concurrent callers share one journal check and all see the latest change', async () => {
    const newcomer = await user('concurrent');
    await connect('user', newcomer.id);
    const views = await Promise.all(Array.from({ length: 20 }, () => view()));
    for (const v of views) expect(v!.users.has(newcomer.id)).toBe(true);
  });

  it('journal positions and head point at the latest rows', async () => {
    const head = await t.core.store.read.journal.head(t.ctx.orgId);
    const positions = await t.core.store.read.journal.positions(t.ctx.orgId, head - 2, 10);
    expect(positions.map((p) => p.seq)).toEqual([head - 1, head]);
    expect(positions[1]).toMatchObject({ objectType: 'association', operation: 'associate' });
  });
});

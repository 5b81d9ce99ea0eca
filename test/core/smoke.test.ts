import { afterAll, beforeAll, expect, it } from 'vitest';
import { ALL_ROWS } from '../../src/core/query.js';
import { describeEachStore } from '../support/stores.js';
import { openTestCore, type TestCore } from '../support/core.js';

describeEachStore('smoke', (kind) => {
  let t: TestCore;
  beforeAll(async () => {
    t = await openTestCore(kind);
  });
  afterAll(() => t.dispose());

  it('creates and lists users, groups, memberships', async () => {
    const { core, ctx } = t;
    const u = await core.users.create(ctx, { username: 'Ada', email: 'ada@example.com', firstname: 'Ada', password: 'CorrectHorse42x' });
    expect(u.unixUid).toBe(5000);
    const list = await core.users.list(ctx, { sort: [], page: { limit: 10, skip: 0 } });
    expect(list.total).toBe(1);
    const g = await core.groups.create(ctx, { name: 'Eng' });
    const sub = await core.groups.create(ctx, { name: 'Platform' });
    await core.groups.addMember(ctx, sub.id, 'user', u.id);
    await core.groups.addMember(ctx, g.id, 'user_group', sub.id);
    const of = await core.groups.groupsOfUser(ctx, u.id, ALL_ROWS);
    expect(of.items.map((r) => r.ref.id).sort()).toEqual([g.id, sub.id].sort());
    const m = await core.groups.membership(ctx, g.id, { sort: [], page: { limit: 10, skip: 0 } });
    expect(m.items[0]?.paths[0]?.length).toBe(2);
    const res = await core.authentication.verify(ctx.orgId, 'ada', 'CorrectHorse42x', 'api');
    expect(res.ok).toBe(true);
    const j = await core.journal.list(ctx, 0, 100);
    expect(j.length).toBeGreaterThan(4);
  });
});

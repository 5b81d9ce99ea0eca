import { beforeAll, describe, expect, it } from 'vitest';
import type { GroupId, OrgId } from '../../src/core/ids.js';
import type { User } from '../../src/core/model.js';
import type { ListQuery } from '../../src/core/query.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { insertUsers, makeApplication, makeGroup, makeUser, newOrg } from './fixtures.js';

describeEachStore('store: reach and unix ids', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  describe('reach.pageUsers', () => {
    let orgId: OrgId;
    let users: User[];
    let g1: GroupId;
    let g2: GroupId;
    let empty: GroupId;
    const appId = () => app.id;
    const app = makeApplication('' as OrgId);

    beforeAll(async () => {
      const org = await newOrg(store);
      orgId = org.id;
      Object.assign(app, { orgId });
      users = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'].map((username, i) => makeUser(orgId, { username, unixUid: 8000 + i, department: i % 2 ? 'odd' : 'even' }));
      const groups = [makeGroup(orgId), makeGroup(orgId), makeGroup(orgId)];
      [g1, g2, empty] = groups.map((g) => g.id) as [GroupId, GroupId, GroupId];
      const [u0, u1, u2, u3] = users as [User, User, User, User];
      await store.transaction(async (tx) => {
        await tx.users.insert(users);
        for (const g of groups) await tx.groups.insert(g);
        await tx.applications.insert(app);
        const add = (groupId: GroupId, memberId: string) => tx.groups.addMember(orgId, { groupId, memberType: 'user', memberId }, 'now');
        await add(g1, u0.id);
        await add(g1, u1.id);
        await add(g2, u1.id);
        await add(g2, u2.id);
        await tx.associations.add(orgId, { subjectType: 'user', subjectId: u3.id, resourceType: 'application', resourceId: app.id, attributes: null }, 'now');
        await tx.associations.add(orgId, { subjectType: 'user', subjectId: u0.id, resourceType: 'application', resourceId: app.id, attributes: null }, 'now');
        // An association of a group, or with another resource type, reaches no one directly.
        await tx.associations.add(orgId, { subjectType: 'user_group', subjectId: g2, resourceType: 'application', resourceId: app.id, attributes: null }, 'now');
        await tx.associations.add(orgId, { subjectType: 'user', subjectId: users[4]!.id, resourceType: 'ldap_server', resourceId: app.id, attributes: null }, 'now');
      });
      // The same ids in another org are never reached.
      const other = await newOrg(store);
      await insertUsers(store, makeUser(other.id, { username: 'u0' }));
    });

    const query = (q: Partial<ListQuery> = {}): ListQuery => ({ sort: [{ field: 'username', descending: false }], page: { limit: 100, skip: 0 }, ...q });
    const names = (r: { items: User[] }) => r.items.map((u) => u.username);

    it('reaches distinct users through groups and a direct association', async () => {
      const r = await store.read.reach.pageUsers(orgId, { groupIds: [g1, g2, empty], resource: { type: 'application', id: appId() } }, query());
      expect(r.total).toBe(4);
      expect(names(r)).toEqual(['u0', 'u1', 'u2', 'u3']);
    });

    it('reaches through groups alone or the resource alone', async () => {
      expect(names(await store.read.reach.pageUsers(orgId, { groupIds: [g2] }, query()))).toEqual(['u1', 'u2']);
      expect(names(await store.read.reach.pageUsers(orgId, { groupIds: [], resource: { type: 'application', id: appId() } }, query()))).toEqual(['u0', 'u3']);
      expect(await store.read.reach.pageUsers(orgId, { groupIds: [] }, query())).toEqual({ total: 0, items: [] });
      expect(await store.read.reach.pageUsers(orgId, { groupIds: [empty] }, query())).toEqual({ total: 0, items: [] });
    });

    it('filters, sorts and pages in the database', async () => {
      const source = { groupIds: [g1, g2], resource: { type: 'application' as const, id: appId() } };
      const odd = await store.read.reach.pageUsers(orgId, source, query({ filter: { kind: 'compare', field: 'department', op: 'eq', value: 'odd' } }));
      expect(names(odd)).toEqual(['u1', 'u3']);
      const page = await store.read.reach.pageUsers(orgId, source, query({ sort: [{ field: 'unixUid', descending: true }], page: { limit: 2, skip: 1 } }));
      expect(page.total).toBe(4);
      expect(names(page)).toEqual(['u2', 'u1']);
      const ids = users.slice(0, 4).map((u) => u.id).sort();
      const after = await store.read.reach.pageUsers(orgId, source, query({ sort: [], page: { limit: 10, skip: 0, after: ids[1] } }));
      expect(after.items.map((u) => u.id)).toEqual(ids.slice(2));
    });
  });

  describe('orgs.allocateUnixIds', () => {
    const allocate = (orgId: OrgId, count = 1) => store.transaction((tx) => tx.orgs.allocateUnixIds(orgId, count));

    it('starts at 5000 per org and hands out consecutive ranges', async () => {
      const org = await newOrg(store);
      expect(await allocate(org.id)).toBe(5000);
      expect(await allocate(org.id, 3)).toBe(5001);
      expect(await allocate(org.id)).toBe(5004);
      const other = await newOrg(store);
      expect(await allocate(other.id)).toBe(5000);
    });

    it('skips above a uid set by hand above the counter', async () => {
      const org = await newOrg(store);
      expect(await allocate(org.id)).toBe(5000);
      await insertUsers(store, makeUser(org.id, { unixUid: 9000 }));
      expect(await allocate(org.id)).toBe(9001);
      expect(await allocate(org.id)).toBe(9002);
    });

    it('skips a uid set by hand exactly at the counter', async () => {
      const org = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { unixUid: 5000 }));
      expect(await allocate(org.id)).toBe(5001);
    });

    it('ignores uids below the counter, and other orgs', async () => {
      const org = await newOrg(store);
      const other = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { unixUid: 1000 }), makeUser(other.id, { unixUid: 7000 }));
      expect(await allocate(org.id)).toBe(5000);
    });

    it('never hands out a uid in use while users are added by allocation and by hand', async () => {
      const org = await newOrg(store);
      const used = new Set<number>([4000]);
      await insertUsers(store, makeUser(org.id, { unixUid: 4000 }));
      for (let i = 0; i < 30; i++) {
        if (i % 6 === 0) {
          // By hand, right above the highest uid in use, or leaving a gap.
          const uid = Math.max(5000, ...used) + 1 + (i % 4);
          await insertUsers(store, makeUser(org.id, { unixUid: uid }));
          used.add(uid);
        }
        const uid = await store.transaction(async (tx) => {
          const first = await tx.orgs.allocateUnixIds(org.id, 1);
          await tx.users.insert([makeUser(org.id, { unixUid: first })]);
          return first;
        });
        expect(used.has(uid)).toBe(false);
        used.add(uid);
      }
      expect(used.size).toBe(36);
    });

    it('is atomic on its own, even outside a transaction', async () => {
      // Regression: concurrent calls through store.read used to hand out the same uid.
      const org = await newOrg(store);
      const firsts = await Promise.all(Array.from({ length: 10 }, () => store.read.orgs.allocateUnixIds(org.id, 2)));
      const handed = firsts.flatMap((f) => [f, f + 1]);
      expect(new Set(handed).size).toBe(20);
    });

    it('a rolled-back allocation is not kept', async () => {
      const org = await newOrg(store);
      await store
        .transaction(async (tx) => {
          await tx.orgs.allocateUnixIds(org.id, 10);
          throw new Error('undo');
        })
        .catch(() => undefined);
      expect(await allocate(org.id)).toBe(5000);
    });
  });
});

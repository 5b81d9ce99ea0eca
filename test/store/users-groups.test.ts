import { describe, expect, it } from 'vitest';
import type { GroupId, OrgId, UserId } from '../../src/core/ids.js';
import { ALL_ROWS } from '../../src/core/query.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { insertUsers, makeGroup, makeUser, newOrg } from './fixtures.js';

const byId = <T extends { id: string }>(items: T[]) => [...items].sort((a, b) => (a.id < b.id ? -1 : 1));

describeEachStore('store: organizations, users and groups', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  describe('organizations', () => {
    it('inserts, finds, updates, lists and counts', async () => {
      const before = await store.read.orgs.count();
      const org = await newOrg(store, { displayName: 'Acme' });
      expect(await store.read.orgs.count()).toBe(before + 1);
      expect(await store.read.orgs.findById(org.id)).toEqual(org);

      const changed = { ...org, displayName: 'Acme Corp', logoUrl: 'https://x/logo.png', updated: '2025-01-01T00:00:00.000Z' };
      changed.settings.passwordPolicy.minLength = 20;
      await store.transaction((tx) => tx.orgs.update(changed));
      expect(await store.read.orgs.findById(org.id)).toEqual(changed);

      const other = await newOrg(store, { displayName: 'Beta' });
      const listed = await store.read.orgs.list([org.id, other.id], { sort: [{ field: 'displayName', descending: false }], page: ALL_ROWS });
      expect(listed.total).toBe(2);
      expect(listed.items.map((o) => o.displayName)).toEqual(['Acme Corp', 'Beta']);
      expect(await store.read.orgs.list([], { sort: [], page: ALL_ROWS })).toEqual({ total: 0, items: [] });
      expect(await store.read.orgs.findById('ffffffffffffffffffffffff' as OrgId)).toBeUndefined();
    });
  });

  describe('users', () => {
    it('inserts a batch, with password hashes for some, and reads every field back', async () => {
      const org = await newOrg(store);
      const a = makeUser(org.id, {
        username: 'Ada',
        firstname: 'Ada',
        lastname: 'Lovelace',
        employeeIdentifier: 'E-1',
        phoneNumbers: [{ type: 'work', number: '+1 555' }],
        addresses: [{ type: 'home', locality: 'London' }],
        attributes: [{ name: 'team', value: 'analytical' }],
        sudo: true,
        passwordlessSudo: true,
        ldapBindingUser: true,
        passwordNeverExpires: true,
        externallyManaged: true,
        externalDn: 'CN=Ada,DC=x',
        externalSourceType: 'ad',
        accountLocked: true,
        accountLockedDate: '2024-02-02T00:00:00.000Z',
        badLoginAttempts: 3,
        lastFailedLogin: '2024-02-02T00:00:00.000Z',
        passwordDate: '2024-02-01T00:00:00.000Z',
        passwordExpirationDate: '2024-05-01T00:00:00.000Z',
        state: 'STAGED',
      });
      const b = makeUser(org.id, { manager: a.id });
      await store.transaction((tx) => tx.users.insert([a, b], new Map([[a.id, '$argon2id$fake']])));

      expect(await store.read.users.findById(org.id, a.id)).toEqual({ ...a, passwordSet: true });
      expect(await store.read.users.findById(org.id, b.id)).toEqual({ ...b, passwordSet: false });
      expect(await store.read.users.passwordHash(org.id, a.id)).toBe('$argon2id$fake');
      expect(await store.read.users.passwordHash(org.id, b.id)).toBeNull();
      expect(byId(await store.read.users.findByIds(org.id, [a.id, b.id, 'ffffffffffffffffffffffff' as UserId]))).toEqual(
        byId([{ ...a, passwordSet: true }, b]),
      );
      expect(await store.read.users.findByIds(org.id, [])).toEqual([]);
      expect(await store.read.users.directReports(org.id, a.id)).toEqual([b.id]);
    });

    it('an unfiltered total is the kept per-org count, and it matches a real count after inserts, deletes and rollbacks', async () => {
      const org = await newOrg(store);
      const other = await newOrg(store);
      const counted = async (orgId: OrgId) => {
        const unfiltered = (await store.read.users.list(orgId, { sort: [], page: { limit: 0, skip: 0 } })).total;
        // Any filter forces a real COUNT(*).
        const real = (await store.read.users.list(orgId, { filter: { kind: 'compare', field: 'sudo', op: 'ne', value: null }, sort: [], page: { limit: 0, skip: 0 } })).total;
        return [unfiltered, real];
      };
      const users = Array.from({ length: 7 }, () => makeUser(org.id));
      await store.transaction((tx) => tx.users.insert([...users, makeUser(other.id)]));
      await store.transaction(async (tx) => {
        await tx.users.delete(org.id, users[0]!.id);
        await tx.users.delete(org.id, users[0]!.id);
        await tx.users.delete(other.id, users[1]!.id);
      });
      await store
        .transaction(async (tx) => {
          await tx.users.insert([makeUser(org.id)]);
          throw new Error('undo');
        })
        .catch(() => undefined);
      expect(await counted(org.id)).toEqual([6, 6]);
      expect(await counted(other.id)).toEqual([1, 1]);
    });

    it('inserts more users in one call than SQLite binds parameters for', async () => {
      const org = await newOrg(store);
      const users = Array.from({ length: 450 }, (_, i) => makeUser(org.id, { username: `bulk${i}` }));
      await insertUsers(store, ...users);
      const listed = await store.read.users.list(org.id, { sort: [], page: { limit: 1, skip: 0 } });
      expect(listed.total).toBe(450);
      expect((await store.read.users.findByIds(org.id, users.map((u) => u.id))).length).toBe(450);
    });

    it('finds by username ignoring case, and only in its own org', async () => {
      const org = await newOrg(store);
      const other = await newOrg(store);
      const u = makeUser(org.id, { username: 'Grace.Hopper' });
      await insertUsers(store, u);
      expect((await store.read.users.findByUsername(org.id, 'GRACE.HOPPER'))?.id).toBe(u.id);
      expect((await store.read.users.findByUsername(org.id, 'grace.hopper'))?.id).toBe(u.id);
      expect(await store.read.users.findByUsername(other.id, 'grace.hopper')).toBeUndefined();
      expect(await store.read.users.findById(other.id, u.id)).toBeUndefined();
      expect((await store.read.users.list(other.id, { sort: [], page: ALL_ROWS })).total).toBe(0);
    });

    it('updates every mutable field and leaves the password hash alone', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await store.transaction((tx) => tx.users.insert([u], new Map([[u.id, 'h1']])));
      const changed = {
        ...u,
        username: 'renamed',
        email: 'renamed@example.org',
        department: 'R&D',
        employeeIdentifier: 'E-9',
        state: 'SUSPENDED' as const,
        attributes: [{ name: 'k', value: 'v' }],
        unixUid: 31_000,
        updated: '2025-01-01T00:00:00.000Z',
        passwordSet: true,
      };
      await store.transaction((tx) => tx.users.update(changed));
      expect(await store.read.users.findById(org.id, u.id)).toEqual(changed);
      expect(await store.read.users.passwordHash(org.id, u.id)).toBe('h1');
      expect((await store.read.users.findByUsername(org.id, 'RENAMED'))?.id).toBe(u.id);
    });

    it('deletes a user and its password history', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await insertUsers(store, u);
      await store.transaction((tx) => tx.users.setPasswordHash(org.id, u.id, 'h1', '2024-01-01T00:00:00.000Z'));
      await store.transaction((tx) => tx.users.setPasswordHash(org.id, u.id, 'h2', '2024-01-02T00:00:00.000Z'));
      await store.transaction((tx) => tx.users.delete(org.id, u.id));
      expect(await store.read.users.findById(org.id, u.id)).toBeUndefined();
      expect(await store.read.users.passwordHistory(org.id, u.id, 5)).toEqual([]);
    });

    it('keeps password history newest first, current hash included', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await insertUsers(store, u);
      expect(await store.read.users.passwordHistory(org.id, u.id, 5)).toEqual([]);
      for (let i = 1; i <= 4; i++) {
        await store.transaction((tx) => tx.users.setPasswordHash(org.id, u.id, `h${i}`, `2024-01-0${i}T00:00:00.000Z`));
      }
      expect(await store.read.users.passwordHash(org.id, u.id)).toBe('h4');
      expect(await store.read.users.passwordHistory(org.id, u.id, 5)).toEqual(['h4', 'h3', 'h2', 'h1']);
      expect(await store.read.users.passwordHistory(org.id, u.id, 2)).toEqual(['h4', 'h3']);
      expect(await store.read.users.passwordHistory(org.id, u.id, 0)).toEqual([]);
    });

    it('trims history beyond the largest policy window', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await insertUsers(store, u);
      for (let i = 0; i < 30; i++) {
        const at = new Date(Date.UTC(2024, 0, 1, 0, i)).toISOString();
        await store.transaction((tx) => tx.users.setPasswordHash(org.id, u.id, `h${i}`, at));
      }
      const history = await store.read.users.passwordHistory(org.id, u.id, 100);
      expect(history[0]).toBe('h29');
      expect(history.slice(0, 24)).toEqual(Array.from({ length: 24 }, (_, i) => `h${29 - i}`));
      expect(history.length).toBeLessThanOrEqual(25);
    });

    it('reports which values are taken, folded, ignoring the user itself', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id, { username: 'ÄDA', email: 'Ada@Example.COM', employeeIdentifier: 'E-7', unixUid: 7777 });
      await insertUsers(store, u);
      const probe = { usernames: ['äda', 'nobody'], emails: ['ada@example.com'], employeeIdentifiers: ['E-7', 'E-8'], unixUids: [7777, 7778] };
      const taken = await store.read.users.findTaken(org.id, probe);
      expect([...taken.usernames]).toEqual(['äda']);
      expect([...taken.emails]).toEqual(['ada@example.com']);
      expect([...taken.employeeIdentifiers]).toEqual(['E-7']);
      expect([...taken.unixUids]).toEqual([7777]);
      const self = await store.read.users.findTaken(org.id, probe, u.id);
      expect(self.usernames.size + self.emails.size + self.employeeIdentifiers.size + self.unixUids.size).toBe(0);
      const empty = await store.read.users.findTaken(org.id, {});
      expect(empty.usernames.size).toBe(0);
    });
  });

  describe('groups', () => {
    it('inserts, finds by id and by name ignoring case, updates and lists', async () => {
      const org = await newOrg(store);
      const g = makeGroup(org.id, { name: 'Engineering', description: 'd', email: 'eng@x.test', attributes: { posixGroups: [{ id: 1, name: 'eng' }] } });
      await store.transaction((tx) => tx.groups.insert(g));
      expect(await store.read.groups.findById(org.id, g.id)).toEqual(g);
      expect(await store.read.groups.findByName(org.id, 'ENGINEERING')).toEqual(g);
      expect(await store.read.groups.findByIds(org.id, [g.id])).toEqual([g]);
      expect(await store.read.groups.findByIds(org.id, [])).toEqual([]);

      const changed = { ...g, name: 'Eng', attributes: { sudo: { enabled: true } }, updated: '2025-01-01T00:00:00.000Z' };
      await store.transaction((tx) => tx.groups.update(changed));
      expect(await store.read.groups.findById(org.id, g.id)).toEqual(changed);
      expect(await store.read.groups.findByName(org.id, 'engineering')).toBeUndefined();
      const listed = await store.read.groups.list(org.id, { sort: [], page: ALL_ROWS });
      expect(listed).toEqual({ total: 1, items: [changed] });
      const other = await newOrg(store);
      expect(await store.read.groups.findById(other.id, g.id)).toBeUndefined();
    });

    it('adds, checks, lists, pages and removes members', async () => {
      const org = await newOrg(store);
      const g = makeGroup(org.id);
      const sub = makeGroup(org.id);
      const users = [makeUser(org.id), makeUser(org.id), makeUser(org.id)];
      await store.transaction(async (tx) => {
        await tx.groups.insert(g);
        await tx.groups.insert(sub);
        await tx.users.insert(users);
        for (const u of users) await tx.groups.addMember(org.id, { groupId: g.id, memberType: 'user', memberId: u.id }, 'now');
        await tx.groups.addMember(org.id, { groupId: g.id, memberType: 'user_group', memberId: sub.id }, 'now');
      });
      const first = { groupId: g.id, memberType: 'user' as const, memberId: users[0]!.id };
      expect(await store.read.groups.hasMember(org.id, first)).toBe(true);
      expect(await store.read.groups.hasMember(org.id, { ...first, memberType: 'user_group' })).toBe(false);

      const all = await store.read.groups.listMembers(org.id, g.id, ALL_ROWS);
      expect(all.total).toBe(4);
      const expected = [
        ...[...users].sort((a, b) => (a.id < b.id ? -1 : 1)).map((u) => ({ groupId: g.id, memberType: 'user', memberId: u.id })),
        { groupId: g.id, memberType: 'user_group', memberId: sub.id },
      ];
      expect(all.items).toEqual(expected);
      const page = await store.read.groups.listMembers(org.id, g.id, { limit: 2, skip: 1 });
      expect(page).toEqual({ total: 4, items: expected.slice(1, 3) });

      expect(await store.transaction((tx) => tx.groups.removeMember(org.id, first))).toBe(true);
      expect(await store.transaction((tx) => tx.groups.removeMember(org.id, first))).toBe(false);
      expect(await store.read.groups.hasMember(org.id, first)).toBe(false);
    });

    it('walks one step up and down the graph, and finds direct user memberships', async () => {
      const org = await newOrg(store);
      const [top, mid, leaf, other] = [makeGroup(org.id), makeGroup(org.id), makeGroup(org.id), makeGroup(org.id)];
      const [u, v] = [makeUser(org.id), makeUser(org.id)];
      await store.transaction(async (tx) => {
        for (const g of [top, mid, leaf, other]) await tx.groups.insert(g);
        await tx.users.insert([u, v]);
        await tx.groups.addMember(org.id, { groupId: top.id, memberType: 'user_group', memberId: mid.id }, 'now');
        await tx.groups.addMember(org.id, { groupId: mid.id, memberType: 'user_group', memberId: leaf.id }, 'now');
        await tx.groups.addMember(org.id, { groupId: other.id, memberType: 'user_group', memberId: leaf.id }, 'now');
        await tx.groups.addMember(org.id, { groupId: leaf.id, memberType: 'user', memberId: u.id }, 'now');
        await tx.groups.addMember(org.id, { groupId: mid.id, memberType: 'user', memberId: u.id }, 'now');
        await tx.groups.addMember(org.id, { groupId: top.id, memberType: 'user', memberId: v.id }, 'now');
      });
      const ids = (ms: { groupId: string }[]) => ms.map((m) => m.groupId).sort();
      expect(ids(await store.read.groups.parentsOf(org.id, 'user_group', [leaf.id]))).toEqual([mid.id, other.id].sort());
      expect(ids(await store.read.groups.parentsOf(org.id, 'user', [u.id]))).toEqual([leaf.id, mid.id].sort());
      expect(await store.read.groups.parentsOf(org.id, 'user', [])).toEqual([]);
      // A group id never matches a user membership of the same id.
      expect(await store.read.groups.parentsOf(org.id, 'user', [leaf.id])).toEqual([]);

      const down = await store.read.groups.childGroupsOf(org.id, [top.id, mid.id]);
      expect(down.map((m) => `${m.groupId}>${m.memberId}`).sort()).toEqual([`${top.id}>${mid.id}`, `${mid.id}>${leaf.id}`].sort());
      expect(down.every((m) => m.memberType === 'user_group')).toBe(true);

      const direct = await store.read.groups.userMemberships(org.id, [top.id, mid.id], [u.id, v.id]);
      expect(direct.map((m) => `${m.groupId}>${m.memberId}`).sort()).toEqual([`${mid.id}>${u.id}`, `${top.id}>${v.id}`].sort());
      expect(await store.read.groups.userMemberships(org.id, [], [u.id])).toEqual([]);
      expect(await store.read.groups.userMemberships(org.id, [top.id], [])).toEqual([]);

      const otherOrg = await newOrg(store);
      expect(await store.read.groups.parentsOf(otherOrg.id, 'user', [u.id])).toEqual([]);
    });

    it('removes an object from every group, and a deleted group takes its member list', async () => {
      const org = await newOrg(store);
      const [a, b] = [makeGroup(org.id), makeGroup(org.id)];
      const u = makeUser(org.id);
      await store.transaction(async (tx) => {
        await tx.groups.insert(a);
        await tx.groups.insert(b);
        await tx.users.insert([u]);
        await tx.groups.addMember(org.id, { groupId: a.id, memberType: 'user', memberId: u.id }, 'now');
        await tx.groups.addMember(org.id, { groupId: b.id, memberType: 'user', memberId: u.id }, 'now');
      });
      await store.transaction((tx) => tx.groups.removeFromAllGroups(org.id, 'user', u.id));
      expect(await store.read.groups.parentsOf(org.id, 'user', [u.id])).toEqual([]);

      await store.transaction((tx) => tx.groups.addMember(org.id, { groupId: a.id, memberType: 'user', memberId: u.id }, 'now'));
      await store.transaction((tx) => tx.groups.delete(org.id, a.id));
      expect(await store.read.groups.findById(org.id, a.id)).toBeUndefined();
      expect(await store.read.groups.parentsOf(org.id, 'user', [u.id])).toEqual([]);
      expect(await store.read.groups.listMembers(org.id, a.id as GroupId, ALL_ROWS)).toEqual({ total: 0, items: [] });
      expect(await store.read.groups.findById(org.id, b.id)).toBeDefined();
    });
  });
});

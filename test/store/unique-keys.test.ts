import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DirectoryError } from '../../src/core/errors.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { expectConflict, insertUsers, makeAdmin, makeApiKey, makeGroup, makeUser, newOrg, rejection } from './fixtures.js';

/** Pairs that fold to the same key: plain case, German ß, precomposed vs decomposed umlaut. */
const SAME_KEY: [string, string][] = [
  ['Ada', 'ADA'],
  ['ÄDA', 'äda'],
  ['STRASSE', 'straße'],
  ['A\u0308da', 'ÄDA'],
  ['ǅemal', 'ǆemal'],
];

describeEachStore('store: unique keys', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  describe('users', () => {
    it.each(SAME_KEY)('username %s collides with %s', async (first, second) => {
      const org = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { username: first }));
      await expectConflict(insertUsers(store, makeUser(org.id, { username: second })), 'USERNAME_TAKEN');
    });

    it.each(SAME_KEY)('email %s@x.test collides with %s@X.TEST', async (first, second) => {
      const org = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { email: `${first}@x.test` }));
      await expectConflict(insertUsers(store, makeUser(org.id, { email: `${second}@X.TEST` })), 'EMAIL_TAKEN');
    });

    it('names the field in the error details', async () => {
      const org = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { username: 'dup' }));
      const e = (await rejection(insertUsers(store, makeUser(org.id, { username: 'DUP' })))) as DirectoryError;
      expect(e.details).toEqual([expect.objectContaining({ field: 'username', reason: 'USERNAME_TAKEN' })]);
    });

    it('distinct names that only look alike do not collide', async () => {
      const org = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { username: 'ada' }), makeUser(org.id, { username: 'adä' }), makeUser(org.id, { username: 'ada_' }));
      const total = (await store.read.users.list(org.id, { sort: [], page: { limit: 10, skip: 0 } })).total;
      expect(total).toBe(3);
    });

    it('the same username, email, employee id and uid are free in another org', async () => {
      const [a, b] = [await newOrg(store), await newOrg(store)];
      const fields = { username: 'same', email: 'same@x.test', employeeIdentifier: 'E1', unixUid: 6000 };
      await insertUsers(store, makeUser(a.id, fields));
      await insertUsers(store, makeUser(b.id, fields));
      expect((await store.read.users.findByUsername(b.id, 'SAME'))?.orgId).toBe(b.id);
    });

    it('employeeIdentifier is unique when set; null and empty never collide', async () => {
      const org = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { employeeIdentifier: 'E-100' }));
      await expectConflict(insertUsers(store, makeUser(org.id, { employeeIdentifier: 'E-100' })), 'EMPLOYEE_IDENTIFIER_TAKEN');
      await insertUsers(
        store,
        makeUser(org.id, { employeeIdentifier: null }),
        makeUser(org.id, { employeeIdentifier: null }),
        makeUser(org.id, { employeeIdentifier: '' }),
        makeUser(org.id, { employeeIdentifier: '' }),
      );
      const listed = await store.read.users.list(org.id, { sort: [], page: { limit: 10, skip: 0 } });
      expect(listed.total).toBe(5);
      expect(listed.items.filter((u) => u.employeeIdentifier === null).length).toBe(4);
    });

    it('unix_uid is unique', async () => {
      const org = await newOrg(store);
      await insertUsers(store, makeUser(org.id, { unixUid: 7000 }));
      await expectConflict(insertUsers(store, makeUser(org.id, { unixUid: 7000 })), 'UNIX_UID_TAKEN');
    });

    it('an update onto a taken value is a conflict too', async () => {
      const org = await newOrg(store);
      const [a, b] = [makeUser(org.id, { username: 'first' }), makeUser(org.id, { username: 'second' })];
      await insertUsers(store, a, b);
      await expectConflict(store.transaction((tx) => tx.users.update({ ...b, username: 'FIRST' })), 'USERNAME_TAKEN');
      await expectConflict(store.transaction((tx) => tx.users.update({ ...b, email: a.email.toUpperCase() })), 'EMAIL_TAKEN');
      await expectConflict(store.transaction((tx) => tx.users.update({ ...b, unixUid: a.unixUid })), 'UNIX_UID_TAKEN');
      // Changing only the case of one's own name is fine.
      await store.transaction((tx) => tx.users.update({ ...b, username: 'SECOND' }));
      expect((await store.read.users.findById(org.id, b.id))?.username).toBe('SECOND');
    });

    it('two users colliding within one batch fail the batch', async () => {
      const org = await newOrg(store);
      await expectConflict(insertUsers(store, makeUser(org.id, { username: 'twin' }), makeUser(org.id, { username: 'Twin' })), 'USERNAME_TAKEN');
      expect((await store.read.users.list(org.id, { sort: [], page: { limit: 10, skip: 0 } })).total).toBe(0);
    });

    it('a conflict through the read repositories is translated as well', async () => {
      const org = await newOrg(store);
      await store.read.users.insert([makeUser(org.id, { username: 'outside' })]);
      await expectConflict(store.read.users.insert([makeUser(org.id, { username: 'OUTSIDE' })]), 'USERNAME_TAKEN');
    });
  });

  describe('groups, administrators, keys and other rows', () => {
    it.each(SAME_KEY)('group name %s collides with %s', async (first, second) => {
      const org = await newOrg(store);
      await store.transaction((tx) => tx.groups.insert(makeGroup(org.id, { name: first })));
      await expectConflict(store.transaction((tx) => tx.groups.insert(makeGroup(org.id, { name: second }))), 'GROUP_NAME_TAKEN');
    });

    it('group names are per org, and renaming onto a taken name conflicts', async () => {
      const [a, b] = [await newOrg(store), await newOrg(store)];
      await store.transaction((tx) => tx.groups.insert(makeGroup(a.id, { name: 'Eng' })));
      await store.transaction((tx) => tx.groups.insert(makeGroup(b.id, { name: 'ENG' })));
      const other = makeGroup(a.id, { name: 'Ops' });
      await store.transaction((tx) => tx.groups.insert(other));
      await expectConflict(store.transaction((tx) => tx.groups.update({ ...other, name: 'eng' })), 'GROUP_NAME_TAKEN');
    });

    it.each(SAME_KEY)('admin email %s@x.test collides with %s@x.test, across orgs', async (first, second) => {
      const [a, b] = [await newOrg(store), await newOrg(store)];
      const tag = randomBytes(3).toString('hex');
      await store.transaction((tx) => tx.admins.insert(makeAdmin([a.id], { email: `${first}.${tag}@x.test` }), null));
      await expectConflict(
        store.transaction((tx) => tx.admins.insert(makeAdmin([b.id], { email: `${second}.${tag}@X.test` }), null)),
        'ADMIN_EMAIL_TAKEN',
      );
    });

    it('an API key secret hash is unique', async () => {
      const org = await newOrg(store);
      const admin = makeAdmin([org.id]);
      const hash = randomBytes(32).toString('hex');
      await store.transaction(async (tx) => {
        await tx.admins.insert(admin, null);
        await tx.apiKeys.insert(makeApiKey(admin.id), hash);
      });
      await expectConflict(store.transaction((tx) => tx.apiKeys.insert(makeApiKey(admin.id), hash)), 'API_KEY_COLLISION');
    });

    it('a duplicate primary key is a generic conflict on both engines', async () => {
      const org = await newOrg(store);
      const g = makeGroup(org.id);
      const u = makeUser(org.id);
      const m = { groupId: g.id, memberType: 'user' as const, memberId: u.id };
      await store.transaction(async (tx) => {
        await tx.groups.insert(g);
        await tx.users.insert([u]);
        await tx.groups.addMember(org.id, m, 'now');
      });
      await expectConflict(store.transaction((tx) => tx.groups.addMember(org.id, m, 'now')), 'ALREADY_EXISTS');
      await expectConflict(store.transaction((tx) => tx.groups.insert({ ...g, name: 'other name' })), 'ALREADY_EXISTS');
    });

    it('other constraint failures are not reported as conflicts', async () => {
      const org = await newOrg(store);
      const e = await rejection(store.transaction((tx) => tx.users.insert([makeUser(org.id, { username: null as unknown as string })])));
      expect(e).not.toBeInstanceOf(DirectoryError);
    });
  });
});

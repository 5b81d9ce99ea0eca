import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AdminId, ApiKeyId } from '../../src/core/ids.js';
import type { Association } from '../../src/core/model.js';
import { ALL_ROWS } from '../../src/core/query.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { makeAdmin, makeApiKey, makeApplication, makeDirectory, makeGroup, makeUser, newOrg } from './fixtures.js';

const assoc = (subjectType: Association['subjectType'], subjectId: string, resourceType: Association['resourceType'], resourceId: string, attributes: Association['attributes'] = null): Association => ({
  subjectType,
  subjectId,
  resourceType,
  resourceId,
  attributes,
});

describeEachStore('store: associations, administrators, API keys, applications, directories, meta', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  describe('associations', () => {
    it('adds, finds, lists by subject and by resource, and removes', async () => {
      const org = await newOrg(store);
      const app = makeApplication(org.id);
      const dir = makeDirectory(org.id);
      const u = makeUser(org.id);
      const g = makeGroup(org.id);
      const edges = [
        assoc('user', u.id, 'application', app.id, { sudo: { enabled: true, withoutPassword: false } }),
        assoc('user', u.id, 'ldap_server', dir.id),
        assoc('user_group', g.id, 'application', app.id),
      ];
      await store.transaction(async (tx) => {
        await tx.applications.insert(app);
        await tx.directories.insert(dir);
        await tx.users.insert([u]);
        await tx.groups.insert(g);
        for (const e of edges) await tx.associations.add(org.id, e, '2024-01-01T00:00:00.000Z');
      });
      expect(await store.read.associations.find(org.id, edges[0]!)).toEqual(edges[0]);
      expect(await store.read.associations.find(org.id, { ...edges[0]!, resourceType: 'radius_server' })).toBeUndefined();

      expect(await store.read.associations.ofSubjects(org.id, 'user', [u.id], ['application', 'ldap_server'])).toEqual([edges[0], edges[1]]);
      expect(await store.read.associations.ofSubjects(org.id, 'user', [u.id], ['ldap_server'])).toEqual([edges[1]]);
      expect(await store.read.associations.ofSubjects(org.id, 'user_group', [g.id, u.id], ['application'])).toEqual([edges[2]]);
      expect(await store.read.associations.ofSubjects(org.id, 'user', [], ['application'])).toEqual([]);
      expect(await store.read.associations.ofSubjects(org.id, 'user', [u.id], [])).toEqual([]);

      expect(await store.read.associations.ofResource(org.id, 'application', app.id, ['user', 'user_group'])).toEqual([edges[0], edges[2]]);
      expect(await store.read.associations.ofResource(org.id, 'application', app.id, ['user_group'])).toEqual([edges[2]]);
      expect(await store.read.associations.ofResource(org.id, 'application', app.id, [])).toEqual([]);

      const other = await newOrg(store);
      expect(await store.read.associations.ofResource(other.id, 'application', app.id, ['user', 'user_group'])).toEqual([]);

      expect(await store.transaction((tx) => tx.associations.remove(org.id, edges[1]!))).toBe(true);
      expect(await store.transaction((tx) => tx.associations.remove(org.id, edges[1]!))).toBe(false);
      expect(await store.read.associations.find(org.id, edges[1]!)).toBeUndefined();

      await store.transaction((tx) => tx.associations.removeAllOfSubject(org.id, 'user', u.id));
      expect(await store.read.associations.ofResource(org.id, 'application', app.id, ['user', 'user_group'])).toEqual([edges[2]]);
      await store.transaction((tx) => tx.associations.removeAllOfResource(org.id, 'application', app.id));
      expect(await store.read.associations.ofResource(org.id, 'application', app.id, ['user', 'user_group'])).toEqual([]);
    });
  });

  describe('administrators', () => {
    it('inserts with and without a password, links orgs, finds by id and by email ignoring case', async () => {
      const org = await newOrg(store);
      const second = await newOrg(store);
      const admin = makeAdmin([org.id], { email: 'Root@Example.test', firstname: 'R', roleName: 'Administrator with Billing', enableMultiFactor: true });
      const plain = makeAdmin([org.id]);
      await store.transaction(async (tx) => {
        await tx.admins.insert(admin, '$argon2id$admin');
        await tx.admins.linkOrg(admin.id, org.id);
        await tx.admins.insert(plain, null);
        await tx.admins.linkOrg(plain.id, org.id);
      });
      expect(await store.read.admins.findById(admin.id)).toEqual({ ...admin, passwordSet: true });
      expect(await store.read.admins.findById(plain.id)).toEqual(plain);
      expect(await store.read.admins.findByEmail('root@example.TEST')).toEqual({ admin: { ...admin, passwordSet: true }, passwordHash: '$argon2id$admin' });
      expect(await store.read.admins.findByEmail('nobody@example.test')).toBeUndefined();

      // Linking twice is harmless; a second org is listed after the first.
      await store.transaction(async (tx) => {
        await tx.admins.linkOrg(admin.id, org.id);
        await tx.admins.linkOrg(admin.id, second.id);
      });
      expect((await store.read.admins.findById(admin.id))?.orgIds).toEqual([org.id, second.id]);

      const listed = await store.read.admins.list(org.id, { sort: [{ field: 'email', descending: false }], page: ALL_ROWS });
      expect(listed.total).toBe(2);
      expect(listed.items.map((a) => a.id).sort()).toEqual([admin.id, plain.id].sort());
      expect((await store.read.admins.list(second.id, { sort: [], page: ALL_ROWS })).items.map((a) => a.id)).toEqual([admin.id]);
    });

    it('updates, sets a password hash, and deletes with its keys and org links', async () => {
      const org = await newOrg(store);
      const admin = makeAdmin([org.id]);
      const key = makeApiKey(admin.id);
      const hash = randomBytes(16).toString('hex');
      await store.transaction(async (tx) => {
        await tx.admins.insert(admin, null);
        await tx.admins.linkOrg(admin.id, org.id);
        await tx.apiKeys.insert(key, hash);
      });
      const changed = { ...admin, email: 'new@example.test', roleName: 'Read Only' as const, suspended: true, updated: '2025-01-01T00:00:00.000Z' };
      await store.transaction((tx) => tx.admins.update(changed));
      expect(await store.read.admins.findById(admin.id)).toEqual(changed);
      expect((await store.read.admins.findByEmail('NEW@example.test'))?.admin.id).toBe(admin.id);

      await store.transaction((tx) => tx.admins.setPasswordHash(admin.id, 'h'));
      expect(await store.read.admins.findByEmail('new@example.test')).toEqual({ admin: { ...changed, passwordSet: true }, passwordHash: 'h' });

      await store.transaction((tx) => tx.admins.delete(admin.id));
      expect(await store.read.admins.findById(admin.id)).toBeUndefined();
      expect(await store.read.apiKeys.findById(key.id)).toBeUndefined();
      expect(await store.read.apiKeys.findBySecretHash(hash)).toBeUndefined();
      expect((await store.read.admins.list(org.id, { sort: [], page: ALL_ROWS })).total).toBe(0);
    });
  });

  describe('API keys', () => {
    it('inserts, finds by secret hash with the owner, lists by admin and revokes once', async () => {
      const org = await newOrg(store);
      const admin = makeAdmin([org.id]);
      const k1 = makeApiKey(admin.id, { name: 'one', readOnly: true, expiresAt: '2030-01-01T00:00:00.000Z', created: '2024-01-01T00:00:00.000Z' });
      const k2 = makeApiKey(admin.id, { name: 'two', created: '2024-01-02T00:00:00.000Z' });
      const [h1, h2] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
      await store.transaction(async (tx) => {
        await tx.admins.insert(admin, null);
        await tx.admins.linkOrg(admin.id, org.id);
        await tx.apiKeys.insert(k1, h1);
        await tx.apiKeys.insert(k2, h2);
      });
      expect(await store.read.apiKeys.findBySecretHash(h1)).toEqual({ key: k1, admin });
      expect(await store.read.apiKeys.findBySecretHash('0'.repeat(64))).toBeUndefined();
      expect(await store.read.apiKeys.findById(k2.id)).toEqual(k2);
      expect(await store.read.apiKeys.findById('ffffffffffffffffffffffff' as ApiKeyId)).toBeUndefined();
      expect(await store.read.apiKeys.listByAdmin(admin.id)).toEqual([k1, k2]);
      expect(await store.read.apiKeys.listByAdmin('ffffffffffffffffffffffff' as AdminId)).toEqual([]);

      await store.transaction((tx) => tx.apiKeys.revoke(k1.id, '2024-03-01T00:00:00.000Z'));
      await store.transaction((tx) => tx.apiKeys.revoke(k1.id, '2024-04-01T00:00:00.000Z'));
      expect((await store.read.apiKeys.findById(k1.id))?.revokedAt).toBe('2024-03-01T00:00:00.000Z');
    });

    it('touch records use at most once per interval (regression: a use exactly notBefore old was kept)', async () => {
      const org = await newOrg(store);
      const admin = makeAdmin([org.id]);
      const key = makeApiKey(admin.id);
      await store.transaction(async (tx) => {
        await tx.admins.insert(admin, null);
        await tx.apiKeys.insert(key, randomBytes(16).toString('hex'));
      });
      const lastUsed = async () => (await store.read.apiKeys.findById(key.id))?.lastUsedAt;
      await store.read.apiKeys.touch(key.id, '2024-01-01T00:00:00.000Z', '2023-12-31T23:59:00.000Z');
      expect(await lastUsed()).toBe('2024-01-01T00:00:00.000Z');
      // The recorded use (00:00:00) is newer than notBefore (23:59:30): no write.
      await store.read.apiKeys.touch(key.id, '2024-01-01T00:00:30.000Z', '2023-12-31T23:59:30.000Z');
      expect(await lastUsed()).toBe('2024-01-01T00:00:00.000Z');
      // A recorded use equal to notBefore is not newer: it is replaced.
      await store.read.apiKeys.touch(key.id, '2024-01-01T00:01:00.000Z', '2024-01-01T00:00:00.000Z');
      expect(await lastUsed()).toBe('2024-01-01T00:01:00.000Z');
      await store.read.apiKeys.touch(key.id, '2024-01-01T00:02:00.000Z', '2024-01-01T00:00:59.999Z');
      expect(await lastUsed()).toBe('2024-01-01T00:01:00.000Z');
    });
  });

  describe('applications and directories', () => {
    it('applications: insert, find, update, list, delete', async () => {
      const org = await newOrg(store);
      const app = makeApplication(org.id, {
        name: 'saml-app',
        active: false,
        beta: true,
        color: '#202D38',
        config: { idpPrivateKey: { value: 'enc:v1:abc' }, acsUrl: { value: 'https://sp/acs' } },
        sso: { type: 'saml' },
      });
      await store.transaction((tx) => tx.applications.insert(app));
      expect(await store.read.applications.findById(org.id, app.id)).toEqual(app);
      expect(await store.read.applications.findByIds(org.id, [app.id])).toEqual([app]);
      expect(await store.read.applications.findByIds(org.id, [])).toEqual([]);
      const changed = { ...app, displayLabel: 'Label', active: true, config: { x: [1, 2] }, updated: '2025-01-01T00:00:00.000Z' };
      await store.transaction((tx) => tx.applications.update(changed));
      expect(await store.read.applications.findById(org.id, app.id)).toEqual(changed);
      expect(await store.read.applications.list(org.id, { sort: [], page: ALL_ROWS })).toEqual({ total: 1, items: [changed] });
      const other = await newOrg(store);
      expect(await store.read.applications.findById(other.id, app.id)).toBeUndefined();
      await store.transaction((tx) => tx.applications.delete(org.id, app.id));
      expect(await store.read.applications.findById(org.id, app.id)).toBeUndefined();
    });

    it('directories: insert, find, update, list by type, delete', async () => {
      const org = await newOrg(store);
      const ldap = makeDirectory(org.id);
      const ad = makeDirectory(org.id, { type: 'active_directory', name: 'corp.example', config: { domain: 'corp.example' } });
      await store.transaction(async (tx) => {
        await tx.directories.insert(ldap);
        await tx.directories.insert(ad);
      });
      expect(await store.read.directories.findById(org.id, ad.id)).toEqual(ad);
      expect((await store.read.directories.findByIds(org.id, [ldap.id, ad.id])).length).toBe(2);
      const changed = { ...ad, name: 'corp2', config: { domain: 'corp2.example', nested: { a: 1 } } };
      await store.transaction((tx) => tx.directories.update(changed));
      expect(await store.read.directories.findById(org.id, ad.id)).toEqual(changed);
      const onlyAd = await store.read.directories.list(org.id, {
        filter: { kind: 'compare', field: 'type', op: 'eq', value: 'active_directory' },
        sort: [],
        page: ALL_ROWS,
      });
      expect(onlyAd).toEqual({ total: 1, items: [changed] });
      await store.transaction((tx) => tx.directories.delete(org.id, ad.id));
      expect(await store.read.directories.findById(org.id, ad.id)).toBeUndefined();
      expect(await store.read.directories.findById(org.id, ldap.id)).toEqual(ldap);
    });
  });

  describe('meta', () => {
    it('setIfAbsent keeps the first value and returns what is stored', async () => {
      const key = `check-${randomBytes(4).toString('hex')}`;
      expect(await store.read.meta.get(key)).toBeUndefined();
      expect(await store.read.meta.setIfAbsent(key, 'first')).toBe('first');
      expect(await store.read.meta.setIfAbsent(key, 'second')).toBe('first');
      expect(await store.transaction((tx) => tx.meta.setIfAbsent(key, 'third'))).toBe('first');
      expect(await store.read.meta.get(key)).toBe('first');
    });

    it('concurrent setIfAbsent calls agree on one value', async () => {
      const key = `race-${randomBytes(4).toString('hex')}`;
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.read.meta.setIfAbsent(key, `v${i}`)));
      expect(new Set(results).size).toBe(1);
      expect(await store.read.meta.get(key)).toBe(results[0]);
    });
  });
});

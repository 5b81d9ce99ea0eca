import { describe, expect, it } from 'vitest';
import { newId, type OrgId, type RadiusServerId, type UserId } from '../../src/core/ids.js';
import type { TotpEnrollment } from '../../src/core/model.js';
import { DEFAULT_SETTINGS } from '../../src/core/services/organizations.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { expectConflict, insertUsers, makeRadiusServer, makeUser, newOrg } from './fixtures.js';

const T1 = '2024-02-01T00:00:00.000Z';
const T2 = '2024-02-02T00:00:00.000Z';

const enrollment = (orgId: OrgId, userId: UserId, overrides: Partial<TotpEnrollment> = {}): TotpEnrollment => ({
  orgId,
  userId,
  confirmed: false,
  lastUsedStep: 0,
  created: T1,
  updated: T1,
  ...overrides,
});

describeEachStore('store: RADIUS servers and credentials', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  describe('RADIUS servers', () => {
    it('inserts, reads, updates with and without a new secret, lists and deletes; reads never carry the secret', async () => {
      const org = await newOrg(store);
      const server = makeRadiusServer(org.id, { name: 'Office Wi-Fi', networkSourceIps: ['10.0.0.0/8', '2001:db8::/32'], tagNames: ['wifi'], mfa: 'ENABLED' });
      await store.transaction((tx) => tx.radiusServers.insert(server, 'enc:v1:k:first'));
      expect(await store.read.radiusServers.findById(org.id, server.id)).toEqual(server);
      expect(await store.read.radiusServers.findByIds(org.id, [server.id, newId<RadiusServerId>()])).toEqual([server]);
      expect(await store.read.radiusServers.findByIds(org.id, [])).toEqual([]);
      const sealedOf = async () => (await store.read.radiusServers.all()).find((s) => s.server.id === server.id)?.sealedSecret;
      expect(await sealedOf()).toBe('enc:v1:k:first');

      const renamed = { ...server, name: 'HQ', mfa: 'REQUIRED' as const, updated: T1 };
      await store.transaction((tx) => tx.radiusServers.update(renamed));
      expect(await store.read.radiusServers.findById(org.id, server.id)).toEqual(renamed);
      expect(await sealedOf()).toBe('enc:v1:k:first');
      await store.transaction((tx) => tx.radiusServers.update(renamed, 'enc:v1:k:second'));
      expect(await sealedOf()).toBe('enc:v1:k:second');

      for (const read of [await store.read.radiusServers.findById(org.id, server.id), (await store.read.radiusServers.list(org.id, { sort: [], page: { limit: 10, skip: 0 } })).items[0]]) {
        expect(JSON.stringify(read)).not.toContain('enc:v1');
      }

      await store.transaction((tx) => tx.radiusServers.delete(org.id, server.id));
      expect(await store.read.radiusServers.findById(org.id, server.id)).toBeUndefined();
      expect(await sealedOf()).toBeUndefined();
    });

    it('lists with filters and sorts, per org; all() spans every org', async () => {
      const [org, other] = [await newOrg(store), await newOrg(store)];
      const b = makeRadiusServer(org.id, { name: 'beta', networkSourceIps: ['198.51.100.2'], mfa: 'ENABLED' });
      const a = makeRadiusServer(org.id, { name: 'Alpha', networkSourceIps: ['198.51.100.1'] });
      const c = makeRadiusServer(other.id, { name: 'gamma', networkSourceIps: ['198.51.100.3'] });
      await store.transaction(async (tx) => {
        for (const s of [b, a, c]) await tx.radiusServers.insert(s, 'enc:v1:k:x');
      });
      const list = await store.read.radiusServers.list(org.id, { sort: [{ field: 'name', descending: false }], page: { limit: 10, skip: 0 } });
      expect(list).toEqual({ total: 2, items: [a, b] });
      const filtered = await store.read.radiusServers.list(org.id, {
        filter: { kind: 'compare', field: 'name', op: 'eq', value: 'ALPHA' },
        sort: [],
        page: { limit: 10, skip: 0 },
      });
      expect(filtered.items).toEqual([a]);
      const byMfa = await store.read.radiusServers.list(org.id, { filter: { kind: 'compare', field: 'mfa', op: 'eq', value: 'ENABLED' }, sort: [], page: { limit: 10, skip: 0 } });
      expect(byMfa.items).toEqual([b]);
      const ids = (await store.read.radiusServers.all()).map((s) => s.server.id);
      expect(ids).toEqual(expect.arrayContaining([a.id, b.id, c.id]));
      expect(await store.read.radiusServers.findById(other.id, a.id)).toBeUndefined();
    });

    it('names are unique per org, ignoring case; another org may reuse one', async () => {
      const [org, other] = [await newOrg(store), await newOrg(store)];
      await store.transaction((tx) => tx.radiusServers.insert(makeRadiusServer(org.id, { name: 'Office' }), 'enc:v1:k:x'));
      await expectConflict(
        store.transaction((tx) => tx.radiusServers.insert(makeRadiusServer(org.id, { name: 'OFFICE' }), 'enc:v1:k:x')),
        'RADIUS_SERVER_NAME_TAKEN',
      );
      await store.transaction((tx) => tx.radiusServers.insert(makeRadiusServer(other.id, { name: 'office' }), 'enc:v1:k:x'));
    });

    it('version() changes on every create, update and delete in any org, and not on reads or rolled-back writes', async () => {
      const [org, other] = [await newOrg(store), await newOrg(store)];
      const seen = new Set([await store.read.radiusServers.version()]);
      const expectNewVersion = async () => {
        const v = await store.read.radiusServers.version();
        expect(seen.has(v), `version ${v} seen before`).toBe(false);
        seen.add(v);
      };
      const s = makeRadiusServer(org.id);
      await store.transaction((tx) => tx.radiusServers.insert(s, 'enc:v1:k:x'));
      await expectNewVersion();
      await store.transaction((tx) => tx.radiusServers.insert(makeRadiusServer(other.id), 'enc:v1:k:x'));
      await expectNewVersion();
      await store.transaction((tx) => tx.radiusServers.update({ ...s, name: 'renamed' }));
      await expectNewVersion();
      const unchanged = await store.read.radiusServers.version();
      await store.read.radiusServers.list(org.id, { sort: [], page: { limit: 10, skip: 0 } });
      await store
        .transaction(async (tx) => {
          await tx.radiusServers.delete(org.id, s.id);
          throw new Error('roll back');
        })
        .catch(() => undefined);
      expect(await store.read.radiusServers.version()).toBe(unchanged);
      await store.transaction((tx) => tx.radiusServers.delete(org.id, s.id));
      await expectNewVersion();
    });
  });

  describe('TOTP', () => {
    it('puts, finds, confirms once, replaces as unconfirmed, deletes', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await insertUsers(store, u);
      expect(await store.read.credentials.findTotp(org.id, u.id)).toBeUndefined();
      await store.transaction((tx) => tx.credentials.putTotp(enrollment(org.id, u.id), 'enc:v1:k:one'));
      expect(await store.read.credentials.findTotp(org.id, u.id)).toEqual({ enrollment: enrollment(org.id, u.id), sealedSecret: 'enc:v1:k:one' });

      expect(await store.transaction((tx) => tx.credentials.confirmTotp(org.id, u.id, 1000, T2))).toBe(true);
      expect((await store.read.credentials.findTotp(org.id, u.id))?.enrollment).toEqual(enrollment(org.id, u.id, { confirmed: true, lastUsedStep: 1000, updated: T2 }));
      expect(await store.transaction((tx) => tx.credentials.confirmTotp(org.id, u.id, 2000, T2))).toBe(false);

      await store.transaction((tx) => tx.credentials.putTotp(enrollment(org.id, u.id, { created: T2, updated: T2 }), 'enc:v1:k:two'));
      expect(await store.read.credentials.findTotp(org.id, u.id)).toEqual({ enrollment: enrollment(org.id, u.id, { created: T2, updated: T2 }), sealedSecret: 'enc:v1:k:two' });

      expect(await store.transaction((tx) => tx.credentials.deleteTotp(org.id, u.id))).toBe(true);
      expect(await store.transaction((tx) => tx.credentials.deleteTotp(org.id, u.id))).toBe(false);
      expect(await store.read.credentials.findTotp(org.id, u.id)).toBeUndefined();
    });

    it('useTotpStep accepts only a step after the last one, and only on a confirmed enrollment', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await insertUsers(store, u);
      await store.transaction((tx) => tx.credentials.putTotp(enrollment(org.id, u.id), 'enc:v1:k:x'));
      expect(await store.read.credentials.useTotpStep(org.id, u.id, 10, T1)).toBe(false);
      await store.transaction((tx) => tx.credentials.confirmTotp(org.id, u.id, 10, T1));
      expect(await store.read.credentials.useTotpStep(org.id, u.id, 10, T1)).toBe(false);
      expect(await store.read.credentials.useTotpStep(org.id, u.id, 9, T1)).toBe(false);
      expect(await store.read.credentials.useTotpStep(org.id, u.id, 11, T2)).toBe(true);
      expect(await store.read.credentials.useTotpStep(org.id, u.id, 11, T2)).toBe(false);
      expect((await store.read.credentials.findTotp(org.id, u.id))?.enrollment.lastUsedStep).toBe(11);
      expect(await store.read.credentials.useTotpStep(org.id, makeUser(org.id).id, 99, T2)).toBe(false);
    });

    it('of many concurrent uses of one step, exactly one wins', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await insertUsers(store, u);
      await store.transaction(async (tx) => {
        await tx.credentials.putTotp(enrollment(org.id, u.id), 'enc:v1:k:x');
        await tx.credentials.confirmTotp(org.id, u.id, 1, T1);
      });
      const results = await Promise.all(Array.from({ length: 8 }, () => store.read.credentials.useTotpStep(org.id, u.id, 57_000_000, T2)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('confirmedTotpAmong answers for a page of users in one org', async () => {
      const [org, other] = [await newOrg(store), await newOrg(store)];
      const [a, b, c] = [makeUser(org.id), makeUser(org.id), makeUser(org.id)];
      await insertUsers(store, a, b, c);
      await store.transaction(async (tx) => {
        await tx.credentials.putTotp(enrollment(org.id, a.id), 'enc:v1:k:x');
        await tx.credentials.confirmTotp(org.id, a.id, 5, T1);
        await tx.credentials.putTotp(enrollment(org.id, b.id), 'enc:v1:k:x');
      });
      expect(await store.read.credentials.confirmedTotpAmong(org.id, [a.id, b.id, c.id])).toEqual(new Set([a.id]));
      expect(await store.read.credentials.confirmedTotpAmong(other.id, [a.id, b.id, c.id])).toEqual(new Set());
    });
  });

  describe('NT hashes', () => {
    it('puts (one and many), replaces, finds, counts, deletes one and all of an org only', async () => {
      const [org, other] = [await newOrg(store), await newOrg(store)];
      const [a, b] = [makeUser(org.id), makeUser(org.id)];
      const c = makeUser(other.id);
      await insertUsers(store, a, b, c);
      await store.transaction(async (tx) => {
        await tx.credentials.putNtHash(org.id, a.id, 'enc:v1:k:a', T1);
        await tx.credentials.putNtHashes(org.id, new Map([[b.id, 'enc:v1:k:b']]), T1);
        await tx.credentials.putNtHashes(org.id, new Map(), T1);
        await tx.credentials.putNtHash(other.id, c.id, 'enc:v1:k:c', T1);
      });
      expect(await store.read.credentials.findNtHash(org.id, a.id)).toBe('enc:v1:k:a');
      expect(await store.read.credentials.findNtHash(other.id, a.id)).toBeUndefined();
      await store.transaction((tx) => tx.credentials.putNtHash(org.id, a.id, 'enc:v1:k:a2', T2));
      expect(await store.read.credentials.findNtHash(org.id, a.id)).toBe('enc:v1:k:a2');
      expect(await store.read.credentials.countNtHashes(org.id)).toBe(2);

      expect(await store.transaction((tx) => tx.credentials.deleteNtHash(org.id, b.id))).toBe(true);
      expect(await store.transaction((tx) => tx.credentials.deleteNtHash(org.id, b.id))).toBe(false);
      expect(await store.transaction((tx) => tx.credentials.deleteAllNtHashes(org.id))).toBe(1);
      expect(await store.read.credentials.countNtHashes(org.id)).toBe(0);
      expect(await store.read.credentials.findNtHash(other.id, c.id)).toBe('enc:v1:k:c');
    });

    it('bulk puts go past the bound-parameter limit', async () => {
      const org = await newOrg(store);
      const users = Array.from({ length: 1200 }, () => makeUser(org.id));
      await insertUsers(store, ...users);
      await store.transaction((tx) => tx.credentials.putNtHashes(org.id, new Map(users.map((u) => [u.id, `enc:v1:k:${u.id}`])), T1));
      expect(await store.read.credentials.countNtHashes(org.id)).toBe(1200);
    });
  });

  it("deleting a user deletes their TOTP and NT hash (cascade), and keeps the org's user count right", async () => {
    const org = await newOrg(store);
    const [u, keep] = [makeUser(org.id), makeUser(org.id)];
    await insertUsers(store, u, keep);
    await store.transaction(async (tx) => {
      for (const x of [u, keep]) {
        await tx.credentials.putTotp(enrollment(org.id, x.id), 'enc:v1:k:x');
        await tx.credentials.putNtHash(org.id, x.id, 'enc:v1:k:x', T1);
      }
    });
    await store.transaction((tx) => tx.users.delete(org.id, u.id));
    await store.transaction((tx) => tx.users.delete(org.id, u.id));
    expect(await store.read.credentials.findTotp(org.id, u.id)).toBeUndefined();
    expect(await store.read.credentials.findNtHash(org.id, u.id)).toBeUndefined();
    expect(await store.read.credentials.findTotp(org.id, keep.id)).toBeDefined();
    expect(await store.read.credentials.countNtHashes(org.id)).toBe(1);
    expect((await store.read.users.list(org.id, { sort: [], page: { limit: 10, skip: 0 } })).total).toBe(1);
  });

  it('an organization saved before RADIUS settings existed reads storeNtHashes as false', async () => {
    const id = newId<OrgId>();
    const { radius: _radius, ...older } = DEFAULT_SETTINGS;
    await store.db
      .insertInto('organizations')
      .values({ id, display_name: 'Old', logo_url: '', settings: JSON.stringify(older), next_unix_id: 5000, user_count: 0, created: T1, updated: T1 })
      .execute();
    expect((await store.read.orgs.findById(id))?.settings).toEqual({ ...older, radius: { storeNtHashes: false } });
  });
});

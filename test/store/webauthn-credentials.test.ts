import { randomBytes } from 'node:crypto';
import { expect, it } from 'vitest';
import type { OrgId, UserId } from '../../src/core/ids.js';
import type { WebAuthnCredentialRecord } from '../../src/core/ports.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { expectConflict, insertUsers, makeUser, newOrg } from './fixtures.js';

const T1 = '2024-03-01T00:00:00.000Z';
const T2 = '2024-03-02T00:00:00.000Z';
const T3 = '2024-03-03T00:00:00.000Z';

const credential = (orgId: OrgId, userId: UserId, overrides: Partial<WebAuthnCredentialRecord> = {}): WebAuthnCredentialRecord => ({
  id: randomBytes(32).toString('base64url'),
  orgId,
  userId,
  publicKey: randomBytes(77).toString('base64url'),
  counter: 0,
  transports: ['usb', 'nfc'],
  deviceType: 'singleDevice',
  backedUp: false,
  aaguid: '00000000-0000-0000-0000-000000000000',
  name: 'Security key 1',
  created: T1,
  lastUsedAt: null,
  ...overrides,
});

describeEachStore('store: WebAuthn credentials', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  async function setup() {
    const [org, other] = [await newOrg(store), await newOrg(store)];
    const [a, b, c] = [makeUser(org.id), makeUser(org.id), makeUser(other.id)];
    await insertUsers(store, a, b);
    await insertUsers(store, c);
    return { org, other, a, b, c };
  }

  const insert = (...records: WebAuthnCredentialRecord[]) =>
    store.transaction(async (tx) => {
      for (const r of records) await tx.webauthnCredentials.insert(r);
    });

  it('inserts, finds by id, lists a user\'s credentials oldest first, and keeps every field', async () => {
    const { org, other, a, b, c } = await setup();
    const second = credential(org.id, a.id, { name: 'Laptop', created: T2, deviceType: 'multiDevice', backedUp: true, transports: ['internal', 'hybrid'], aaguid: 'fbfc3007-154e-4ecc-8c0b-6e020557d7bd' });
    const first = credential(org.id, a.id, { counter: 7, lastUsedAt: T3 });
    const bobs = credential(org.id, b.id);
    const carols = credential(other.id, c.id);
    await insert(second, first, bobs, carols);
    const repo = store.read.webauthnCredentials;
    expect(await repo.findById(first.id)).toEqual(first);
    expect(await repo.findById(second.id)).toEqual(second);
    expect(await repo.findById('unknown')).toBeUndefined();
    expect(await repo.listByUser(org.id, a.id)).toEqual([first, second]);
    expect(await repo.listByUser(org.id, b.id)).toEqual([bobs]);
    // Per org: Carol's user id under the wrong org lists nothing.
    expect(await repo.listByUser(org.id, c.id)).toEqual([]);
    expect(await repo.listByUser(other.id, c.id)).toEqual([carols]);
  });

  it('a credential id is unique across every organization', async () => {
    const { org, other, a, b, c } = await setup();
    const taken = credential(org.id, a.id);
    await insert(taken);
    await expectConflict(insert({ ...taken, name: 'again' }), 'ALREADY_EXISTS');
    await expectConflict(insert(credential(org.id, b.id, { id: taken.id })), 'ALREADY_EXISTS');
    await expectConflict(insert(credential(other.id, c.id, { id: taken.id })), 'ALREADY_EXISTS');
    expect(await store.read.webauthnCredentials.findById(taken.id)).toEqual(taken);
  });

  it('recordUse moves the counter only forward, or keeps 0 at 0, with the time and backup state', async () => {
    const { org, a } = await setup();
    const counting = credential(org.id, a.id);
    const zero = credential(org.id, a.id);
    await insert(counting, zero);
    const repo = store.read.webauthnCredentials;
    expect(await repo.recordUse(counting.id, { counter: 5, backedUp: false, at: T2 })).toBe(true);
    expect(await repo.findById(counting.id)).toEqual({ ...counting, counter: 5, lastUsedAt: T2 });
    for (const counter of [5, 4, 0]) expect(await repo.recordUse(counting.id, { counter, backedUp: true, at: T3 })).toBe(false);
    expect(await repo.findById(counting.id)).toEqual({ ...counting, counter: 5, lastUsedAt: T2 });
    // Counters are 32-bit unsigned: beyond PostgreSQL's integer.
    expect(await repo.recordUse(counting.id, { counter: 4_294_967_295, backedUp: true, at: T3 })).toBe(true);
    expect(await repo.findById(counting.id)).toEqual({ ...counting, counter: 4_294_967_295, backedUp: true, lastUsedAt: T3 });

    expect(await repo.recordUse(zero.id, { counter: 0, backedUp: false, at: T2 })).toBe(true);
    expect(await repo.recordUse(zero.id, { counter: 0, backedUp: false, at: T3 })).toBe(true);
    expect((await repo.findById(zero.id))?.lastUsedAt).toBe(T3);
    expect(await repo.recordUse('unknown', { counter: 1, backedUp: false, at: T3 })).toBe(false);
  });

  it('of many concurrent uses with one counter, exactly one wins', async () => {
    const { org, a } = await setup();
    const c = credential(org.id, a.id, { counter: 10 });
    await insert(c);
    const results = await Promise.all(Array.from({ length: 8 }, () => store.read.webauthnCredentials.recordUse(c.id, { counter: 11, backedUp: false, at: T2 })));
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await store.read.webauthnCredentials.findById(c.id))?.counter).toBe(11);
  });

  it('deletes one of a user\'s credentials, or all of them, never another user\'s or org\'s', async () => {
    const { org, other, a, b, c } = await setup();
    const [a1, a2, b1, c1] = [credential(org.id, a.id), credential(org.id, a.id, { created: T2 }), credential(org.id, b.id), credential(other.id, c.id)];
    await insert(a1, a2, b1, c1);
    const repo = store.read.webauthnCredentials;
    expect(await store.transaction((tx) => tx.webauthnCredentials.delete(org.id, b.id, a1.id))).toBe(false);
    expect(await store.transaction((tx) => tx.webauthnCredentials.delete(other.id, a.id, a1.id))).toBe(false);
    expect(await store.transaction((tx) => tx.webauthnCredentials.delete(org.id, a.id, a1.id))).toBe(true);
    expect(await store.transaction((tx) => tx.webauthnCredentials.delete(org.id, a.id, a1.id))).toBe(false);
    expect(await repo.listByUser(org.id, a.id)).toEqual([a2]);
    expect(await store.transaction((tx) => tx.webauthnCredentials.deleteAllOf(other.id, a.id))).toBe(0);
    expect(await store.transaction((tx) => tx.webauthnCredentials.deleteAllOf(org.id, a.id))).toBe(1);
    expect(await store.transaction((tx) => tx.webauthnCredentials.deleteAllOf(org.id, a.id))).toBe(0);
    expect(await repo.findById(b1.id)).toEqual(b1);
    expect(await repo.findById(c1.id)).toEqual(c1);
  });

  it('usersWithCredentialsAmong answers for a page of users in one org', async () => {
    const { org, other, a, b, c } = await setup();
    await insert(credential(org.id, a.id), credential(org.id, a.id), credential(other.id, c.id));
    const repo = store.read.webauthnCredentials;
    expect(await repo.usersWithCredentialsAmong(org.id, [a.id, b.id, c.id])).toEqual(new Set([a.id]));
    expect(await repo.usersWithCredentialsAmong(other.id, [a.id, b.id, c.id])).toEqual(new Set([c.id]));
    expect(await repo.usersWithCredentialsAmong(org.id, [])).toEqual(new Set());
    // More ids than one query takes.
    const many = [...Array.from({ length: 1200 }, () => makeUser(org.id).id), a.id];
    expect(await repo.usersWithCredentialsAmong(org.id, many)).toEqual(new Set([a.id]));
  });

  it('deleting a user deletes their credentials', async () => {
    const { org, a, b } = await setup();
    const [a1, b1] = [credential(org.id, a.id), credential(org.id, b.id)];
    await insert(a1, b1);
    await store.transaction((tx) => tx.users.delete(org.id, a.id));
    expect(await store.read.webauthnCredentials.findById(a1.id)).toBeUndefined();
    expect(await store.read.webauthnCredentials.findById(b1.id)).toEqual(b1);
  });
});

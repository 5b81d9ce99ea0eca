import { describe, expect, it } from 'vitest';
import type { Actor } from '../../src/core/context.js';
import type { OrgId } from '../../src/core/ids.js';
import type { JournalEntryInput } from '../../src/core/model.js';
import type { JournalStamp } from '../../src/core/ports.js';
import { ALL_ROWS } from '../../src/core/query.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';
import { expectConflict, makeGroup, makeOrg, makeUser, newOrg, rejection, sleep } from './fixtures.js';

const entry = (objectId: string, operation: JournalEntryInput['operation'] = 'create', changes: JournalEntryInput['changes'] = {}): JournalEntryInput => ({
  objectType: 'user',
  objectId,
  operation,
  changes,
});

const stamp = (orgId: OrgId, actor: Actor = { type: 'operator', id: null }): JournalStamp => ({ orgId, actor, origin: 'api' });

describeEachStore('store: transactions and the journal', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  const journalOf = (orgId: OrgId) => store.read.journal.list(orgId, { since: 0, limit: 10_000 });

  describe('rollback', () => {
    it('a throw rolls back every write and queued journal row, and rethrows the same error', async () => {
      const org = makeOrg();
      const user = makeUser(org.id);
      const group = makeGroup(org.id);
      const boom = new Error('boom');
      const e = await rejection(
        store.transaction(async (tx) => {
          await tx.orgs.insert(org);
          await tx.users.insert([user], new Map([[user.id, 'h']]));
          await tx.groups.insert(group);
          await tx.groups.addMember(org.id, { groupId: group.id, memberType: 'user', memberId: user.id }, 'now');
          tx.record(stamp(org.id), [entry(user.id)]);
          expect(await tx.users.findById(org.id, user.id)).toBeDefined();
          throw boom;
        }),
      );
      expect(e).toBe(boom);
      expect(await store.read.orgs.findById(org.id)).toBeUndefined();
      expect(await store.read.users.findById(org.id, user.id)).toBeUndefined();
      expect(await store.read.groups.findById(org.id, group.id)).toBeUndefined();
      expect(await store.read.groups.parentsOf(org.id, 'user', [user.id])).toEqual([]);
      expect(await journalOf(org.id)).toEqual([]);
    });

    it('a unique violation halfway rolls back the writes before it', async () => {
      const org = await newOrg(store);
      await store.transaction((tx) => tx.users.insert([makeUser(org.id, { username: 'taken' })]));
      const fresh = makeUser(org.id, { username: 'fresh' });
      await expectConflict(
        store.transaction(async (tx) => {
          await tx.users.insert([fresh]);
          tx.record(stamp(org.id), [entry(fresh.id)]);
          await tx.users.insert([makeUser(org.id, { username: 'TAKEN' })]);
        }),
        'USERNAME_TAKEN',
      );
      expect(await store.read.users.findById(org.id, fresh.id)).toBeUndefined();
      expect(await journalOf(org.id)).toEqual([]);
    });

    it('a value the engine cannot store is bad input, not an outage, and writes nothing', async () => {
      const org = await newOrg(store);
      const user = makeUser(org.id, { department: 'Eng\u0000ineering' });
      const write = store.transaction((tx) => tx.users.insert([user]));
      if (kind === 'postgres') {
        await expect(write).rejects.toMatchObject({ kind: 'invalid', code: 'INVALID_CHARACTER' });
        expect(await store.read.users.findById(org.id, user.id)).toBeUndefined();
      } else {
        // SQLite stores U+0000; the core and the HTTP layer refuse it before it gets here.
        await write;
      }
    });

    it('the store stays usable after a rollback', async () => {
      const org = await newOrg(store);
      await rejection(store.transaction(async () => Promise.reject(new Error('first'))));
      const u = makeUser(org.id);
      expect(await store.transaction(async (tx) => (await tx.users.insert([u]), 'done'))).toBe('done');
      expect(await store.read.users.findById(org.id, u.id)).toBeDefined();
    });
  });

  describe('journal', () => {
    it('queued rows are written at commit, not before, with the stamp', async () => {
      const org = await newOrg(store);
      const user = makeUser(org.id);
      const actor: Actor = { type: 'admin', id: 'a'.repeat(24), apiKeyId: 'b'.repeat(24) };
      await store.transaction(async (tx) => {
        await tx.users.insert([user]);
        tx.record({ orgId: org.id, actor, origin: 'scim:okta' }, [
          entry(user.id, 'create', { username: { before: null, after: user.username }, nested: { before: { a: [1] }, after: null } }),
        ]);
        expect(await tx.journal.list(org.id, { since: 0, limit: 100 })).toEqual([]);
      });
      const rows = await journalOf(org.id);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toEqual({
        seq: expect.any(Number),
        orgId: org.id,
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        objectType: 'user',
        objectId: user.id,
        operation: 'create',
        changes: { username: { before: null, after: user.username }, nested: { before: { a: [1] }, after: null } },
        actorType: 'admin',
        actorId: actor.id,
        apiKeyId: actor.apiKeyId,
        origin: 'scim:okta',
        details: null,
      });
    });

    it('events keep their details beside the change set', async () => {
      const org = await newOrg(store);
      const details = { result: 'failure', reason: 'INVALID_CREDENTIALS', client: '192.0.2.7', nested: { tls: true } };
      await store.transaction(async (tx) => {
        tx.record({ orgId: org.id, actor: { type: 'user', id: null }, origin: 'ldap' }, [
          { objectType: 'directory', objectId: 'd1', operation: 'ldap_bind', changes: {}, details },
        ]);
      });
      const rows = await journalOf(org.id);
      expect(rows.map((r) => [r.operation, r.details])).toEqual([['ldap_bind', details]]);
    });

    it('a journal row that cannot be written rolls back the whole transaction', async () => {
      const org = await newOrg(store);
      const user = makeUser(org.id);
      await rejection(
        store.transaction(async (tx) => {
          await tx.users.insert([user]);
          tx.record(stamp(org.id), [entry(user.id), entry(null as unknown as string)]);
        }),
      );
      expect(await store.read.users.findById(org.id, user.id)).toBeUndefined();
      expect(await journalOf(org.id)).toEqual([]);
    });

    it('a transaction that records nothing writes no rows', async () => {
      const org = await newOrg(store);
      await store.transaction(async (tx) => {
        await tx.users.insert([makeUser(org.id)]);
        tx.record(stamp(org.id), []);
      });
      expect(await journalOf(org.id)).toEqual([]);
    });

    it('sequence numbers increase across transactions and keep record order within one', async () => {
      const org = await newOrg(store);
      const ids = Array.from({ length: 7 }, (_, i) => `obj${i}`);
      await store.transaction(async (tx) => {
        tx.record(stamp(org.id), [entry(ids[0]!), entry(ids[1]!)]);
        tx.record(stamp(org.id, { type: 'system', id: null }), [entry(ids[2]!)]);
      });
      await store.transaction(async (tx) => tx.record(stamp(org.id), [entry(ids[3]!)]));
      await store.transaction(async (tx) => tx.record(stamp(org.id), ids.slice(4).map((id) => entry(id))));
      const rows = await journalOf(org.id);
      expect(rows.map((r) => r.objectId)).toEqual(ids);
      for (let i = 1; i < rows.length; i++) expect(rows[i]!.seq).toBeGreaterThan(rows[i - 1]!.seq);
      expect(rows[2]!.actorType).toBe('system');
    });

    it('writes large batches', async () => {
      const org = await newOrg(store);
      await store.transaction(async (tx) => tx.record(stamp(org.id), Array.from({ length: 1200 }, (_, i) => entry(`o${i}`))));
      const rows = await journalOf(org.id);
      expect(rows).toHaveLength(1200);
      expect(rows[1199]!.objectId).toBe('o1199');
    });

    it('lists after a cursor, with a limit and a filter, only for the org', async () => {
      const org = await newOrg(store);
      const other = await newOrg(store);
      await store.transaction(async (tx) => {
        tx.record(stamp(org.id), [entry('u1'), entry('u1', 'update'), { ...entry('g1'), objectType: 'user_group' }, entry('u2', 'delete')]);
        tx.record(stamp(other.id), [entry('x1')]);
      });
      const all = await journalOf(org.id);
      expect(all.map((r) => r.objectId)).toEqual(['u1', 'u1', 'g1', 'u2']);
      const after = await store.read.journal.list(org.id, { since: all[1]!.seq, limit: 1 });
      expect(after.map((r) => r.seq)).toEqual([all[2]!.seq]);
      const users = await store.read.journal.list(org.id, {
        since: 0,
        limit: 100,
        filter: { kind: 'and', filters: [
          { kind: 'compare', field: 'objectType', op: 'eq', value: 'user' },
          { kind: 'in', field: 'operation', values: ['update', 'delete'] },
        ] },
      });
      expect(users.map((r) => `${r.objectId}:${r.operation}`)).toEqual(['u1:update', 'u2:delete']);
      expect((await journalOf(other.id)).map((r) => r.objectId)).toEqual(['x1']);
    });
  });

  describe('locks and isolation', () => {
    it('a named lock keeps a second transaction out until the first ends', async () => {
      const events: string[] = [];
      let locked!: () => void;
      const firstHasLock = new Promise<void>((r) => (locked = r));
      const first = store.transaction(async (tx) => {
        await tx.lock('contract:test-lock');
        events.push('first:locked');
        locked();
        await sleep(150);
        events.push('first:done');
      });
      await firstHasLock;
      const second = store.transaction(async (tx) => {
        await tx.lock('contract:test-lock');
        events.push('second:locked');
      });
      await Promise.all([first, second]);
      expect(events).toEqual(['first:locked', 'first:done', 'second:locked']);
    });

    it('reads inside a transaction see its own writes', async () => {
      const org = await newOrg(store);
      const u = makeUser(org.id);
      await store.transaction(async (tx) => {
        await tx.users.insert([u]);
        expect((await tx.users.list(org.id, { sort: [], page: ALL_ROWS })).total).toBe(1);
        expect(await tx.users.findByUsername(org.id, u.username.toUpperCase())).toBeDefined();
      });
    });

    if (kind === 'postgres') {
      it('PostgreSQL: other connections do not see uncommitted writes', async () => {
        const org = await newOrg(store);
        const u = makeUser(org.id);
        await store.transaction(async (tx) => {
          await tx.users.insert([u]);
          tx.record(stamp(org.id), [entry(u.id)]);
          expect(await store.read.users.findById(org.id, u.id)).toBeUndefined();
        });
        expect(await store.read.users.findById(org.id, u.id)).toBeDefined();
        expect(await journalOf(org.id)).toHaveLength(1);
      });
    }
  });
});

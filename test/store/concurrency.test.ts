import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OrgId } from '../../src/core/ids.js';
import type { Store } from '../../src/core/ports.js';
import { openStore, type KyselyStore } from '../../src/store/index.js';
import { describeEachStore, openTestStore, PG_URL, type TestStore } from '../support/stores.js';
import { makeGroup, makeUser, newOrg, sleep } from './fixtures.js';

/** Runs `tasks` with at most `width` in flight. */
async function pool<T>(width: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) {
        const i = next++;
        out[i] = await tasks[i]!();
      }
    }),
  );
  return out;
}

/** Many writers, each committing a group and 1–3 journal rows, through the given stores in turn. */
function journalWriters(stores: Store[], orgId: OrgId, count: number): { tasks: (() => Promise<string[]>)[] } {
  const tasks = Array.from({ length: count }, (_, i) => async () => {
    const store = stores[i % stores.length]!;
    const ids = Array.from({ length: 1 + (i % 3) }, (_, j) => `w${i}.${j}`);
    await store.transaction(async (tx) => {
      await tx.groups.insert(makeGroup(orgId));
      if (i % 4 === 0) await sleep(i % 3);
      tx.record({ orgId, actor: { type: 'system', id: null }, origin: 'system' }, ids.map((objectId) => ({ objectType: 'user_group', objectId, operation: 'create', changes: {} })));
    });
    return ids;
  });
  return { tasks };
}

/**
 * Follows the journal with a cursor, as a change-feed consumer does, until the writers are done and
 * nothing is left. Fails on a row at or below the cursor or seen twice.
 */
async function followJournal(stores: Store[], orgId: OrgId, writersDone: Promise<unknown>): Promise<{ seqs: number[]; ids: string[] }> {
  let finished = false;
  void writersDone.finally(() => (finished = true));
  let cursor = 0;
  const seqs: number[] = [];
  const ids: string[] = [];
  for (let i = 0; ; i++) {
    const lastPass = finished;
    const rows = await stores[i % stores.length]!.read.journal.list(orgId, { since: cursor, limit: 1 + (i % 37) });
    for (const r of rows) {
      if (r.seq <= cursor) throw new Error(`row ${r.seq} came back below the cursor ${cursor}`);
      seqs.push(r.seq);
      ids.push(r.objectId);
      cursor = r.seq;
    }
    if (rows.length === 0) {
      if (lastPass) break;
      await sleep(1);
    }
  }
  return { seqs, ids };
}

async function checkFeed(stores: Store[], orgId: OrgId, writers: number) {
  const { tasks } = journalWriters(stores, orgId, writers);
  const written = pool(12, tasks);
  const [ids, feed] = await Promise.all([written, followJournal(stores, orgId, written)]);
  const expected = ids.flat();
  const committed = await stores[0]!.read.journal.list(orgId, { since: 0, limit: 100_000 });
  expect(committed).toHaveLength(expected.length);
  expect(new Set(feed.seqs).size).toBe(feed.seqs.length);
  // Every committed row was seen, so none appeared below a cursor the reader had passed.
  expect(feed.seqs).toEqual(committed.map((r) => r.seq));
  expect([...feed.ids].sort()).toEqual([...expected].sort());
}

async function checkAllocations(stores: Store[], orgId: OrgId, transactions: number) {
  const ranges = await pool(
    16,
    Array.from({ length: transactions }, (_, i) => async () => {
      const count = 1 + (i % 3);
      return stores[i % stores.length]!.transaction(async (tx) => {
        const first = await tx.orgs.allocateUnixIds(orgId, count);
        const uids = Array.from({ length: count }, (_, k) => first + k);
        // The unique index on (org, unix_uid) would turn any overlap into a failed insert.
        await tx.users.insert(uids.map((unixUid) => makeUser(orgId, { unixUid })));
        return uids;
      });
    }),
  );
  const all = ranges.flat();
  expect(new Set(all).size).toBe(all.length);
  expect(Math.min(...all)).toBe(5000);
  expect(Math.max(...all)).toBe(5000 + all.length - 1);
}

describeEachStore('store: concurrency', (kind) => {
  describe('one store instance', () => {
    let t: TestStore;
    beforeAll(async () => {
      t = await openTestStore(kind);
    });
    afterAll(() => t.dispose());

    it('a reader following the journal cursor sees each committed row exactly once', async () => {
      const org = await newOrg(t.store);
      await checkFeed([t.store], org.id, 120);
    });

    it('concurrent unix id allocations never collide', async () => {
      const org = await newOrg(t.store);
      await checkAllocations([t.store], org.id, 40);
    });
  });

  if (kind === 'postgres') {
    describe('two store instances on one PostgreSQL schema (two processes)', () => {
      const schema = `roster_test_${randomBytes(6).toString('hex')}`;
      let a: KyselyStore;
      let b: KyselyStore;
      beforeAll(async () => {
        a = await openStore({ databaseUrl: PG_URL, dataDir: '/nonexistent', schema, poolSize: 8 });
        b = await openStore({ databaseUrl: PG_URL, dataDir: '/nonexistent', schema, poolSize: 8 });
      });
      afterAll(async () => {
        await a?.close();
        await b?.close();
        const client = new pg.Client({ connectionString: PG_URL });
        await client.connect();
        await client.query(`drop schema if exists ${schema} cascade`);
        await client.end();
      });

      it('the second instance sees what the first committed', async () => {
        const org = await newOrg(a);
        expect(await b.read.orgs.findById(org.id)).toEqual(org);
      });

      it('journal order: sequence order is commit order, so a cursor never skips a row', async () => {
        const org = await newOrg(a);
        await checkFeed([a, b], org.id, 300);
      });

      it('allocateUnixIds from both instances never hands out the same uid', async () => {
        const org = await newOrg(a);
        await checkAllocations([a, b], org.id, 60);
      });
    });
  }
});

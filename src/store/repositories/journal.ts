import { sql, type Insertable, type Kysely } from 'kysely';
import type { JournalEntry, JournalEntryInput } from '../../core/model.js';
import type { JournalRepository, JournalStamp } from '../../core/ports.js';
import { filterToSql, type ColumnMap } from '../filter-sql.js';
import { journalFromRow } from '../rows.js';
import type { Database, JournalTable } from '../schema.js';

export const JOURNAL_COLUMN_MAP: ColumnMap = {
  seq: { kind: 'int', column: 'seq' },
  objectType: { kind: 'text', column: 'object_type' },
  objectId: { kind: 'id', column: 'object_id' },
  operation: { kind: 'text', column: 'operation' },
  origin: { kind: 'text', column: 'origin' },
  actorType: { kind: 'text', column: 'actor_type' },
  actorId: { kind: 'id', column: 'actor_id' },
  at: { kind: 'date', column: 'at' },
};

/** Arbitrary constant naming the advisory lock that orders journal appends on PostgreSQL. */
const JOURNAL_LOCK_KEY = 0x526f7374; // "Rost"

export function journalRepository(db: Kysely<Database>): JournalRepository {
  return {
    async list(orgId, query) {
      let q = db.selectFrom('journal').selectAll().where('org_id', '=', orgId).where('seq', '>', query.since);
      if (query.filter) q = q.where(filterToSql(query.filter, JOURNAL_COLUMN_MAP));
      const rows = await q.orderBy('seq').limit(query.limit).execute();
      return rows.map(journalFromRow);
    },
    async head(orgId) {
      const row = await db.selectFrom('journal').select((eb) => eb.fn.max('seq').as('seq')).where('org_id', '=', orgId).executeTakeFirst();
      return Number(row?.seq ?? 0);
    },
    async positions(orgId, since, limit) {
      const rows = await db
        .selectFrom('journal')
        .select(['seq', 'object_type', 'object_id', 'operation'])
        .where('org_id', '=', orgId)
        .where('seq', '>', since)
        .orderBy('seq')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        seq: Number(r.seq),
        objectType: r.object_type as JournalEntry['objectType'],
        objectId: r.object_id,
        operation: r.operation as JournalEntry['operation'],
      }));
    },
    async versions(orgId, objectType, objectIds) {
      const out = new Map<string, number>();
      // Chunks keep each statement under SQLite's bound-parameter limit; journal_object_idx serves it.
      for (let i = 0; i < objectIds.length; i += 500) {
        const rows = await db
          .selectFrom('journal')
          .select(['object_id', (eb) => eb.fn.max('seq').as('seq')])
          .where('org_id', '=', orgId)
          .where('object_type', '=', objectType)
          .where('object_id', 'in', objectIds.slice(i, i + 500))
          .groupBy('object_id')
          .execute();
        for (const r of rows) out.set(r.object_id, Number(r.seq));
      }
      return out;
    },
  };
}

/** A journal row waiting for its sequence number and time, already serialised (bulk imports queue many). */
export type PendingJournalRow = Omit<Insertable<JournalTable>, 'seq' | 'at'>;

export function pendingRows(stamp: JournalStamp, entries: readonly JournalEntryInput[]): PendingJournalRow[] {
  return entries.map((e) => ({
    org_id: stamp.orgId,
    object_type: e.objectType,
    object_id: e.objectId,
    operation: e.operation,
    changes: JSON.stringify(e.changes),
    actor_type: stamp.actor.type,
    actor_id: stamp.actor.id,
    api_key_id: stamp.actor.apiKeyId ?? null,
    origin: stamp.origin,
    details: e.details ? JSON.stringify(e.details) : null,
  }));
}

/**
 * Writes queued journal rows inside the caller's transaction. On PostgreSQL the rows take their
 * sequence numbers under a transaction-scoped advisory lock held until commit, so sequence order
 * is commit order: a reader that has seen row n can never later find a row below n appear.
 * SQLite has one writer at a time, which gives the same guarantee.
 */
export async function appendJournal(db: Kysely<Database>, postgres: boolean, rows: readonly PendingJournalRow[]): Promise<void> {
  if (rows.length === 0) return;
  if (postgres) await sql`select pg_advisory_xact_lock(${JOURNAL_LOCK_KEY})`.execute(db);
  const at = new Date().toISOString();
  for (let i = 0; i < rows.length; i += 500) {
    await db.insertInto('journal').values(rows.slice(i, i + 500).map((r) => ({ ...r, at }))).execute();
  }
}

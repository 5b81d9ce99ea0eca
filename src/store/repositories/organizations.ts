import { sql, type Kysely, type Selectable } from 'kysely';
import type { OrgRepository } from '../../core/ports.js';
import { listPage, type ColumnMap } from '../filter-sql.js';
import { orgFromRow, orgToRow } from '../rows.js';
import type { Database, OrganizationsTable } from '../schema.js';

export const ORG_COLUMN_MAP: ColumnMap = {
  id: { kind: 'id', column: 'id' },
  displayName: { kind: 'text', column: 'display_name' },
  created: { kind: 'date', column: 'created' },
};

/** Where automatically assigned unix uids start, above the range distributions give local accounts. */
export const FIRST_UNIX_ID = 5000;

export function organizationRepository(db: Kysely<Database>, postgres: boolean): OrgRepository {
  return {
    async insert(org) {
      await db.insertInto('organizations').values({ ...orgToRow(org), next_unix_id: FIRST_UNIX_ID, user_count: 0 }).execute();
    },
    async update(org) {
      const { id, created, ...row } = orgToRow(org);
      await db.updateTable('organizations').set(row).where('id', '=', id).execute();
    },
    async findById(id, options) {
      let q = db.selectFrom('organizations').selectAll().where('id', '=', id);
      if (options?.forUpdate && postgres) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row ? orgFromRow(row) : undefined;
    },
    async list(ids, query) {
      if (ids.length === 0) return { total: 0, items: [] };
      const page = await listPage<Selectable<OrganizationsTable>>(
        db.selectFrom('organizations').selectAll().where('id', 'in', [...ids]),
        ORG_COLUMN_MAP,
        query,
      );
      return { total: page.total, items: page.items.map(orgFromRow) };
    },
    async listAll(query) {
      const page = await listPage<Selectable<OrganizationsTable>>(db.selectFrom('organizations').selectAll(), ORG_COLUMN_MAP, query);
      return { total: page.total, items: page.items.map(orgFromRow) };
    },
    async count() {
      const row = await db.selectFrom('organizations').select(sql<number>`count(*)`.as('n')).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
    async allocateUnixIds(id, count) {
      // One statement, so it is atomic on its own: it locks the org row, looks above every uid in
      // use (including one set by hand beyond the counter) and moves the counter past the block.
      const above = sql<number>`(select coalesce(max(unix_uid), 0) + 1 from users where org_id = ${id})`;
      const row = await db
        .updateTable('organizations')
        .set({ next_unix_id: sql`(case when next_unix_id > ${above} then next_unix_id else ${above} end) + ${count}` })
        .where('id', '=', id)
        .returning(sql<number>`next_unix_id - ${count}`.as('first'))
        .executeTakeFirstOrThrow();
      return Number(row.first);
    },
  };
}

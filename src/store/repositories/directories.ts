import type { Kysely, Selectable } from 'kysely';
import type { DirectoryRepository } from '../../core/ports.js';
import { listPage, type ColumnMap } from '../filter-sql.js';
import { directoryFromRow, directoryToRow } from '../rows.js';
import type { Database, DirectoriesTable } from '../schema.js';

export const DIRECTORY_COLUMN_MAP: ColumnMap = {
  id: { kind: 'id', column: 'id' },
  name: { kind: 'text', column: 'name' },
  type: { kind: 'text', column: 'type' },
  created: { kind: 'date', column: 'created' },
};

export function directoryRepository(db: Kysely<Database>, postgres: boolean): DirectoryRepository {
  return {
    async insert(directory) {
      await db.insertInto('directories').values(directoryToRow(directory)).execute();
    },
    async update(directory) {
      const { id, org_id, created, ...row } = directoryToRow(directory);
      await db.updateTable('directories').set(row).where('id', '=', id).where('org_id', '=', org_id).execute();
    },
    async delete(orgId, id) {
      await db.deleteFrom('directories').where('org_id', '=', orgId).where('id', '=', id).execute();
    },
    async findById(orgId, id, options) {
      let q = db.selectFrom('directories').selectAll().where('org_id', '=', orgId).where('id', '=', id);
      if (options?.forUpdate && postgres) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row ? directoryFromRow(row) : undefined;
    },
    async findByIds(orgId, ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('directories').selectAll().where('org_id', '=', orgId).where('id', 'in', [...ids]).execute();
      return rows.map(directoryFromRow);
    },
    async list(orgId, query) {
      const page = await listPage<Selectable<DirectoriesTable>>(
        db.selectFrom('directories').selectAll().where('org_id', '=', orgId),
        DIRECTORY_COLUMN_MAP,
        query,
      );
      return { total: page.total, items: page.items.map(directoryFromRow) };
    },
    async listOfTypes(types) {
      if (types.length === 0) return [];
      const rows = await db.selectFrom('directories').selectAll().where('type', 'in', [...types]).orderBy('created').execute();
      return rows.map(directoryFromRow);
    },
  };
}

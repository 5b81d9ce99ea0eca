import type { Kysely, Selectable } from 'kysely';
import type { ApplicationRepository } from '../../core/ports.js';
import { listPage, type ColumnMap } from '../filter-sql.js';
import { applicationFromRow, applicationToRow } from '../rows.js';
import type { ApplicationsTable, Database } from '../schema.js';

export const APPLICATION_COLUMN_MAP: ColumnMap = {
  id: { kind: 'id', column: 'id' },
  name: { kind: 'text', column: 'name' },
  displayName: { kind: 'text', column: 'display_name' },
  displayLabel: { kind: 'text', column: 'display_label' },
  ssoUrl: { kind: 'text', column: 'sso_url' },
  active: { kind: 'bool', column: 'active' },
  created: { kind: 'date', column: 'created' },
};

export function applicationRepository(db: Kysely<Database>, postgres: boolean): ApplicationRepository {
  return {
    async insert(app) {
      await db.insertInto('applications').values(applicationToRow(app)).execute();
    },
    async update(app) {
      const { id, org_id, created, ...row } = applicationToRow(app);
      await db.updateTable('applications').set(row).where('id', '=', id).where('org_id', '=', org_id).execute();
    },
    async delete(orgId, id) {
      await db.deleteFrom('applications').where('org_id', '=', orgId).where('id', '=', id).execute();
    },
    async findById(orgId, id, options) {
      let q = db.selectFrom('applications').selectAll().where('org_id', '=', orgId).where('id', '=', id);
      if (options?.forUpdate && postgres) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row ? applicationFromRow(row) : undefined;
    },
    async findByIds(orgId, ids) {
      if (ids.length === 0) return [];
      const rows = await db.selectFrom('applications').selectAll().where('org_id', '=', orgId).where('id', 'in', [...ids]).execute();
      return rows.map(applicationFromRow);
    },
    async list(orgId, query) {
      const page = await listPage<Selectable<ApplicationsTable>>(
        db.selectFrom('applications').selectAll().where('org_id', '=', orgId),
        APPLICATION_COLUMN_MAP,
        query,
      );
      return { total: page.total, items: page.items.map(applicationFromRow) };
    },
  };
}

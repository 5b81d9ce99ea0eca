import { sql, type Kysely } from 'kysely';
import type { AdminId, OrgId } from '../../core/ids.js';
import type { AdminRepository } from '../../core/ports.js';
import { foldCase } from '../../core/query.js';
import { listPage, type ColumnMap } from '../filter-sql.js';
import { ADMIN_COLUMNS, adminFromRow, adminToRow, type AdminRow } from '../rows.js';
import type { Database } from '../schema.js';

export const ADMIN_COLUMN_MAP: ColumnMap = {
  id: { kind: 'id', column: 'id' },
  email: { kind: 'ci', column: 'email', key: 'email_key' },
  firstname: { kind: 'text', column: 'firstname' },
  lastname: { kind: 'text', column: 'lastname' },
  roleName: { kind: 'text', column: 'role_name' },
  suspended: { kind: 'bool', column: 'suspended' },
  created: { kind: 'date', column: 'created' },
};

const PASSWORD_SET = sql<number>`case when password_hash is null then 0 else 1 end`.as('password_set');
export const TOTP_ENROLLED = sql<number>`case when totp_confirmed is null then 0 else 1 end`.as('totp_enrolled');

export function administratorRepository(db: Kysely<Database>, postgres: boolean): AdminRepository {
  const orgsOf = async (ids: string[]): Promise<Map<string, OrgId[]>> => {
    const out = new Map<string, OrgId[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    const rows = await db.selectFrom('admin_orgs').select(['admin_id', 'org_id']).where('admin_id', 'in', ids).orderBy('created').execute();
    for (const r of rows) out.get(r.admin_id)?.push(r.org_id as OrgId);
    return out;
  };
  const hydrate = async (rows: AdminRow[]) => {
    const orgs = await orgsOf(rows.map((r) => r.id));
    return rows.map((r) => adminFromRow(r, orgs.get(r.id) ?? []));
  };
  const select = () => db.selectFrom('administrators').select([...ADMIN_COLUMNS, PASSWORD_SET, TOTP_ENROLLED]);

  return {
    async insert(admin, passwordHash) {
      await db.insertInto('administrators').values({ ...adminToRow(admin), password_hash: passwordHash }).execute();
    },
    async update(admin) {
      const { id, created, ...row } = adminToRow(admin);
      await db.updateTable('administrators').set(row).where('id', '=', id).execute();
    },
    async delete(id) {
      await db.deleteFrom('api_keys').where('admin_id', '=', id).execute();
      await db.deleteFrom('admin_orgs').where('admin_id', '=', id).execute();
      await db.deleteFrom('administrators').where('id', '=', id).execute();
    },
    async findById(id, options) {
      let q = select().where('id', '=', id);
      if (options?.forUpdate && postgres) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row ? (await hydrate([row as AdminRow]))[0] : undefined;
    },
    async findByEmail(email) {
      const row = await db
        .selectFrom('administrators')
        .select([...ADMIN_COLUMNS, PASSWORD_SET, TOTP_ENROLLED, 'password_hash'])
        .where('email_key', '=', foldCase(email))
        .executeTakeFirst();
      if (!row) return undefined;
      const [admin] = await hydrate([row as AdminRow]);
      return { admin: admin!, passwordHash: row.password_hash };
    },
    async list(orgId, query) {
      const base = select().where('id', 'in', db.selectFrom('admin_orgs').select('admin_id').where('org_id', '=', orgId));
      const page = await listPage<AdminRow>(base, ADMIN_COLUMN_MAP, query);
      return { total: page.total, items: await hydrate(page.items) };
    },
    async setPasswordHash(id, hash) {
      await db.updateTable('administrators').set({ password_hash: hash }).where('id', '=', id).execute();
    },
    async linkOrg(adminId: AdminId, orgId: OrgId) {
      await db
        .insertInto('admin_orgs')
        .values({ admin_id: adminId, org_id: orgId, created: new Date().toISOString() })
        .onConflict((oc) => oc.columns(['admin_id', 'org_id']).doNothing())
        .execute();
    },
  };
}

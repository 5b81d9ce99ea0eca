import { sql, type Kysely } from 'kysely';
import type { RadiusServerRepository } from '../../core/ports.js';
import { listPage, type ColumnMap } from '../filter-sql.js';
import { radiusServerFromRow, radiusServerToRow } from '../rows.js';
import type { Database } from '../schema.js';

export const RADIUS_SERVER_COLUMN_MAP: ColumnMap = {
  id: { kind: 'id', column: 'id' },
  name: { kind: 'ci', column: 'name', key: 'name_key' },
  mfa: { kind: 'text', column: 'mfa' },
  userPasswordExpirationAction: { kind: 'text', column: 'user_password_expiration_action' },
  created: { kind: 'date', column: 'created' },
  updated: { kind: 'date', column: 'updated' },
};

const COLUMNS = [
  'id',
  'org_id',
  'name',
  'network_source_ips',
  'mfa',
  'user_password_expiration_action',
  'tag_names',
  'user_cert_enabled',
  'ca_cert',
  'created',
  'updated',
] as const;

/** The meta row counting writes to any RADIUS server of any org. */
export const RADIUS_VERSION_KEY = 'radius_servers.version';

export function radiusServerRepository(db: Kysely<Database>, postgres: boolean): RadiusServerRepository {
  const select = () => db.selectFrom('radius_servers').select(COLUMNS);
  // In the writer's transaction, so the count moves exactly when the change commits, whichever
  // process made it; times from several clocks could not promise that.
  const bumpVersion = () =>
    db
      .insertInto('meta')
      .values({ key: RADIUS_VERSION_KEY, value: '1' })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: sql<string>`cast(cast(meta.value as bigint) + 1 as text)` }))
      .execute();

  return {
    async insert(server, sealedSecret) {
      await db.insertInto('radius_servers').values({ ...radiusServerToRow(server), shared_secret: sealedSecret }).execute();
      await bumpVersion();
    },
    async update(server, sealedSecret) {
      const { id, org_id, created, ...row } = radiusServerToRow(server);
      await db
        .updateTable('radius_servers')
        .set({ ...row, ...(sealedSecret !== undefined ? { shared_secret: sealedSecret } : {}) })
        .where('id', '=', id)
        .where('org_id', '=', org_id)
        .execute();
      await bumpVersion();
    },
    async delete(orgId, id) {
      await db.deleteFrom('radius_servers').where('org_id', '=', orgId).where('id', '=', id).execute();
      await bumpVersion();
    },
    async findById(orgId, id, options) {
      let q = select().where('org_id', '=', orgId).where('id', '=', id);
      if (options?.forUpdate && postgres) q = q.forUpdate();
      const row = await q.executeTakeFirst();
      return row ? radiusServerFromRow(row) : undefined;
    },
    async findByIds(orgId, ids) {
      if (ids.length === 0) return [];
      const rows = await select().where('org_id', '=', orgId).where('id', 'in', [...ids]).execute();
      return rows.map(radiusServerFromRow);
    },
    async list(orgId, query) {
      const page = await listPage<Parameters<typeof radiusServerFromRow>[0]>(select().where('org_id', '=', orgId), RADIUS_SERVER_COLUMN_MAP, query);
      return { total: page.total, items: page.items.map(radiusServerFromRow) };
    },
    async all() {
      const rows = await select().select('shared_secret').orderBy('org_id').orderBy('id').execute();
      return rows.map((r) => ({ server: radiusServerFromRow(r), sealedSecret: r.shared_secret }));
    },
    async version() {
      const row = await db.selectFrom('meta').select('value').where('key', '=', RADIUS_VERSION_KEY).executeTakeFirst();
      return row?.value ?? '0';
    },
  };
}

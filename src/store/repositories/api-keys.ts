import type { Kysely } from 'kysely';
import type { ApiKeyRepository } from '../../core/ports.js';
import { ADMIN_COLUMNS, adminFromRow, apiKeyFromRow, type AdminRow } from '../rows.js';
import { TOTP_ENROLLED } from './administrators.js';
import type { OrgId } from '../../core/ids.js';
import type { Database } from '../schema.js';
import { sql } from 'kysely';

export function apiKeyRepository(db: Kysely<Database>): ApiKeyRepository {
  return {
    async insert(key, secretHash) {
      await db
        .insertInto('api_keys')
        .values({
          id: key.id,
          admin_id: key.adminId,
          name: key.name,
          prefix: key.prefix,
          secret_hash: secretHash,
          read_only: key.readOnly ? 1 : 0,
          expires_at: key.expiresAt,
          created: key.created,
          last_used_at: null,
          revoked_at: null,
        })
        .execute();
    },
    async findBySecretHash(secretHash) {
      const key = await db.selectFrom('api_keys').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
      if (!key) return undefined;
      const admin = await db
        .selectFrom('administrators')
        .select([...ADMIN_COLUMNS, sql<number>`case when password_hash is null then 0 else 1 end`.as('password_set'), TOTP_ENROLLED])
        .where('id', '=', key.admin_id)
        .executeTakeFirst();
      if (!admin) return undefined;
      const orgs = await db.selectFrom('admin_orgs').select('org_id').where('admin_id', '=', key.admin_id).orderBy('created').execute();
      return {
        key: apiKeyFromRow(key),
        admin: adminFromRow(admin as AdminRow, orgs.map((o) => o.org_id as OrgId)),
      };
    },
    async findById(id) {
      const row = await db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? apiKeyFromRow(row) : undefined;
    },
    async listByAdmin(adminId) {
      const rows = await db.selectFrom('api_keys').selectAll().where('admin_id', '=', adminId).orderBy('created').orderBy('id').execute();
      return rows.map(apiKeyFromRow);
    },
    async revoke(id, at) {
      await db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async touch(id, at, notBefore) {
      await db
        .updateTable('api_keys')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', notBefore)]))
        .execute();
    },
  };
}

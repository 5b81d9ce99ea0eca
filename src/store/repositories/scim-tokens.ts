import type { Kysely } from 'kysely';
import type { ScimTokenRepository } from '../../core/ports.js';
import { scimTokenFromRow } from '../rows.js';
import type { Database } from '../schema.js';

export function scimTokenRepository(db: Kysely<Database>): ScimTokenRepository {
  return {
    async insert(token, secretHash) {
      await db
        .insertInto('scim_tokens')
        .values({
          id: token.id,
          org_id: token.orgId,
          directory_id: token.directoryId,
          name: token.name,
          prefix: token.prefix,
          secret_hash: secretHash,
          expires_at: token.expiresAt,
          created: token.created,
          last_used_at: null,
          revoked_at: null,
        })
        .execute();
    },
    async findBySecretHash(secretHash) {
      const row = await db.selectFrom('scim_tokens').selectAll().where('secret_hash', '=', secretHash).executeTakeFirst();
      return row ? scimTokenFromRow(row) : undefined;
    },
    async findById(orgId, id) {
      const row = await db.selectFrom('scim_tokens').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
      return row ? scimTokenFromRow(row) : undefined;
    },
    async listByDirectory(orgId, directoryId) {
      const rows = await db
        .selectFrom('scim_tokens')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .orderBy('created')
        .orderBy('id')
        .execute();
      return rows.map(scimTokenFromRow);
    },
    async revoke(orgId, id, at) {
      await db.updateTable('scim_tokens').set({ revoked_at: at }).where('org_id', '=', orgId).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async touch(id, at, notBefore) {
      await db
        .updateTable('scim_tokens')
        .set({ last_used_at: at })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', notBefore)]))
        .execute();
    },
  };
}

import type { Kysely } from 'kysely';
import type { RecoveryCodeRepository } from '../../core/ports.js';
import type { Database } from '../schema.js';

export function recoveryCodeRepository(db: Kysely<Database>): RecoveryCodeRepository {
  return {
    async replace(orgId, userId, digests, at) {
      await db.deleteFrom('user_recovery_codes').where('org_id', '=', orgId).where('user_id', '=', userId).execute();
      if (digests.length > 0) {
        await db
          .insertInto('user_recovery_codes')
          .values(digests.map((digest) => ({ org_id: orgId, user_id: userId, digest, created: at, used_at: null })))
          .execute();
      }
    },
    async use(orgId, userId, digest, at) {
      const result = await db
        .updateTable('user_recovery_codes')
        .set({ used_at: at })
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('digest', '=', digest)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async status(orgId, userId) {
      const rows = await db.selectFrom('user_recovery_codes').select(['created', 'used_at']).where('org_id', '=', orgId).where('user_id', '=', userId).execute();
      if (rows.length === 0) return undefined;
      return { total: rows.length, remaining: rows.filter((r) => r.used_at === null).length, created: rows[0]!.created };
    },
    async deleteAll(orgId, userId) {
      const result = await db.deleteFrom('user_recovery_codes').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

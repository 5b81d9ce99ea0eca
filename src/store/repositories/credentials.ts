import { sql, type Kysely } from 'kysely';
import type { OrgId, UserId } from '../../core/ids.js';
import type { CredentialRepository } from '../../core/ports.js';
import type { Database } from '../schema.js';

const CHUNK = 500;

export function credentialRepository(db: Kysely<Database>): CredentialRepository {
  const totp = (orgId: string, userId: string) => db.updateTable('user_totp').where('org_id', '=', orgId).where('user_id', '=', userId);
  const putNtHashRows = async (rows: { org_id: string; user_id: string; hash: string; created: string }[]) => {
    if (rows.length === 0) return;
    await db
      .insertInto('user_nt_hashes')
      .values(rows)
      .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet({ hash: (eb) => eb.ref('excluded.hash'), created: (eb) => eb.ref('excluded.created') }))
      .execute();
  };

  return {
    async findTotp(orgId, userId) {
      const row = await db.selectFrom('user_totp').selectAll().where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
      if (!row) return undefined;
      return {
        enrollment: {
          orgId: row.org_id as OrgId,
          userId: row.user_id as UserId,
          confirmed: row.confirmed === 1,
          lastUsedStep: Number(row.last_used_step),
          created: row.created,
          updated: row.updated,
        },
        sealedSecret: row.secret,
      };
    },

    async putTotp(e, sealedSecret) {
      const row = {
        org_id: e.orgId,
        user_id: e.userId,
        secret: sealedSecret,
        confirmed: e.confirmed ? 1 : 0,
        last_used_step: e.lastUsedStep,
        created: e.created,
        updated: e.updated,
      };
      const { org_id, user_id, ...replace } = row;
      await db
        .insertInto('user_totp')
        .values(row)
        .onConflict((oc) => oc.columns(['org_id', 'user_id']).doUpdateSet(replace))
        .execute();
    },

    async confirmTotp(orgId, userId, step, at) {
      const result = await totp(orgId, userId)
        .set({ confirmed: 1, last_used_step: step, updated: at })
        .where('confirmed', '=', 0)
        .where('last_used_step', '<', step)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async useTotpStep(orgId, userId, step, at) {
      // One conditional UPDATE: of two requests with the same code, only one changes the row.
      const result = await totp(orgId, userId)
        .set({ last_used_step: step, updated: at })
        .where('confirmed', '=', 1)
        .where('last_used_step', '<', step)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },

    async deleteTotp(orgId, userId) {
      const result = await db.deleteFrom('user_totp').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async confirmedTotpAmong(orgId, userIds) {
      const out = new Set<UserId>();
      for (let i = 0; i < userIds.length; i += CHUNK) {
        const rows = await db
          .selectFrom('user_totp')
          .select('user_id')
          .where('org_id', '=', orgId)
          .where('confirmed', '=', 1)
          .where('user_id', 'in', userIds.slice(i, i + CHUNK))
          .execute();
        for (const r of rows) out.add(r.user_id as UserId);
      }
      return out;
    },

    async findNtHash(orgId, userId) {
      const row = await db.selectFrom('user_nt_hashes').select('hash').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
      return row?.hash;
    },

    async putNtHash(orgId, userId, sealedHash, at) {
      await putNtHashRows([{ org_id: orgId, user_id: userId, hash: sealedHash, created: at }]);
    },

    async putNtHashes(orgId, sealedHashes, at) {
      const rows = [...sealedHashes].map(([userId, hash]) => ({ org_id: orgId, user_id: userId, hash, created: at }));
      // Chunks keep each statement under SQLite's bound-parameter limit.
      for (let i = 0; i < rows.length; i += CHUNK) await putNtHashRows(rows.slice(i, i + CHUNK));
    },

    async deleteNtHash(orgId, userId) {
      const result = await db.deleteFrom('user_nt_hashes').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },

    async deleteAllNtHashes(orgId) {
      const result = await db.deleteFrom('user_nt_hashes').where('org_id', '=', orgId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },

    async countNtHashes(orgId) {
      const row = await db.selectFrom('user_nt_hashes').select(sql<number>`count(*)`.as('n')).where('org_id', '=', orgId).executeTakeFirst();
      return Number(row?.n ?? 0);
    },
  };
}

import type { Kysely, Selectable } from 'kysely';
import type { AdminId } from '../../core/ids.js';
import type { AdminSession } from '../../core/model.js';
import type { AdminSessionRepository } from '../../core/ports.js';
import type { AdminSessionsTable, Database } from '../schema.js';

const fromRow = (r: Selectable<AdminSessionsTable>): AdminSession => ({
  id: r.id,
  adminId: r.admin_id as AdminId,
  created: r.created,
  lastSeen: r.last_seen,
  idleExpires: r.idle_expires,
  expires: r.expires,
  mfa: r.mfa,
  ip: r.ip,
  userAgent: r.user_agent,
  revokedAt: r.revoked_at,
});

export function adminSessionRepository(db: Kysely<Database>): AdminSessionRepository {
  return {
    async insert(s) {
      await db
        .insertInto('admin_sessions')
        .values({
          id: s.id,
          admin_id: s.adminId,
          created: s.created,
          last_seen: s.lastSeen,
          idle_expires: s.idleExpires,
          expires: s.expires,
          mfa: s.mfa,
          ip: s.ip,
          user_agent: s.userAgent,
          revoked_at: s.revokedAt,
        })
        .execute();
    },
    async findById(id) {
      const row = await db.selectFrom('admin_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
    async touch(id, lastSeen, idleExpires) {
      await db.updateTable('admin_sessions').set({ last_seen: lastSeen, idle_expires: idleExpires }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async revoke(id, at) {
      const result = await db.updateTable('admin_sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async revokeAdmin(adminId, at) {
      const result = await db
        .updateTable('admin_sessions')
        .set({ revoked_at: at })
        .where('admin_id', '=', adminId)
        .where('revoked_at', 'is', null)
        .where('expires', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async stateOf(adminId) {
      const row = await db
        .selectFrom('administrators')
        .select(['totp_secret', 'totp_confirmed', 'totp_last_step', 'failed_logins', 'locked_until'])
        .where('id', '=', adminId)
        .executeTakeFirst();
      return row
        ? {
            totpSecret: row.totp_secret,
            totpConfirmed: row.totp_confirmed,
            totpLastStep: Number(row.totp_last_step),
            failedLogins: Number(row.failed_logins),
            lockedUntil: row.locked_until,
          }
        : undefined;
    },
    async setFailures(adminId, failedLogins, lockedUntil) {
      await db.updateTable('administrators').set({ failed_logins: failedLogins, locked_until: lockedUntil }).where('id', '=', adminId).execute();
    },
    async setTotp(adminId, sealedSecret, confirmed, lastStep) {
      await db.updateTable('administrators').set({ totp_secret: sealedSecret, totp_confirmed: confirmed, totp_last_step: lastStep }).where('id', '=', adminId).execute();
    },
    async prune(before) {
      const result = await db
        .deleteFrom('admin_sessions')
        .where((eb) => eb.or([eb('expires', '<', before), eb('idle_expires', '<', before), eb('revoked_at', '<', before)]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async useTotpStep(adminId, step) {
      const result = await db.updateTable('administrators').set({ totp_last_step: step }).where('id', '=', adminId).where('totp_last_step', '<', step).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
  };
}

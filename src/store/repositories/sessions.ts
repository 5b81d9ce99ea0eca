import type { Kysely, Selectable } from 'kysely';
import type { OrgId, UserId } from '../../core/ids.js';
import type { UserSession } from '../../core/model.js';
import type { SessionRepository } from '../../core/ports.js';
import type { Database, UserSessionsTable } from '../schema.js';

const fromRow = (r: Selectable<UserSessionsTable>): UserSession => ({
  id: r.id,
  orgId: r.org_id as OrgId,
  userId: r.user_id as UserId,
  created: r.created,
  lastSeen: r.last_seen,
  idleExpires: r.idle_expires,
  expires: r.expires,
  mfa: r.mfa,
  ip: r.ip,
  userAgent: r.user_agent,
  revokedAt: r.revoked_at,
});

export function sessionRepository(db: Kysely<Database>): SessionRepository {
  return {
    async insert(s) {
      await db
        .insertInto('user_sessions')
        .values({
          id: s.id,
          org_id: s.orgId,
          user_id: s.userId,
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
      const row = await db.selectFrom('user_sessions').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
    async touch(id, lastSeen, idleExpires) {
      await db.updateTable('user_sessions').set({ last_seen: lastSeen, idle_expires: idleExpires }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    async revoke(id, at) {
      const result = await db.updateTable('user_sessions').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async revokeUser(orgId, userId, at) {
      const result = await db
        .updateTable('user_sessions')
        .set({ revoked_at: at })
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires', '>', at)
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async listLive(orgId, userId, now) {
      const rows = await db
        .selectFrom('user_sessions')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .where('expires', '>', now)
        .where('idle_expires', '>', now)
        .orderBy('created', 'desc')
        .execute();
      return rows.map(fromRow);
    },
    async prune(before) {
      const result = await db
        .deleteFrom('user_sessions')
        .where((eb) => eb.or([eb('expires', '<', before), eb('idle_expires', '<', before), eb('revoked_at', '<', before)]))
        .executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

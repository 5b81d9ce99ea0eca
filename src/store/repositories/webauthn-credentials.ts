import type { Kysely, Selectable } from 'kysely';
import type { OrgId, UserId } from '../../core/ids.js';
import type { WebAuthnCredentialRecord, WebAuthnCredentialRepository } from '../../core/ports.js';
import type { Database, UserWebauthnCredentialsTable } from '../schema.js';

const CHUNK = 500;

function transportsOf(text: string): string[] {
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === 'string') : [];
  } catch {
    return [];
  }
}

const fromRow = (r: Selectable<UserWebauthnCredentialsTable>): WebAuthnCredentialRecord => ({
  id: r.id,
  orgId: r.org_id as OrgId,
  userId: r.user_id as UserId,
  publicKey: r.public_key,
  counter: Number(r.counter),
  transports: transportsOf(r.transports),
  deviceType: r.device_type === 'multiDevice' ? 'multiDevice' : 'singleDevice',
  backedUp: Number(r.backed_up) === 1,
  aaguid: r.aaguid,
  name: r.name,
  created: r.created,
  lastUsedAt: r.last_used_at,
});

export function webauthnCredentialRepository(db: Kysely<Database>): WebAuthnCredentialRepository {
  return {
    async insert(c) {
      await db
        .insertInto('user_webauthn_credentials')
        .values({
          id: c.id,
          org_id: c.orgId,
          user_id: c.userId,
          public_key: c.publicKey,
          counter: c.counter,
          transports: JSON.stringify(c.transports),
          device_type: c.deviceType,
          backed_up: c.backedUp ? 1 : 0,
          aaguid: c.aaguid,
          name: c.name,
          created: c.created,
          last_used_at: c.lastUsedAt,
        })
        .execute();
    },
    async listByUser(orgId, userId) {
      const rows = await db
        .selectFrom('user_webauthn_credentials')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .orderBy('created')
        .orderBy('id')
        .execute();
      return rows.map(fromRow);
    },
    async findById(id) {
      const row = await db.selectFrom('user_webauthn_credentials').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? fromRow(row) : undefined;
    },
    async recordUse(id, use) {
      // Only forward: `counter < new`, or both 0 for an authenticator that keeps no counter. One
      // statement, so of two uses of the same assertion only one can move it.
      const result = await db
        .updateTable('user_webauthn_credentials')
        .set({ counter: use.counter, backed_up: use.backedUp ? 1 : 0, last_used_at: use.at })
        .where('id', '=', id)
        .where('counter', use.counter === 0 ? '=' : '<', use.counter === 0 ? 0 : use.counter)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async delete(orgId, userId, id) {
      const result = await db
        .deleteFrom('user_webauthn_credentials')
        .where('org_id', '=', orgId)
        .where('user_id', '=', userId)
        .where('id', '=', id)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    async deleteAllOf(orgId, userId) {
      const result = await db.deleteFrom('user_webauthn_credentials').where('org_id', '=', orgId).where('user_id', '=', userId).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async usersWithCredentialsAmong(orgId, userIds) {
      const out = new Set<UserId>();
      for (let i = 0; i < userIds.length; i += CHUNK) {
        const rows = await db
          .selectFrom('user_webauthn_credentials')
          .select('user_id')
          .distinct()
          .where('org_id', '=', orgId)
          .where('user_id', 'in', userIds.slice(i, i + CHUNK))
          .execute();
        for (const r of rows) out.add(r.user_id as UserId);
      }
      return out;
    },
  };
}

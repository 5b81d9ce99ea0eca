import type { Kysely } from 'kysely';
import type { SamlReplayRepository } from '../../core/ports.js';
import type { Database } from '../schema.js';

export function samlReplayRepository(db: Kysely<Database>): SamlReplayRepository {
  return {
    async checkAndRecord(issuer, id, expiresAt, now) {
      // One statement, atomic on both dialects: the row is inserted, or an expired one replaced;
      // a live one (a replay) matches the conflict but not the WHERE, and no row changes. On
      // PostgreSQL a concurrent insert of the same key waits for the first and then sees it.
      const result = await db
        .insertInto('saml_replay')
        .values({ issuer, message_id: id, expires: expiresAt })
        .onConflict((oc) =>
          oc
            .columns(['issuer', 'message_id'])
            .doUpdateSet({ expires: (eb) => eb.ref('excluded.expires') })
            .where('saml_replay.expires', '<=', now),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
    },
    async prune(before) {
      const result = await db.deleteFrom('saml_replay').where('expires', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

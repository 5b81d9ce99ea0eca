import type { Kysely } from 'kysely';
import type { MetaRepository } from '../../core/ports.js';
import type { Database } from '../schema.js';

export function metaRepository(db: Kysely<Database>): MetaRepository {
  return {
    async get(key) {
      const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value;
    },
    async setIfAbsent(key, value) {
      await db.insertInto('meta').values({ key, value }).onConflict((oc) => oc.column('key').doNothing()).execute();
      return (await this.get(key))!;
    },
  };
}

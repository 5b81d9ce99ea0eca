import type { Kysely } from 'kysely';

/**
 * The SAML AuthnRequest IDs seen recently, per issuer (the SP's entity id), until each may be
 * forgotten: shared through the store so that a request replayed to another `roster serve`
 * process is refused there too. The primary key makes recording an ID atomic on both dialects.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('saml_replay')
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull())
    .addColumn('expires', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('saml_replay_pk', ['issuer', 'message_id'])
    .execute();
  await db.schema.createIndex('saml_replay_expires_idx').on('saml_replay').column('expires').execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

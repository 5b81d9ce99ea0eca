import type { Kysely } from 'kysely';

/** Users' one-time recovery codes for when their authenticator is lost: SHA-256 digests only. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_recovery_codes')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('digest', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addPrimaryKeyConstraint('user_recovery_codes_pk', ['org_id', 'user_id', 'digest'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

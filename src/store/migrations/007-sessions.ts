import type { Kysely } from 'kysely';

/**
 * Users' sign-in sessions (single sign-on and the user portal): only the SHA-256 digest of each
 * session token, its timeouts, and what it was started with. Suspending or locking a user, or
 * setting a new password, revokes the user's sessions in the same transaction.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_sessions')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('last_seen', 'text', (c) => c.notNull())
    .addColumn('idle_expires', 'text', (c) => c.notNull())
    .addColumn('expires', 'text', (c) => c.notNull())
    .addColumn('mfa', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('ip', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('user_agent', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('user_sessions_user_idx').on('user_sessions').columns(['org_id', 'user_id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

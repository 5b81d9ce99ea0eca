import type { Kysely } from 'kysely';

/** Events (LDAP binds and searches, later RADIUS and SSO sign-ins) carry details beside the change set. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('journal').addColumn('details', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

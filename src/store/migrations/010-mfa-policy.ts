import type { Kysely } from 'kysely';

/**
 * Second-factor policy per user: required one by one (beside the org's policy in its settings),
 * and exempt for good or for an enrollment period.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('mfa_required', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('mfa_exclusion', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('users').addColumn('mfa_exclusion_until', 'text').execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

import type { Kysely } from 'kysely';

/**
 * Directory sync with agents (Active Directory and other LDAP directories): the agents of each
 * directory (a one-time connect key, then a credential of their own; digests only), each
 * directory's sync state (the import cursor, which advances in the same transaction as the changes
 * it covers; the writer lease), its runs with their plans, and objects removed at the source that
 * wait out their grace period before deletion.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('directory_agents')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('connect_key_digest', 'text', (c) => c.unique())
    .addColumn('connect_key_expires', 'text')
    .addColumn('credential_digest', 'text', (c) => c.unique())
    .addColumn('hostname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('version', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('source_ip', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('contact_at', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('directory_agents_directory_idx').on('directory_agents').columns(['org_id', 'directory_id']).execute();

  await db.schema
    .createTable('directory_sync_state')
    .addColumn('directory_id', 'text', (c) => c.primaryKey().references('directories.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('import_cursor', 'text')
    .addColumn('full_import_wanted', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('dry_run_wanted', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('writer_agent_id', 'text')
    .addColumn('writer_until', 'text')
    .addColumn('last_import_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'text')
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('directory_sync_runs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    .addColumn('agent_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('dry_run', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('started', 'text', (c) => c.notNull())
    .addColumn('finished', 'text')
    .addColumn('counts', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('plan', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('error', 'text')
    .execute();
  await db.schema.createIndex('directory_sync_runs_directory_idx').on('directory_sync_runs').columns(['org_id', 'directory_id', 'started']).execute();

  await db.schema
    .createTable('directory_removals')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('local_id', 'text', (c) => c.notNull())
    .addColumn('removed_at', 'text', (c) => c.notNull())
    .addColumn('delete_after', 'text')
    .addPrimaryKeyConstraint('directory_removals_pk', ['org_id', 'directory_id', 'kind', 'local_id'])
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

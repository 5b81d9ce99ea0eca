import type { Kysely } from 'kysely';

/**
 * Writing to a directory through its agent (Roster → AD):
 * - each identity link keeps what the directory last held of the object (`known`, JSON), as the
 *   agent last read or wrote it: export sends only what differs from it, and a two-way import tells
 *   by it which side changed an attribute; and the user's password authority (`password_authority`:
 *   null follows the domain's configuration);
 * - `directory_agent_tasks`: the requests Roster makes of a directory's agent and waits for (write
 *   a password to AD, verify one against it). The payload is sealed (it carries a password) and the
 *   row is removed as soon as its answer is read or it expires.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('identity_links').addColumn('known', 'text').execute();
  await db.schema.alterTable('identity_links').addColumn('password_authority', 'text').execute();

  await db.schema
    .createTable('directory_agent_tasks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('agent_id', 'text')
    .addColumn('result', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('expires', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('directory_agent_tasks_pending_idx').on('directory_agent_tasks').columns(['directory_id', 'state']).execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

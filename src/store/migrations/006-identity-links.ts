import type { Kysely } from 'kysely';
import { uniqueKeysOf } from '../unique-keys.js';

/**
 * Identity links (DESIGN.md, Sync): how an object of an external directory is known in Roster,
 * `(directory, kind, local id) ↔ external id`, unique both ways within a directory and kind.
 * SCIM sources keep their `externalId` here; the directory sync will anchor on the same table.
 * The local id is a user's or a group's, so it has no foreign key: the core removes an object's
 * links when it deletes the object. Deleting the directory removes its links.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('identity_links')
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('directory_id', 'text', (c) => c.notNull().references('directories.id').onDelete('cascade'))
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('local_id', 'text', (c) => c.notNull())
    .addColumn('external_id', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('identity_links_pk', ['directory_id', 'object_type', 'local_id'])
    .execute();
  for (const key of uniqueKeysOf('006-identity-links')) {
    await db.schema.createIndex(key.name).unique().on(key.table).columns(key.columns).execute();
  }
  // An object's links in every directory, looked up when the object is deleted.
  await db.schema.createIndex('identity_links_object_idx').on('identity_links').columns(['org_id', 'object_type', 'local_id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

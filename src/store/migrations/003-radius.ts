import type { Kysely } from 'kysely';
import { uniqueKeysOf } from '../unique-keys.js';

/**
 * RADIUS servers with their sealed shared secrets, users' TOTP second factors, and the sealed NT
 * hashes MS-CHAPv2 needs. A user's TOTP and NT hash go with the user (ON DELETE CASCADE), as the
 * password history does.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('radius_servers')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull())
    .addColumn('network_source_ips', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('mfa', 'text', (c) => c.notNull().defaultTo('DISABLED'))
    .addColumn('user_password_expiration_action', 'text', (c) => c.notNull().defaultTo('REMOVE'))
    .addColumn('tag_names', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('user_cert_enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('ca_cert', 'text')
    .addColumn('shared_secret', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('user_totp')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('confirmed', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_used_step', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_totp_pk', ['org_id', 'user_id'])
    .execute();

  await db.schema
    .createTable('user_nt_hashes')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('user_nt_hashes_pk', ['org_id', 'user_id'])
    .execute();

  for (const key of uniqueKeysOf('003-radius')) {
    await db.schema.createIndex(key.name).unique().on(key.table).columns(key.columns).execute();
  }
  await db.schema.createIndex('radius_servers_org_id_idx').on('radius_servers').columns(['org_id', 'id']).execute();
  // The cascades look rows up by user id alone.
  await db.schema.createIndex('user_totp_user_idx').on('user_totp').column('user_id').execute();
  await db.schema.createIndex('user_nt_hashes_user_idx').on('user_nt_hashes').column('user_id').execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

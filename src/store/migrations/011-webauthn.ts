import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Users' WebAuthn credentials (security keys and passkeys): the credential's public key only, as
 * the authenticator gave it (COSE), and its signature counter for clone detection. A credential
 * id is unique across every organization, as authenticators make them.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('user_webauthn_credentials')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('public_key', 'text', (c) => c.notNull())
    // A 32-bit unsigned counter: beyond PostgreSQL's integer.
    .addColumn('counter', isPostgres(db) ? 'bigint' : 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('device_type', 'text', (c) => c.notNull())
    .addColumn('backed_up', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('aaguid', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();
  await db.schema.createIndex('user_webauthn_credentials_user_idx').on('user_webauthn_credentials').columns(['org_id', 'user_id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

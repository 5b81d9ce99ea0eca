import type { Kysely } from 'kysely';

/**
 * The OpenID Connect provider: each OIDC application's client (its settings and sealed secret),
 * what node-oidc-provider persists between requests (sessions, codes, tokens, grants,
 * interactions) so that every process sharing the store serves the same flows, and the
 * installation's signing and cookie keys, sealed.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('oidc_clients')
    .addColumn('client_id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('application_id', 'text', (c) => c.notNull().unique().references('applications.id').onDelete('cascade'))
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('sealed_secret', 'text')
    .addColumn('secret_updated', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('oidc_state')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('grant_id', 'text')
    .addColumn('user_code', 'text')
    .addColumn('uid', 'text')
    .addColumn('expires_at', 'text')
    .addColumn('consumed_at', 'text')
    .addPrimaryKeyConstraint('oidc_state_pk', ['model', 'id'])
    .execute();
  await db.schema.createIndex('oidc_state_grant_idx').on('oidc_state').column('grant_id').execute();
  await db.schema.createIndex('oidc_state_uid_idx').on('oidc_state').columns(['model', 'uid']).execute();
  await db.schema.createIndex('oidc_state_user_code_idx').on('oidc_state').columns(['model', 'user_code']).execute();
  await db.schema.createIndex('oidc_state_expires_idx').on('oidc_state').column('expires_at').execute();

  await db.schema
    .createTable('oidc_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('use', 'text', (c) => c.notNull())
    .addColumn('sealed', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

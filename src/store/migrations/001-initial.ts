import type { Kysely } from 'kysely';
import { uniqueKeysOf } from '../unique-keys.js';
import { isPostgres } from '../dialect.js';

// Kysely migrations run against an untyped database on purpose: the typed schema is what they produce.
export async function up(db: Kysely<any>): Promise<void> {
  const text = (t: ReturnType<typeof db.schema.createTable>, ...names: string[]) =>
    names.reduce((acc, n) => acc.addColumn(n, 'text', (c) => c.notNull().defaultTo('')), t);
  const flags = (t: ReturnType<typeof db.schema.createTable>, ...names: string[]) =>
    names.reduce((acc, n) => acc.addColumn(n, 'integer', (c) => c.notNull().defaultTo(0)), t);

  await db.schema
    .createTable('meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('organizations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('logo_url', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('next_unix_id', 'integer', (c) => c.notNull())
    .addColumn('user_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();

  let users = db.schema
    .createTable('users')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_key', 'text', (c) => c.notNull())
    .addColumn('employee_identifier', 'text')
    .addColumn('manager_id', 'text')
    .addColumn('unix_uid', 'integer', (c) => c.notNull())
    .addColumn('unix_guid', 'integer', (c) => c.notNull())
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('account_locked_date', 'text')
    .addColumn('locked_until', 'text')
    .addColumn('last_failed_login', 'text')
    .addColumn('password_hash', 'text')
    .addColumn('password_date', 'text')
    .addColumn('password_expiration_date', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull());
  users = text(users, 'firstname', 'middlename', 'lastname', 'displayname', 'employee_type', 'job_title',
    'department', 'company', 'cost_center', 'location', 'alternate_email', 'external_dn',
    'external_source_type', 'description');
  users = users
    .addColumn('phone_numbers', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('addresses', 'text', (c) => c.notNull().defaultTo('[]'))
    .addColumn('attributes', 'text', (c) => c.notNull().defaultTo('[]'));
  users = flags(users, 'sudo', 'passwordless_sudo', 'ldap_binding_user', 'password_never_expires',
    'externally_managed', 'account_locked', 'bad_login_attempts');
  await users.execute();

  await db.schema
    .createTable('password_history')
    .addColumn('id', isPostgres(db) ? 'bigint' : 'integer', (c) =>
      isPostgres(db) ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('user_groups')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('name_key', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('email', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('attributes', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('membership_method', 'text', (c) => c.notNull().defaultTo('STATIC'))
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('group_members')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('group_id', 'text', (c) => c.notNull().references('user_groups.id').onDelete('cascade'))
    .addColumn('member_type', 'text', (c) => c.notNull())
    .addColumn('member_id', 'text', (c) => c.notNull())
    .addColumn('created', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'member_type', 'member_id'])
    .execute();

  await db.schema
    .createTable('associations')
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('subject_type', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('resource_type', 'text', (c) => c.notNull())
    .addColumn('resource_id', 'text', (c) => c.notNull())
    .addColumn('attributes', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('associations_pk', ['subject_type', 'subject_id', 'resource_type', 'resource_id'])
    .execute();

  await db.schema
    .createTable('administrators')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('email', 'text', (c) => c.notNull())
    .addColumn('email_key', 'text', (c) => c.notNull())
    .addColumn('firstname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('lastname', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('role_name', 'text', (c) => c.notNull())
    .addColumn('enable_multi_factor', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('suspended', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('password_hash', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('admin_orgs')
    .addColumn('admin_id', 'text', (c) => c.notNull().references('administrators.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('created', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('admin_orgs_pk', ['admin_id', 'org_id'])
    .execute();

  await db.schema
    .createTable('api_keys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('admin_id', 'text', (c) => c.notNull().references('administrators.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('prefix', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('read_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .addColumn('revoked_at', 'text')
    .execute();

  let apps = db.schema
    .createTable('applications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('sso', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull());
  apps = text(apps, 'name', 'display_name', 'display_label', 'sso_url', 'learn_more', 'color', 'logo_url');
  apps = flags(apps, 'active', 'beta');
  await apps.execute();

  await db.schema
    .createTable('directories')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('journal')
    .addColumn('seq', isPostgres(db) ? 'bigint' : 'integer', (c) =>
      isPostgres(db) ? c.primaryKey().generatedAlwaysAsIdentity() : c.primaryKey().autoIncrement(),
    )
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('at', 'text', (c) => c.notNull())
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('object_id', 'text', (c) => c.notNull())
    .addColumn('operation', 'text', (c) => c.notNull())
    .addColumn('changes', 'text', (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text')
    .addColumn('api_key_id', 'text')
    .addColumn('origin', 'text', (c) => c.notNull())
    .execute();

  for (const key of uniqueKeysOf('001-initial')) {
    await db.schema.createIndex(key.name).unique().on(key.table).columns(key.columns).execute();
  }
  const indexes: [string, string, string[]][] = [
    ['users_org_id_idx', 'users', ['org_id', 'id']],
    ['users_manager_idx', 'users', ['org_id', 'manager_id']],
    ['password_history_user_idx', 'password_history', ['user_id', 'id']],
    ['user_groups_org_id_idx', 'user_groups', ['org_id', 'id']],
    ['group_members_member_idx', 'group_members', ['member_type', 'member_id', 'group_id']],
    ['associations_resource_idx', 'associations', ['resource_type', 'resource_id', 'subject_type', 'subject_id']],
    ['admin_orgs_org_idx', 'admin_orgs', ['org_id', 'admin_id']],
    ['api_keys_admin_idx', 'api_keys', ['admin_id']],
    ['applications_org_id_idx', 'applications', ['org_id', 'id']],
    ['directories_org_id_idx', 'directories', ['org_id', 'id']],
    ['journal_org_seq_idx', 'journal', ['org_id', 'seq']],
    ['journal_object_idx', 'journal', ['org_id', 'object_type', 'object_id', 'seq']],
  ];
  for (const [name, table, columns] of indexes) {
    await db.schema.createIndex(name).on(table).columns(columns).execute();
  }
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

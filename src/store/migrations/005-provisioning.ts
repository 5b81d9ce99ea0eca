import type { Kysely } from 'kysely';
import { isPostgres } from '../dialect.js';

/**
 * Outbound provisioning to applications' SCIM servers: one target per application (its settings,
 * the sealed bearer token, status, the journal position it has converged to and a lease for the
 * process running it) and, per pushed user or group, the record of what was written and where.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('provisioning_targets')
    .addColumn('application_id', 'text', (c) => c.primaryKey().references('applications.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id'))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('config', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('token', 'text')
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('idle'))
    .addColumn('cursor', isPostgres(db) ? 'bigint' : 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('counters', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('last_run_at', 'text')
    .addColumn('last_success_at', 'text')
    .addColumn('last_error', 'text')
    .addColumn('last_error_at', 'text')
    .addColumn('reconciled_at', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('created', 'text', (c) => c.notNull())
    .addColumn('updated', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('provisioning_targets_org_idx').on('provisioning_targets').columns(['org_id', 'application_id']).execute();

  await db.schema
    .createTable('provisioned_objects')
    .addColumn('application_id', 'text', (c) => c.notNull().references('applications.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull())
    .addColumn('object_type', 'text', (c) => c.notNull())
    .addColumn('local_id', 'text', (c) => c.notNull())
    .addColumn('remote_id', 'text')
    .addColumn('name', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('digest', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('written', 'text')
    .addColumn('written_at', 'text')
    .addColumn('error', 'text')
    .addColumn('error_at', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addPrimaryKeyConstraint('provisioned_objects_pk', ['application_id', 'object_type', 'local_id'])
    .execute();
  await db.schema.createIndex('provisioned_objects_remote_idx').on('provisioned_objects').columns(['application_id', 'object_type', 'remote_id']).execute();
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

import { Migrator, sql, type Kysely, type MigrationResult } from 'kysely';
import * as initial from './migrations/001-initial.js';
import { isPostgres } from './dialect.js';

/** Every migration, in order. Names never change once released. */
const MIGRATIONS = { '001-initial': initial };

export interface MigrationReport {
  applied: string[];
}

export async function migrate(db: Kysely<any>, schema?: string): Promise<MigrationReport> {
  if (schema && isPostgres(db)) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    ...(schema && isPostgres(db) ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return { applied: (results ?? []).filter((r: MigrationResult) => r.status === 'Success').map((r) => r.migrationName) };
}

export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => MIGRATIONS } });
  const all = await migrator.getMigrations();
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

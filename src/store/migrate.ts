import { Migrator, sql, type Kysely, type MigrationResult } from 'kysely';
import * as initial from './migrations/001-initial.js';
import * as journalDetails from './migrations/002-journal-details.js';
import * as radius from './migrations/003-radius.js';
import * as scim from './migrations/004-scim.js';
import * as provisioning from './migrations/005-provisioning.js';
import * as identityLinks from './migrations/006-identity-links.js';
import * as sessions from './migrations/007-sessions.js';
import * as oidc from './migrations/008-oidc.js';
import * as recoveryCodes from './migrations/009-recovery-codes.js';
import * as mfaPolicy from './migrations/010-mfa-policy.js';
import * as webauthn from './migrations/011-webauthn.js';
import * as samlReplay from './migrations/012-saml-replay.js';
import * as oidcKeySchedule from './migrations/013-oidc-key-schedule.js';
import * as directorySync from './migrations/014-directory-sync.js';
import * as directoryExport from './migrations/015-directory-export.js';
import * as adminSessions from './migrations/016-admin-sessions.js';
import { isPostgres } from './dialect.js';

/** Every migration, in order. Names never change once released. */
const MIGRATIONS = { '001-initial': initial, '002-journal-details': journalDetails, '003-radius': radius, '004-scim': scim, '005-provisioning': provisioning, '006-identity-links': identityLinks, '007-sessions': sessions, '008-oidc': oidc, '009-recovery-codes': recoveryCodes, '010-mfa-policy': mfaPolicy, '011-webauthn': webauthn, '012-saml-replay': samlReplay, '013-oidc-key-schedule': oidcKeySchedule, '014-directory-sync': directorySync, '015-directory-export': directoryExport, '016-admin-sessions': adminSessions };

export interface MigrationReport {
  applied: string[];
}

/**
 * PostgreSQL: the migration bookkeeping tables live in the schema Roster uses. Kysely looks them
 * up by name alone unless told the schema, and would otherwise mistake another schema's tables
 * (another Roster in the same database) for its own.
 */
async function migrator(db: Kysely<any>, schema?: string): Promise<Migrator> {
  let tableSchema: string | undefined;
  if (isPostgres(db)) {
    if (schema) await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    tableSchema = schema ?? (await sql<{ s: string }>`select current_schema() as s`.execute(db)).rows[0]?.s;
  }
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    ...(tableSchema ? { migrationTableSchema: tableSchema } : {}),
  });
}

/**
 * Kysely looks for its migration table by reading every schema of the database and asking for
 * each whether it may be used; a schema another client drops meanwhile (another Roster sharing the
 * database, a test suite cleaning up) fails that question with 3F000 "schema … does not exist".
 * The check reads nothing of that schema, so it is simply asked again.
 */
export async function retryingVanishedSchema<T>(run: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (e) {
      if ((e as { code?: unknown }).code !== '3F000' || attempt >= 5) throw e;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt));
    }
  }
}

export async function migrate(db: Kysely<any>, schema?: string): Promise<MigrationReport> {
  return retryingVanishedSchema(async () => {
    const { error, results } = await (await migrator(db, schema)).migrateToLatest();
    if (error) throw error instanceof Error ? error : new Error(String(error));
    return { applied: (results ?? []).filter((r: MigrationResult) => r.status === 'Success').map((r) => r.migrationName) };
  });
}

export async function pendingMigrations(db: Kysely<any>, schema?: string): Promise<string[]> {
  const all = await retryingVanishedSchema(async () => (await migrator(db, schema)).getMigrations());
  return all.filter((m) => m.executedAt === undefined).map((m) => m.name);
}

import { sql, type Kysely } from 'kysely';
import type SqliteDatabase from 'better-sqlite3';
import type { JournalRepository, Repositories, Store, Transaction } from '../core/ports.js';
import { connect, type ConnectOptions } from './connect.js';
import { translateStoreError } from './errors.js';
import { migrate } from './migrate.js';
import { administratorRepository } from './repositories/administrators.js';
import { apiKeyRepository } from './repositories/api-keys.js';
import { applicationRepository } from './repositories/applications.js';
import { associationRepository } from './repositories/associations.js';
import { credentialRepository } from './repositories/credentials.js';
import { directoryRepository } from './repositories/directories.js';
import { groupRepository } from './repositories/groups.js';
import { identityLinkRepository } from './repositories/identity-links.js';
import { metaRepository } from './repositories/meta.js';
import { oidcRepository } from './repositories/oidc.js';
import { samlReplayRepository } from './repositories/saml-replay.js';
import { directorySyncRepository } from './repositories/directory-sync.js';
import { appendJournal, journalRepository, pendingRows, type PendingJournalRow } from './repositories/journal.js';
import { organizationRepository } from './repositories/organizations.js';
import { provisioningRepository } from './repositories/provisioning.js';
import { sessionRepository } from './repositories/sessions.js';
import { adminSessionRepository } from './repositories/admin-sessions.js';
import { recoveryCodeRepository } from './repositories/recovery-codes.js';
import { webauthnCredentialRepository } from './repositories/webauthn-credentials.js';
import { scimTokenRepository } from './repositories/scim-tokens.js';
import { radiusServerRepository } from './repositories/radius-servers.js';
import { reachRepository } from './repositories/reach.js';
import { userRepository } from './repositories/users.js';
import type { Database } from './schema.js';

function repositories(db: Kysely<Database>, postgres: boolean): Repositories {
  return {
    meta: metaRepository(db),
    orgs: organizationRepository(db, postgres),
    users: userRepository(db, postgres),
    groups: groupRepository(db, postgres),
    associations: associationRepository(db),
    reach: reachRepository(db),
    admins: administratorRepository(db, postgres),
    apiKeys: apiKeyRepository(db),
    adminSessions: adminSessionRepository(db),
    applications: applicationRepository(db, postgres),
    directories: directoryRepository(db, postgres),
    radiusServers: radiusServerRepository(db, postgres),
    credentials: credentialRepository(db),
    scimTokens: scimTokenRepository(db),
    journal: journalRepository(db),
    identityLinks: identityLinkRepository(db),
    provisioning: provisioningRepository(db),
    sessions: sessionRepository(db),
    recoveryCodes: recoveryCodeRepository(db),
    webauthnCredentials: webauthnCredentialRepository(db),
    oidc: oidcRepository(db),
    samlReplay: samlReplayRepository(db),
    directorySync: directorySyncRepository(db, postgres),
  };
}

/** Wraps every repository method so driver errors reach the core already translated. */
function translated<T extends object>(target: T): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver);
      if (typeof value === 'function') {
        return async (...args: unknown[]) => {
          try {
            return await value.apply(obj, args);
          } catch (e) {
            throw translateStoreError(e);
          }
        };
      }
      if (value && typeof value === 'object') return translated(value);
      return value;
    },
  });
}

export interface OpenStoreOptions extends ConnectOptions {
  /** Apply pending migrations on open (default true). */
  migrate?: boolean;
}

export class KyselyStore implements Store {
  readonly read: Repositories;
  private readonly postgres: boolean;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    readonly description: string,
    sqlite?: SqliteDatabase.Database,
  ) {
    this.postgres = dialect === 'postgres';
    const read = repositories(db, this.postgres);
    if (sqlite) read.journal = { ...read.journal, head: fastJournalHead(sqlite, read.journal.head) };
    this.read = translated(read);
  }

  async transaction<T>(work: (tx: Transaction) => Promise<T>): Promise<T> {
    try {
      return await this.db.connection().execute(async (conn) => {
        // SQLite: IMMEDIATE takes the write lock up front, so a read-then-write transaction cannot
        // fail halfway with SQLITE_BUSY when another process writes.
        await sql.raw(this.postgres ? 'begin' : 'begin immediate').execute(conn);
        const pending: PendingJournalRow[] = [];
        const tx: Transaction = {
          ...translated(repositories(conn, this.postgres)),
          record: (stamp, entries) => {
            for (const row of pendingRows(stamp, entries)) pending.push(row);
          },
          flushJournal: async () => {
            await appendJournal(conn, this.postgres, pending.splice(0));
          },
          // SQLite's BEGIN IMMEDIATE already excludes every other writer.
          lock: async (name) => {
            if (this.postgres) await sql`select pg_advisory_xact_lock(hashtext(${name}))`.execute(conn);
          },
        };
        try {
          const result = await work(tx);
          await appendJournal(conn, this.postgres, pending);
          await sql.raw('commit').execute(conn);
          return result;
        } catch (e) {
          await sql.raw('rollback').execute(conn).catch(() => undefined);
          throw e;
        }
      });
    } catch (e) {
      throw translateStoreError(e);
    }
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async optimize(): Promise<void> {
    // PostgreSQL: VACUUM also sets the visibility map, so counts can use index-only scans at once
    // instead of after autovacuum comes round.
    await sql.raw(this.postgres ? 'vacuum analyze' : 'analyze').execute(this.db);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

/**
 * Caches reading the journal head, which the LDAP service does before every request, as a prepared
 * statement. Only outside a transaction: on SQLite's single connection a read inside one would see
 * rows that are not committed yet.
 */
function fastJournalHead(sqlite: SqliteDatabase.Database, slow: JournalRepository['head']): JournalRepository['head'] {
  const statement = sqlite.prepare<[string], { seq: number | null }>('select max(seq) as seq from journal where org_id = ?');
  return async (orgId) => (sqlite.inTransaction ? slow(orgId) : Number(statement.get(orgId)?.seq ?? 0));
}

export async function openStore(options: OpenStoreOptions): Promise<KyselyStore> {
  const { db, dialect, description, sqlite } = connect(options);
  try {
    if (options.migrate !== false) await migrate(db, options.schema);
  } catch (e) {
    await db.destroy();
    throw e;
  }
  return new KyselyStore(db, dialect, description, sqlite);
}

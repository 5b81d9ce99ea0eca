import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDialectConfig } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.js';

export interface ConnectOptions {
  /** `postgres://…` for PostgreSQL; `sqlite::memory:` or `sqlite:<path>` for SQLite; unset for `<dataDir>/roster.db`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema to use (created if missing); tests give each suite its own. */
  schema?: string | undefined;
  poolSize?: number | undefined;
}

export interface Connection {
  db: Kysely<Database>;
  dialect: 'sqlite' | 'postgres';
  /** Where the data lives, without credentials, for logs. */
  description: string;
  /** The SQLite handle itself, for the few hot reads that skip the query builder. */
  sqlite?: SqliteDatabase.Database;
}

// COUNT(*) and the journal sequence are int8; they stay far below 2^53, so numbers are safe.
const INT8_OID = 20;
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export function connect(options: ConnectOptions): Connection {
  const url = options.databaseUrl?.trim();
  if (url && /^postgres(ql)?:\/\//.test(url)) return connectPostgres(url, options);
  if (url && !url.startsWith('sqlite:')) {
    throw new Error('DATABASE_URL must start with postgres://, postgresql:// or sqlite:');
  }
  let file = url ? url.slice('sqlite:'.length) : '';
  if (!file) {
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    file = join(options.dataDir, 'roster.db');
  }
  const database = new SqliteDatabase(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 10000');
  // SQLite's lower() folds ASCII only; text search lowercases the value with JavaScript, so the
  // column side must fold the same way (PostgreSQL's lower() already handles every script).
  database.function('lower', { deterministic: true }, (value: unknown) => (value === null ? null : String(value).toLowerCase()));
  return {
    db: new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) }),
    dialect: 'sqlite',
    description: file === ':memory:' ? 'SQLite in memory' : `SQLite ${file}`,
    sqlite: database,
  };
}

/**
 * Kysely prepares every query anew, and better-sqlite3 parses the SQL at each prepare: on a busy
 * path (a RADIUS request, an LDAP bind) that parsing was the largest single cost. Statements are
 * reused by their SQL text, the least recently used dropped past `size`. Reuse is safe because
 * better-sqlite3 runs a statement to completion synchronously (Roster never streams a query).
 */
function withStatementCache(database: SqliteDatabase.Database, size = 1000): SqliteDialectConfig['database'] & object {
  const cache = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string) {
      let statement = cache.get(sql);
      if (statement) cache.delete(sql);
      else statement = database.prepare(sql);
      cache.set(sql, statement);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
      return statement;
    },
  };
}

function connectPostgres(url: string, options: ConnectOptions): Connection {
  const schema = options.schema;
  if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`bad schema name ${schema}`);
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 10,
    types: pgTypes,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  const parsed = new URL(url);
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }),
    dialect: 'postgres',
    description: `PostgreSQL ${parsed.hostname}:${parsed.port || 5432}${parsed.pathname}${schema ? ` (schema ${schema})` : ''}`,
  };
}

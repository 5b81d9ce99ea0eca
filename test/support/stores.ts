import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { openStore, type KyselyStore } from '../../src/store/index.js';

export type StoreKind = 'sqlite' | 'postgres';

export const PG_URL = process.env.ROSTER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** On CI every peer must be present: a missing one fails the run instead of skipping tests. */
export const PEERS_REQUIRED = process.env.ROSTER_REQUIRE_PEERS === '1';

let pgProbe: Promise<string | null> | undefined;

/** null when PostgreSQL answers; otherwise why not. */
export function postgresUnavailable(): Promise<string | null> {
  pgProbe ??= (async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('select 1');
      return null;
    } catch (e) {
      return `PostgreSQL at ${PG_URL} is not reachable (${(e as Error).message})`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgProbe;
}

const pgReason = await postgresUnavailable();
if (pgReason && PEERS_REQUIRED) throw new Error(`${pgReason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
if (pgReason) console.warn(`SKIPPING PostgreSQL tests: ${pgReason}`);

export const STORE_KINDS: StoreKind[] = pgReason ? ['sqlite'] : ['sqlite', 'postgres'];

/** Runs a describe block once per available store. */
export function describeEachStore(name: string, body: (kind: StoreKind) => void): void {
  for (const kind of STORE_KINDS) describe(`${name} [${kind}]`, () => body(kind));
}

export interface TestStore {
  store: KyselyStore;
  /** Drops what the store created (the PostgreSQL schema) and closes it. */
  dispose(): Promise<void>;
}

/** A fresh, migrated store: SQLite in memory, or a PostgreSQL schema of its own. */
export async function openTestStore(kind: StoreKind, dataDir = '/nonexistent'): Promise<TestStore> {
  if (kind === 'sqlite') {
    const store = await openStore({ databaseUrl: 'sqlite::memory:', dataDir });
    return { store, dispose: () => store.close() };
  }
  const schema = `roster_test_${randomBytes(6).toString('hex')}`;
  const store = await openStore({ databaseUrl: PG_URL, dataDir, schema, poolSize: 4 });
  return {
    store,
    async dispose() {
      await store.close();
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}

/** Opens a fresh store before the enclosing block's tests, hands it to `use`, disposes it after. */
export function useTestStore(kind: StoreKind, use: (store: KyselyStore) => void): void {
  let opened: TestStore | undefined;
  beforeAll(async () => {
    opened = await openTestStore(kind);
    use(opened.store);
  });
  afterAll(() => opened?.dispose());
}

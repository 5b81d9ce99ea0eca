import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { afterEach, expect, it } from 'vitest';
import * as oidc from '../../src/store/migrations/008-oidc.js';
import * as schedule from '../../src/store/migrations/013-oidc-key-schedule.js';

const DAY = 86_400_000;
const at = (days: number) => new Date(Date.UTC(2024, 0, 1) + days * DAY).toISOString();

let db: Kysely<any> | undefined;
afterEach(async () => {
  await db?.destroy();
});

it("013 gives the keys already stored the schedule 008's rules implied", async () => {
  db = new Kysely<any>({ dialect: new SqliteDialect({ database: new SqliteDatabase(':memory:') }) });
  await oidc.up(db);
  // Two signing keys (the second made at day 90) and two cookie keys.
  await db
    .insertInto('oidc_keys')
    .values([
      { id: 's1', use: 'sig', sealed: 'x', created: at(0) },
      { id: 's2', use: 'sig', sealed: 'x', created: at(90) },
      { id: 'c1', use: 'cookie', sealed: 'x', created: at(0) },
      { id: 'c2', use: 'cookie', sealed: 'x', created: at(90) },
    ])
    .execute();
  await schedule.up(db);
  const rows = await db.selectFrom('oidc_keys').select(['id', 'activates', 'retires']).orderBy('id').execute();
  expect(rows).toEqual([
    // A new cookie key signed at once; a new signing key a day after it was made; a replaced key went 31 days after its successor was made.
    { id: 'c1', activates: at(0), retires: at(121) },
    { id: 'c2', activates: at(90), retires: null },
    { id: 's1', activates: at(0), retires: at(121) },
    { id: 's2', activates: at(91), retires: null },
  ]);
});

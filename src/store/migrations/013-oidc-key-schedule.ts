import type { Kysely } from 'kysely';

const DAY_MS = 86_400_000;

/**
 * The OIDC provider's keys get an explicit schedule: when each starts signing (`activates`) and
 * when it leaves the JWKS and is deleted (`retires`, null until it is replaced). A rotation through
 * the API sets both; 008's rule (a new signing key signs a day after it is made, a replaced key
 * is deleted once its successor is 31 days old) becomes the schedule of the keys already stored.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('oidc_keys').addColumn('activates', 'text').execute();
  await db.schema.alterTable('oidc_keys').addColumn('retires', 'text').execute();
  const rows = (await db.selectFrom('oidc_keys').select(['id', 'use', 'created']).orderBy('created').orderBy('id').execute()) as {
    id: string;
    use: string;
    created: string;
  }[];
  for (const use of ['sig', 'cookie']) {
    const ofUse = rows.filter((r) => r.use === use);
    const activates = ofUse.map((r, i) => (i === 0 || use === 'cookie' ? r.created : new Date(Date.parse(r.created) + DAY_MS).toISOString()));
    for (const [i, row] of ofUse.entries()) {
      // 008: a key is deleted once its successor is 31 days old.
      const successor = ofUse[i + 1];
      const retires = successor === undefined ? null : new Date(Date.parse(successor.created) + 31 * DAY_MS).toISOString();
      await db.updateTable('oidc_keys').set({ activates: activates[i], retires }).where('id', '=', row.id).execute();
    }
  }
}

export async function down(): Promise<void> {
  throw new Error('Roster migrations are forward-only; restore a backup to go back.');
}

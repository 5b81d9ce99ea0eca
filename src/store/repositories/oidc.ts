import type { Kysely, Selectable } from 'kysely';
import type { ApplicationId, OrgId } from '../../core/ids.js';
import type { OidcClientRecord, OidcKeyRecord, OidcRepository, OidcStateRecord } from '../../core/ports.js';
import type { Database, OidcClientsTable, OidcStateTable } from '../schema.js';

const clientFromRow = (r: Selectable<OidcClientsTable>): OidcClientRecord => ({
  clientId: r.client_id,
  orgId: r.org_id as OrgId,
  applicationId: r.application_id as ApplicationId,
  settings: JSON.parse(r.settings) as Record<string, unknown>,
  secretUpdated: r.secret_updated,
  created: r.created,
  updated: r.updated,
});

const stateFromRow = (r: Selectable<OidcStateTable>): OidcStateRecord => ({
  model: r.model,
  id: r.id,
  payload: JSON.parse(r.payload) as Record<string, unknown>,
  grantId: r.grant_id,
  userCode: r.user_code,
  uid: r.uid,
  expiresAt: r.expires_at,
  consumedAt: r.consumed_at,
});

export function oidcRepository(db: Kysely<Database>): OidcRepository {
  const live = (model: string, now: string) =>
    db
      .selectFrom('oidc_state')
      .selectAll()
      .where('model', '=', model)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]));
  return {
    async findClient(clientId) {
      const row = await db.selectFrom('oidc_clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      return row ? { client: clientFromRow(row), sealedSecret: row.sealed_secret } : undefined;
    },
    async findClientOfApplication(orgId, applicationId) {
      const row = await db.selectFrom('oidc_clients').selectAll().where('org_id', '=', orgId).where('application_id', '=', applicationId).executeTakeFirst();
      return row ? clientFromRow(row) : undefined;
    },
    async putClient(c, sealedSecret) {
      const values = {
        client_id: c.clientId,
        org_id: c.orgId,
        application_id: c.applicationId,
        settings: JSON.stringify(c.settings),
        secret_updated: c.secretUpdated,
        created: c.created,
        updated: c.updated,
      };
      const withSecret = sealedSecret === undefined ? values : { ...values, sealed_secret: sealedSecret };
      await db
        .insertInto('oidc_clients')
        .values({ ...withSecret, sealed_secret: sealedSecret ?? null })
        .onConflict((oc) => oc.column('client_id').doUpdateSet({ ...withSecret }))
        .execute();
    },
    async putState(s) {
      const values = {
        payload: JSON.stringify(s.payload),
        grant_id: s.grantId,
        user_code: s.userCode,
        uid: s.uid,
        expires_at: s.expiresAt,
        consumed_at: s.consumedAt,
      };
      await db
        .insertInto('oidc_state')
        .values({ model: s.model, id: s.id, ...values })
        .onConflict((oc) => oc.columns(['model', 'id']).doUpdateSet(values))
        .execute();
    },
    async findState(model, id, now) {
      const row = await live(model, now).where('id', '=', id).executeTakeFirst();
      return row ? stateFromRow(row) : undefined;
    },
    async findStateByUid(model, uid, now) {
      const row = await live(model, now).where('uid', '=', uid).executeTakeFirst();
      return row ? stateFromRow(row) : undefined;
    },
    async findStateByUserCode(model, userCode, now) {
      const row = await live(model, now).where('user_code', '=', userCode).executeTakeFirst();
      return row ? stateFromRow(row) : undefined;
    },
    async consumeState(model, id, at) {
      await db.updateTable('oidc_state').set({ consumed_at: at }).where('model', '=', model).where('id', '=', id).where('consumed_at', 'is', null).execute();
    },
    async destroyState(model, id) {
      await db.deleteFrom('oidc_state').where('model', '=', model).where('id', '=', id).execute();
    },
    async revokeGrant(grantId) {
      await db
        .deleteFrom('oidc_state')
        .where((eb) => eb.or([eb('grant_id', '=', grantId), eb.and([eb('model', '=', 'Grant'), eb('id', '=', grantId)])]))
        .execute();
    },
    async pruneState(before) {
      const result = await db.deleteFrom('oidc_state').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
    async listKeys() {
      const rows = await db.selectFrom('oidc_keys').selectAll().orderBy('created', 'desc').orderBy('id').execute();
      return rows.map(
        (r): OidcKeyRecord => ({ id: r.id, use: r.use as OidcKeyRecord['use'], sealed: r.sealed, created: r.created, activates: r.activates ?? r.created, retires: r.retires }),
      );
    },
    async insertKey(k) {
      await db.insertInto('oidc_keys').values({ id: k.id, use: k.use, sealed: k.sealed, created: k.created, activates: k.activates, retires: k.retires }).execute();
    },
    async setKeyRetires(id, retires) {
      await db.updateTable('oidc_keys').set({ retires }).where('id', '=', id).execute();
    },
    async deleteKey(id) {
      await db.deleteFrom('oidc_keys').where('id', '=', id).execute();
    },
  };
}

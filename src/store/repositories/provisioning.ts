import type { Kysely, Selectable } from 'kysely';
import type { ApplicationId, OrgId } from '../../core/ids.js';
import { DEFAULT_PROVISIONING_CONFIG, type ProvisionedObject, type ProvisioningTarget } from '../../core/model.js';
import type { ProvisioningRepository, StoredProvisioningTarget } from '../../core/ports.js';
import type { Database, ProvisionedObjectsTable, ProvisioningTargetsTable } from '../schema.js';

const json = <T>(text: string | null, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);

function targetFromRow(r: Selectable<ProvisioningTargetsTable>): StoredProvisioningTarget {
  return {
    target: {
      applicationId: r.application_id as ApplicationId,
      orgId: r.org_id as OrgId,
      // Settings added since a target was saved read as their defaults.
      config: { ...DEFAULT_PROVISIONING_CONFIG, ...json(r.config, {}), enabled: r.enabled === 1 },
      hasToken: r.token !== null,
      status: r.status as ProvisioningTarget['status'],
      cursor: Number(r.cursor),
      counters: json(r.counters, {}),
      lastRunAt: r.last_run_at,
      lastSuccessAt: r.last_success_at,
      lastError: r.last_error,
      lastErrorAt: r.last_error_at,
      reconciledAt: r.reconciled_at,
      created: r.created,
      updated: r.updated,
    },
    sealedToken: r.token,
  };
}

const objectFromRow = (r: Selectable<ProvisionedObjectsTable>): ProvisionedObject => ({
  applicationId: r.application_id as ApplicationId,
  orgId: r.org_id as OrgId,
  objectType: r.object_type as ProvisionedObject['objectType'],
  localId: r.local_id,
  remoteId: r.remote_id,
  name: r.name,
  state: r.state as ProvisionedObject['state'],
  digest: r.digest,
  written: json(r.written, null),
  writtenAt: r.written_at,
  error: r.error,
  errorAt: r.error_at,
  attempts: r.attempts,
});

const objectToRow = (o: ProvisionedObject): ProvisionedObjectsTable => ({
  application_id: o.applicationId,
  org_id: o.orgId,
  object_type: o.objectType,
  local_id: o.localId,
  remote_id: o.remoteId,
  name: o.name,
  state: o.state,
  digest: o.digest,
  written: o.written === null ? null : JSON.stringify(o.written),
  written_at: o.writtenAt,
  error: o.error,
  error_at: o.errorAt,
  attempts: o.attempts,
});

/** Rows per INSERT: SQLite allows at most 32,766 bound values in a statement. */
const BATCH = 500;

export function provisioningRepository(db: Kysely<Database>): ProvisioningRepository {
  return {
    async putTarget(target, sealedToken) {
      const { enabled, ...config } = target.config;
      const values = {
        org_id: target.orgId,
        enabled: enabled ? 1 : 0,
        config: JSON.stringify(config),
        status: target.status,
        updated: target.updated,
        ...(sealedToken !== undefined ? { token: sealedToken } : {}),
      };
      await db
        .insertInto('provisioning_targets')
        .values({ application_id: target.applicationId, created: target.created, cursor: target.cursor, counters: '{}', token: sealedToken ?? null, ...values })
        .onConflict((oc) => oc.column('application_id').doUpdateSet(values))
        .execute();
    },
    async findTarget(orgId, applicationId) {
      const row = await db.selectFrom('provisioning_targets').selectAll().where('org_id', '=', orgId).where('application_id', '=', applicationId).executeTakeFirst();
      return row ? targetFromRow(row) : undefined;
    },
    async enabledTargets() {
      const rows = await db.selectFrom('provisioning_targets').selectAll().where('enabled', '=', 1).orderBy('application_id').execute();
      return rows.map(targetFromRow);
    },
    async updateStatus(applicationId, u) {
      const set: Partial<ProvisioningTargetsTable> = {};
      if (u.status !== undefined) set.status = u.status;
      if (u.cursor !== undefined) set.cursor = u.cursor;
      if (u.counters !== undefined) set.counters = JSON.stringify(u.counters);
      if (u.lastRunAt !== undefined) set.last_run_at = u.lastRunAt;
      if (u.lastSuccessAt !== undefined) set.last_success_at = u.lastSuccessAt;
      if (u.lastError !== undefined) set.last_error = u.lastError;
      if (u.lastErrorAt !== undefined) set.last_error_at = u.lastErrorAt;
      if (u.reconciledAt !== undefined) set.reconciled_at = u.reconciledAt;
      if (Object.keys(set).length === 0) return;
      await db.updateTable('provisioning_targets').set(set).where('application_id', '=', applicationId).execute();
    },
    async lease(applicationId, owner, now, until) {
      const result = await db
        .updateTable('provisioning_targets')
        .set({ lease_owner: owner, lease_until: until })
        .where('application_id', '=', applicationId)
        .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async release(applicationId, owner) {
      await db
        .updateTable('provisioning_targets')
        .set({ lease_owner: null, lease_until: null })
        .where('application_id', '=', applicationId)
        .where('lease_owner', '=', owner)
        .execute();
    },
    async objects(applicationId) {
      const rows = await db.selectFrom('provisioned_objects').selectAll().where('application_id', '=', applicationId).execute();
      return rows.map(objectFromRow);
    },
    async listObjects(orgId, applicationId, query) {
      let q = db.selectFrom('provisioned_objects').where('org_id', '=', orgId).where('application_id', '=', applicationId);
      if (query.objectType) q = q.where('object_type', '=', query.objectType);
      if (query.failed !== undefined) q = q.where('error', query.failed ? 'is not' : 'is', null);
      const total = Number((await q.select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      const rows = await q
        .selectAll()
        .orderBy('object_type')
        .orderBy('name')
        .orderBy('local_id')
        .limit(query.page.limit)
        .offset(query.page.skip)
        .execute();
      return { items: rows.map(objectFromRow), total };
    },
    async putObjects(objects) {
      for (let i = 0; i < objects.length; i += BATCH) {
        const rows = objects.slice(i, i + BATCH).map(objectToRow);
        await db
          .insertInto('provisioned_objects')
          .values(rows)
          .onConflict((oc) =>
            oc.columns(['application_id', 'object_type', 'local_id']).doUpdateSet((eb) => ({
              remote_id: eb.ref('excluded.remote_id'),
              name: eb.ref('excluded.name'),
              state: eb.ref('excluded.state'),
              digest: eb.ref('excluded.digest'),
              written: eb.ref('excluded.written'),
              written_at: eb.ref('excluded.written_at'),
              error: eb.ref('excluded.error'),
              error_at: eb.ref('excluded.error_at'),
              attempts: eb.ref('excluded.attempts'),
            })),
          )
          .execute();
      }
    },
    async clearObjects(applicationId) {
      await db.deleteFrom('provisioned_objects').where('application_id', '=', applicationId).execute();
    },
  };
}

import type { Kysely, Selectable } from 'kysely';
import type { AgentId, DirectoryId, OrgId, SyncRunId } from '../../core/ids.js';
import type { DirectoryAgent, DirectorySyncRun, DirectorySyncState } from '../../core/model.js';
import type { AgentTask, DirectoryRemoval, DirectorySyncRepository, LinkedKind } from '../../core/ports.js';
import type { Database, DirectoryAgentTasksTable, DirectoryAgentsTable, DirectoryRemovalsTable, DirectorySyncRunsTable, DirectorySyncStateTable } from '../schema.js';

const agentFromRow = (r: Selectable<DirectoryAgentsTable>): DirectoryAgent => ({
  id: r.id as AgentId,
  orgId: r.org_id as OrgId,
  directoryId: r.directory_id as DirectoryId,
  state: r.state as DirectoryAgent['state'],
  connectKeyExpires: r.connect_key_expires,
  hostname: r.hostname,
  version: r.version,
  sourceIp: r.source_ip,
  contactAt: r.contact_at,
  created: r.created,
  updated: r.updated,
});

const agentColumns = (a: DirectoryAgent) => ({
  org_id: a.orgId,
  directory_id: a.directoryId,
  state: a.state,
  connect_key_expires: a.connectKeyExpires,
  hostname: a.hostname,
  version: a.version,
  source_ip: a.sourceIp,
  contact_at: a.contactAt,
  updated: a.updated,
});

const stateFromRow = (r: Selectable<DirectorySyncStateTable>): DirectorySyncState => ({
  directoryId: r.directory_id as DirectoryId,
  orgId: r.org_id as OrgId,
  importCursor: r.import_cursor,
  fullImportWanted: Number(r.full_import_wanted) === 1,
  dryRunWanted: Number(r.dry_run_wanted) === 1,
  writerAgentId: r.writer_agent_id as AgentId | null,
  writerUntil: r.writer_until,
  lastImportAt: r.last_import_at,
  lastError: r.last_error,
  lastErrorAt: r.last_error_at,
  updated: r.updated,
});

const taskFromRow = (r: Selectable<DirectoryAgentTasksTable>): AgentTask => ({
  id: r.id,
  orgId: r.org_id as OrgId,
  directoryId: r.directory_id as DirectoryId,
  kind: r.kind,
  payload: r.payload,
  state: r.state as AgentTask['state'],
  agentId: r.agent_id as AgentId | null,
  result: r.result,
  created: r.created,
  expires: r.expires,
});

const runFromRow = (r: Selectable<DirectorySyncRunsTable>): DirectorySyncRun => ({
  id: r.id as SyncRunId,
  orgId: r.org_id as OrgId,
  directoryId: r.directory_id as DirectoryId,
  agentId: r.agent_id as AgentId | null,
  kind: r.kind as DirectorySyncRun['kind'],
  mode: r.mode as DirectorySyncRun['mode'],
  dryRun: Number(r.dry_run) === 1,
  status: r.status as DirectorySyncRun['status'],
  started: r.started,
  finished: r.finished,
  counts: JSON.parse(r.counts) as Record<string, number>,
  plan: JSON.parse(r.plan) as DirectorySyncRun['plan'],
  error: r.error,
});

const runColumns = (run: DirectorySyncRun) => ({
  agent_id: run.agentId,
  status: run.status,
  finished: run.finished,
  counts: JSON.stringify(run.counts),
  plan: JSON.stringify(run.plan),
  error: run.error,
});

const removalFromRow = (r: Selectable<DirectoryRemovalsTable>): DirectoryRemoval => ({
  orgId: r.org_id as OrgId,
  directoryId: r.directory_id as DirectoryId,
  kind: r.kind as LinkedKind,
  localId: r.local_id,
  removedAt: r.removed_at,
  deleteAfter: r.delete_after,
});

export function directorySyncRepository(db: Kysely<Database>, postgres: boolean): DirectorySyncRepository {
  return {
    async insertAgent(agent, connectKeyDigest) {
      await db
        .insertInto('directory_agents')
        .values({ id: agent.id, ...agentColumns(agent), connect_key_digest: connectKeyDigest, credential_digest: null, created: agent.created })
        .execute();
    },
    async updateAgent(agent) {
      await db.updateTable('directory_agents').set(agentColumns(agent)).where('id', '=', agent.id).where('org_id', '=', agent.orgId).execute();
    },
    async registerAgent(connectKeyDigest, credentialDigest, agent) {
      // One statement: the key is consumed by whichever registration gets here first.
      const result = await db
        .updateTable('directory_agents')
        .set({ ...agentColumns(agent), connect_key_digest: null, connect_key_expires: null, credential_digest: credentialDigest })
        .where('id', '=', agent.id)
        .where('connect_key_digest', '=', connectKeyDigest)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setAgentCredential(id, credentialDigest, updated) {
      await db.updateTable('directory_agents').set({ credential_digest: credentialDigest, updated }).where('id', '=', id).execute();
    },
    async findAgent(orgId, id) {
      const row = await db.selectFrom('directory_agents').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
      return row ? agentFromRow(row) : undefined;
    },
    async findAgentByConnectKey(digest) {
      const row = await db.selectFrom('directory_agents').selectAll().where('connect_key_digest', '=', digest).executeTakeFirst();
      return row ? agentFromRow(row) : undefined;
    },
    async findAgentByCredential(digest) {
      const row = await db.selectFrom('directory_agents').selectAll().where('credential_digest', '=', digest).executeTakeFirst();
      return row ? agentFromRow(row) : undefined;
    },
    async listAgents(orgId, directoryId) {
      const rows = await db.selectFrom('directory_agents').selectAll().where('org_id', '=', orgId).where('directory_id', '=', directoryId).orderBy('created').orderBy('id').execute();
      return rows.map(agentFromRow);
    },
    async deleteAgent(orgId, id) {
      const result = await db.deleteFrom('directory_agents').where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    async touchAgent(id, at, sourceIp, notSince) {
      await db
        .updateTable('directory_agents')
        .set({ contact_at: at, source_ip: sourceIp })
        .where('id', '=', id)
        .where((eb) => eb.or([eb('contact_at', 'is', null), eb('contact_at', '<', notSince), eb('source_ip', '<>', sourceIp)]))
        .execute();
    },

    async state(orgId, directoryId, options) {
      let query = db.selectFrom('directory_sync_state').selectAll().where('org_id', '=', orgId).where('directory_id', '=', directoryId);
      if (options?.forUpdate && postgres) query = query.forUpdate();
      const row = await query.executeTakeFirst();
      return row ? stateFromRow(row) : undefined;
    },
    async putState(state) {
      const columns = {
        org_id: state.orgId,
        import_cursor: state.importCursor,
        full_import_wanted: state.fullImportWanted ? 1 : 0,
        dry_run_wanted: state.dryRunWanted ? 1 : 0,
        writer_agent_id: state.writerAgentId,
        writer_until: state.writerUntil,
        last_import_at: state.lastImportAt,
        last_error: state.lastError,
        last_error_at: state.lastErrorAt,
        updated: state.updated,
      };
      await db
        .insertInto('directory_sync_state')
        .values({ directory_id: state.directoryId, ...columns })
        .onConflict((oc) => oc.column('directory_id').doUpdateSet(columns))
        .execute();
    },
    async takeWriterLease(orgId, directoryId, agentId, now, until) {
      const result = await db
        .updateTable('directory_sync_state')
        .set({ writer_agent_id: agentId, writer_until: until })
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where((eb) => eb.or([eb('writer_agent_id', 'is', null), eb('writer_agent_id', '=', agentId), eb('writer_until', 'is', null), eb('writer_until', '<', now)]))
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },

    async releaseWriterLease(orgId, directoryId, agentId) {
      await db
        .updateTable('directory_sync_state')
        .set({ writer_agent_id: null, writer_until: null })
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where('writer_agent_id', '=', agentId)
        .execute();
    },
    async insertRun(run) {
      await db
        .insertInto('directory_sync_runs')
        .values({ id: run.id, org_id: run.orgId, directory_id: run.directoryId, kind: run.kind, mode: run.mode, dry_run: run.dryRun ? 1 : 0, started: run.started, ...runColumns(run) })
        .execute();
    },
    async abandonRuns(orgId, directoryId, error, at) {
      const result = await db
        .updateTable('directory_sync_runs')
        .set({ status: 'failed', error, finished: at })
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where('status', '=', 'running')
        .executeTakeFirst();
      return Number(result.numUpdatedRows);
    },
    async updateRun(run) {
      await db.updateTable('directory_sync_runs').set(runColumns(run)).where('id', '=', run.id).where('org_id', '=', run.orgId).execute();
    },
    async findRun(orgId, id) {
      const row = await db.selectFrom('directory_sync_runs').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
      return row ? runFromRow(row) : undefined;
    },
    async listRuns(orgId, directoryId, limit, skip) {
      const base = db.selectFrom('directory_sync_runs').where('org_id', '=', orgId).where('directory_id', '=', directoryId);
      const [rows, count] = await Promise.all([
        base.selectAll().orderBy('started', 'desc').orderBy('id', 'desc').limit(limit).offset(skip).execute(),
        base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(runFromRow), total: Number(count.n) };
    },

    async putRemoval(removal) {
      const columns = { removed_at: removal.removedAt, delete_after: removal.deleteAfter };
      await db
        .insertInto('directory_removals')
        .values({ org_id: removal.orgId, directory_id: removal.directoryId, kind: removal.kind, local_id: removal.localId, ...columns })
        .onConflict((oc) => oc.columns(['org_id', 'directory_id', 'kind', 'local_id']).doNothing())
        .execute();
    },
    async listRemovals(orgId, directoryId) {
      const rows = await db.selectFrom('directory_removals').selectAll().where('org_id', '=', orgId).where('directory_id', '=', directoryId).execute();
      return rows.map(removalFromRow);
    },
    async deleteRemoval(orgId, directoryId, kind, localId) {
      const result = await db
        .deleteFrom('directory_removals')
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where('kind', '=', kind)
        .where('local_id', '=', localId)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    async dueRemovals(now, limit) {
      const rows = await db.selectFrom('directory_removals').selectAll().where('delete_after', 'is not', null).where('delete_after', '<', now).orderBy('delete_after').limit(limit).execute();
      return rows.map(removalFromRow);
    },
    async insertTask(t) {
      await db
        .insertInto('directory_agent_tasks')
        .values({ id: t.id, org_id: t.orgId, directory_id: t.directoryId, kind: t.kind, payload: t.payload, state: t.state, agent_id: t.agentId, result: t.result, created: t.created, expires: t.expires })
        .execute();
    },
    async claimTasks(orgId, directoryId, agentId, now, limit) {
      const pending = await db
        .selectFrom('directory_agent_tasks')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('directory_id', '=', directoryId)
        .where('state', '=', 'pending')
        .where('expires', '>', now)
        .orderBy('created')
        .limit(limit)
        .execute();
      const claimed: AgentTask[] = [];
      for (const row of pending) {
        // Another agent may claim the same row at once: only the update that finds it pending wins.
        const result = await db.updateTable('directory_agent_tasks').set({ state: 'taken', agent_id: agentId }).where('id', '=', row.id).where('state', '=', 'pending').executeTakeFirst();
        if (Number(result.numUpdatedRows) === 1) claimed.push({ ...taskFromRow(row), state: 'taken', agentId });
      }
      return claimed;
    },
    async completeTask(orgId, id, agentId, result) {
      const done = await db
        .updateTable('directory_agent_tasks')
        .set({ state: 'done', result })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .where('agent_id', '=', agentId)
        .where('state', '=', 'taken')
        .executeTakeFirst();
      return Number(done.numUpdatedRows) === 1;
    },
    async findTask(orgId, id) {
      const row = await db.selectFrom('directory_agent_tasks').selectAll().where('org_id', '=', orgId).where('id', '=', id).executeTakeFirst();
      return row ? taskFromRow(row) : undefined;
    },
    async deleteTask(orgId, id) {
      await db.deleteFrom('directory_agent_tasks').where('org_id', '=', orgId).where('id', '=', id).execute();
    },
    async deleteExpiredTasks(now) {
      const result = await db.deleteFrom('directory_agent_tasks').where('expires', '<', now).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

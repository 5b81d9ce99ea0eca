import { createHash, randomUUID } from 'node:crypto';
import type { Context } from '../../core/context.js';
import { DirectoryError, invalid } from '../../core/errors.js';
import type { AgentId, DirectoryId, OrgId } from '../../core/ids.js';
import type { Directory, DirectorySyncRun, User } from '../../core/model.js';
import type { CloudDirectoryConnection, CloudDirectoryService } from '../../core/services/cloud-directories.js';
import { exportsTo, type DirectoryExportService, type ExportOutcome, type SyncActor } from '../../core/services/directory-export.js';
import type { DirectorySyncService, SourceObject } from '../../core/services/directory-sync.js';
import type { Store } from '../../core/ports.js';
import { asSyncError, isSyncError } from '../../sync/errors.js';
import { mapPool } from '../../sync/pool.js';
import type { CloudConnector } from '../../sync/cloud-connector.js';

/** What a connector is made from: the directory's settings and sealed credential (a new credential is a new key). */
export const connectionKey = (connection: CloudDirectoryConnection): string =>
  createHash('sha256').update(JSON.stringify([connection.directory.updated, connection.directory.config])).digest('base64url');

/** What the worker needs of the directory core. */
export interface CloudWorkerCore {
  store: Store;
  cloudDirectories: CloudDirectoryService;
  directorySync: DirectorySyncService;
  directoryExport: DirectoryExportService;
}

export interface CloudWorkerOptions {
  /** How often the worker looks at its directories. */
  tickMs?: number;
  /** How often the list of directories and their settings is read again. */
  directoriesMs?: number;
  leaseSeconds?: number;
  /** The first wait after a failed turn; doubled per failure, up to five minutes. */
  failureBackoffMs?: number;
  /** Objects per import batch (one transaction each). */
  batchSize?: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

/** Turns a directory's settings and credential into its connector. */
export type ConnectorFactory = (connection: CloudDirectoryConnection) => CloudConnector;

interface DirectoryState {
  connection: CloudDirectoryConnection;
  connector: CloudConnector;
  running?: Promise<unknown>;
  readAt: number;
  fullAt: number;
  /** The org's journal position the last export converged at. */
  exportedSeq: number;
  failures: number;
  retryAt: number;
}

/** What one turn of a directory did. */
export interface TurnResult {
  read?: DirectorySyncRun;
  exports: DirectorySyncRun[];
  held?: string;
}

const MAX_BACKOFF_MS = 5 * 60_000;
const MAX_EXPORT_ROUNDS = 100;

/**
 * Roster's own sync with Google Workspace and Microsoft 365 (no agent: Roster calls their APIs).
 * For each directory, one process at a time (a lease through the store): reads on its poll
 * interval (Microsoft 365: the delta since the last read; Google: the whole scope), in full for
 * reconciliation, planned and applied by the directory sync engine; then exports what changed in
 * Roster, driven by the journal: whenever the org's journal moves, the export plan is computed
 * against what the directory last held, so an import never echoes back and a change made in
 * Roster goes out within a tick.
 */
export class CloudDirectoryWorker {
  readonly owner = `cloud-${randomUUID()}`;
  private readonly directories = new Map<DirectoryId, DirectoryState>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private stopped = true;
  private directoriesRead = 0;

  constructor(
    private readonly core: CloudWorkerCore,
    private readonly connect: ConnectorFactory,
    private readonly options: CloudWorkerOptions = {},
  ) {}

  start(): void {
    this.stopped = false;
    const loop = () => {
      this.ticking = this.tick()
        .catch((e: unknown) => this.options.log?.('cloud directory tick failed', { error: e instanceof Error ? e.message : String(e) }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.tickMs ?? 500);
        });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.directories.values()].map((d) => d.running));
    await Promise.allSettled([...this.directories.values()].map((d) => this.core.cloudDirectories.releaseLease(d.connection.directory, this.owner)));
  }

  /** Reads the directories and their settings again at the next tick. */
  wake(): void {
    this.directoriesRead = 0;
  }

  private async refreshDirectories(): Promise<void> {
    const connections = await this.core.cloudDirectories.connections();
    const seen = new Set<DirectoryId>();
    for (const connection of connections) {
      const id = connection.directory.id;
      seen.add(id);
      const known = this.directories.get(id);
      if (known && connectionKey(known.connection) === connectionKey(connection)) continue;
      // New settings or a new credential: a new connector (and client) for them.
      this.directories.set(id, { connection, connector: this.connect(connection), readAt: known?.readAt ?? 0, fullAt: known?.fullAt ?? 0, exportedSeq: -1, failures: 0, retryAt: 0 });
    }
    for (const id of [...this.directories.keys()]) if (!seen.has(id)) this.directories.delete(id);
    this.directoriesRead = Date.now();
  }

  private async tick(): Promise<void> {
    if (Date.now() - this.directoriesRead > (this.options.directoriesMs ?? 5_000)) await this.refreshDirectories();
    for (const state of this.directories.values()) {
      if (state.running || Date.now() < state.retryAt) continue;
      state.running = this.maybeTurn(state).finally(() => (state.running = undefined));
    }
  }

  private async maybeTurn(state: DirectoryState): Promise<void> {
    const { directory, settings } = state.connection;
    const sync = await this.core.cloudDirectories.stateOf(directory);
    const now = Date.now();
    const readDue = sync.fullImportWanted || sync.dryRunWanted || now - state.readAt >= settings.pollSeconds * 1000;
    const head = await this.core.store.read.journal.head(directory.orgId as OrgId);
    if (!readDue && head === state.exportedSeq) return;
    if (!(await this.core.cloudDirectories.takeLease(directory, this.owner, this.options.leaseSeconds ?? 60))) return;
    try {
      await this.turn(state, { read: readDue });
      state.failures = 0;
      state.retryAt = 0;
    } catch (e) {
      state.failures++;
      state.retryAt = Date.now() + Math.min(MAX_BACKOFF_MS, (this.options.failureBackoffMs ?? 2_000) * 2 ** (state.failures - 1));
      const message = e instanceof Error ? e.message : String(e);
      this.options.log?.('cloud directory sync failed', { directoryId: directory.id, type: directory.type, error: message });
      await this.core.cloudDirectories.reportError(directory, message).catch(() => undefined);
    }
  }

  /**
   * One turn for a directory, now (tests, the CLI, and the tick): a read when `read` (in full
   * with `full`), then the export until it converges. Throws what stopped it.
   */
  async runNow(orgId: OrgId, directoryId: DirectoryId, options: { read?: boolean; full?: boolean } = {}): Promise<TurnResult> {
    const connection = await this.core.cloudDirectories.connection(orgId, directoryId);
    if (!connection) throw new Error('no such cloud directory, or it has no credential');
    let state = this.directories.get(directoryId);
    if (!state || connectionKey(state.connection) !== connectionKey(connection)) {
      state = { connection, connector: this.connect(connection), readAt: 0, fullAt: 0, exportedSeq: -1, failures: 0, retryAt: 0 };
      this.directories.set(directoryId, state);
    }
    while (state.running) await state.running.catch(() => undefined);
    const run = this.turn(state, { read: options.read ?? true, full: options.full });
    // The caller gets the failure; the worker's own bookkeeping only waits for the turn to end.
    const current = state;
    current.running = run.then(
      () => undefined,
      () => undefined,
    ).finally(() => (current.running = undefined));
    return run;
  }

  private actor(directory: Directory): SyncActor {
    return { id: this.owner as AgentId, orgId: directory.orgId as OrgId, directoryId: directory.id };
  }

  private async turn(state: DirectoryState, options: { read: boolean; full?: boolean }): Promise<TurnResult> {
    const { directory, settings } = state.connection;
    const result: TurnResult = { exports: [] };
    // Renewed before each step, so that a long export keeps the directory to this process, and stops if another took it.
    const hold = async () => {
      if (!(await this.core.cloudDirectories.takeLease(directory, this.owner, this.options.leaseSeconds ?? 60))) throw new Error('another Roster process is syncing this directory now');
    };
    await hold();
    if (options.read) {
      const sync = await this.core.cloudDirectories.stateOf(directory);
      const full = options.full === true || sync.fullImportWanted || sync.dryRunWanted || Date.now() - state.fullAt >= settings.reconcileMinutes * 60_000;
      const read = await state.connector.read(full ? null : sync.importCursor);
      result.read = await this.importRead(directory, read.objects, read.mode, read.seen, read.cursor, sync.dryRunWanted);
      state.readAt = Date.now();
      if (read.mode === 'full') state.fullAt = Date.now();
    }
    if (exportsTo(settings)) {
      for (let round = 0; round < MAX_EXPORT_ROUNDS; round++) {
        await hold();
        // The journal head before the plan: whatever happens after it is looked at next tick.
        const seq = await this.core.store.read.journal.head(directory.orgId as OrgId);
        const plan = await this.core.directoryExport.plan(directory.orgId as OrgId, directory.id, 500);
        if (plan.held) result.held = plan.held.reason;
        if (plan.ops.length === 0) {
          state.exportedSeq = seq;
          break;
        }
        const settled = await mapPool(plan.ops, settings.exportConcurrency, (op) => state.connector.apply(op));
        const stop = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && isSyncError(s.reason, 'stop'));
        const outcomes: ExportOutcome[] = settled.map((s, i) => (s.status === 'fulfilled' ? s.value : { op: plan.ops[i]!, ok: false, error: asSyncError(s.reason).message }));
        const run = await this.core.directoryExport.record(this.actor(directory), outcomes);
        result.exports.push(run);
        if (stop) throw stop.reason;
        // A round that changed nothing (only failures): they wait for the next turn, after a backoff, rather than spin.
        if (!Object.keys(run.counts).some((action) => action !== 'failed')) throw new Error(run.error ?? 'every write to the directory failed');
      }
    }
    // A read whose removals were held has said so in the state already; otherwise the turn's outcome replaces the last error.
    if (result.read?.status !== 'held') await this.core.cloudDirectories.reportError(directory, result.held ? `Deprovisioning held back: ${result.held}` : null);
    return result;
  }

  /** A read applied through the sync engine in batches; the cursor and a full read's `seen` go with the last. */
  private async importRead(directory: Directory, objects: SourceObject[], mode: 'full' | 'incremental', seen: { users: string[]; groups: string[] } | undefined, cursor: string | null, dryRun: boolean): Promise<DirectorySyncRun> {
    const size = this.options.batchSize ?? 1000;
    const ordered = [...objects.filter((o) => o.kind === 'user'), ...objects.filter((o) => o.kind === 'user_group')];
    let runId: string | undefined;
    let last: DirectorySyncRun | undefined;
    for (let i = 0; i === 0 || i < ordered.length; i += size) {
      const batch = ordered.slice(i, i + size);
      const final = i + size >= ordered.length;
      const { run } = await this.core.directorySync.importBatch(this.actor(directory), {
        ...(runId ? { runId } : {}),
        mode,
        ...(dryRun ? { dryRun: true } : {}),
        objects: batch,
        ...(final ? { complete: mode === 'full' && seen ? { seen } : {}, cursor } : {}),
      });
      runId = run.id;
      last = run;
    }
    return last!;
  }
}

/**
 * Passwords set in Roster, pushed to the cloud directories that Roster writes to: before Roster
 * keeps a new password, each linked account gets it (a user associated with the directory but
 * not in it yet is created with it). The directory's refusal (its password policy) fails the
 * change with its reason; a directory that cannot be reached fails it too, so that the two never
 * disagree.
 */
export class CloudPasswordWriter {
  constructor(
    private readonly core: CloudWorkerCore,
    private readonly connectorOf: (connection: CloudDirectoryConnection) => CloudConnector,
  ) {}

  async beforeSet(ctx: Context, user: User, password: string): Promise<void> {
    const ofType = async (type: 'g_suite' | 'office_365') =>
      (await this.core.store.read.directories.list(ctx.orgId, { filter: { kind: 'compare', field: 'type', op: 'eq', value: type }, sort: [], page: { limit: 1000, skip: 0 } })).items;
    const directories = [...(await ofType('g_suite')), ...(await ofType('office_365'))];
    if (directories.length === 0) return;
    const links = await this.core.store.read.identityLinks.ofObject(ctx.orgId, 'user', user.id);
    for (const directory of directories) {
      if (ctx.origin === `sync:${directory.id}`) continue;
      const connection = await this.core.cloudDirectories.connection(ctx.orgId, directory.id);
      if (!connection || !exportsTo(connection.settings) || connection.settings.authority.password === 'ignore') continue;
      const name = directory.type === 'g_suite' ? 'Google Workspace' : 'Microsoft 365';
      const connector = this.connectorOf(connection);
      const link = links.find((l) => l.directoryId === directory.id);
      try {
        if (link) {
          await connector.setPassword(link.externalId, password);
          continue;
        }
        const create = await this.core.directoryExport.createOpFor(ctx.orgId, directory, user);
        if (!create) continue;
        const outcome = await connector.apply(create, { password });
        if (!outcome.ok) throw invalid('PASSWORD_REFUSED_BY_DIRECTORY', `${name} refused the account: ${outcome.error ?? 'refused'}`);
        await this.core.directoryExport.record({ id: 'password' as AgentId, orgId: ctx.orgId, directoryId: directory.id }, [outcome]);
      } catch (e) {
        if (e instanceof DirectoryError) throw e;
        const error = asSyncError(e);
        if (error.kind === 'bad_request') {
          const message = `${name} refused the password: ${error.message}`;
          throw invalid('PASSWORD_REFUSED_BY_DIRECTORY', message, [{ field: 'password', reason: 'REFUSED_BY_DIRECTORY', message }]);
        }
        if (error.kind === 'not_found') continue; // Gone behind Roster's back: the next reconciliation re-creates or unlinks it.
        throw new DirectoryError('unavailable', 'DIRECTORY_UNAVAILABLE', `${name} could not be reached (${error.message}); the password was not changed`);
      }
    }
  }
}

import { randomUUID } from 'node:crypto';
import type { ApplicationId, OrgId } from '../../core/ids.js';
import type { ProvisioningService, RunnableTarget } from '../../core/services/provisioning.js';
import type { RetryPolicy } from '../../sync/retry.js';
import type { TargetFeatures } from './client.js';
import { ScimAppRun, type RunCache, type RunResult } from './provisioner.js';

export interface WorkerOptions {
  /** How often each application's view is checked for changes. */
  pollMs?: number;
  /** How often the list of enabled applications is read again. */
  targetsMs?: number;
  /** How long a run's lease lasts; renewed while the run goes on. */
  leaseSeconds?: number;
  retry?: RetryPolicy;
  /** The first wait before a failed application is tried again; doubled per failure, up to five minutes. */
  failureBackoffMs?: number;
  log?: (message: string, fields: Record<string, unknown>) => void;
}

interface AppState {
  runnable: RunnableTarget;
  /** The view position and settings the last run converged to. */
  seq: number;
  updated: string;
  running?: Promise<RunResult | undefined>;
  failures: number;
  retryAt: number;
  reconcileAt: number;
  cache: RunCache;
  /** The application's ServiceProviderConfig as last read, for the settings it was read under. */
  features?: { value: TargetFeatures; updated: string; until: number };
}

const MAX_BACKOFF_MS = 5 * 60_000;
/** How long an application's ServiceProviderConfig is trusted before it is read again. */
const FEATURES_MS = 10 * 60_000;

/**
 * Runs outbound provisioning: for each enabled application, a run whenever what it should hold
 * changes (followed from the journal through the application's directory view), after a failure
 * once its backoff has passed, and for reconciliation every `reconcileMinutes`. One run per
 * application at a time across every process sharing the store, by a lease on its target.
 */
export class ProvisioningWorker {
  private readonly owner = randomUUID();
  private readonly apps = new Map<ApplicationId, AppState>();
  private timer: NodeJS.Timeout | undefined;
  private targetsRead = 0;
  private ticking: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly service: ProvisioningService,
    private readonly options: WorkerOptions = {},
  ) {}

  start(): void {
    this.stopped = false;
    const loop = () => {
      this.ticking = this.tick()
        .catch((e: unknown) => this.options.log?.('provisioning tick failed', { error: e instanceof Error ? e.message : String(e) }))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(loop, this.options.pollMs ?? 250);
        });
    };
    loop();
  }

  /** Reads the enabled applications again at the next tick (their settings just changed). */
  wake(): void {
    this.targetsRead = 0;
  }

  /** Stops scheduling and waits for the runs under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await Promise.allSettled([...this.apps.values()].map((a) => a.running));
  }

  /** Runs one application now (the API's "run now" and reconcile), waiting for a run under way first. */
  async runNow(orgId: OrgId, applicationId: ApplicationId, reconcile = false): Promise<RunResult | undefined> {
    const runnable = await this.service.runnableTarget(orgId, applicationId);
    if (!runnable || !runnable.target.config.enabled) return undefined;
    const state = this.stateOf(runnable);
    await state.running?.catch(() => undefined);
    return this.launch(state, reconcile);
  }

  private stateOf(runnable: RunnableTarget): AppState {
    const id = runnable.target.applicationId;
    let state = this.apps.get(id);
    if (!state) {
      state = { runnable, seq: -1, updated: '', failures: 0, retryAt: 0, reconcileAt: 0, cache: { desired: new WeakMap() } };
      this.apps.set(id, state);
    }
    state.runnable = runnable;
    return state;
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    if (now - this.targetsRead >= (this.options.targetsMs ?? 2000)) {
      this.targetsRead = now;
      const targets = await this.service.runnable();
      const enabled = new Set(targets.map((t) => t.target.applicationId));
      for (const t of targets) this.stateOf(t);
      for (const [id, state] of this.apps) if (!enabled.has(id) && !state.running) this.apps.delete(id);
    }
    for (const state of this.apps.values()) {
      if (state.running || this.stopped) continue;
      const { target } = state.runnable;
      const view = await this.service.view(target.orgId, target.applicationId);
      if (!view) continue;
      const reconcileMs = target.config.reconcileMinutes * 60_000;
      const reconcileDue = reconcileMs > 0 && now >= (state.reconcileAt || (target.reconciledAt ? Date.parse(target.reconciledAt) + reconcileMs : 0));
      const changed = view.seq !== state.seq || target.updated !== state.updated;
      const retryDue = state.failures > 0 && now >= state.retryAt;
      if (changed || retryDue || reconcileDue) void this.launch(state, reconcileDue);
    }
  }

  private launch(state: AppState, reconcile: boolean): Promise<RunResult | undefined> {
    const run = this.runOnce(state, reconcile).finally(() => (state.running = undefined));
    state.running = run;
    return run;
  }

  private async runOnce(state: AppState, reconcile: boolean): Promise<RunResult | undefined> {
    const { target, token } = state.runnable;
    const id = target.applicationId;
    const leaseSeconds = this.options.leaseSeconds ?? 120;
    if (!token || !(await this.service.lease(id, this.owner, leaseSeconds))) return undefined;
    const renew = setInterval(() => void this.service.lease(id, this.owner, leaseSeconds).catch(() => undefined), (leaseSeconds * 1000) / 3);
    try {
      // Settings may have changed since the list was read: run with the stored ones.
      const fresh = (await this.service.runnableTarget(target.orgId, id)) ?? state.runnable;
      state.runnable = fresh;
      if (!fresh.target.config.enabled || !fresh.token) return undefined;
      const known = state.features && state.features.updated === fresh.target.updated && Date.now() < state.features.until && !reconcile ? state.features.value : undefined;
      const run = new ScimAppRun(this.service, fresh.target, fresh.token, {
        reconcile,
        cache: state.cache,
        ...(known ? { features: known } : {}),
        ...(this.options.retry ? { retry: this.options.retry } : {}),
      });
      const result = await run.run();
      if (result.features && !result.stopped && result.features !== known) {
        state.features = { value: result.features, updated: fresh.target.updated, until: Date.now() + FEATURES_MS };
      } else if (result.stopped) state.features = undefined;
      state.seq = result.seq;
      state.updated = fresh.target.updated;
      if (reconcile && !result.stopped) state.reconcileAt = Date.now() + fresh.target.config.reconcileMinutes * 60_000;
      if (result.errors.length > 0 || result.stopped) {
        state.failures++;
        state.retryAt = Date.now() + Math.min(MAX_BACKOFF_MS, (this.options.failureBackoffMs ?? 2000) * 2 ** (state.failures - 1));
        this.options.log?.('provisioning run failed', { applicationId: id, error: result.stopped ?? result.errors[0]?.message, failed: result.errors.length });
      } else state.failures = 0;
      return result;
    } finally {
      clearInterval(renew);
      await this.service.release(id, this.owner).catch(() => undefined);
    }
  }
}

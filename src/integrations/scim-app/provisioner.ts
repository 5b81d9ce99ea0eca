import type { ApplicationId, OrgId } from '../../core/ids.js';
import type { ProvisionedObject, ProvisioningTarget } from '../../core/model.js';
import type { ProvisioningService } from '../../core/services/provisioning.js';
import { asSyncError, isSyncError, SyncError } from '../../sync/errors.js';
import { mapPool } from '../../sync/pool.js';
import type { RetryPolicy } from '../../sync/retry.js';
import { ScimAppClient, SCIM_PATCH_OP, type BulkResult, type PatchOperation, type ScimObject, type ScimResourceType, type TargetFeatures } from './client.js';
import { digestOf, patchOperations } from './payload.js';
import { desiredState, planChanges, type DesiredUsers, type Plan, type PlannedOperation } from './plan.js';

type Json = Record<string, unknown>;

export interface RunOptions {
  /** Read the application's accounts back and repair what drifted (the periodic reconciliation). */
  reconcile?: boolean;
  retry?: RetryPolicy;
  clock?: () => Date;
  /** What the application's ServiceProviderConfig said, read recently; read again when absent. */
  features?: TargetFeatures;
  /** What this process's runs of the application keep between runs. */
  cache?: RunCache;
}

/**
 * Kept by the worker between runs of one application: desired users by user object, and the
 * records as this process's last run left them — valid only while no other run has happened
 * since (the target's lastRunAt) and the settings are the same (its updated).
 */
export interface RunCache {
  desired: DesiredUsers;
  records?: { map: Map<string, ProvisionedObject>; lastRunAt: string; updated: string };
}

export interface RunError {
  kind: 'user' | 'group';
  localId: string;
  name: string;
  message: string;
}

export interface RunResult {
  /** The journal position the run converged the application to. */
  seq: number;
  counters: Record<string, number>;
  errors: RunError[];
  /** Set when the run stopped early (the token was refused, the target is unreachable). */
  stopped?: string;
  /** The application's features the run used (undefined when it had nothing to send). */
  features?: TargetFeatures;
  durationMs: number;
}

/** The plan from the view and the records, without sending anything: the dry run. */
export async function dryRun(service: ProvisioningService, target: ProvisioningTarget): Promise<{ seq: number; plan: Plan } | undefined> {
  const view = await service.view(target.orgId, target.applicationId);
  if (!view) return undefined;
  const records = await service.records(target.applicationId);
  return { seq: view.seq, plan: planChanges(desiredState(view, target.config), records, target.config) };
}

/** Above this many creates a run lists the application's accounts once rather than looking each one up. */
const LOOKUP_LIMIT = 50;
/** Records are saved at least this often during a run, so a crash repeats little. */
const SAVE_EVERY = 500;
/** Operations per Bulk request, at most (the application may allow fewer). */
const BULK_OPERATIONS = 100;
/** PATCH operations per request when a group's membership changes a lot. */
const OPS_PER_PATCH = 200;

/** What the application holds, read once: accounts by id, by userName (case-insensitive) and by externalId. */
class RemoteIndex {
  readonly byId = new Map<string, ScimObject>();
  private readonly byName = new Map<string, ScimObject>();
  private readonly byExternal = new Map<string, ScimObject>();

  constructor(objects: ScimObject[], nameAttribute: 'userName' | 'displayName') {
    for (const o of objects) {
      if (typeof o.id !== 'string') continue;
      this.byId.set(o.id, o);
      const name = o[nameAttribute];
      if (typeof name === 'string') this.byName.set(name.toLowerCase(), o);
      if (typeof o.externalId === 'string') this.byExternal.set(o.externalId, o);
    }
  }

  match(attribute: string, value: string): ScimObject | undefined {
    return attribute === 'externalId' ? this.byExternal.get(value) : this.byName.get(value.toLowerCase());
  }
}

/** The id of what a bulk POST created: from its response, else the last segment of its location. */
function remoteIdOf(result: BulkResult): string | undefined {
  const body = result.response as { id?: unknown } | undefined;
  if (body && typeof body.id === 'string') return body.id;
  const segment = result.location?.split('/').filter(Boolean).at(-1);
  return segment ? decodeURIComponent(segment) : undefined;
}

const PATCH = (Operations: PatchOperation[]) => ({ schemas: [SCIM_PATCH_OP], Operations });
const chunks = <T>(list: T[], size: number): T[][] => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, i * size + size));
const memberValues = (ids: string[]) => ids.map((value) => ({ value }));

/** The attributes Roster manages, as an application holds them: compared with what was written to find drift. */
function managedView(remote: ScimObject, written: Json): Json {
  return Object.fromEntries(Object.keys(written).filter((k) => k !== 'schemas' && k !== 'members').map((k) => [k, remote[k]]));
}

/** Whether what the application holds differs from what was written, on the attributes that matter most. */
function drifted(remote: ScimObject, written: Json): boolean {
  const norm = (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v);
  if (norm(remote.userName) !== norm(written.userName)) return true;
  if ('active' in written && remote.active !== written.active) return true;
  if ('displayName' in written && remote.displayName !== written.displayName) return true;
  const email = (o: Json) => (Array.isArray(o.emails) ? (o.emails as { value?: unknown; primary?: unknown }[]).find((e) => e.primary)?.value : undefined);
  if (email(written) !== undefined && norm(email(remote)) !== norm(email(written))) return true;
  const roles = (o: Json) => (Array.isArray(o.roles) ? (o.roles as { value?: unknown }[]).map((r) => String(r.value)).sort().join('\n') : '');
  return roles(remote) !== roles(written);
}

/**
 * One provisioning run of one application: compare what it should hold (from the directory view)
 * with what was recorded as written, and send the difference — users first, then groups and their
 * membership — with bounded concurrency. Every success is recorded as it happens; failures are
 * recorded on their object and retried by the next run, so nothing is lost and nothing is written
 * twice: a create whose answer was lost is found again by its userName (or externalId) and adopted.
 */
export class ScimAppRun {
  private readonly client: ScimAppClient;
  private readonly clock: () => Date;
  private records = new Map<string, ProvisionedObject>();
  private readonly dirty = new Map<string, ProvisionedObject>();
  private readonly counters: Record<string, number> = {};
  private readonly errors: RunError[] = [];
  private features: TargetFeatures = { patch: false, filter: false, maxResults: 100, bulk: { maxOperations: 0, maxPayloadSize: 0 } };
  private usePatch = false;
  private usedFeatures = false;
  private users?: RemoteIndex;
  private groups?: RemoteIndex;
  private saving: Promise<void> = Promise.resolve();
  private saveError: unknown;

  constructor(
    private readonly service: ProvisioningService,
    private readonly target: ProvisioningTarget,
    token: string,
    private readonly options: RunOptions = {},
  ) {
    this.clock = options.clock ?? (() => new Date());
    this.client = new ScimAppClient({
      baseUrl: target.config.baseUrl,
      token,
      ...(options.retry ? { retry: options.retry } : {}),
      onRetry: () => this.count('retries'),
    });
  }

  private get appId(): ApplicationId {
    return this.target.applicationId;
  }

  private get orgId(): OrgId {
    return this.target.orgId;
  }

  private count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  async run(): Promise<RunResult> {
    const started = Date.now();
    const view = await this.service.view(this.orgId, this.appId);
    if (!view) return { seq: 0, counters: {}, errors: [], stopped: 'the application no longer exists', durationMs: 0 };
    const config = this.target.config;
    const cache = this.options.cache;
    const desired = desiredState(view, config, cache?.desired);
    const kept = cache?.records;
    if (kept && kept.lastRunAt === this.target.lastRunAt && kept.updated === this.target.updated) {
      this.records = kept.map;
      cache!.records = undefined;
    } else for (const r of await this.service.records(this.appId)) this.records.set(`${r.objectType}:${r.localId}`, r);
    try {
      let plan = planChanges(desired, [...this.records.values()], config);
      // Nothing to send and nothing to check: the application is not called at all.
      if (!this.options.reconcile && plan.users.length === 0 && plan.groups.length === 0) return await this.finish(view.seq, started);
      await this.service.updateStatus(this.appId, { status: 'running' });
      this.features = this.options.features ?? (await this.client.features());
      this.usedFeatures = true;
      this.usePatch = config.patch === 'auto' && this.features.patch;
      const creates = (ops: PlannedOperation[]) => ops.filter((o) => o.action === 'create').length;
      const listUsers = this.options.reconcile || creates(plan.users) > LOOKUP_LIMIT || (!this.features.filter && creates(plan.users) > 0);
      const listGroups = config.groups && (this.options.reconcile || creates(plan.groups) > LOOKUP_LIMIT || (!this.features.filter && creates(plan.groups) > 0));
      if (listUsers) this.users = await this.index('Users', 'userName');
      if (listGroups) this.groups = await this.index('Groups', 'displayName');
      if (this.options.reconcile) {
        this.repairDrift();
        plan = planChanges(desired, [...this.records.values()], config);
      }
      await this.apply(await this.bulkCreates(plan.users), (op) => this.applyUser(op));
      await this.apply(plan.groups, (op) => this.applyGroup(op));
    } catch (e) {
      const error = asSyncError(e);
      this.count('failed');
      return this.finish(view.seq, started, error.message);
    }
    return this.finish(view.seq, started);
  }

  /** Saves the records and the run's status, journals what it did, and reports it. */
  private async finish(seq: number, started: number, stopped?: string): Promise<RunResult> {
    await this.flush();
    const now = this.clock().toISOString();
    const failed = this.errors.length > 0 || stopped !== undefined;
    const counters = { ...this.counters, requests: this.client.requests };
    const lastError = stopped ?? (this.errors.length > 0 ? `${this.errors.length} object(s) failed; first: ${this.errors[0]!.name}: ${this.errors[0]!.message}` : null);
    await this.service.updateStatus(this.appId, {
      status: failed ? 'error' : 'idle',
      counters,
      lastRunAt: now,
      ...(failed ? { lastError, lastErrorAt: now } : { cursor: seq, lastSuccessAt: now, lastError: null, lastErrorAt: null }),
      ...(this.options.reconcile && !stopped ? { reconciledAt: now } : {}),
    });
    if (this.options.cache) this.options.cache.records = { map: this.records, lastRunAt: now, updated: this.target.updated };
    const wrote = ['created', 'updated', 'deactivated', 'deleted', 'adopted'].some((k) => (this.counters[k] ?? 0) > 0);
    if (wrote || failed) {
      await this.service.recordRun(this.orgId, this.appId, {
        ...counters,
        ...(lastError ? { error: lastError } : {}),
        ...(this.errors.length > 0 ? { failures: this.errors.slice(0, 20) } : {}),
        ...(this.options.reconcile ? { reconcile: true } : {}),
      });
    }
    return { seq, counters, errors: this.errors, ...(stopped ? { stopped } : {}), ...(this.usedFeatures ? { features: this.features } : {}), durationMs: Date.now() - started };
  }

  private async index(resource: ScimResourceType, name: 'userName' | 'displayName'): Promise<RemoteIndex> {
    const all: ScimObject[] = [];
    for await (const page of this.client.all(resource, Math.min(this.features.maxResults, 500))) all.push(...page);
    return new RemoteIndex(all, name);
  }

  /** Reconciliation: records of objects gone from the application are reset, and drifted ones rewritten. */
  private repairDrift(): void {
    const localOf = new Map<string, string>();
    for (const r of this.records.values()) if (r.objectType === 'user' && r.remoteId) localOf.set(r.remoteId, r.localId);
    for (const record of this.records.values()) {
      if (record.remoteId === null || record.state === 'deleted') continue;
      const index = record.objectType === 'user' ? this.users : this.groups;
      if (!index) continue;
      const remote = index.byId.get(record.remoteId);
      const written = record.written ?? {};
      if (!remote) {
        this.count('missing');
        this.save({ ...record, remoteId: null, state: record.state === 'inactive' ? 'deleted' : record.state, digest: '', written: null });
        continue;
      }
      if (record.objectType === 'user' && drifted(remote, written)) {
        this.count('drifted');
        this.save({ ...record, state: remote.active === false ? 'inactive' : 'active', digest: '', written: { ...written, ...managedView(remote, written) } });
      } else if (record.objectType === 'group') {
        const members = (Array.isArray(remote.members) ? (remote.members as { value?: unknown }[]) : []).map((m) => localOf.get(String(m.value))).filter((m): m is string => m !== undefined);
        const before = ((written.members as string[] | undefined) ?? []).slice().sort();
        if (remote.displayName !== written.displayName || members.sort().join() !== before.join()) {
          this.count('drifted');
          this.save({ ...record, digest: '', written: { ...written, displayName: remote.displayName, members } });
        }
      }
    }
  }

  private async apply(ops: PlannedOperation[], fn: (op: PlannedOperation) => Promise<void>): Promise<void> {
    const results = await mapPool(ops, this.target.config.concurrency, async (op) => {
      try {
        await fn(op);
      } catch (e) {
        const error = asSyncError(e);
        if (error.kind === 'stop') throw error;
        this.count('failed');
        this.errors.push({ kind: op.kind, localId: op.localId, name: op.name, message: error.message });
        const record = this.records.get(`${op.kind}:${op.localId}`) ?? this.blankRecord(op);
        this.save({ ...record, error: error.message, errorAt: this.clock().toISOString(), attempts: record.attempts + 1 });
      }
    });
    const stop = results.find((r) => r.status === 'rejected');
    if (stop) throw (stop as PromiseRejectedResult).reason;
  }

  private blankRecord(op: PlannedOperation): ProvisionedObject {
    return {
      applicationId: this.appId,
      orgId: this.orgId,
      objectType: op.kind,
      localId: op.localId,
      remoteId: null,
      name: op.name,
      state: 'active',
      digest: '',
      written: null,
      writtenAt: null,
      error: null,
      errorAt: null,
      attempts: 0,
    };
  }

  private save(record: ProvisionedObject): void {
    const key = `${record.objectType}:${record.localId}`;
    this.records.set(key, record);
    this.dirty.set(key, record);
    if (this.dirty.size >= SAVE_EVERY) this.flush().catch(() => undefined);
  }

  private written(op: PlannedOperation, remoteId: string | null, state: ProvisionedObject['state'], written: Json | null, digest: string): void {
    const record = this.records.get(`${op.kind}:${op.localId}`) ?? this.blankRecord(op);
    this.save({ ...record, remoteId, name: op.name, state, written, digest, writtenAt: this.clock().toISOString(), error: null, errorAt: null, attempts: 0 });
  }

  private flush(): Promise<void> {
    const batch = [...this.dirty.values()];
    this.dirty.clear();
    this.saving = this.saving.then(() => this.service.saveRecords(batch)).catch((e: unknown) => {
      this.saveError ??= e;
    });
    return this.saving.then(() => {
      if (this.saveError !== undefined) throw this.saveError;
    });
  }

  // ---- Users ----

  /**
   * Where the application takes Bulk requests, the creates of users it does not hold yet (known
   * from the account list read at the start of the run) go in bulk; every operation a bulk
   * request did not settle goes back, with the rest, to the one-by-one path, which finds an
   * account a lost answer created before it creates it again. Returns what is left to apply.
   */
  private async bulkCreates(ops: PlannedOperation[]): Promise<PlannedOperation[]> {
    const { maxOperations, maxPayloadSize } = this.features.bulk;
    const index = this.users;
    if (this.target.config.bulk !== 'auto' || maxOperations === 0 || !index) return ops;
    const attribute = this.target.config.matchBy;
    const fresh = ops.filter((op) => op.action === 'create' && !index.match(attribute, attribute === 'externalId' ? op.localId : op.name));
    if (fresh.length < 2) return ops;
    const batches: PlannedOperation[][] = [];
    let batch: PlannedOperation[] = [];
    let bytes = 0;
    for (const op of fresh) {
      const size = JSON.stringify(op.payload).length + 100;
      if (batch.length > 0 && (batch.length >= Math.min(maxOperations, BULK_OPERATIONS) || bytes + size > maxPayloadSize * 0.9)) {
        batches.push(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(op);
      bytes += size;
    }
    if (batch.length > 0) batches.push(batch);
    const bulked = new Set(fresh);
    const unsettled = new Set<PlannedOperation>(ops.filter((op) => !bulked.has(op)));
    await mapPool(batches, Math.max(1, Math.ceil(this.target.config.concurrency / 4)), async (b) => {
      let results: BulkResult[];
      try {
        results = await this.client.bulk(b.map((op) => ({ method: 'POST', path: '/Users', bulkId: op.localId, data: op.payload })));
      } catch (e) {
        if (isSyncError(e, 'stop')) throw e;
        this.count('bulkFallbacks');
        for (const op of b) unsettled.add(op);
        return;
      }
      results.forEach((r, i) => {
        const op = b[i]!;
        const id = r.status === 201 ? remoteIdOf(r) : undefined;
        if (id === undefined) return unsettled.add(op);
        this.count('created');
        this.written(op, id, op.payload!.active === false ? 'inactive' : 'active', op.payload!, op.digest!);
      });
    });
    this.count('bulkRequests', batches.length);
    return ops.filter((op) => unsettled.has(op));
  }

  /** The application's account for a user, by the configured match attribute. */
  private async findUser(op: PlannedOperation, fresh: boolean): Promise<ScimObject | undefined> {
    const attribute = this.target.config.matchBy;
    const value = attribute === 'externalId' ? op.localId : op.name;
    if (!fresh && this.users) return this.users.match(attribute, value);
    if (this.features.filter) return (await this.client.find('Users', attribute, value)).find((o) => typeof o.id === 'string');
    this.users = await this.index('Users', 'userName');
    return this.users.match(attribute, value);
  }

  private async applyUser(op: PlannedOperation): Promise<void> {
    const record = this.records.get(`user:${op.localId}`);
    switch (op.action) {
      case 'create':
        return this.createUser(op);
      case 'update':
      case 'deactivate':
        if (op.payload) return this.updateUser(op, record!);
        return this.deactivateUser(op, record!);
      case 'delete':
        return this.remove(op, 'Users', record!);
    }
  }

  /** Deletes the object in the application; one already gone there is as good as deleted. */
  private async remove(op: PlannedOperation, resource: ScimResourceType, record: ProvisionedObject): Promise<void> {
    try {
      await this.client.request('DELETE', `/${resource}/${encodeURIComponent(record.remoteId!)}`);
    } catch (e) {
      if (!isSyncError(e, 'not_found')) throw e;
    }
    this.count('deleted');
    this.written(op, null, 'deleted', null, '');
  }

  private async createUser(op: PlannedOperation): Promise<void> {
    const payload = op.payload!;
    const existing = await this.findUser(op, false);
    if (existing) {
      this.count('adopted');
      return this.replaceUser(op, existing.id!, payload, {});
    }
    let adopted: ScimObject | undefined;
    let body: unknown;
    try {
      body = await this.client.request('POST', '/Users', payload, async () => {
        // The last attempt may have been applied with its answer lost: look before sending it again.
        adopted = await this.findUser(op, true);
        return adopted;
      });
    } catch (e) {
      if (!isSyncError(e, 'conflict')) throw e;
      adopted = await this.findUser(op, true);
      if (!adopted) throw new SyncError('conflict', `${e.message}; no account with this ${this.target.config.matchBy} was found to take over`, 409);
    }
    if (adopted) {
      this.count('adopted');
      return this.replaceUser(op, adopted.id!, payload, {});
    }
    const id = (body as ScimObject | undefined)?.id;
    if (typeof id !== 'string') throw new SyncError('bad_request', 'POST /Users: the answer has no id');
    this.count('created');
    this.written(op, id, payload.active === false ? 'inactive' : 'active', payload, op.digest!);
  }

  /** Writes every managed attribute of an account Roster did not create (or whose state it no longer knows). */
  private async replaceUser(op: PlannedOperation, remoteId: string, payload: Json, from: Json): Promise<void> {
    const path = `/Users/${encodeURIComponent(remoteId)}`;
    if (this.usePatch) {
      const ops = patchOperations(from, payload);
      if (ops.length > 0) await this.client.request('PATCH', path, PATCH(ops));
    } else await this.client.request('PUT', path, { ...payload, id: remoteId });
    this.written(op, remoteId, payload.active === false ? 'inactive' : 'active', payload, op.digest!);
  }

  private async updateUser(op: PlannedOperation, record: ProvisionedObject): Promise<void> {
    try {
      await this.replaceUser(op, record.remoteId!, op.payload!, record.written ?? {});
    } catch (e) {
      // Deleted in the application behind Roster's back: create it again.
      if (!isSyncError(e, 'not_found')) throw e;
      this.count('recreated');
      return this.createUser(op);
    }
    this.count(op.action === 'deactivate' ? 'deactivated' : 'updated');
  }

  private async deactivateUser(op: PlannedOperation, record: ProvisionedObject): Promise<void> {
    const path = `/Users/${encodeURIComponent(record.remoteId!)}`;
    const written = { ...(record.written ?? { userName: record.name }), active: false };
    try {
      if (this.usePatch) await this.client.request('PATCH', path, PATCH([{ op: 'replace', path: 'active', value: false }]));
      else await this.client.request('PUT', path, { ...written, id: record.remoteId });
    } catch (e) {
      if (!isSyncError(e, 'not_found')) throw e;
      this.count('deleted');
      return this.written(op, null, 'deleted', null, '');
    }
    this.count('deactivated');
    this.written(op, record.remoteId, 'inactive', written, digestOf(written));
  }

  // ---- Groups ----

  private remoteUser(localId: string): string | undefined {
    const r = this.records.get(`user:${localId}`);
    return r && r.state !== 'deleted' && r.remoteId ? r.remoteId : undefined;
  }

  private async findGroup(op: PlannedOperation, fresh: boolean): Promise<ScimObject | undefined> {
    const name = String(op.payload!.displayName);
    if (!fresh && this.groups) return this.groups.match('displayName', name);
    if (this.features.filter) return (await this.client.find('Groups', 'displayName', name)).find((o) => typeof o.id === 'string');
    this.groups = await this.index('Groups', 'displayName');
    return this.groups.match('displayName', name);
  }

  private async applyGroup(op: PlannedOperation): Promise<void> {
    const record = this.records.get(`group:${op.localId}`);
    if (op.action === 'delete') return this.remove(op, 'Groups', record!);
    // Members whose account does not exist in the application (yet) are left out, and added once it does.
    const sent = op.members!.all.filter((m) => this.remoteUser(m) !== undefined);
    const written = { ...op.payload!, members: sent };
    const digest = sent.length === op.members!.all.length ? op.digest! : digestOf({ payload: op.payload, members: sent });
    if (op.action === 'create') return this.createGroup(op, written, digest);
    try {
      await this.updateGroup(record!, op, sent);
    } catch (e) {
      if (!isSyncError(e, 'not_found')) throw e;
      this.count('recreated');
      return this.createGroup(op, written, digest);
    }
    this.count('updated');
    this.written(op, record!.remoteId, 'active', written, digest);
  }

  private async createGroup(op: PlannedOperation, written: Json, digest: string): Promise<void> {
    const sent = written.members as string[];
    const body = { ...op.payload!, members: memberValues(sent.map((m) => this.remoteUser(m)!)) };
    let adopted = await this.findGroup(op, false);
    let created: unknown;
    if (!adopted) {
      created = await this.client.request('POST', '/Groups', body, async () => {
        adopted = await this.findGroup(op, true);
        return adopted;
      });
    }
    if (adopted) {
      // Its members are unknown (another system's group, or a create whose answer was lost): set them all.
      this.count('adopted');
      const path = `/Groups/${encodeURIComponent(adopted.id!)}`;
      if (this.usePatch) {
        await this.client.request('PATCH', path, PATCH([{ op: 'replace', path: 'displayName', value: op.payload!.displayName }, { op: 'replace', path: 'members', value: body.members }]));
      } else await this.client.request('PUT', path, { ...body, id: adopted.id });
      return this.written(op, adopted.id!, 'active', written, digest);
    }
    const id = (created as ScimObject | undefined)?.id;
    if (typeof id !== 'string') throw new SyncError('bad_request', 'POST /Groups: the answer has no id');
    this.count('created');
    this.written(op, id, 'active', written, digest);
  }

  private async updateGroup(record: ProvisionedObject, op: PlannedOperation, sent: string[]): Promise<void> {
    const path = `/Groups/${encodeURIComponent(record.remoteId!)}`;
    const remote = (ids: string[]) => ids.map((m) => this.remoteUser(m) ?? this.records.get(`user:${m}`)?.remoteId).filter((v): v is string => typeof v === 'string');
    const before = new Set(((record.written?.members as string[] | undefined) ?? []).map(String));
    const now = new Set(sent);
    const add = sent.filter((m) => !before.has(m));
    const remove = [...before].filter((m) => !now.has(m));
    if (!this.usePatch) {
      await this.client.request('PUT', path, { ...op.payload!, id: record.remoteId, members: memberValues(remote(sent)) });
      return;
    }
    const ops: PatchOperation[] = [];
    if (record.written?.displayName !== op.payload!.displayName) ops.push({ op: 'replace', path: 'displayName', value: op.payload!.displayName });
    const mode = this.target.config.memberPatch;
    if (mode === 'replace') {
      if (add.length > 0 || remove.length > 0) ops.push({ op: 'replace', path: 'members', value: memberValues(remote(sent)) });
    } else {
      if (add.length > 0) ops.push({ op: 'add', path: 'members', value: memberValues(remote(add)) });
      const removed = remote(remove);
      if (mode === 'value' && removed.length > 0) ops.push({ op: 'remove', path: 'members', value: memberValues(removed) });
      if (mode === 'filter') for (const value of removed) ops.push({ op: 'remove', path: `members[value eq ${JSON.stringify(value)}]` });
    }
    for (const batch of chunks(ops, OPS_PER_PATCH)) await this.client.request('PATCH', path, PATCH(batch));
  }
}

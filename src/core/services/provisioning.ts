import { isIP } from 'node:net';
import { requirePermission, type Context } from '../context.js';
import { invalid, notFound, type ErrorDetail } from '../errors.js';
import type { ApplicationId, GroupId, OrgId } from '../ids.js';
import { changesBetween, REDACTED } from '../journal.js';
import {
  BULK_MODES,
  DEFAULT_PROVISIONING_CONFIG,
  DEPROVISION_ACTIONS,
  MATCH_ATTRIBUTES,
  MEMBER_PATCH_MODES,
  PATCH_MODES,
  type Application,
  type JournalEntryInput,
  type ProvisionedKind,
  type ProvisionedObject,
  type ProvisioningConfig,
  type ProvisioningTarget,
} from '../model.js';
import type { ProvisioningStatusUpdate } from '../ports.js';
import type { ListResult, Page } from '../query.js';
import { journal, type Deps } from './deps.js';
import { DirectoryViewService, type DirectoryView } from './directory-view.js';

/** What an admin sends to change an application's provisioning; `token: null` removes the token. */
export type ProvisioningInput = Partial<ProvisioningConfig> & { token?: string | null };

/** A target with its bearer token opened, for the worker that runs it. */
export interface RunnableTarget {
  target: ProvisioningTarget;
  token: string | null;
}

const MAX_CONCURRENCY = 64;
const MAX_ROLE_MAPPINGS = 1000;
const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

const appNotFound = () => notFound('APPLICATION_NOT_FOUND', 'Application not found');

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value);
}

/** The base URL's problem, if any: https, or http to this machine only (a test or a sidecar). */
function baseUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'baseUrl must be an absolute URL such as https://app.example.com/scim/v2';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'baseUrl must be an https URL';
  if (url.protocol === 'http:' && !LOOPBACK.test(url.hostname)) return 'baseUrl must use https (plain http is allowed only to this machine)';
  if (url.username || url.password) return 'baseUrl must not hold credentials; the bearer token goes in token';
  if (url.search || url.hash) return 'baseUrl must not have a query or a fragment';
  if (isIP(url.hostname) === 0 && url.hostname === '') return 'baseUrl needs a host';
  return undefined;
}

function checkInput(input: ProvisioningInput, merged: ProvisioningConfig): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string) => errors.push({ field, reason: 'INVALID', message });
  const known = new Set([...Object.keys(DEFAULT_PROVISIONING_CONFIG), 'token']);
  for (const key of Object.keys(input)) if (!known.has(key)) fail(key, `${key} is not a provisioning setting`);
  if (input.enabled !== undefined && typeof input.enabled !== 'boolean') fail('enabled', 'enabled must be true or false');
  if (input.groups !== undefined && typeof input.groups !== 'boolean') fail('groups', 'groups must be true or false');
  if (input.baseUrl !== undefined) {
    if (typeof input.baseUrl !== 'string') fail('baseUrl', 'baseUrl must be a string');
    else if (input.baseUrl !== '') {
      const problem = baseUrlProblem(input.baseUrl);
      if (problem) fail('baseUrl', problem);
    }
  }
  if (input.token !== undefined && input.token !== null && (typeof input.token !== 'string' || input.token === '' || input.token.length > 8192)) {
    fail('token', 'token must be a non-empty string of at most 8192 characters, or null to remove it');
  }
  if (input.deprovision !== undefined && !oneOf(input.deprovision, DEPROVISION_ACTIONS)) fail('deprovision', `deprovision must be one of ${DEPROVISION_ACTIONS.join(', ')}`);
  if (input.patch !== undefined && !oneOf(input.patch, PATCH_MODES)) fail('patch', `patch must be one of ${PATCH_MODES.join(', ')}`);
  if (input.bulk !== undefined && !oneOf(input.bulk, BULK_MODES)) fail('bulk', `bulk must be one of ${BULK_MODES.join(', ')}`);
  if (input.memberPatch !== undefined && !oneOf(input.memberPatch, MEMBER_PATCH_MODES)) fail('memberPatch', `memberPatch must be one of ${MEMBER_PATCH_MODES.join(', ')}`);
  if (input.matchBy !== undefined && !oneOf(input.matchBy, MATCH_ATTRIBUTES)) fail('matchBy', `matchBy must be one of ${MATCH_ATTRIBUTES.join(', ')}`);
  if (input.concurrency !== undefined && !(Number.isInteger(input.concurrency) && input.concurrency >= 1 && input.concurrency <= MAX_CONCURRENCY)) {
    fail('concurrency', `concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`);
  }
  if (input.reconcileMinutes !== undefined && !(Number.isInteger(input.reconcileMinutes) && input.reconcileMinutes >= 0 && input.reconcileMinutes <= 10_080)) {
    fail('reconcileMinutes', 'reconcileMinutes must be a whole number of minutes from 0 (never) to 10080 (a week)');
  }
  if (input.roleMappings !== undefined) {
    if (!Array.isArray(input.roleMappings) || input.roleMappings.length > MAX_ROLE_MAPPINGS) fail('roleMappings', `roleMappings must be a list of at most ${MAX_ROLE_MAPPINGS} { groupId, role }`);
    else {
      input.roleMappings.forEach((m, i) => {
        const mapping = m as unknown;
        if (typeof mapping !== 'object' || mapping === null) return fail(`roleMappings[${i}]`, 'a role mapping is an object { groupId, role }');
        const { groupId, role } = mapping as Record<string, unknown>;
        if (typeof groupId !== 'string' || groupId === '') fail(`roleMappings[${i}].groupId`, 'groupId must be a group id');
        if (typeof role !== 'string' || role.trim() === '' || role.length > 256) fail(`roleMappings[${i}].role`, 'role must be a non-empty string of at most 256 characters');
      });
    }
  }
  if (merged.enabled && errors.length === 0 && merged.baseUrl === '') fail('baseUrl', 'baseUrl is required to enable provisioning');
  return errors;
}

/** A target as the admin sees it before provisioning was ever configured. */
function unconfigured(app: Application, now: string): ProvisioningTarget {
  return {
    applicationId: app.id,
    orgId: app.orgId,
    config: { ...DEFAULT_PROVISIONING_CONFIG },
    hasToken: false,
    status: 'disabled',
    cursor: 0,
    counters: {},
    lastRunAt: null,
    lastSuccessAt: null,
    lastError: null,
    lastErrorAt: null,
    reconciledAt: null,
    created: now,
    updated: now,
  };
}

/**
 * Outbound provisioning of applications: the settings admins manage, the per-object records, and
 * what the provisioning worker reads and writes (the users and groups each application should see,
 * run status, leases between processes).
 */
export class ProvisioningService {
  constructor(
    private readonly deps: Deps,
    /** Who and what each application should see: its users, directly or through groups, and its groups. */
    private readonly views: DirectoryViewService<Application>,
  ) {}

  private async app(orgId: OrgId, id: string): Promise<Application> {
    const app = await this.deps.store.read.applications.findById(orgId, id as ApplicationId);
    if (!app) throw appNotFound();
    return app;
  }

  async get(ctx: Context, applicationId: string): Promise<ProvisioningTarget> {
    requirePermission(ctx, 'applications:read');
    const app = await this.app(ctx.orgId, applicationId);
    const stored = await this.deps.store.read.provisioning.findTarget(ctx.orgId, app.id);
    return stored?.target ?? unconfigured(app, app.updated);
  }

  /** The target an admin may start a run of (runs write to the application: applications:write). */
  async runnableBy(ctx: Context, applicationId: string): Promise<ProvisioningTarget> {
    requirePermission(ctx, 'applications:write');
    return this.get(ctx, applicationId);
  }

  /**
   * Changes an application's provisioning settings. A new base URL is a new target: what was
   * recorded of the old one is forgotten and everything is provisioned afresh.
   */
  async configure(ctx: Context, applicationId: string, input: ProvisioningInput): Promise<ProvisioningTarget> {
    requirePermission(ctx, 'applications:write');
    if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('INVALID_INPUT', 'the body must be an object of provisioning settings');
    const now = this.deps.clock().toISOString();
    return this.deps.store.transaction(async (tx) => {
      const app = await tx.applications.findById(ctx.orgId, applicationId as ApplicationId, { forUpdate: true });
      if (!app) throw appNotFound();
      const stored = await tx.provisioning.findTarget(ctx.orgId, app.id);
      const before = stored?.target ?? unconfigured(app, now);
      const { token, ...settings } = input;
      const config: ProvisioningConfig = { ...before.config, ...settings };
      if (typeof config.baseUrl === 'string') config.baseUrl = config.baseUrl.replace(/\/+$/, '');
      const errors = checkInput(input, config);
      if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
      if (input.roleMappings) {
        config.roleMappings = input.roleMappings.map((m) => ({ groupId: m.groupId, role: m.role.trim() }));
        const ids = [...new Set(config.roleMappings.map((m) => m.groupId))];
        const found = new Set((await tx.groups.findByIds(ctx.orgId, ids as GroupId[])).map((g) => g.id as string));
        const missing = ids.filter((id) => !found.has(id));
        if (missing.length > 0) throw invalid('INVALID_INPUT', `roleMappings name groups that do not exist: ${missing.join(', ')}`);
      }
      const hasToken = token === undefined ? before.hasToken : token !== null;
      if (config.enabled && !hasToken) throw invalid('INVALID_INPUT', 'token is required to enable provisioning', [{ field: 'token', reason: 'INVALID', message: 'token is required' }]);
      const retarget = stored !== undefined && config.baseUrl !== before.config.baseUrl;
      const after: ProvisioningTarget = {
        ...before,
        config,
        hasToken,
        // The old target's error is not the new one's: a retarget starts clean, as updateStatus below stores it.
        status: config.enabled ? (before.status === 'disabled' || (retarget && before.status === 'error') ? 'idle' : before.status) : 'disabled',
        ...(retarget ? { cursor: 0, counters: {}, reconciledAt: null, lastError: null, lastErrorAt: null } : {}),
        updated: now,
      };
      const sealed = token === undefined ? undefined : token === null ? null : this.deps.secrets.seal(token, `provisioning:${app.id}`);
      await tx.provisioning.putTarget(after, sealed);
      if (retarget) {
        await tx.provisioning.clearObjects(app.id);
        await tx.provisioning.updateStatus(app.id, { cursor: 0, counters: {}, reconciledAt: null, lastError: null, lastErrorAt: null });
      }
      const changes = changesBetween({ provisioning: before.config }, { provisioning: config });
      if (token !== undefined) changes['provisioning.token'] = { before: before.hasToken ? REDACTED : null, after: token === null ? null : REDACTED };
      journal(tx, ctx, { objectType: 'application', objectId: app.id, operation: 'update', changes });
      return after;
    });
  }

  async objects(ctx: Context, applicationId: string, query: { objectType?: ProvisionedKind; failed?: boolean; page: Page }): Promise<ListResult<ProvisionedObject>> {
    requirePermission(ctx, 'applications:read');
    const app = await this.app(ctx.orgId, applicationId);
    return this.deps.store.read.provisioning.listObjects(ctx.orgId, app.id, query);
  }

  // ---- For the provisioning worker ----

  /** Every enabled target with its token opened. */
  async runnable(): Promise<RunnableTarget[]> {
    return (await this.deps.store.read.provisioning.enabledTargets()).map((t) => ({
      target: t.target,
      token: t.sealedToken ? this.deps.secrets.open(t.sealedToken, `provisioning:${t.target.applicationId}`) : null,
    }));
  }

  async runnableTarget(orgId: OrgId, applicationId: ApplicationId): Promise<RunnableTarget | undefined> {
    const t = await this.deps.store.read.provisioning.findTarget(orgId, applicationId);
    if (!t) return undefined;
    return { target: t.target, token: t.sealedToken ? this.deps.secrets.open(t.sealedToken, `provisioning:${applicationId}`) : null };
  }

  /** The users and groups the application should see now. */
  view(orgId: OrgId, applicationId: ApplicationId): Promise<DirectoryView<Application> | undefined> {
    return this.views.current(orgId, applicationId);
  }

  records(applicationId: ApplicationId): Promise<ProvisionedObject[]> {
    return this.deps.store.read.provisioning.objects(applicationId);
  }

  saveRecords(records: readonly ProvisionedObject[]): Promise<void> {
    return records.length === 0 ? Promise.resolve() : this.deps.store.read.provisioning.putObjects(records);
  }

  updateStatus(applicationId: ApplicationId, update: ProvisioningStatusUpdate): Promise<void> {
    return this.deps.store.read.provisioning.updateStatus(applicationId, update);
  }

  lease(applicationId: ApplicationId, owner: string, seconds: number): Promise<boolean> {
    const now = this.deps.clock();
    return this.deps.store.read.provisioning.lease(applicationId, owner, now.toISOString(), new Date(now.getTime() + seconds * 1000).toISOString());
  }

  release(applicationId: ApplicationId, owner: string): Promise<void> {
    return this.deps.store.read.provisioning.release(applicationId, owner);
  }

  /** Journals what a run did (only runs that wrote something or failed). */
  async recordRun(orgId: OrgId, applicationId: ApplicationId, details: Record<string, unknown>): Promise<void> {
    const entry: JournalEntryInput = { objectType: 'application', objectId: applicationId, operation: 'provisioning_run', changes: {}, details };
    await this.deps.store.transaction(async (tx) => {
      tx.record({ orgId, actor: { type: 'system', id: applicationId }, origin: 'system' }, [entry]);
    });
  }
}

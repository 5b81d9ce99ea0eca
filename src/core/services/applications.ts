import { requirePermission, type Context } from '../context.js';
import { invalid, notFound, type ErrorDetail } from '../errors.js';
import { APPLICATION_FIELDS } from '../fields.js';
import { newId, type ApplicationId } from '../ids.js';
import { changesBetween, REDACTED } from '../journal.js';
import type { Application } from '../model.js';
import type { ListQuery, ListResult } from '../query.js';
import { SecretBox } from '../secrets.js';
import { checkedQuery, dissociateResource, journal, type Deps } from './deps.js';

export interface ApplicationInput {
  name?: string;
  displayName?: string;
  displayLabel?: string;
  ssoUrl?: string;
  learnMore?: string;
  color?: string;
  logoUrl?: string;
  active?: boolean;
  beta?: boolean;
  config?: Record<string, unknown>;
  sso?: Record<string, unknown>;
}

export const APPLICATION_COLORS = ['', '#202D38', '#005466', '#3E8696', '#006CAC', '#0617AC', '#7C6ADA', '#D5779D', '#9E2F00', '#FFB000', '#58C469', '#57C49F', '#FF6C03'] as const;

/** Config keys whose values are secrets: sealed at rest, never returned, never journaled. */
const SECRET_KEY = /(private.?key|secret|password|token|bearer)/i;
const MAX_CONFIG_BYTES = 256 * 1024;

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Walks `config` and applies `fn` to every secret value: a string under a secret-looking key, or
 * the `value` of an object under one (JumpCloud's `{ idpPrivateKey: { value } }` shape).
 */
function mapSecrets(config: Json, fn: (value: string, path: string) => unknown, prefix = ''): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(config)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (SECRET_KEY.test(key) && typeof value === 'string') out[key] = value === '' ? '' : fn(value, path);
    else if (SECRET_KEY.test(key) && isObject(value) && typeof value.value === 'string') {
      out[key] = { ...value, value: value.value === '' ? '' : fn(value.value, `${path}.value`) };
    } else if (isObject(value)) out[key] = mapSecrets(value, fn, path);
    else out[key] = value;
  }
  return out;
}

function valueAt(config: Json, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), config);
}

/** The configuration as callers see it: every secret replaced by a marker. */
export const redactConfig = (config: Json): Json => mapSecrets(config, () => REDACTED);

const journalView = (app: Application) => ({ ...app, config: redactConfig(app.config) });

function sealedValues(config: Json): Map<string, string> {
  const out = new Map<string, string>();
  mapSecrets(config, (value, path) => out.set(path, value));
  return out;
}

/**
 * Journal changes of an application: everything but secrets as before → after, and a redacted
 * entry for each secret set, replaced or removed, so a key rotation shows in the audit log.
 */
function applicationChanges(before: Application | null, after: Application | null) {
  const changes = changesBetween(before && journalView(before), after && journalView(after));
  const old = sealedValues(before?.config ?? {});
  const now = sealedValues(after?.config ?? {});
  for (const path of new Set([...old.keys(), ...now.keys()])) {
    if (old.get(path) !== now.get(path)) {
      changes[`config.${path}`] = { before: old.has(path) ? REDACTED : null, after: now.has(path) ? REDACTED : null };
    }
  }
  return changes;
}

const appNotFound = () => notFound('APPLICATION_NOT_FOUND', 'Application not found');

function checkInput(input: ApplicationInput, requireName: boolean): ErrorDetail[] {
  const errors: ErrorDetail[] = [];
  const fail = (field: string, message: string) => errors.push({ field, reason: 'INVALID', message });
  if (requireName && (typeof input.name !== 'string' || input.name.trim() === '')) fail('name', 'name is required');
  else if (typeof input.name === 'string' && input.name.trim() === '') fail('name', 'name must not be empty');
  for (const field of ['name', 'displayName', 'displayLabel', 'ssoUrl', 'learnMore', 'logoUrl'] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (typeof v !== 'string') fail(field, `${field} must be a string`);
    else if (v.length > 2048) fail(field, `${field} must be at most 2048 characters`);
  }
  if (input.color !== undefined && !(APPLICATION_COLORS as readonly string[]).includes(input.color)) {
    fail('color', `color must be one of ${APPLICATION_COLORS.filter(Boolean).join(', ')} or empty`);
  }
  for (const field of ['config', 'sso'] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (!isObject(v)) fail(field, `${field} must be an object`);
    else if (JSON.stringify(v).length > MAX_CONFIG_BYTES) fail(field, `${field} must be at most 256 KiB`);
  }
  return errors;
}

export class ApplicationService {
  constructor(private readonly deps: Deps) {}

  private seal(app: Application, incoming: Json, previous: Json): Json {
    return mapSecrets(incoming, (value, path) => {
      if (value === REDACTED) return valueAt(previous, path) ?? '';
      if (SecretBox.isSealed(value)) throw invalid('INVALID_INPUT', `${path} cannot be a sealed value`);
      return this.deps.secrets.seal(value, `application:${app.id}:${path}`);
    });
  }

  /** The configuration with secrets decrypted, for the protocol services that need them. */
  openConfig(app: Application): Json {
    return mapSecrets(app.config, (value, path) => this.deps.secrets.open(value, `application:${app.id}:${path}`));
  }

  async list(ctx: Context, query: ListQuery): Promise<ListResult<Application>> {
    requirePermission(ctx, 'applications:read');
    return this.deps.store.read.applications.list(ctx.orgId, checkedQuery(query, APPLICATION_FIELDS));
  }

  async get(ctx: Context, id: string): Promise<Application> {
    requirePermission(ctx, 'applications:read');
    const app = await this.deps.store.read.applications.findById(ctx.orgId, id as ApplicationId);
    if (!app) throw appNotFound();
    return app;
  }

  async create(ctx: Context, input: ApplicationInput): Promise<Application> {
    requirePermission(ctx, 'applications:write');
    const errors = checkInput(input, true);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
    const now = this.deps.clock().toISOString();
    const app: Application = {
      id: newId<ApplicationId>(),
      orgId: ctx.orgId,
      name: input.name!.trim(),
      displayName: input.displayName ?? input.name!.trim(),
      displayLabel: input.displayLabel ?? input.displayName ?? input.name!.trim(),
      ssoUrl: input.ssoUrl ?? '',
      learnMore: input.learnMore ?? '',
      color: input.color ?? '',
      logoUrl: input.logoUrl ?? '',
      active: input.active ?? true,
      beta: input.beta ?? false,
      config: {},
      sso: input.sso ?? {},
      created: now,
      updated: now,
    };
    app.config = this.seal(app, input.config ?? {}, {});
    return this.deps.store.transaction(async (tx) => {
      await tx.applications.insert(app);
      journal(tx, ctx, { objectType: 'application', objectId: app.id, operation: 'create', changes: applicationChanges(null, app) });
      return app;
    });
  }

  async update(ctx: Context, id: string, input: ApplicationInput): Promise<Application> {
    requirePermission(ctx, 'applications:write');
    const errors = checkInput(input, false);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => e.message).join('; '), errors);
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.applications.findById(ctx.orgId, id as ApplicationId, { forUpdate: true });
      if (!before) throw appNotFound();
      const { config, ...rest } = input;
      const after: Application = { ...before, ...rest, updated: this.deps.clock().toISOString() };
      if (rest.name !== undefined) after.name = rest.name.trim();
      if (config !== undefined) after.config = this.seal(before, config, before.config);
      await tx.applications.update(after);
      journal(tx, ctx, { objectType: 'application', objectId: after.id, operation: 'update', changes: applicationChanges(before, after) });
      return after;
    });
  }

  async delete(ctx: Context, id: string): Promise<Application> {
    requirePermission(ctx, 'applications:write');
    return this.deps.store.transaction(async (tx) => {
      const app = await tx.applications.findById(ctx.orgId, id as ApplicationId, { forUpdate: true });
      if (!app) throw appNotFound();
      await dissociateResource(tx, ctx, 'application', app.id);
      await tx.applications.delete(ctx.orgId, app.id);
      journal(tx, ctx, { objectType: 'application', objectId: app.id, operation: 'delete', changes: applicationChanges(app, null) });
      return app;
    });
  }
}



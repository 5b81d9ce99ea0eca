import { requirePermission, type Context } from '../context.js';
import { conflict, DirectoryError, invalid, notFound, type ErrorDetail } from '../errors.js';
import { newId, type AgentId, type DirectoryId } from '../ids.js';
import { changesBetween, REDACTED } from '../journal.js';
import type { AttributeChange, Directory, DirectorySyncRun, DirectorySyncState } from '../model.js';
import type { ListQuery, ListResult } from '../query.js';
import { adSettings, checkSyncRules, CLOUD_CONFIGURATIONS, DEFAULT_AD_SETTINGS, DOMAIN, emptyState, type AdDomainSettings } from './active-directory.js';
import type { DirectoryService } from './directories.js';
import { journal, type Deps } from './deps.js';
import type { DirectoryExportService, ExportPlan } from './directory-export.js';

export type CloudDirectoryType = 'g_suite' | 'office_365';
export const CLOUD_DIRECTORY_TYPES: readonly CloudDirectoryType[] = ['g_suite', 'office_365'];

/** Settings both cloud directories have, beside the sync engine's (configuration, map, authority, removal, threshold). */
export interface CloudCommonSettings {
  /** How often the directory is read (Microsoft 365: its delta; Google: the whole scope), in seconds. */
  pollSeconds: number;
  /** How often everything is read and compared in full (reconciliation), in minutes. */
  reconcileMinutes: number;
  /** Writes in flight at once during an export. */
  exportConcurrency: number;
}

export interface GoogleSettings extends CloudCommonSettings {
  adminEmail: string;
  customer: string;
  scope: { orgUnitPath: string | null; groupEmail: string | null; importGroups: boolean };
  /** The project's Directory API quota (Google's default: 2,400 a minute); calls are paced to stay under it. */
  queriesPerMinute: number;
  /** Overrides for Google's endpoints (a private access point, or a test double): API root and OAuth token URL. */
  endpoints: { rootUrl: string | null; tokenUrl: string | null };
}

export interface MicrosoftSettings extends CloudCommonSettings {
  tenantId: string;
  clientId: string;
  /** Roster email domain → the tenant's verified domain for userPrincipalName; others get `domain`. */
  domainMap: Record<string, string>;
  usageLocation: string | null;
  groupType: 'security' | 'microsoft365';
  scope: { groupId: string | null };
  /** National clouds: the Entra authority host and the Graph base URL. */
  endpoints: { authorityHost: string | null; graphBaseUrl: string | null };
  /** Extra CA certificates (PEM) to trust, such as a TLS-inspecting proxy's. */
  caCertificates: string | null;
}

export type CloudSettings = AdDomainSettings & CloudCommonSettings & ({ schema: 'google_workspace' } & GoogleSettings | { schema: 'microsoft_365' } & MicrosoftSettings);

/** A cloud directory as the worker needs it: settings and the opened credential. */
export interface CloudDirectoryConnection {
  directory: Directory;
  settings: CloudSettings;
  /** Google: the service account's JSON key; Microsoft 365: the client secret. */
  credential: string;
}

const COMMON_DEFAULTS: CloudCommonSettings = { pollSeconds: 60, reconcileMinutes: 60, exportConcurrency: 4 };
/** The engine's defaults, but Roster authoritative: a cloud suite is usually managed from the directory. */
const { schema: _schema, ...engineDefaults } = DEFAULT_AD_SETTINGS;
const SYNC_DEFAULTS = { ...engineDefaults, configuration: 'roster_authoritative', deprovision: 'suspend' } as const;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const credentialField = (type: CloudDirectoryType) => (type === 'g_suite' ? 'serviceAccountKey' : 'clientSecret');
const sealedContext = (directory: Pick<Directory, 'id'>) => `directory:${directory.id}:credential`;
const typeName = (type: CloudDirectoryType) => (type === 'g_suite' ? 'Google Workspace' : 'Microsoft 365');
const notFoundOf = (type: CloudDirectoryType) => notFound('DIRECTORY_NOT_FOUND', `${typeName(type)} directory not found`);

/** The settings as stored, defaults filled in (the sealed credential is not among them). */
export function cloudSettings(directory: Directory): CloudSettings {
  const c = directory.config as Record<string, unknown>;
  const base = adSettings(directory);
  const common = { ...COMMON_DEFAULTS, ...pick(c, ['pollSeconds', 'reconcileMinutes', 'exportConcurrency']) };
  if (directory.type === 'g_suite') {
    return {
      ...base,
      ...common,
      schema: 'google_workspace',
      usersOu: typeof c.usersOu === 'string' ? c.usersOu : '/',
      adminEmail: String(c.adminEmail ?? ''),
      customer: typeof c.customer === 'string' ? c.customer : 'my_customer',
      queriesPerMinute: typeof c.queriesPerMinute === 'number' ? c.queriesPerMinute : 2400,
      scope: { orgUnitPath: null, groupEmail: null, importGroups: true, ...(c.scope as object) },
      endpoints: { rootUrl: null, tokenUrl: null, ...(c.endpoints as object) },
    } as CloudSettings;
  }
  return {
    ...base,
    ...common,
    schema: 'microsoft_365',
    usersOu: null,
    tenantId: String(c.tenantId ?? ''),
    clientId: String(c.clientId ?? ''),
    domainMap: { ...(c.domainMap as object) },
    usageLocation: typeof c.usageLocation === 'string' ? c.usageLocation : null,
    groupType: c.groupType === 'microsoft365' ? 'microsoft365' : 'security',
    scope: { groupId: null, ...(c.scope as object) },
    endpoints: { authorityHost: null, graphBaseUrl: null, ...(c.endpoints as object) },
    caCertificates: typeof c.caCertificates === 'string' ? c.caCertificates : null,
  } as CloudSettings;
}

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}

const COMMON_KEYS = ['name', 'domain', 'configuration', 'attributeMap', 'authority', 'removal', 'deleteThreshold', 'deprovision', 'pollSeconds', 'reconcileMinutes', 'exportConcurrency', 'endpoints', 'scope'];
const TYPE_KEYS: Record<CloudDirectoryType, string[]> = {
  g_suite: ['adminEmail', 'customer', 'usersOu', 'serviceAccountKey', 'queriesPerMinute'],
  office_365: ['tenantId', 'clientId', 'clientSecret', 'domainMap', 'usageLocation', 'groupType', 'caCertificates'],
};

/** Checks an administrator's input; the credential comes back apart, to be sealed. */
function checkInput(type: CloudDirectoryType, input: Record<string, unknown>, errors: ErrorDetail[]): { config: Record<string, unknown>; credential?: string; name?: string } {
  const config: Record<string, unknown> = {};
  const fail = (field: string, message: string, reason = 'INVALID') => errors.push({ field, reason, message });
  const str = (field: string, test: (v: string) => boolean, message: string, nullable = false) => {
    const v = input[field];
    if (v === undefined) return;
    if (v === null && nullable) config[field] = null;
    else if (typeof v !== 'string' || !test(v)) fail(field, message);
    else config[field] = v;
  };
  for (const key of Object.keys(input)) if (!COMMON_KEYS.includes(key) && !TYPE_KEYS[type].includes(key)) fail(key, `${key} is not a setting of a ${typeName(type)} directory`, 'UNKNOWN');
  let name: string | undefined;
  if (input.name !== undefined) {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 256) fail('name', 'must be 1 to 256 characters');
    else name = input.name.trim();
  }
  if (input.domain !== undefined) {
    if (typeof input.domain !== 'string' || !DOMAIN.test(input.domain)) fail('domain', 'must be a DNS domain name such as example.com');
    else config.domain = input.domain.toLowerCase();
  }
  if (input.configuration !== undefined) {
    if (!(CLOUD_CONFIGURATIONS as readonly unknown[]).includes(input.configuration)) fail('configuration', `must be one of ${CLOUD_CONFIGURATIONS.join(', ')}`);
    else config.configuration = input.configuration;
  }
  Object.assign(config, checkSyncRules(input, errors, { passwordAuthority: true }));
  if (input.deprovision !== undefined) {
    if (input.deprovision !== 'suspend' && input.deprovision !== 'delete') fail('deprovision', 'must be suspend or delete');
    else config.deprovision = input.deprovision;
  }
  for (const [field, min, max] of [['pollSeconds', 5, 86_400], ['reconcileMinutes', 1, 10_080], ['exportConcurrency', 1, 32]] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `must be a whole number from ${min} to ${max}`);
    else config[field] = v;
  }
  const url = (v: unknown) => typeof v === 'string' && /^https?:\/\/[^\s]+$/.test(v) && v.length <= 2048;
  if (input.endpoints !== undefined) {
    const e = input.endpoints as Record<string, unknown> | null;
    const allowed = type === 'g_suite' ? ['rootUrl', 'tokenUrl'] : ['authorityHost', 'graphBaseUrl'];
    if (typeof e !== 'object' || e === null || Array.isArray(e)) fail('endpoints', `must be an object of ${allowed.join(', ')}`);
    else {
      const out: Record<string, string | null> = {};
      for (const [k, v] of Object.entries(e)) {
        if (!allowed.includes(k)) fail(`endpoints.${k}`, `${k} is not an endpoint of a ${typeName(type)} directory`, 'UNKNOWN');
        else if (v !== null && !url(v)) fail(`endpoints.${k}`, 'must be an http(s) URL, or null for the default');
        else out[k] = v as string | null;
      }
      config.endpoints = out;
    }
  }
  let credential: string | undefined;
  const secret = input[credentialField(type)];
  if (type === 'g_suite') {
    str('adminEmail', (v) => EMAIL.test(v), 'must be the email address of a super administrator (the account the service account acts as)');
    str('customer', (v) => /^[A-Za-z0-9_]{1,64}$/.test(v), 'must be a customer id such as C01abcde2, or my_customer');
    str('usersOu', (v) => v.startsWith('/') && v.length <= 1024, 'must be an organizational unit path such as / or /Staff');
    const q = input.queriesPerMinute;
    if (q !== undefined && (typeof q !== 'number' || !Number.isInteger(q) || q < 60 || q > 1_000_000)) errors.push({ field: 'queriesPerMinute', reason: 'INVALID', message: 'must be a whole number of queries a minute from 60 to 1,000,000 (your project\'s Admin SDK quota)' });
    else if (q !== undefined) config.queriesPerMinute = q;
    if (input.scope !== undefined) {
      const s = input.scope as Record<string, unknown> | null;
      if (typeof s !== 'object' || s === null) fail('scope', 'must be an object: orgUnitPath, groupEmail, importGroups');
      else {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(s)) {
          if (k === 'orgUnitPath' && (v === null || (typeof v === 'string' && v.startsWith('/') && v.length <= 1024 && !v.includes("'")))) out[k] = v;
          else if (k === 'groupEmail' && (v === null || (typeof v === 'string' && EMAIL.test(v)))) out[k] = v === null ? null : (v as string).toLowerCase();
          else if (k === 'importGroups' && typeof v === 'boolean') out[k] = v;
          else fail(`scope.${k}`, k === 'orgUnitPath' ? 'must be an organizational unit path such as /Staff, or null' : k === 'groupEmail' ? 'must be a group email address, or null' : k === 'importGroups' ? 'must be true or false' : `${k} is not part of a Google Workspace scope`);
        }
        config.scope = out;
      }
    }
    if (secret !== undefined) {
      let key: Record<string, unknown> | undefined;
      try {
        key = typeof secret === 'string' ? (JSON.parse(secret) as Record<string, unknown>) : (secret as Record<string, unknown>);
      } catch {
        key = undefined;
      }
      if (!key || typeof key !== 'object' || key.type !== 'service_account' || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
        fail('serviceAccountKey', "must be the service account's JSON key (type service_account, with client_email and private_key)");
      } else {
        credential = JSON.stringify(key);
        config.serviceAccountEmail = key.client_email;
      }
    }
  } else {
    str('tenantId', (v) => GUID.test(v) || DOMAIN.test(v), 'must be the tenant id (a GUID) or its primary domain');
    str('clientId', (v) => GUID.test(v), 'must be the application (client) id, a GUID');
    str('usageLocation', (v) => /^[A-Z]{2}$/.test(v), 'must be a two-letter country code (ISO 3166) such as US', true);
    if (input.groupType !== undefined && input.groupType !== 'security' && input.groupType !== 'microsoft365') fail('groupType', 'must be security or microsoft365');
    else if (input.groupType !== undefined) config.groupType = input.groupType;
    str('caCertificates', (v) => v.includes('-----BEGIN CERTIFICATE-----') && v.length <= 65_536, 'must be PEM certificates', true);
    if (input.domainMap !== undefined) {
      const m = input.domainMap;
      if (typeof m !== 'object' || m === null || Array.isArray(m)) fail('domainMap', 'must be an object of email domain → verified domain');
      else {
        const out: Record<string, string> = {};
        for (const [from, to] of Object.entries(m)) {
          if (!DOMAIN.test(from) || typeof to !== 'string' || !DOMAIN.test(to)) fail(`domainMap.${from}`, 'must map a domain to a domain');
          else out[from.toLowerCase()] = to.toLowerCase();
        }
        config.domainMap = out;
      }
    }
    if (input.scope !== undefined) {
      const s = input.scope as Record<string, unknown> | null;
      if (typeof s !== 'object' || s === null) fail('scope', 'must be an object: groupId');
      else if (Object.keys(s).some((k) => k !== 'groupId')) fail('scope', 'a Microsoft 365 scope has only groupId');
      else if (s.groupId !== undefined && s.groupId !== null && (typeof s.groupId !== 'string' || !GUID.test(s.groupId))) fail('scope.groupId', 'must be a group object id (a GUID), or null for every user');
      else config.scope = { groupId: s.groupId ?? null };
    }
    if (secret !== undefined) {
      if (typeof secret !== 'string' || secret.length < 8 || secret.length > 1024) fail('clientSecret', "must be the application's client secret");
      else credential = secret;
    }
  }
  return { config, ...(credential !== undefined ? { credential } : {}), ...(name !== undefined ? { name } : {}) };
}

/** JumpCloud's built-in translation rules Roster carries, and the Roster attribute each one names. */
const TRANSLATIONS: Record<CloudDirectoryType, { carried: Record<string, string>; others: string[]; directions: string[] }> = {
  g_suite: {
    carried: {
      user_primary_organization_cost_center: 'costCenter',
      user_primary_organization_department: 'department',
      user_primary_organization_description: 'description',
      user_primary_organization_employee_id: 'employeeIdentifier',
      user_primary_organization_title: 'jobTitle',
    },
    others: ['user_home_addresses', 'user_work_addresses', 'user_other_addresses', 'user_home_phone_numbers', 'user_mobile_phone_numbers', 'user_other_phone_numbers', 'user_work_phone_numbers', 'user_work_fax_phone_numbers', 'user_work_mobile_phone_numbers', 'user_manager', 'user_alternate_email'],
    directions: ['export', 'import'],
  },
  office_365: {
    carried: { user_department: 'department', user_job_title: 'jobTitle', user_office_location: 'location' },
    others: ['user_alternate_email', 'user_business_phones', 'user_city', 'user_country', 'user_manager', 'user_mobile_phone', 'user_postal_code', 'user_principal_name_from_alternate_email', 'user_state', 'user_street_address'],
    directions: ['export'],
  },
};

/** A translation rule (JumpCloud's): this attribute goes this way; kept as the attribute's authority. */
export interface TranslationRule {
  id: string;
  builtIn: string;
  direction: 'export' | 'import';
}

/** Reads a cloud directory in full (its connector), for the accounts an administrator may import. */
export type CloudReader = (connection: CloudDirectoryConnection) => Promise<{ objects: { kind: string; externalId: string; present: boolean; privileged?: boolean; attributes: Record<string, string[]> }[] }>;

/** A directory's configuration as the journal keeps it: the sealed credential never appears. */
const redacted = (directory: Directory): Directory => ({ ...directory, config: { ...directory.config, ...(directory.config.credential ? { credential: REDACTED } : {}) } });

/**
 * Google Workspace (`g_suite`) and Microsoft 365 (`office_365`) directories: settings and their
 * credential (a service account key, a client secret), sealed at rest and never shown again.
 * Roster reaches them itself (no agent); the worker in integrations/cloud-directory does.
 */
export class CloudDirectoryService {
  private reader: CloudReader | undefined;

  constructor(
    private readonly deps: Deps,
    private readonly directories: DirectoryService,
    private readonly exports: DirectoryExportService,
  ) {}

  /** How to read a directory (its connector), for `availableForImport`; set where the connectors are. */
  useReader(reader: CloudReader): void {
    this.reader = reader;
  }

  // JumpCloud's translation rules: per attribute, which way it goes (the authority table underneath).

  async translationRules(ctx: Context, type: CloudDirectoryType, id: string): Promise<TranslationRule[]> {
    const directory = await this.get(ctx, type, id);
    return (directory.config.translationRules as TranslationRule[] | undefined) ?? [];
  }

  async addTranslationRule(ctx: Context, type: CloudDirectoryType, id: string, input: { builtIn?: unknown; direction?: unknown }): Promise<TranslationRule> {
    requirePermission(ctx, 'directories:write');
    const table = TRANSLATIONS[type];
    const builtIn = String(input.builtIn ?? '');
    const direction = input.direction ?? 'export';
    if (table.others.includes(builtIn)) throw invalid('UNSUPPORTED_TRANSLATION', `${builtIn} is not carried by Roster's ${typeName(type)} sync yet`, [{ field: 'builtIn', reason: 'UNSUPPORTED', message: 'not carried yet' }]);
    const field = table.carried[builtIn];
    if (!field) throw invalid('INVALID_INPUT', `builtIn must be one of ${Object.keys(table.carried).join(', ')}`, [{ field: 'builtIn', reason: 'INVALID', message: 'unknown translation' }]);
    if (!table.directions.includes(direction as string)) throw invalid('INVALID_INPUT', `direction must be ${table.directions.join(' or ')}`, [{ field: 'direction', reason: 'INVALID', message: 'unknown direction' }]);
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (before?.type !== type) throw notFoundOf(type);
      const rules = (before.config.translationRules as TranslationRule[] | undefined) ?? [];
      if (rules.some((r) => r.builtIn === builtIn)) throw conflict('TRANSLATION_RULE_EXISTS', `A rule for ${builtIn} exists; delete it first`);
      const rule: TranslationRule = { id: newId(), builtIn, direction: direction as TranslationRule['direction'] };
      const after: Directory = { ...before, config: { ...before.config, translationRules: [...rules, rule], authority: { ...(before.config.authority as object), [field]: rule.direction } }, updated: this.now() };
      await tx.directories.update(after);
      journal(tx, ctx, { objectType: 'directory', objectId: after.id, operation: 'update', changes: changesBetween(redacted(before), redacted(after)) });
      return rule;
    });
  }

  async deleteTranslationRule(ctx: Context, type: CloudDirectoryType, id: string, ruleId: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const before = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (before?.type !== type) throw notFoundOf(type);
      const rules = (before.config.translationRules as TranslationRule[] | undefined) ?? [];
      const rule = rules.find((r) => r.id === ruleId);
      if (!rule) throw notFound('TRANSLATION_RULE_NOT_FOUND', 'Translation rule not found');
      // The attribute goes back to the configuration's preset.
      const authority = { ...(before.config.authority as Record<string, string>) };
      delete authority[TRANSLATIONS[type].carried[rule.builtIn]!];
      const after: Directory = { ...before, config: { ...before.config, translationRules: rules.filter((r) => r.id !== ruleId), authority }, updated: this.now() };
      await tx.directories.update(after);
      journal(tx, ctx, { objectType: 'directory', objectId: after.id, operation: 'update', changes: changesBetween(redacted(before), redacted(after)) });
    });
  }

  /**
   * JumpCloud's "users available for import": the directory's accounts, read now, that no Roster
   * user is linked to (administrators of the directory excepted), optionally those whose email or
   * name contains `query`.
   */
  async availableForImport(ctx: Context, type: CloudDirectoryType, id: string, query = ''): Promise<{ externalId: string; attributes: Record<string, string | undefined> }[]> {
    const directory = await this.get(ctx, type, id);
    const connection = await this.connection(directory.orgId, directory.id);
    if (!this.reader || !connection) throw new DirectoryError('unavailable', 'DIRECTORY_UNAVAILABLE', `This process cannot read ${typeName(type)} directories`);
    let read;
    try {
      read = await this.reader(connection);
    } catch (e) {
      throw new DirectoryError('unavailable', 'DIRECTORY_UNAVAILABLE', `${typeName(type)} could not be read: ${e instanceof Error ? e.message : String(e)}`);
    }
    const users = read.objects.filter((o) => o.kind === 'user' && o.present && !o.privileged);
    const linked = new Set((await this.deps.store.read.identityLinks.findByExternalIds(ctx.orgId, directory.id, 'user', users.map((u) => u.externalId))).map((l) => l.externalId));
    const needle = query.toLowerCase();
    return users
      .filter((u) => !linked.has(u.externalId))
      .map((u) => ({ externalId: u.externalId, attributes: Object.fromEntries(Object.entries(u.attributes).map(([k, v]) => [k, v[0]])) }))
      .filter((u) => needle === '' || Object.values(u.attributes).some((v) => v?.toLowerCase().includes(needle)));
  }

  private now(): string {
    return this.deps.clock().toISOString();
  }

  list(ctx: Context, type: CloudDirectoryType, query: ListQuery): Promise<ListResult<Directory>> {
    return this.directories.list(ctx, query, type);
  }

  async get(ctx: Context, type: CloudDirectoryType, id: string): Promise<Directory> {
    requirePermission(ctx, 'directories:read');
    const directory = await this.deps.store.read.directories.findById(ctx.orgId, id as DirectoryId);
    if (directory?.type !== type) throw notFoundOf(type);
    return directory;
  }

  async create(ctx: Context, type: CloudDirectoryType, input: Record<string, unknown>): Promise<Directory> {
    requirePermission(ctx, 'directories:write');
    const errors: ErrorDetail[] = [];
    const { config, credential, name } = checkInput(type, input, errors);
    const required = type === 'g_suite' ? ['domain', 'adminEmail', 'serviceAccountKey'] : ['domain', 'tenantId', 'clientId', 'clientSecret'];
    for (const field of required) {
      if (input[field] === undefined && !errors.some((e) => e.field === field)) errors.push({ field, reason: 'REQUIRED', message: `${field} is required` });
    }
    if (errors.length > 0) throw invalidSettings(errors);
    const now = this.now();
    const id = newId<DirectoryId>();
    const directory: Directory = {
      id,
      orgId: ctx.orgId,
      type,
      name: name ?? `${typeName(type)} ${String(config.domain)}`,
      config: { ...SYNC_DEFAULTS, ...config, credential: this.deps.secrets.seal(credential!, sealedContext({ id })) },
      created: now,
      updated: now,
    };
    await this.deps.store.transaction(async (tx) => {
      const taken = (await tx.directories.list(ctx.orgId, { filter: { kind: 'compare', field: 'type', op: 'eq', value: type }, sort: [], page: { limit: 1000, skip: 0 } })).items;
      if (taken.some((d) => d.config.domain === config.domain)) throw conflict('DOMAIN_EXISTS', `${typeName(type)} ${String(config.domain)} is already connected to this organization`);
      await tx.directories.insert(directory);
      await tx.directorySync.putState(emptyState(directory, now));
      journal(tx, ctx, { objectType: 'directory', objectId: directory.id, operation: 'create', changes: changesBetween(null, redacted(directory)) });
    });
    return directory;
  }

  /** Changes settings (a new credential replaces the old); a changed scope or configuration makes the next read a full one. */
  async update(ctx: Context, type: CloudDirectoryType, id: string, input: Record<string, unknown>): Promise<Directory> {
    requirePermission(ctx, 'directories:write');
    const errors: ErrorDetail[] = [];
    const { config, credential, name } = checkInput(type, input, errors);
    if (config.domain !== undefined) errors.push({ field: 'domain', reason: 'READ_ONLY', message: 'the domain of a connected directory cannot change; connect another' });
    if (errors.length > 0) throw invalidSettings(errors);
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (before?.type !== type) throw notFoundOf(type);
      const now = this.now();
      const merged: Record<string, unknown> = { ...before.config, ...config };
      if (config.scope) merged.scope = { ...(before.config.scope as object), ...(config.scope as object) };
      if (config.endpoints) merged.endpoints = { ...(before.config.endpoints as object), ...(config.endpoints as object) };
      if (credential !== undefined) merged.credential = this.deps.secrets.seal(credential, sealedContext(before));
      const after: Directory = { ...before, name: name ?? before.name, config: merged, updated: now };
      await tx.directories.update(after);
      const reread = ['scope', 'configuration', 'attributeMap', 'authority'].some((k) => config[k] !== undefined && JSON.stringify(config[k]) !== JSON.stringify(before.config[k])) || credential !== undefined;
      if (reread) {
        const state = (await tx.directorySync.state(ctx.orgId, before.id, { forUpdate: true })) ?? emptyState(before, now);
        await tx.directorySync.putState({ ...state, fullImportWanted: true, importCursor: null, updated: now });
      }
      const changes: Record<string, AttributeChange> = changesBetween(redacted(before), redacted(after));
      if (credential !== undefined) changes[credentialField(type)] = { before: REDACTED, after: REDACTED };
      journal(tx, ctx, { objectType: 'directory', objectId: after.id, operation: 'update', changes });
      return after;
    });
  }

  /** Disconnects the directory: its state and runs go; the users and groups it imported stay, unlinked; nothing in the directory changes. */
  async delete(ctx: Context, type: CloudDirectoryType, id: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (directory?.type !== type) throw notFoundOf(type);
      for (const kind of ['user', 'user_group'] as const) {
        for (const link of await tx.identityLinks.listByDirectory(ctx.orgId, directory.id, kind)) await tx.identityLinks.delete(ctx.orgId, directory.id, kind, link.localId);
      }
      await tx.directories.delete(ctx.orgId, directory.id);
      journal(tx, ctx, { objectType: 'directory', objectId: directory.id, operation: 'delete', changes: changesBetween(redacted(directory), null) });
    });
  }

  async state(ctx: Context, type: CloudDirectoryType, id: string): Promise<DirectorySyncState> {
    const directory = await this.get(ctx, type, id);
    return (await this.deps.store.read.directorySync.state(ctx.orgId, directory.id)) ?? emptyState(directory, directory.created);
  }

  /** A full read at the worker's next turn (reconciliation now), or, with `dryRun`, a plan of it that applies nothing. */
  async requestRead(ctx: Context, type: CloudDirectoryType, id: string, dryRun = false): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(ctx.orgId, id as DirectoryId);
      if (directory?.type !== type) throw notFoundOf(type);
      const state = (await tx.directorySync.state(ctx.orgId, directory.id, { forUpdate: true })) ?? emptyState(directory, this.now());
      await tx.directorySync.putState({ ...state, ...(dryRun ? { dryRunWanted: true } : { fullImportWanted: true }), updated: this.now() });
      if (!dryRun) journal(tx, ctx, { objectType: 'directory', objectId: directory.id, operation: 'update', changes: { fullImportWanted: { before: state.fullImportWanted, after: true } } });
    });
  }

  /** The export's dry run: what Roster would write to the directory now. */
  async exportPlan(ctx: Context, type: CloudDirectoryType, id: string, limit = 500): Promise<ExportPlan> {
    return this.exports.preview(ctx, id, limit, type);
  }

  async runs(ctx: Context, type: CloudDirectoryType, id: string, limit = 20, skip = 0): Promise<{ items: DirectorySyncRun[]; total: number }> {
    const directory = await this.get(ctx, type, id);
    return this.deps.store.read.directorySync.listRuns(ctx.orgId, directory.id, Math.min(Math.max(limit, 1), 100), Math.max(skip, 0));
  }

  async run(ctx: Context, type: CloudDirectoryType, id: string, runId: string): Promise<DirectorySyncRun> {
    const directory = await this.get(ctx, type, id);
    const run = await this.deps.store.read.directorySync.findRun(ctx.orgId, runId as DirectorySyncRun['id']);
    if (!run || run.directoryId !== directory.id) throw notFound('SYNC_RUN_NOT_FOUND', 'Sync run not found');
    return run;
  }

  /** System: every cloud directory of every org, with its opened credential, for the worker. */
  async connections(): Promise<CloudDirectoryConnection[]> {
    const out: CloudDirectoryConnection[] = [];
    for (const directory of await this.deps.store.read.directories.listOfTypes([...CLOUD_DIRECTORY_TYPES])) {
      const sealed = directory.config.credential;
      if (typeof sealed !== 'string') continue;
      out.push({ directory, settings: cloudSettings(directory), credential: this.deps.secrets.open(sealed, sealedContext(directory)) });
    }
    return out;
  }

  /** System: `owner` (a worker process) runs the directory's sync for `seconds` from now; false while another holds it. */
  async takeLease(directory: Directory, owner: string, seconds: number): Promise<boolean> {
    const now = this.deps.clock();
    const repos = this.deps.store.read;
    if (!(await repos.directorySync.state(directory.orgId, directory.id))) await repos.directorySync.putState(emptyState(directory, now.toISOString()));
    return repos.directorySync.takeWriterLease(directory.orgId, directory.id, owner as AgentId, now.toISOString(), new Date(now.getTime() + seconds * 1000).toISOString());
  }

  async releaseLease(directory: Directory, owner: string): Promise<void> {
    await this.deps.store.read.directorySync.releaseWriterLease(directory.orgId, directory.id, owner as AgentId);
  }

  /** System: a failure of the directory's sync (credentials refused, the API unreachable), shown with its state; null clears it. */
  async reportError(directory: Directory, message: string | null): Promise<void> {
    const repos = this.deps.store.read;
    const now = this.now();
    const state = (await repos.directorySync.state(directory.orgId, directory.id)) ?? emptyState(directory, now);
    if (message === null && state.lastError === null) return;
    await repos.directorySync.putState({ ...state, lastError: message === null ? null : message.slice(0, 2000), lastErrorAt: message === null ? state.lastErrorAt : now, updated: now });
  }

  /** System: the directory's sync state (its cursor, what is wanted of the next read). */
  async stateOf(directory: Directory): Promise<DirectorySyncState> {
    return (await this.deps.store.read.directorySync.state(directory.orgId, directory.id)) ?? emptyState(directory, this.now());
  }

  /** System: one cloud directory with its opened credential; undefined when gone. */
  async connection(orgId: Directory['orgId'], id: DirectoryId): Promise<CloudDirectoryConnection | undefined> {
    const directory = await this.deps.store.read.directories.findById(orgId, id);
    if (!directory || !(CLOUD_DIRECTORY_TYPES as readonly string[]).includes(directory.type) || typeof directory.config.credential !== 'string') return undefined;
    return { directory, settings: cloudSettings(directory), credential: this.deps.secrets.open(directory.config.credential, sealedContext(directory)) };
  }
}

const invalidSettings = (errors: ErrorDetail[]) => invalid('INVALID_INPUT', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);

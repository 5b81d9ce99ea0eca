import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound, type ErrorDetail } from '../errors.js';
import { newId, type AgentId, type DirectoryId, type OrgId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { Directory, DirectoryAgent, DirectorySyncRun, DirectorySyncState } from '../model.js';
import type { ListQuery, ListResult } from '../query.js';
import type { IdentityLink, PasswordAuthority } from '../ports.js';
import { digestSecret, newBearerSecret } from '../secrets.js';
import type { DirectoryService } from './directories.js';
import { journal, type Deps } from './deps.js';

/** The three configurations of an AD domain: presets of the per-attribute authority table. */
export const AD_CONFIGURATIONS = ['ad_authoritative', 'two_way', 'roster_authoritative'] as const;
export type AdConfiguration = (typeof AD_CONFIGURATIONS)[number];
/** A cloud directory's configurations: the directory's data wins, both (the newer change wins), or Roster's. */
export const CLOUD_CONFIGURATIONS = ['directory_authoritative', 'two_way', 'roster_authoritative'] as const;
export type SyncConfiguration = AdConfiguration | (typeof CLOUD_CONFIGURATIONS)[number];

/** Who owns an attribute: the directory (import), Roster (export), both (the newer change wins), or neither. */
export type Authority = 'import' | 'export' | 'both' | 'ignore';

/** The Roster attributes a directory sync carries, and the AD attributes they come from by default. */
export const AD_DEFAULT_MAP: Readonly<Record<string, string>> = {
  username: 'samaccountname',
  email: 'mail',
  firstname: 'givenname',
  lastname: 'sn',
  displayname: 'displayname',
  jobTitle: 'title',
  department: 'department',
  company: 'company',
  description: 'description',
  location: 'physicaldeliveryofficename',
  employeeIdentifier: 'employeeid',
};
/** The defaults for other LDAP directories (OpenLDAP, 389-ds, FreeIPA: inetOrgPerson, posixAccount). */
export const LDAP_DEFAULT_MAP: Readonly<Record<string, string>> = {
  username: 'uid',
  email: 'mail',
  firstname: 'givenname',
  lastname: 'sn',
  displayname: 'displayname',
  jobTitle: 'title',
  department: 'departmentnumber',
  company: 'o',
  description: 'description',
  location: 'l',
  employeeIdentifier: 'employeenumber',
};
/**
 * Google Workspace (Admin SDK Directory API), as its connector names what it reads: `username` is
 * the local part of primaryEmail; title, department, costcenter and description come from the
 * primary organization, employeeid from the organization external id.
 */
export const GOOGLE_DEFAULT_MAP: Readonly<Record<string, string>> = {
  username: 'username',
  email: 'primaryemail',
  firstname: 'givenname',
  lastname: 'familyname',
  jobTitle: 'title',
  department: 'department',
  costCenter: 'costcenter',
  description: 'description',
  employeeIdentifier: 'employeeid',
};
/** Microsoft 365 / Entra ID (Microsoft Graph user properties, lowercase); `username` is the local part of userPrincipalName. */
export const M365_DEFAULT_MAP: Readonly<Record<string, string>> = {
  username: 'username',
  email: 'mail',
  firstname: 'givenname',
  lastname: 'surname',
  displayname: 'displayname',
  jobTitle: 'jobtitle',
  department: 'department',
  company: 'companyname',
  location: 'officelocation',
  employeeIdentifier: 'employeeid',
};
/** What the directory is: Active Directory, or another LDAP directory read through the same agent with its own schema profile. */
export const DIRECTORY_SCHEMAS = ['active_directory', 'ldap'] as const;
/** Cloud directories, reached by Roster itself through their APIs. */
export const CLOUD_SCHEMAS = ['google_workspace', 'microsoft_365'] as const;
export type DirectorySchema = (typeof DIRECTORY_SCHEMAS)[number] | (typeof CLOUD_SCHEMAS)[number];
export const isCloudSchema = (schema: DirectorySchema): boolean => (CLOUD_SCHEMAS as readonly string[]).includes(schema);
/** Roster attributes a mapping may name (besides the defaults above). */
const MAPPABLE = new Set([...Object.keys(AD_DEFAULT_MAP), 'middlename', 'employeeType', 'costCenter', 'alternateEmail']);
/** `suspended` follows the directory's disabled flag (userAccountControl in AD); `password` is the password authority. */
const SPECIAL = ['suspended', 'membership'] as const;

const PRESET_AUTHORITY: Record<SyncConfiguration, Authority> = { ad_authoritative: 'import', directory_authoritative: 'import', two_way: 'both', roster_authoritative: 'export' };

export interface AdDomainSettings {
  /** The DNS name of the domain (JumpCloud's `domain`). */
  domain: string;
  /** `ldap`: an OpenLDAP, 389-ds or FreeIPA directory (entryUUID, inetOrgPerson, groupOfNames), imported only. */
  schema: DirectorySchema;
  configuration: SyncConfiguration;
  /** The security group whose members (nested included) are imported; null imports nothing. */
  importScopeGroupDn: string | null;
  /** Where users and groups that Roster creates in AD go (the sync role). */
  usersOu: string | null;
  groupsOu: string | null;
  /** Roster attribute → AD attribute (lowercase), over the defaults. */
  attributeMap: Record<string, string>;
  /** Per attribute, over the configuration's preset. */
  authority: Record<string, Authority>;
  /**
   * What happens to a user or group deleted in AD or gone from the import scope: suspended (groups:
   * left alone) and deleted after `graceDays` (null: never), or deleted at once.
   */
  removal: { action: 'suspend' | 'delete'; graceDays: number | null };
  /**
   * A run that would remove more than `count` objects, or more than `percent` of those linked,
   * holds its removals back (everything else applies) until an administrator confirms.
   */
  deleteThreshold: { count: number; percent: number };
  /**
   * Cloud directories: what happens to an account Roster manages once its user is deleted in Roster
   * or no longer associated with the directory: suspended (the default) or deleted.
   */
  deprovision?: 'suspend' | 'delete';
}

export const DEFAULT_AD_SETTINGS: Omit<AdDomainSettings, 'domain'> = {
  schema: 'active_directory',
  configuration: 'ad_authoritative',
  importScopeGroupDn: null,
  usersOu: null,
  groupsOu: null,
  attributeMap: {},
  authority: {},
  removal: { action: 'suspend', graceDays: 30 },
  deleteThreshold: { count: 50, percent: 10 },
};

/** The settings as stored in the directory's config, defaults filled in. */
export function adSettings(directory: Directory): AdDomainSettings {
  const c = directory.config as Partial<AdDomainSettings>;
  return {
    ...DEFAULT_AD_SETTINGS,
    ...c,
    domain: typeof c.domain === 'string' ? c.domain : '',
    // A cloud directory's schema is its type.
    ...(directory.type === 'g_suite' ? { schema: 'google_workspace' as const } : directory.type === 'office_365' ? { schema: 'microsoft_365' as const } : {}),
    attributeMap: { ...(c.attributeMap ?? {}) },
    authority: { ...(c.authority ?? {}) },
    removal: { ...DEFAULT_AD_SETTINGS.removal, ...(c.removal ?? {}) },
    deleteThreshold: { ...DEFAULT_AD_SETTINGS.deleteThreshold, ...(c.deleteThreshold ?? {}) },
  };
}

/** The effective authority of each attribute: the preset, then the per-attribute overrides. */
export function authorityOf(settings: AdDomainSettings, attribute: string): Authority {
  return settings.authority[attribute] ?? PRESET_AUTHORITY[settings.configuration];
}

/** The source attribute each Roster attribute comes from. */
const DEFAULT_MAPS: Record<DirectorySchema, Readonly<Record<string, string>>> = {
  active_directory: AD_DEFAULT_MAP,
  ldap: LDAP_DEFAULT_MAP,
  google_workspace: GOOGLE_DEFAULT_MAP,
  microsoft_365: M365_DEFAULT_MAP,
};
export const attributeSources = (settings: AdDomainSettings): Record<string, string> => ({ ...DEFAULT_MAPS[settings.schema], ...settings.attributeMap });

/** A DNS domain name. */
export const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/i;
const DN = /^[^=,]+=[^,]+(,[^=,]+=[^,]+)*$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkSettings(input: Record<string, unknown>, errors: ErrorDetail[]): Partial<AdDomainSettings> {
  const out: Partial<AdDomainSettings> = {};
  const fail = (field: string, message: string, reason = 'INVALID') => errors.push({ field, reason, message });
  for (const key of Object.keys(input)) {
    if (!['domain', 'schema', 'configuration', 'importScopeGroupDn', 'usersOu', 'groupsOu', 'attributeMap', 'authority', 'removal', 'deleteThreshold'].includes(key)) {
      fail(key, `${key} is not a setting of an Active Directory domain`, 'UNKNOWN');
    }
  }
  if (input.domain !== undefined) {
    if (typeof input.domain !== 'string' || !DOMAIN.test(input.domain)) fail('domain', 'must be a DNS domain name such as corp.example.com');
    else out.domain = input.domain.toLowerCase();
  }
  if (input.schema !== undefined) {
    if (!(DIRECTORY_SCHEMAS as readonly unknown[]).includes(input.schema)) fail('schema', `must be one of ${DIRECTORY_SCHEMAS.join(', ')}`);
    else out.schema = input.schema as DirectorySchema;
  }
  if (input.configuration !== undefined) {
    if (!AD_CONFIGURATIONS.includes(input.configuration as AdConfiguration)) fail('configuration', `must be one of ${AD_CONFIGURATIONS.join(', ')}`);
    else out.configuration = input.configuration as AdConfiguration;
  }
  for (const field of ['importScopeGroupDn', 'usersOu', 'groupsOu'] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (v === null || v === '') out[field] = null;
    else if (typeof v !== 'string' || v.length > 2048 || CONTROL.test(v) || !DN.test(v)) fail(field, 'must be a distinguished name such as OU=Staff,DC=corp,DC=example,DC=com');
    else out[field] = v;
  }
  Object.assign(out, checkSyncRules(input, errors));
  return out;
}

/** The rules every directory sync has: attribute map, per-attribute authority, removal, delete threshold. */
export type SyncRules = Partial<Pick<AdDomainSettings, 'attributeMap' | 'authority' | 'removal' | 'deleteThreshold'>>;

/**
 * Checks the sync rules of an administrator's input (those present), for every kind of directory.
 * `passwordAuthority`: the directory takes `authority.password` (export or ignore: a cloud directory).
 */
export function checkSyncRules(input: Record<string, unknown>, errors: ErrorDetail[], options: { passwordAuthority?: boolean } = {}): SyncRules {
  const out: SyncRules = {};
  const fail = (field: string, message: string, reason = 'INVALID') => errors.push({ field, reason, message });
  if (input.attributeMap !== undefined) {
    const map = input.attributeMap;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) fail('attributeMap', 'must be an object of Roster attribute → directory attribute');
    else {
      out.attributeMap = {};
      for (const [field, source] of Object.entries(map)) {
        if (!MAPPABLE.has(field)) fail(`attributeMap.${field}`, `${field} is not an attribute a directory can set`, 'UNKNOWN');
        else if (typeof source !== 'string' || !/^[a-z][a-z0-9-]{0,63}$/i.test(source)) fail(`attributeMap.${field}`, 'must be an attribute name');
        else out.attributeMap[field] = source.toLowerCase();
      }
    }
  }
  if (input.authority !== undefined) {
    const map = input.authority;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) fail('authority', 'must be an object of attribute → import, export, both or ignore');
    else {
      out.authority = {};
      for (const [field, value] of Object.entries(map)) {
        if (field === 'password' && options.passwordAuthority) {
          // Passwords only ever go out to a cloud directory (it never gives one back): export, or ignore.
          if (value !== 'export' && value !== 'ignore') fail('authority.password', 'must be export or ignore');
          else out.authority[field] = value as Authority;
        } else if (!MAPPABLE.has(field) && !(SPECIAL as readonly string[]).includes(field)) fail(`authority.${field}`, `${field} is not an attribute a directory sync carries`, 'UNKNOWN');
        else if (!['import', 'export', 'both', 'ignore'].includes(value as string)) fail(`authority.${field}`, 'must be import, export, both or ignore');
        else out.authority[field] = value as Authority;
      }
    }
  }
  if (input.removal !== undefined) {
    const r = input.removal as Record<string, unknown>;
    if (typeof r !== 'object' || r === null) fail('removal', 'must be an object');
    else {
      const action = r.action ?? 'suspend';
      const graceDays = r.graceDays === undefined ? 30 : r.graceDays;
      if (action !== 'suspend' && action !== 'delete') fail('removal.action', 'must be suspend or delete');
      else if (graceDays !== null && (typeof graceDays !== 'number' || !Number.isInteger(graceDays) || graceDays < 0 || graceDays > 3650)) fail('removal.graceDays', 'must be a whole number of days from 0 to 3650, or null for never');
      else out.removal = { action, graceDays: graceDays as number | null };
    }
  }
  if (input.deleteThreshold !== undefined) {
    const t = input.deleteThreshold as Record<string, unknown>;
    const count = t?.count ?? DEFAULT_AD_SETTINGS.deleteThreshold.count;
    const percent = t?.percent ?? DEFAULT_AD_SETTINGS.deleteThreshold.percent;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) fail('deleteThreshold.count', 'must be a whole number, 0 or more');
    else if (typeof percent !== 'number' || percent < 0 || percent > 100) fail('deleteThreshold.percent', 'must be a number from 0 to 100');
    else out.deleteThreshold = { count, percent };
  }
  return out;
}

/** Rules across settings: other LDAP directories are imported only. */
function checkCombination(settings: Pick<AdDomainSettings, 'schema' | 'configuration'>, errors: ErrorDetail[]): void {
  if (settings.schema === 'ldap' && settings.configuration !== 'ad_authoritative') {
    errors.push({ field: 'configuration', reason: 'INVALID', message: 'an LDAP directory (schema ldap) is imported only: configuration ad_authoritative' });
  }
}

const invalidSettings = (errors: ErrorDetail[]) => invalid('INVALID_INPUT', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
const domainNotFound = () => notFound('DIRECTORY_NOT_FOUND', 'Active Directory domain not found');
const agentNotFound = () => notFound('AGENT_NOT_FOUND', 'Agent not found');

export const AGENT_CONNECT_KEY_PREFIX = 'rck_';
export const AGENT_CREDENTIAL_PREFIX = 'rag_';
const CONNECT_KEY_DAYS = 7;
/** An agent's contact is written at most this often. */
const TOUCH_INTERVAL_MS = 60_000;
export const MAX_AGENTS_PER_DOMAIN = 10;

export interface IssuedAgent {
  agent: DirectoryAgent;
  /** The one-time connect key: shown once, good for seven days, consumed at registration. */
  connectKey: string;
}

export interface RegisteredAgent {
  agent: DirectoryAgent;
  directory: Directory;
  /** The agent's own credential: given once, at registration; only its digest is kept. */
  credential: string;
}

/**
 * Active Directory domains (directories of type `active_directory`), their sync settings, and
 * their agents: an administrator makes an agent and gets a one-time connect key; the agent
 * registers with it, receives a credential of its own, and from then on dials out to Roster.
 */
export class ActiveDirectoryService {
  constructor(
    private readonly deps: Deps,
    private readonly directories: DirectoryService,
  ) {}

  private now(): string {
    return this.deps.clock().toISOString();
  }

  list(ctx: Context, query: ListQuery): Promise<ListResult<Directory>> {
    return this.directories.list(ctx, query, 'active_directory');
  }

  async get(ctx: Context, id: string): Promise<Directory> {
    requirePermission(ctx, 'directories:read');
    const directory = await this.deps.store.read.directories.findById(ctx.orgId, id as DirectoryId);
    if (directory?.type !== 'active_directory') throw domainNotFound();
    return directory;
  }

  async create(ctx: Context, input: Record<string, unknown>): Promise<Directory> {
    requirePermission(ctx, 'directories:write');
    const errors: ErrorDetail[] = [];
    const settings = checkSettings(input, errors);
    if (!settings.domain && !errors.some((e) => e.field === 'domain')) errors.push({ field: 'domain', reason: 'REQUIRED', message: 'domain is required' });
    checkCombination({ ...DEFAULT_AD_SETTINGS, ...settings }, errors);
    if (errors.length > 0) throw invalidSettings(errors);
    const now = this.now();
    const directory: Directory = {
      id: newId<DirectoryId>(),
      orgId: ctx.orgId,
      type: 'active_directory',
      name: settings.domain!,
      config: { ...DEFAULT_AD_SETTINGS, ...settings },
      created: now,
      updated: now,
    };
    await this.deps.store.transaction(async (tx) => {
      const taken = (await tx.directories.list(ctx.orgId, { filter: { kind: 'compare', field: 'type', op: 'eq', value: 'active_directory' }, sort: [], page: { limit: 1000, skip: 0 } })).items;
      if (taken.some((d) => adSettings(d).domain === directory.name)) throw conflict('DOMAIN_EXISTS', `The domain ${directory.name} is already connected to this organization`);
      await tx.directories.insert(directory);
      await tx.directorySync.putState(emptyState(directory, now));
      journal(tx, ctx, { objectType: 'directory', objectId: directory.id, operation: 'create', changes: changesBetween(null, directory) });
    });
    return directory;
  }

  /** Changes sync settings; a changed import scope or configuration makes the next import read the whole scope. Switching configuration is journaled like every change. */
  async updateSettings(ctx: Context, id: string, input: Record<string, unknown>): Promise<Directory> {
    requirePermission(ctx, 'directories:write');
    const errors: ErrorDetail[] = [];
    const settings = checkSettings(input, errors);
    if (settings.domain !== undefined) errors.push({ field: 'domain', reason: 'READ_ONLY', message: 'the domain of a connected directory cannot change; connect another' });
    if (settings.schema !== undefined) errors.push({ field: 'schema', reason: 'READ_ONLY', message: 'the schema of a connected directory cannot change; connect another' });
    if (errors.length > 0) throw invalidSettings(errors);
    return this.deps.store.transaction(async (tx) => {
      const before = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (before?.type !== 'active_directory') throw domainNotFound();
      checkCombination({ ...adSettings(before), ...settings }, errors);
      if (errors.length > 0) throw invalidSettings(errors);
      const now = this.now();
      const after: Directory = { ...before, config: { ...adSettings(before), ...settings }, updated: now };
      await tx.directories.update(after);
      const scopeChanged = settings.importScopeGroupDn !== undefined && settings.importScopeGroupDn !== adSettings(before).importScopeGroupDn;
      const configurationChanged = settings.configuration !== undefined && settings.configuration !== adSettings(before).configuration;
      if (scopeChanged || configurationChanged) {
        const state = (await tx.directorySync.state(ctx.orgId, before.id, { forUpdate: true })) ?? emptyState(before, now);
        await tx.directorySync.putState({ ...state, fullImportWanted: true, updated: now });
      }
      journal(tx, ctx, { objectType: 'directory', objectId: after.id, operation: 'update', changes: changesBetween(before, after) });
      return after;
    });
  }

  /**
   * A linked user's password authority for the domain: `directory` verifies their logins against
   * AD (delegated), `roster` uses Roster's password (written to AD in two-way and Roster
   * authoritative), null follows the configuration. Journaled on the user.
   */
  async setPasswordAuthority(ctx: Context, id: string, userId: string, authority: PasswordAuthority | null): Promise<PasswordAuthority> {
    requirePermission(ctx, 'directories:write');
    requirePermission(ctx, 'users:write');
    if (authority !== null && authority !== 'roster' && authority !== 'directory') throw invalid('INVALID_INPUT', 'passwordAuthority must be roster, directory or null');
    return this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(ctx.orgId, id as DirectoryId);
      if (directory?.type !== 'active_directory') throw domainNotFound();
      const [link] = await tx.identityLinks.findByLocalIds(ctx.orgId, directory.id, 'user', [userId]);
      if (!link) throw notFound('USER_NOT_LINKED', 'The user is not linked to an account of this domain');
      const before = link.passwordAuthority ?? null;
      await tx.identityLinks.setPasswordAuthority(ctx.orgId, directory.id, userId, authority, this.now());
      if (before !== authority) {
        journal(tx, ctx, { objectType: 'user', objectId: userId, operation: 'update', changes: { [`passwordAuthority.${directory.id}`]: { before, after: authority } } });
      }
      return passwordAuthorityOf(adSettings(directory), { ...link, passwordAuthority: authority });
    });
  }

  /** Disconnects the domain: its agents, state and runs go; the users and groups it imported stay, unlinked. */
  async delete(ctx: Context, id: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (directory?.type !== 'active_directory') throw domainNotFound();
      for (const kind of ['user', 'user_group'] as const) {
        for (const link of await tx.identityLinks.listByDirectory(ctx.orgId, directory.id, kind)) await tx.identityLinks.delete(ctx.orgId, directory.id, kind, link.localId);
      }
      await tx.directories.delete(ctx.orgId, directory.id);
      journal(tx, ctx, { objectType: 'directory', objectId: directory.id, operation: 'delete', changes: changesBetween(directory, null) });
    });
  }

  /** Where the domain's sync stands (cursor presence, last run, errors); never the cursor itself. */
  async state(ctx: Context, id: string): Promise<DirectorySyncState> {
    const directory = await this.get(ctx, id);
    return (await this.deps.store.read.directorySync.state(ctx.orgId, directory.id)) ?? emptyState(directory, directory.created);
  }

  /** Asks the agents for a full import at their next contact (after a scope change, or to reconcile). */
  async requestFullImport(ctx: Context, id: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(ctx.orgId, id as DirectoryId);
      if (directory?.type !== 'active_directory') throw domainNotFound();
      const state = (await tx.directorySync.state(ctx.orgId, directory.id, { forUpdate: true })) ?? emptyState(directory, this.now());
      await tx.directorySync.putState({ ...state, fullImportWanted: true, updated: this.now() });
      journal(tx, ctx, { objectType: 'directory', objectId: directory.id, operation: 'update', changes: { fullImportWanted: { before: state.fullImportWanted, after: true } } });
    });
  }

  /** Asks the writing agent for a plan: at its next contact it reads the whole scope and Roster plans it without applying anything. */
  async requestDryRun(ctx: Context, id: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(ctx.orgId, id as DirectoryId);
      if (directory?.type !== 'active_directory') throw domainNotFound();
      const state = (await tx.directorySync.state(ctx.orgId, directory.id, { forUpdate: true })) ?? emptyState(directory, this.now());
      await tx.directorySync.putState({ ...state, dryRunWanted: true, updated: this.now() });
    });
  }

  async runs(ctx: Context, id: string, limit = 20, skip = 0): Promise<{ items: DirectorySyncRun[]; total: number }> {
    const directory = await this.get(ctx, id);
    return this.deps.store.read.directorySync.listRuns(ctx.orgId, directory.id, Math.min(Math.max(limit, 1), 100), Math.max(skip, 0));
  }

  async run(ctx: Context, id: string, runId: string): Promise<DirectorySyncRun> {
    const directory = await this.get(ctx, id);
    const run = await this.deps.store.read.directorySync.findRun(ctx.orgId, runId as DirectorySyncRun['id']);
    if (!run || run.directoryId !== directory.id) throw notFound('SYNC_RUN_NOT_FOUND', 'Sync run not found');
    return run;
  }

  // Agents.

  async agents(ctx: Context, id: string): Promise<DirectoryAgent[]> {
    const directory = await this.get(ctx, id);
    return this.deps.store.read.directorySync.listAgents(ctx.orgId, directory.id);
  }

  async agent(ctx: Context, id: string, agentId: string): Promise<DirectoryAgent> {
    const directory = await this.get(ctx, id);
    const agent = await this.deps.store.read.directorySync.findAgent(ctx.orgId, agentId as AgentId);
    if (!agent || agent.directoryId !== directory.id) throw agentNotFound();
    return agent;
  }

  /** A new agent for the domain and its one-time connect key. */
  async createAgent(ctx: Context, id: string): Promise<IssuedAgent> {
    requirePermission(ctx, 'directories:write');
    const connectKey = newBearerSecret(AGENT_CONNECT_KEY_PREFIX);
    const now = this.deps.clock();
    return this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(ctx.orgId, id as DirectoryId, { forUpdate: true });
      if (directory?.type !== 'active_directory') throw domainNotFound();
      const existing = await tx.directorySync.listAgents(ctx.orgId, directory.id);
      if (existing.length >= MAX_AGENTS_PER_DOMAIN) throw conflict('TOO_MANY_AGENTS', `A domain may have at most ${MAX_AGENTS_PER_DOMAIN} agents; delete one first`);
      const agent: DirectoryAgent = {
        id: newId<AgentId>(),
        orgId: ctx.orgId,
        directoryId: directory.id,
        state: 'unsealed',
        connectKeyExpires: new Date(now.getTime() + CONNECT_KEY_DAYS * 86_400_000).toISOString(),
        hostname: '',
        version: '',
        sourceIp: '',
        contactAt: null,
        created: now.toISOString(),
        updated: now.toISOString(),
      };
      await tx.directorySync.insertAgent(agent, digestSecret(connectKey));
      journal(tx, ctx, { objectType: 'directory_agent', objectId: agent.id, operation: 'create', changes: changesBetween(null, agent) });
      return { agent, connectKey };
    });
  }

  /** Removes an agent: its credential stops working at once. */
  async deleteAgent(ctx: Context, id: string, agentId: string): Promise<void> {
    requirePermission(ctx, 'directories:write');
    await this.deps.store.transaction(async (tx) => {
      const agent = await tx.directorySync.findAgent(ctx.orgId, agentId as AgentId);
      if (!agent || agent.directoryId !== id) throw agentNotFound();
      await tx.directorySync.deleteAgent(ctx.orgId, agent.id);
      journal(tx, ctx, { objectType: 'directory_agent', objectId: agent.id, operation: 'delete', changes: changesBetween(agent, null) });
    });
  }

  /**
   * System: an agent registering with its connect key. The key works once and for seven days;
   * the agent gets its own credential, given once. Undefined for an unknown, used or expired key.
   */
  async register(connectKey: string, facts: { hostname: string; version: string; ip: string }): Promise<RegisteredAgent | undefined> {
    if (!connectKey.startsWith(AGENT_CONNECT_KEY_PREFIX) || connectKey.length > 100) return undefined;
    const repos = this.deps.store.read;
    const digest = digestSecret(connectKey);
    const found = await repos.directorySync.findAgentByConnectKey(digest);
    const now = this.deps.clock();
    if (!found || found.state !== 'unsealed' || (found.connectKeyExpires && Date.parse(found.connectKeyExpires) <= now.getTime())) return undefined;
    const credential = newBearerSecret(AGENT_CREDENTIAL_PREFIX);
    return this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(found.orgId, found.directoryId);
      if (directory?.type !== 'active_directory') return undefined;
      const agent: DirectoryAgent = {
        ...found,
        state: 'active',
        connectKeyExpires: null,
        hostname: facts.hostname.slice(0, 255),
        version: facts.version.slice(0, 64),
        sourceIp: facts.ip.slice(0, 64),
        contactAt: now.toISOString(),
        updated: now.toISOString(),
      };
      if (!(await tx.directorySync.registerAgent(digest, digestSecret(credential), agent))) return undefined;
      tx.record({ orgId: agent.orgId, actor: { type: 'system', id: agent.id }, origin: `sync:${directory.id}` }, [
        { objectType: 'directory_agent', objectId: agent.id, operation: 'update', changes: changesBetween(found, agent) },
      ]);
      return { agent, directory, credential };
    });
  }

  /** System: the agent and domain a credential speaks for; undefined when unknown or the agent was removed. Records the contact. */
  async authenticate(credential: string, ip: string): Promise<{ agent: DirectoryAgent; directory: Directory } | undefined> {
    if (!credential.startsWith(AGENT_CREDENTIAL_PREFIX) || credential.length > 100) return undefined;
    const repos = this.deps.store.read;
    const agent = await repos.directorySync.findAgentByCredential(digestSecret(credential));
    if (agent?.state !== 'active') return undefined;
    const directory = await repos.directories.findById(agent.orgId, agent.directoryId);
    if (directory?.type !== 'active_directory') return undefined;
    const now = this.deps.clock();
    await repos.directorySync.touchAgent(agent.id, now.toISOString(), ip.slice(0, 64), new Date(now.getTime() - TOUCH_INTERVAL_MS).toISOString());
    return { agent, directory };
  }

  /** System: a new credential for the agent (the old one stops working); given once. */
  async rotateCredential(agent: DirectoryAgent): Promise<string> {
    const credential = newBearerSecret(AGENT_CREDENTIAL_PREFIX);
    await this.deps.store.transaction(async (tx) => {
      await tx.directorySync.setAgentCredential(agent.id, digestSecret(credential), this.now());
      tx.record({ orgId: agent.orgId, actor: { type: 'system', id: agent.id }, origin: `sync:${agent.directoryId}` }, [
        { objectType: 'directory_agent', objectId: agent.id, operation: 'update', changes: { credential: { before: '[REDACTED]', after: '[REDACTED]' } } },
      ]);
    });
    return credential;
  }

  /**
   * System: the writer lease — one agent of a domain writes at a time; another takes over when the
   * holder stops renewing. True when `agent` holds it until `seconds` from now.
   */
  async takeWriterLease(agent: DirectoryAgent, seconds: number): Promise<boolean> {
    const now = this.deps.clock();
    const repos = this.deps.store.read;
    if (!(await repos.directorySync.state(agent.orgId, agent.directoryId))) {
      const directory = await repos.directories.findById(agent.orgId, agent.directoryId);
      if (!directory) return false;
      await repos.directorySync.putState(emptyState(directory, now.toISOString()));
    }
    return repos.directorySync.takeWriterLease(agent.orgId, agent.directoryId, agent.id, now.toISOString(), new Date(now.getTime() + seconds * 1000).toISOString());
  }

  /** System: an agent's report of a failure (the domain controller unreachable, a bind refused), shown with the domain's state. */
  async reportError(agent: DirectoryAgent, message: string): Promise<void> {
    const repos = this.deps.store.read;
    const directory = await repos.directories.findById(agent.orgId, agent.directoryId);
    if (!directory) return;
    const now = this.now();
    const state = (await repos.directorySync.state(agent.orgId, agent.directoryId)) ?? emptyState(directory, now);
    await repos.directorySync.putState({ ...state, lastError: message.slice(0, 2000), lastErrorAt: now, updated: now });
  }

  /** System: an agent stopping gives up the writer lease, so another takes over at once. */
  async releaseWriterLease(agent: DirectoryAgent): Promise<void> {
    await this.deps.store.read.directorySync.releaseWriterLease(agent.orgId, agent.directoryId, agent.id);
  }

  /** System: the domain's sync state, for its agent. */
  async stateFor(agent: DirectoryAgent): Promise<DirectorySyncState | undefined> {
    return this.deps.store.read.directorySync.state(agent.orgId, agent.directoryId);
  }
}

export function emptyState(directory: Directory, now: string): DirectorySyncState {
  return {
    directoryId: directory.id,
    orgId: directory.orgId as OrgId,
    importCursor: null,
    fullImportWanted: true,
    dryRunWanted: false,
    writerAgentId: null,
    writerUntil: null,
    lastImportAt: null,
    lastError: null,
    lastErrorAt: null,
    updated: now,
  };
}

/** A user's password authority for a domain: the per-user choice, else the configuration's (AD authoritative: the directory). */
export function passwordAuthorityOf(settings: AdDomainSettings, link: Pick<IdentityLink, 'passwordAuthority'>): PasswordAuthority {
  // Cloud directories cannot verify a password for Roster: Roster's counts.
  if (isCloudSchema(settings.schema)) return 'roster';
  return link.passwordAuthority ?? (settings.configuration === 'ad_authoritative' ? 'directory' : 'roster');
}

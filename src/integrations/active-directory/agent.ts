import type { SourceObject } from '../../core/services/directory-sync.js';
import { asSyncError, isSyncError, SyncError } from '../../sync/errors.js';
import { sleep } from '../../sync/retry.js';
import type { AgentTaskAnswer, AgentTaskRequest } from '../../core/services/agent-tasks.js';
import type { LdapDirectorySource } from '../ldap-directory/source.js';
import type { ExportOp, ExportOutcome } from '../../core/services/directory-export.js';
import type { DirectoryWriter } from './ad-writer.js';
import type { AgentConfig, RosterClient } from './roster-client.js';

/** An AD object as the agent reads it. */
export interface AdObject {
  dn: string;
  /** objectGUID as a lowercase UUID. */
  objectGuid: string;
  objectClass: string[];
  deleted: boolean;
  /** Lowercase attribute names. */
  attributes: Record<string, string[]>;
  /** The account is disabled, when the source says so other than by userAccountControl (an LDAP directory's lock). */
  disabled?: boolean;
}

/** What the agent needs of a domain controller (AdClient implements it over LDAPS). */
export interface AdSource {
  namingContext(): Promise<string>;
  /** Every user and group in the import scope: members, nested included, of the group. */
  scope(groupDn: string, userAttributes: string[]): Promise<{ users: AdObject[]; groups: AdObject[] }>;
  /** Changes since the cookie (everything when null), one page. */
  dirSync(base: string, filter: string, attributes: string[], cookie: Buffer | null): Promise<{ changes: AdObject[]; cookie: Buffer; more: boolean }>;
  /** The object classes of the object with this objectGUID; empty when it does not exist (any more). */
  classesOf(objectGuid: string): Promise<string[]>;
  /** Whether the group with this objectGUID is the scope group or nested in it now. */
  groupInScope(objectGuid: string, groupDn: string): Promise<boolean>;
  /** The user with this objectGUID if it is in the scope now. */
  userInScope(objectGuid: string, groupDn: string, userAttributes: string[]): Promise<AdObject | undefined>;
  isPrivileged(entry: AdObject): boolean | Promise<boolean>;
  /** Calls `onChange` whenever something under `base` changes, until closed. */
  watch(base: string, onChange: () => void): Promise<{ close(): Promise<void> }>;
  /** Writes to the directory (the sync role, passwords, delegated logins). */
  writer(): DirectoryWriter;
  close(): Promise<void>;
}

/** What a full import needs of a source: AD's and another LDAP directory's alike. */
export type ScopeSource = Pick<AdSource, 'scope' | 'isPrivileged'>;

export interface AgentOptions {
  roster: RosterClient;
  /** Opens a connection to the domain controller (a fresh one after a failure). */
  connect: () => Promise<AdSource>;
  /** Opens a connection to another LDAP directory, for a domain whose schema is `ldap`. */
  connectLdap?: () => Promise<LdapDirectorySource>;
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** The longest the agent waits between contacts with Roster (the writer lease is renewed on each). */
  pollMs?: number;
  batchSize?: number;
}

const CHANGE_FILTER = '(|(objectClass=user)(objectClass=group))';
/** Matches no object (a user and a group at once): DirSync answers with only its cookie. */
const NOTHING_FILTER = '(&(objectClass=user)(objectClass=group))';
const UAC_ACCOUNTDISABLE = 0x2;
const GROUP_ATTRIBUTES = ['cn', 'samaccountname', 'description', 'member'];
/** An LDAP GeneralizedTime (AD's whenChanged: 20261122143000.0Z) as ISO 8601; undefined when it is not one. */
export function generalizedTime(value: string | undefined): string | undefined {
  const m = value?.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:[.,]\d+)?Z$/);
  if (!m) return undefined;
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  return Number.isNaN(at) ? undefined : new Date(at).toISOString();
}
const isGroup = (o: AdObject) => o.objectClass.some((c) => c.toLowerCase() === 'group');
const isComputer = (o: AdObject) => o.objectClass.some((c) => c.toLowerCase() === 'computer');

export interface CycleResult {
  outcome: 'standby' | 'no_scope' | 'full' | 'dry_run' | 'incremental' | 'unchanged';
  runId?: string;
  counts?: Record<string, number>;
  /** The sync role's writes this cycle (two-way, Roster authoritative). */
  exported?: Record<string, number>;
}

/** Export rounds per cycle at most: each round's creations let the next add them to groups. */
const EXPORT_ROUNDS = 20;
/** Writes the agent makes to the directory at once. */
const WRITE_CONCURRENCY = 4;
/** A round of at least this many writes closes the change-notification search while it writes. */
const WATCH_PAUSE_WRITES = 20;
/** A write the directory refused is tried again after this long, doubling up to the maximum. */
const REFUSED_FIRST_MS = 30_000;
const REFUSED_MAX_MS = 3_600_000;

/**
 * `roster agent`: the import role, the sync role (writes Roster plans), and Roster's requests
 * (password writes, delegated logins). At each contact it renews the writer lease with Roster (only
 * the lease holder works; another agent of the domain takes over when it lapses), reads the domain
 * controller — the whole scope on the first run and whenever Roster asks, otherwise the DirSync
 * changes since the cursor Roster keeps — and sends them in batches. Roster applies each batch
 * with its cursor in one transaction, so an agent killed at any point resumes from the last
 * cursor with nothing lost or doubled. The change-notification control wakes it as soon as AD
 * changes; it also polls. Failures are reported to Roster and retried with backoff; they never
 * change Roster's data.
 */
export class DirectoryAgent {
  private source: AdSource | undefined;
  /** Writes the directory refused, by operation and object: when each may be tried again. */
  private readonly refused = new Map<string, { attempts: number; until: number }>();
  private ldapSource: LdapDirectorySource | undefined;
  /** The directory's schema, from Roster's configuration. */
  private schema: AgentConfig['schema'] | undefined;
  private watcher: { close(): Promise<void> } | undefined;
  private wake: (() => void) | undefined;
  private changed = false;
  private stopped = false;

  constructor(private readonly options: AgentOptions) {}

  private get batchSize() {
    return this.options.batchSize ?? 500;
  }

  private async ad(): Promise<AdSource> {
    this.source ??= await this.options.connect();
    return this.source;
  }

  private async ldap(): Promise<LdapDirectorySource> {
    if (!this.options.connectLdap) throw new SyncError('stop', 'this agent cannot read LDAP directories');
    this.ldapSource ??= await this.options.connectLdap();
    return this.ldapSource;
  }

  private async dropConnection(): Promise<void> {
    const source = this.source;
    const ldapSource = this.ldapSource;
    const watcher = this.watcher;
    this.source = undefined;
    this.ldapSource = undefined;
    this.watcher = undefined;
    await watcher?.close().catch(() => undefined);
    await source?.close().catch(() => undefined);
    await ldapSource?.close().catch(() => undefined);
  }

  /**
   * One contact: the configuration and lease, then, when this agent is the writer, a full or
   * incremental import (AD authoritative, two-way) and the writes Roster plans (two-way, Roster
   * authoritative).
   */
  async cycle(): Promise<CycleResult> {
    const config = await this.options.roster.config();
    this.schema = config.schema;
    if (!config.writer) return { outcome: 'standby' };
    if (config.schema === 'ldap') return this.ldapImportCycle(config);
    const imported = config.configuration === 'roster_authoritative' ? { outcome: 'no_scope' as const } : await this.importCycle(config);
    if (config.configuration === 'ad_authoritative') return imported;
    return { ...imported, exported: await this.exportChanges(await this.ad()) };
  }

  /**
   * The sync role: Roster's plan of writes, carried out and reported, round after round until
   * nothing is left (or a round achieves nothing: what failed is tried again next cycle).
   */
  private async exportChanges(ad: AdSource): Promise<Record<string, number>> {
    const counts: Record<string, number> = {};
    const writer = ad.writer();
    // The write itself is the key: once Roster's data changes, the new write is tried at once.
    const keyOf = (op: ExportOp) => JSON.stringify(op);
    for (const [key, entry] of this.refused) if (entry.until + REFUSED_MAX_MS < Date.now()) this.refused.delete(key);
    for (let round = 0; round < EXPORT_ROUNDS; round++) {
      const planStarted = Date.now();
      const plan = await this.options.roster.exportPlan();
      // A write AD refused waits before it is tried again, longer each time.
      const now = Date.now();
      const ops = plan.ops.filter((op) => (this.refused.get(keyOf(op))?.until ?? 0) <= now);
      if (ops.length === 0) break;
      // The DC answers the change-notification search for every write, which makes each write
      // several times slower: a large round goes without it. DirSync, run before the watch is
      // opened again, reports everything that changed meanwhile, so nothing is missed.
      if (ops.length >= WATCH_PAUSE_WRITES && this.watcher) {
        const watcher = this.watcher;
        this.watcher = undefined;
        await watcher.close().catch(() => undefined);
        this.changed = true;
      }
      const outcomes: ExportOutcome[] = new Array(ops.length);
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(WRITE_CONCURRENCY, ops.length) }, async () => {
          while (next < ops.length) {
            const i = next++;
            outcomes[i] = await writer.apply(ops[i]!);
          }
        }),
      );
      const written = Date.now();
      const answer = await this.options.roster.exportResults(outcomes);
      this.options.log('info', 'export round', { writes: ops.length, ms: { plan: now - planStarted, write: written - now, roster: Date.now() - written } });
      for (const [k, v] of Object.entries(answer.counts)) counts[k] = (counts[k] ?? 0) + v;
      for (const outcome of outcomes) {
        const key = keyOf(outcome.op);
        if (outcome.ok) {
          this.refused.delete(key);
          continue;
        }
        const attempts = (this.refused.get(key)?.attempts ?? 0) + 1;
        this.refused.set(key, { attempts, until: Date.now() + Math.min(REFUSED_MAX_MS, REFUSED_FIRST_MS * 2 ** (attempts - 1)) });
      }
      const failed = outcomes.filter((o) => !o.ok);
      if (failed.length > 0) this.options.log('warn', 'some writes to the directory failed; each is tried again later', { failed: failed.length, first: failed[0]!.error });
      if (failed.length === outcomes.length) break;
    }
    if (Object.keys(counts).length > 0) this.options.log('info', 'export done', { counts });
    return counts;
  }

  private async importCycle(config: AgentConfig): Promise<CycleResult> {
    if (!config.importScopeGroupDn) return { outcome: 'no_scope' };
    const ad = await this.ad();
    const base = await ad.namingContext();
    if (!this.watcher) {
      this.watcher = await ad.watch(base, () => {
        this.changed = true;
        this.wake?.();
      });
    }
    const cursor = async () => (await this.baselineCookie(ad, base)).toString('base64');
    if (config.dryRunWanted) return this.fullImport(ad, config, { dryRun: true, cursor });
    if (config.fullImportWanted || !config.importCursor) return this.fullImport(ad, config, { cursor });
    return this.incremental(ad, base, config);
  }

  /**
   * Another LDAP directory: its change mark (contextCSN, or a digest of every entryCSN) is the
   * cursor; when it moves, or Roster asks, the whole scope is read again and Roster works out what
   * changed, removals included.
   */
  private async ldapImportCycle(config: AgentConfig): Promise<CycleResult> {
    if (!config.importScopeGroupDn) return { outcome: 'no_scope' };
    const ldap = await this.ldap();
    const source: ScopeSource = { scope: (group, attributes) => ldap.scope(group, attributes), isPrivileged: () => false };
    const cursor = () => ldap.changeMark();
    if (config.dryRunWanted) return this.fullImport(source, config, { dryRun: true, cursor });
    if (!config.fullImportWanted && config.importCursor && config.importCursor === (await ldap.changeMark())) return { outcome: 'unchanged' };
    return this.fullImport(source, config, { cursor });
  }

  private async toSource(source: ScopeSource, entry: AdObject, config: AgentConfig, kind: 'user' | 'user_group', dnToMember?: Map<string, { kind: 'user' | 'user_group'; externalId: string }>): Promise<SourceObject> {
    const ad = source;
    const group = kind === 'user_group';
    const attributes: Record<string, string[]> = {};
    const wanted = group ? GROUP_ATTRIBUTES : config.userAttributes;
    for (const name of wanted) if (entry.attributes[name] && name !== 'member') attributes[name] = entry.attributes[name]!;
    const object: SourceObject = {
      kind: group ? 'user_group' : 'user',
      externalId: entry.objectGuid,
      attributes,
      present: true,
      privileged: await ad.isPrivileged(entry),
    };
    if (!group) object.disabled = entry.disabled ?? (Number(entry.attributes.useraccountcontrol?.[0] ?? 0) & UAC_ACCOUNTDISABLE) !== 0;
    const changedAt = generalizedTime(entry.attributes.whenchanged?.[0]);
    if (changedAt) object.changedAt = changedAt;
    if (group && dnToMember) {
      object.members = (entry.attributes.member ?? []).map((dn) => dnToMember.get(dn.toLowerCase())).filter((m): m is { kind: 'user' | 'user_group'; externalId: string } => m !== undefined);
    }
    return object;
  }

  /**
   * The DirSync cookie as of now: changes after it are the next run's. The cookie is the
   * directory's update watermark, whatever the filter, so a filter no object matches gets it
   * without reading the domain.
   */
  private async baselineCookie(ad: AdSource, base: string): Promise<Buffer> {
    let cookie: Buffer | null = null;
    for (;;) {
      const page: { cookie: Buffer; more: boolean } = await ad.dirSync(base, NOTHING_FILTER, ['objectguid'], cookie);
      cookie = page.cookie;
      if (!page.more) return cookie;
    }
  }

  /** A full read of the scope, sent in batches; the cursor is read first, so what changes during the read is seen again. */
  private async fullImport(ad: ScopeSource, config: AgentConfig, options: { dryRun?: boolean; cursor: () => Promise<string> }): Promise<CycleResult> {
    const dryRun = options.dryRun === true;
    const started = Date.now();
    // A dry run changes nothing, the cursor included.
    const cookie = dryRun ? undefined : await options.cursor();
    const cookieMs = Date.now() - started;
    const attributes = [...new Set([...config.userAttributes, 'useraccountcontrol', 'admincount'])];
    const scope = await ad.scope(config.importScopeGroupDn!, attributes);
    const readMs = Date.now() - started - cookieMs;
    const users = scope.users.filter((u) => !isComputer(u));
    const dnToMember = new Map<string, { kind: 'user' | 'user_group'; externalId: string }>();
    for (const u of users) dnToMember.set(u.dn.toLowerCase(), { kind: 'user', externalId: u.objectGuid });
    for (const g of scope.groups) dnToMember.set(g.dn.toLowerCase(), { kind: 'user_group', externalId: g.objectGuid });
    const userObjects: SourceObject[] = [];
    for (const u of users) userObjects.push(await this.toSource(ad, u, config, 'user'));
    const groupObjects: SourceObject[] = [];
    for (const g of scope.groups) groupObjects.push(await this.toSource(ad, g, config, 'user_group', dnToMember));
    const sendStarted = Date.now();

    let runId: string | undefined;
    let answer: { runId: string; counts: Record<string, number>; status: string } | undefined;
    for (let i = 0; i < userObjects.length; i += this.batchSize) {
      answer = await this.options.roster.import({ ...(runId ? { runId } : {}), mode: 'full', dryRun, objects: userObjects.slice(i, i + this.batchSize) });
      runId = answer.runId;
    }
    // The groups, with their members, come last, when every user is linked; with them the run's
    // complete list of what the scope holds and the cursor, in the same transaction.
    answer = await this.options.roster.import({
      ...(runId ? { runId } : {}),
      mode: 'full',
      dryRun,
      objects: groupObjects,
      // What the scope holds for Roster: privileged accounts are never imported, so they do not count (a scope of only those is empty).
      complete: { seen: { users: userObjects.filter((u) => !u.privileged).map((u) => u.externalId), groups: groupObjects.filter((g) => !g.privileged).map((g) => g.externalId) } },
      ...(cookie ? { cursor: cookie } : {}),
    });
    this.options.log('info', dryRun ? 'dry run done' : 'full import done', {
      runId: answer.runId,
      status: answer.status,
      counts: answer.counts,
      users: users.length,
      groups: scope.groups.length,
      ms: { cursor: cookieMs, read: readMs, prepare: sendStarted - started - cookieMs - readMs, roster: Date.now() - sendStarted },
    });
    return { outcome: dryRun ? 'dry_run' : 'full', runId: answer.runId, counts: answer.counts };
  }

  private async incremental(ad: AdSource, base: string, config: AgentConfig): Promise<CycleResult> {
    let cookie: Buffer = Buffer.from(config.importCursor!, 'base64');
    const changes: AdObject[] = [];
    for (;;) {
      // DirSync returns an object only when one of the attributes asked for changed: ask for every one Roster maps.
      // whenChanged is not replicated, so DirSync does not follow it; the user is read whole below.
      const watched = [...new Set([...config.userAttributes.filter((a) => a !== 'whenchanged'), ...GROUP_ATTRIBUTES, 'useraccountcontrol', 'admincount', 'objectclass', 'isdeleted'])];
      const page = await ad.dirSync(base, CHANGE_FILTER, watched, cookie);
      changes.push(...page.changes);
      cookie = page.cookie;
      if (!page.more) break;
    }
    // DirSync carries only the attributes that changed: an object whose class did not change comes without it.
    for (const change of changes) {
      if (!change.deleted && change.objectClass.length === 0) change.objectClass = await ad.classesOf(change.objectGuid);
    }
    const relevant = changes.filter((c) => !isComputer(c));
    if (relevant.length === 0) return { outcome: 'unchanged' };
    // A group of the scope changed (its members, or the group itself): who is in the scope may
    // have changed, which only the whole scope tells. Groups elsewhere in the domain do not matter
    // (a group leaving the scope changes the member list of a group in it).
    for (const change of relevant) {
      if (isGroup(change) && !change.deleted && (await ad.groupInScope(change.objectGuid, config.importScopeGroupDn!))) {
        return this.fullImport(ad, config, { cursor: async () => (await this.baselineCookie(ad, base)).toString('base64') });
      }
    }
    const users = relevant.filter((c) => !isGroup(c));
    const attributes = [...new Set([...config.userAttributes, 'useraccountcontrol', 'admincount'])];
    const objects: SourceObject[] = [];
    for (const change of new Map(users.map((c) => [c.objectGuid, c])).values()) {
      if (change.deleted) {
        objects.push({ kind: 'user', externalId: change.objectGuid, attributes: {}, present: false, gone: 'deleted' });
        continue;
      }
      const current = await ad.userInScope(change.objectGuid, config.importScopeGroupDn!, attributes);
      objects.push(current ? await this.toSource(ad, current, config, 'user') : { kind: 'user', externalId: change.objectGuid, attributes: {}, present: false, gone: 'out_of_scope' });
    }
    let runId: string | undefined;
    let answer: { runId: string; counts: Record<string, number>; status: string } | undefined;
    for (let i = 0; i < objects.length; i += this.batchSize) {
      const last = i + this.batchSize >= objects.length;
      answer = await this.options.roster.import({
        ...(runId ? { runId } : {}),
        mode: 'incremental',
        objects: objects.slice(i, i + this.batchSize),
        ...(last ? { complete: {}, cursor: cookie.toString('base64') } : {}),
      });
      runId = answer.runId;
    }
    return { outcome: 'incremental', runId: answer!.runId, counts: answer!.counts };
  }

  /**
   * Runs until stopped: a cycle, then a wait for AD's change notification or the poll interval.
   * A failure is reported to Roster (when it can be reached) and retried with backoff, up to a
   * minute apart; a refused agent credential stops the agent.
   */
  async run(): Promise<void> {
    const tasks = this.serveTasks();
    try {
      await this.runCycles();
    } finally {
      this.stopped = true;
      // The long poll ends by itself within its wait; a stopping agent does not wait that long for it.
      await Promise.race([tasks, sleep(1000)]);
    }
  }

  /**
   * Roster's requests (password writes, delegated logins), served as they come through a long
   * poll that also says when Roster's journal moved on, which wakes the export at once.
   */
  private async serveTasks(): Promise<void> {
    let head: number | undefined;
    let failures = 0;
    while (!this.stopped) {
      try {
        const answer = await this.options.roster.tasks(this.stopped ? 0 : 25, head);
        failures = 0;
        if (head !== undefined && answer.head !== head) {
          this.changed = true;
          this.wake?.();
        }
        head = answer.head;
        await Promise.all(answer.tasks.map((task) => this.serveTask(task.id, task.request)));
      } catch (e) {
        const error = asSyncError(e);
        if (isSyncError(error, 'stop') && error.status === 401) return;
        failures++;
        await sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)));
      }
    }
  }

  private async serveTask(id: string, request: Parameters<DirectoryWriter['setPassword']>[0] | Parameters<DirectoryWriter['verifyPassword']>[0]): Promise<void> {
    let answer: AgentTaskAnswer;
    try {
      this.schema ??= (await this.options.roster.config()).schema;
      if (this.schema === 'ldap') answer = await this.ldapTask(request);
      else {
        const writer = (await this.ad()).writer();
        answer = request.kind === 'set_password' ? await writer.setPassword(request) : await writer.verifyPassword(request);
      }
    } catch (e) {
      answer = { ok: false, outcome: 'failed', reason: asSyncError(e).message };
    }
    // Never the password: only what was asked and how it went.
    this.options.log(answer.ok ? 'info' : 'warn', request.kind === 'set_password' ? 'password write' : 'delegated login', { user: request.username, ok: answer.ok, ...(answer.ok ? {} : { reason: answer.reason }) });
    await this.options.roster.answerTask(id, answer).catch((e: unknown) => this.options.log('warn', 'the answer to Roster failed', { error: asSyncError(e).message }));
  }

  /** Another LDAP directory is read only: delegated logins, no password writes. */
  private async ldapTask(request: AgentTaskRequest): Promise<AgentTaskAnswer> {
    if (request.kind === 'set_password') return { ok: false, outcome: 'failed', reason: 'Roster does not write passwords to LDAP directories' };
    const ldap = await this.ldap();
    const dn = await ldap.dnOf(request.externalId);
    if (!dn) return { ok: false, outcome: 'refused', reason: 'no such account in the directory' };
    const outcome = await ldap.authenticate(dn, request.password);
    return outcome.ok ? { ok: true } : { ok: false, outcome: 'refused', reason: outcome.reason };
  }

  private async runCycles(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      this.changed = false;
      try {
        await this.cycle();
        failures = 0;
      } catch (e) {
        const error = asSyncError(e);
        if (isSyncError(error, 'stop') && error.status === 401) {
          this.options.log('error', 'Roster refused the agent credential; stopping', { error: error.message });
          throw error;
        }
        failures++;
        this.options.log('warn', 'sync cycle failed; retrying', { error: error.message, failures });
        await this.dropConnection();
        await this.options.roster.reportError(error.message).catch(() => undefined);
        await this.pause(Math.min(60_000, 1000 * 2 ** Math.min(failures - 1, 6)));
        continue;
      }
      if (!this.changed) await this.pause(this.options.pollMs ?? 30_000);
    }
    await this.dropConnection();
    await this.options.roster.releaseLease().catch(() => undefined);
  }

  /** Waits `ms`, or less when AD reports a change or the agent stops. */
  private async pause(ms: number): Promise<void> {
    await Promise.race([sleep(ms), new Promise<void>((resolve) => (this.wake = resolve))]);
    this.wake = undefined;
    // Changes come in bursts (a user and its group): a moment lets them settle into one cycle.
    if (this.changed && !this.stopped) await sleep(150);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
  }
}

export { SyncError };

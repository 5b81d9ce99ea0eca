import { directoryContext, type Context } from '../context.js';
import { DirectoryError, conflict, invalid, notFound } from '../errors.js';
import { newId, type DirectoryId, type GroupId, type SyncRunId, type UserId } from '../ids.js';
import type { AttributeChange, Directory, DirectoryAgent, DirectorySyncRun, SyncPlanItem, User, UserGroup } from '../model.js';
import type { IdentityLink, KnownObject, LinkedKind, Transaction } from '../ports.js';
import { ALL_ROWS, foldCase } from '../query.js';
import type { UserInput } from '../user-input.js';
import { adSettings, attributeSources, authorityOf, emptyState, isCloudSchema, type AdDomainSettings } from './active-directory.js';
import { journal, type Deps } from './deps.js';
import type { SyncActor } from './directory-export.js';
import { forgetLink } from './identity-links.js';
import type { GroupService, MemberRef } from './groups.js';
import type { UserService } from './users.js';

/** An object as the source directory has it, normalized by its agent. */
export interface SourceObject {
  kind: LinkedKind;
  /** The source's immutable id (AD objectGUID). */
  externalId: string;
  /** Lowercase source attribute → values. */
  attributes: Record<string, string[]>;
  /** In the import scope now; false: deleted at the source, or out of the scope. */
  present: boolean;
  /** Why it is gone, when it is (for the plan): `deleted`, `out_of_scope`. */
  gone?: 'deleted' | 'out_of_scope';
  /** The source's disabled flag (AD: userAccountControl ACCOUNTDISABLE). */
  disabled?: boolean;
  /** A privileged account at the source: never imported or managed. */
  privileged?: boolean;
  /** Groups: their direct members in the scope. */
  members?: { kind: LinkedKind; externalId: string }[];
  /** When the source last changed the object (AD whenChanged), ISO 8601: a two-way conflict goes to the newer change. */
  changedAt?: string;
}

export interface ImportBatch {
  /** The run this batch continues; absent for a run's first batch. */
  runId?: string;
  mode: 'full' | 'incremental';
  dryRun?: boolean;
  objects: SourceObject[];
  /** On a run's last batch. For a full run, every external id the scope holds, for finding what left it. */
  complete?: { seen?: { users: string[]; groups: string[] } };
  /** The source's change cursor after this batch, stored with its changes (not in a dry run). */
  cursor?: string | null;
}

export interface ImportResult {
  run: DirectorySyncRun;
  /** This batch's plan. */
  plan: SyncPlanItem[];
}

/** Plans kept on a run, in full up to here; counts cover everything. */
const MAX_PLAN_ITEMS = 2000;

class DryRun extends Error {
  constructor(readonly result: ImportResult) {
    super('dry run');
  }
}

interface Removal {
  kind: LinkedKind;
  localId: string;
  externalId: string;
  name: string;
  reason: string;
}

const first = (attributes: Record<string, string[]>, name: string): string | undefined => {
  const v = attributes[name]?.[0];
  return v === undefined || v === '' ? undefined : v;
};

const bump = (counts: Record<string, number>, key: string, by = 1) => {
  counts[key] = (counts[key] ?? 0) + by;
};

/**
 * Imports from a directory through its agent: each batch of source objects is planned against
 * Roster (links first; a first import matches existing users by username and groups by name, and
 * never again), per the domain's attribute authority, and applied in one transaction together with
 * the source's cursor, so a batch is applied whole or not at all and an agent that dies mid-run
 * resumes from the last cursor with nothing lost or doubled. Removals (deleted at the source, or
 * out of the scope) are suspensions with a grace period or deletions, held back whole when a run
 * would remove more than the delete threshold or the source suddenly holds no users. A dry run
 * plans the same way and applies nothing. What an import writes is journaled with origin
 * `sync:<directory id>`, which export skips, so nothing is echoed back.
 */
export class DirectorySyncService {
  constructor(
    private readonly deps: Deps,
    private readonly users: UserService,
    private readonly groups: GroupService,
  ) {}

  async importBatch(agent: SyncActor, batch: ImportBatch): Promise<ImportResult> {
    try {
      return await this.deps.store.transaction(async (tx) => {
        const result = await this.apply(tx, agent, batch);
        if (batch.dryRun) throw new DryRun(result);
        return result;
      });
    } catch (e) {
      if (!(e instanceof DryRun)) throw e;
      // The dry run's writes rolled back; its run and plan are kept, and a requested plan is done.
      await this.deps.store.transaction(async (tx) => {
        if (await tx.directorySync.findRun(agent.orgId, e.result.run.id)) await tx.directorySync.updateRun(e.result.run);
        else await tx.directorySync.insertRun(e.result.run);
        const state = batch.complete ? await tx.directorySync.state(agent.orgId, agent.directoryId, { forUpdate: true }) : undefined;
        if (state?.dryRunWanted) await tx.directorySync.putState({ ...state, dryRunWanted: false, updated: this.deps.clock().toISOString() });
      });
      return e.result;
    }
  }

  /**
   * A password changed in the directory, pushed by its password filter: Roster keeps it (without
   * its own policy: the directory accepted it) for the user linked to the account, named by its
   * external id or its username. Not written back to the directory it came from.
   */
  async passwordFromDirectory(agent: DirectoryAgent, input: { username?: string; externalId?: string; password: string }): Promise<void> {
    const repos = this.deps.store.read;
    let link: IdentityLink | undefined;
    if (input.externalId) [link] = await repos.identityLinks.findByExternalIds(agent.orgId, agent.directoryId, 'user', [input.externalId.toLowerCase()]);
    else if (input.username) {
      const user = await repos.users.findByUsername(agent.orgId, input.username);
      if (user) [link] = await repos.identityLinks.findByLocalIds(agent.orgId, agent.directoryId, 'user', [user.id]);
    } else throw invalid('INVALID_INPUT', 'username or externalId is required');
    const user = link ? await repos.users.findById(agent.orgId, link.localId as UserId) : undefined;
    if (!user) throw notFound('USER_NOT_FOUND', 'No Roster user is linked to that account of the directory');
    const ctx = directoryContext(agent.orgId, agent.directoryId, `sync:${agent.directoryId}`);
    await this.users.setPassword(ctx, user, input.password, { fromDirectory: true });
  }

  private async apply(tx: Transaction, agent: SyncActor, batch: ImportBatch): Promise<ImportResult> {
    const directory = await tx.directories.findById(agent.orgId, agent.directoryId);
    if (!directory) throw notFound('DIRECTORY_NOT_FOUND', 'Directory not found');
    const settings = adSettings(directory);
    const now = this.deps.clock().toISOString();
    const ctx = directoryContext(agent.orgId, directory.id, `sync:${directory.id}`);
    const run = await this.runFor(tx, agent, batch, now);
    const plan: SyncPlanItem[] = [];
    const removals: Removal[] = [];
    const note = (item: SyncPlanItem) => {
      plan.push(item);
      bump(run.counts, item.held ? 'held' : item.action);
    };

    const users = batch.objects.filter((o) => o.kind === 'user');
    const groups = batch.objects.filter((o) => o.kind === 'user_group');
    const userLinks = await this.linksOf(tx, ctx, directory.id, 'user', users.map((o) => o.externalId));
    const groupLinks = await this.linksOf(tx, ctx, directory.id, 'user_group', groups.map((o) => o.externalId));

    for (const object of users) {
      const link = userLinks.get(object.externalId);
      if (!object.present) {
        if (link) removals.push({ kind: 'user', localId: link.localId, externalId: object.externalId, name: first(object.attributes, attributeSources(settings).username!) ?? '', reason: object.gone ?? 'deleted' });
        continue;
      }
      await this.importUser(tx, ctx, directory, settings, object, link, note, userLinks, now);
    }
    for (const object of groups) {
      const link = groupLinks.get(object.externalId);
      if (!object.present) {
        if (link) removals.push({ kind: 'user_group', localId: link.localId, externalId: object.externalId, name: groupName(object) ?? '', reason: object.gone ?? 'deleted' });
        continue;
      }
      await this.importGroup(tx, ctx, directory, settings, object, link, note, groupLinks);
    }
    if (authorityOf(settings, 'membership') === 'import' || authorityOf(settings, 'membership') === 'both') {
      for (const object of groups) if (object.present && object.members) await this.importMembers(tx, ctx, directory.id, settings, object, groupLinks, userLinks, note);
    }

    let emptySource = false;
    if (batch.complete?.seen && batch.mode === 'full') {
      const seen = { user: new Set(batch.complete.seen.users), user_group: new Set(batch.complete.seen.groups) };
      const handled = new Set(removals.map((r) => `${r.kind}:${r.localId}`));
      for (const kind of ['user', 'user_group'] as const) {
        for (const link of await tx.identityLinks.listByDirectory(agent.orgId, directory.id, kind)) {
          if (seen[kind].has(link.externalId) || handled.has(`${kind}:${link.localId}`)) continue;
          removals.push({ kind, localId: link.localId, externalId: link.externalId, name: '', reason: 'out_of_scope' });
        }
      }
      emptySource = batch.complete.seen.users.length === 0;
    }

    // Users removed by an earlier run wait out their grace period; they are not removed again.
    const pending = new Set((await tx.directorySync.listRemovals(agent.orgId, directory.id)).map((r) => `${r.kind}:${r.localId}`));
    await this.applyRemovals(tx, ctx, directory, settings, removals.filter((r) => !pending.has(`${r.kind}:${r.localId}`)), emptySource, note, run, now);

    // The cursor moves with the changes it covers, in this transaction.
    const state = (await tx.directorySync.state(agent.orgId, directory.id, { forUpdate: true })) ?? emptyState(directory, now);
    const next = { ...state, updated: now, lastImportAt: now };
    if (batch.cursor !== undefined) next.importCursor = batch.cursor;
    if (batch.complete && batch.mode === 'full') next.fullImportWanted = false;
    if (run.status !== 'held') next.lastError = null;
    await tx.directorySync.putState(next);

    if (run.plan.length < MAX_PLAN_ITEMS) run.plan.push(...plan.slice(0, MAX_PLAN_ITEMS - run.plan.length));
    if (batch.complete) {
      run.finished = now;
      if (run.status === 'running') run.status = 'succeeded';
      tx.record({ orgId: agent.orgId, actor: { type: 'system', id: agent.id }, origin: `sync:${directory.id}` }, [
        { objectType: 'directory', objectId: directory.id, operation: 'sync_run', changes: {}, details: { runId: run.id, mode: run.mode, dryRun: run.dryRun, status: run.status, counts: run.counts } },
      ]);
    }
    if (await tx.directorySync.findRun(agent.orgId, run.id)) await tx.directorySync.updateRun(run);
    else await tx.directorySync.insertRun(run);
    return { run, plan };
  }

  private async runFor(tx: Transaction, agent: SyncActor, batch: ImportBatch, now: string): Promise<DirectorySyncRun> {
    if (batch.runId) {
      const run = await tx.directorySync.findRun(agent.orgId, batch.runId as SyncRunId);
      if (!run || run.directoryId !== agent.directoryId) throw notFound('SYNC_RUN_NOT_FOUND', 'Sync run not found');
      if (run.status !== 'running' && !(run.status === 'held' && !run.finished)) throw conflict('SYNC_RUN_FINISHED', 'The sync run has finished; start another');
      if (run.dryRun !== (batch.dryRun === true) || run.mode !== batch.mode) throw conflict('SYNC_RUN_MISMATCH', 'A batch must have its run\'s mode and dry-run flag');
      return run;
    }
    // A run still open here was left by an agent that stopped mid-run; its batches stand, the rest is this run's.
    await tx.directorySync.abandonRuns(agent.orgId, agent.directoryId, 'abandoned: the agent stopped before the run finished; a later run took over', now);
    return {
      id: newId<SyncRunId>(),
      orgId: agent.orgId,
      directoryId: agent.directoryId,
      agentId: agent.id,
      kind: 'import',
      mode: batch.mode,
      dryRun: batch.dryRun === true,
      status: 'running',
      started: now,
      finished: null,
      counts: {},
      plan: [],
      error: null,
    };
  }

  private async linksOf(tx: Transaction, ctx: Context, directoryId: DirectoryId, kind: LinkedKind, externalIds: string[]): Promise<Map<string, IdentityLink>> {
    const links = await tx.identityLinks.findByExternalIds(ctx.orgId, directoryId, kind, [...new Set(externalIds)]);
    return new Map(links.map((l) => [l.externalId, l]));
  }

  /**
   * The Roster object a source object is: its link's, else — a first import — the unlinked one
   * with the same name, to be linked. A same-named object linked to another source object is a
   * re-created account (same name, new id): reported as a conflict, never merged.
   */
  private async match<T extends { id: string }>(
    tx: Transaction,
    ctx: Context,
    directoryId: DirectoryId,
    object: SourceObject,
    name: string,
    link: IdentityLink | undefined,
    byId: (id: string) => Promise<T | undefined>,
    byName: () => Promise<T | undefined>,
  ): Promise<{ current: T | undefined; action: 'update' | 'link' } | { conflict: SyncPlanItem }> {
    const linked = link ? await byId(link.localId) : undefined;
    if (linked) return { current: linked, action: 'update' };
    const named = await byName();
    if (!named) return { current: undefined, action: 'update' };
    const [other] = await tx.identityLinks.findByLocalIds(ctx.orgId, directoryId, object.kind, [named.id]);
    if (other && other.externalId !== object.externalId) {
      const what = object.kind === 'user' ? 'username belongs to a user' : 'name belongs to a group';
      return { conflict: { action: 'conflict', kind: object.kind, externalId: object.externalId, localId: named.id, name, reason: `the ${what} linked to another object of this directory (${other.externalId}); a re-created account is not merged` } };
    }
    return { current: named, action: 'link' };
  }

  /** The Roster attributes a source object sets, by the domain's mapping and authority. */
  private userInput(settings: AdDomainSettings, object: SourceObject): Omit<UserInput, 'password'> {
    const input: Record<string, unknown> = {};
    for (const [field, source] of Object.entries(attributeSources(settings))) {
      const authority = authorityOf(settings, field);
      if (authority !== 'import' && authority !== 'both') continue;
      const value = first(object.attributes, source);
      if (value !== undefined) input[field] = value;
      else if (field !== 'username' && field !== 'email') input[field] = field === 'employeeIdentifier' ? null : '';
    }
    // Roster needs an email: the mail attribute, else the userPrincipalName, else one made from the username and the domain.
    const emailAuthority = authorityOf(settings, 'email');
    if (input.email === undefined && (emailAuthority === 'import' || emailAuthority === 'both')) input.email = first(object.attributes, 'userprincipalname') ?? `${String(input.username ?? '')}@${settings.domain}`;
    const state = authorityOf(settings, 'suspended');
    if (object.disabled !== undefined && (state === 'import' || state === 'both')) input.state = object.disabled ? 'SUSPENDED' : 'ACTIVATED';
    return input as Omit<UserInput, 'password'>;
  }

  private async importUser(
    tx: Transaction,
    ctx: Context,
    directory: Directory,
    settings: AdDomainSettings,
    object: SourceObject,
    link: IdentityLink | undefined,
    note: (item: SyncPlanItem) => void,
    links: Map<string, IdentityLink>,
    now: string,
  ): Promise<void> {
    const input = this.userInput(settings, object);
    const cloud = isCloudSchema(settings.schema);
    // A cloud directory's accounts are matched by their username even where Roster's username is authoritative.
    const name = String(input.username ?? (cloud ? first(object.attributes, attributeSources(settings).username!) : undefined) ?? object.externalId);
    if (object.privileged) return note({ action: 'skip', kind: 'user', externalId: object.externalId, name, reason: cloud ? 'an administrator of the directory: never imported or managed' : 'a privileged account (adminCount, or a member of Domain Admins, Enterprise Admins or Administrators): never imported or managed' });
    if (!input.username && !(cloud && name !== object.externalId)) return note({ action: 'skip', kind: 'user', externalId: object.externalId, name, reason: 'no username (the mapped attribute is empty)' });
    const linkChange = { directoryId: directory.id, externalId: object.externalId };
    try {
      const found = await this.match(tx, ctx, directory.id, object, name, link, (id) => tx.users.findById(ctx.orgId, id as UserId), () => tx.users.findByUsername(ctx.orgId, name));
      if ('conflict' in found) return note(found.conflict);
      const { current, action } = found;
      const known = knownUser(settings, object, link?.known, input);
      if (!current && rosterOwns(settings)) {
        return note({ action: 'skip', kind: 'user', externalId: object.externalId, name, reason: 'not a Roster user, and Roster is authoritative: the account is left alone' });
      }
      if (!current) {
        const created = await this.users.createIn(tx, ctx, { ...input, state: input.state ?? 'ACTIVATED' }, { link: { ...linkChange, known } });
        links.set(object.externalId, { orgId: ctx.orgId, directoryId: directory.id, kind: 'user', localId: created.id, externalId: object.externalId, created: now, updated: now, known });
        return note({ action: 'create', kind: 'user', externalId: object.externalId, localId: created.id, name, changes: fromNothing(input) });
      }
      if (link?.known) this.mergeTwoWay(tx, ctx, directory, settings, object, link.known, current, input as Record<string, unknown>, note);
      const removal = await tx.directorySync.deleteRemoval(ctx.orgId, directory.id, 'user', current.id);
      const changes = diff(current, input);
      if (removal && input.state === undefined && current.state === 'SUSPENDED') changes.state = { before: 'SUSPENDED', after: 'ACTIVATED' };
      const remember = async (localId: string) => {
        if (!link || JSON.stringify(link.known ?? null) !== JSON.stringify(known)) await tx.identityLinks.setKnown(ctx.orgId, directory.id, 'user', localId, known, now);
      };
      if (Object.keys(changes).length === 0 && action === 'update') return remember(current.id);
      const patch = Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.after])) as Omit<UserInput, 'password'>;
      const after = await this.users.updateIn(tx, ctx, current.id, patch, action === 'link' ? { link: linkChange } : {});
      await remember(after.id);
      links.set(object.externalId, { orgId: ctx.orgId, directoryId: directory.id, kind: 'user', localId: after.id, externalId: object.externalId, created: now, updated: now, known });
      const stateChange = changes.state?.after;
      note({
        action: action === 'link' ? 'link' : stateChange === 'SUSPENDED' ? 'suspend' : stateChange === 'ACTIVATED' ? 'unsuspend' : 'update',
        kind: 'user',
        externalId: object.externalId,
        localId: after.id,
        name,
        changes,
        ...(removal ? { reason: 'back in the import scope' } : {}),
      });
    } catch (e) {
      if (!(e instanceof DirectoryError)) throw e;
      note({ action: 'conflict', kind: 'user', externalId: object.externalId, name, reason: e.message });
    }
  }

  /**
   * Two-way (authority `both`): what the directory last held tells which side changed an
   * attribute. One the directory did not change keeps Roster's value (export writes it there);
   * one only the directory changed is imported; one both changed goes to the newer change (the
   * directory's whenChanged against the user's last update), and the loser is journaled as a
   * conflict. `input` loses the attributes Roster keeps.
   */
  private mergeTwoWay(
    tx: Transaction,
    ctx: Context,
    directory: Directory,
    settings: AdDomainSettings,
    object: SourceObject,
    known: KnownObject,
    current: User,
    input: Record<string, unknown>,
    note: (item: SyncPlanItem) => void,
  ): void {
    const conflicts: Record<string, AttributeChange> = {};
    const winners: Record<string, 'roster' | 'directory'> = {};
    const rosterNewer = object.changedAt === undefined || Date.parse(current.updated) >= Date.parse(object.changedAt);
    const resolve = (field: string, source: unknown, was: unknown, mine: unknown) => {
      if (source === was) return void delete input[field];
      if (mine === was || mine === source) return;
      winners[field] = rosterNewer ? 'roster' : 'directory';
      conflicts[field] = rosterNewer ? { before: source, after: mine } : { before: mine, after: source };
      if (rosterNewer) delete input[field];
    };
    for (const [field, attribute] of Object.entries(attributeSources(settings))) {
      if (authorityOf(settings, field) !== 'both' || !(field in input) || !(attribute in known.attributes)) continue;
      resolve(field, importedValue(object, field, attribute, input), known.attributes[attribute] ?? null, valueOf(current, field));
    }
    if (authorityOf(settings, 'suspended') === 'both' && input.state !== undefined && object.disabled !== undefined && known.disabled !== undefined) {
      const source = object.disabled;
      resolve('state', source ? 'SUSPENDED' : 'ACTIVATED', known.disabled ? 'SUSPENDED' : 'ACTIVATED', current.state === 'ACTIVATED' ? 'ACTIVATED' : 'SUSPENDED');
    }
    if (Object.keys(conflicts).length === 0) return;
    journal(tx, ctx, {
      objectType: 'user',
      objectId: current.id,
      operation: 'sync_conflict',
      changes: conflicts,
      details: { directoryId: directory.id, winners, rosterChangedAt: current.updated, directoryChangedAt: object.changedAt ?? null },
    });
    note({
      action: 'conflict',
      kind: 'user',
      externalId: object.externalId,
      localId: current.id,
      name: current.username,
      changes: conflicts,
      reason: `changed in Roster and in the directory; the newer change (${rosterNewer ? 'Roster' : 'the directory'}'s) won`,
    });
  }

  private async importGroup(
    tx: Transaction,
    ctx: Context,
    directory: Directory,
    settings: AdDomainSettings,
    object: SourceObject,
    link: IdentityLink | undefined,
    note: (item: SyncPlanItem) => void,
    links: Map<string, IdentityLink>,
  ): Promise<void> {
    const name = groupName(object);
    if (object.privileged) return note({ action: 'skip', kind: 'user_group', externalId: object.externalId, name: name ?? '', reason: 'a privileged group: never imported or managed' });
    if (!name) return note({ action: 'skip', kind: 'user_group', externalId: object.externalId, name: '', reason: 'no name' });
    const description = authorityOf(settings, 'description') === 'import' || authorityOf(settings, 'description') === 'both' ? (first(object.attributes, 'description') ?? '') : undefined;
    const linkChange = { directoryId: directory.id, externalId: object.externalId };
    const remember = (group: UserGroup) =>
      links.set(object.externalId, { orgId: ctx.orgId, directoryId: directory.id, kind: 'user_group', localId: group.id, externalId: object.externalId, created: group.created, updated: group.updated, known: link?.localId === group.id ? (link.known ?? null) : null });
    try {
      const found = await this.match(tx, ctx, directory.id, object, name, link, (id) => tx.groups.findById(ctx.orgId, id as GroupId), () => tx.groups.findByName(ctx.orgId, name));
      if ('conflict' in found) return note(found.conflict);
      const { current, action } = found;
      if (!current && rosterOwns(settings)) return note({ action: 'skip', kind: 'user_group', externalId: object.externalId, name, reason: 'not a Roster group, and Roster is authoritative: the group is left alone' });
      if (!current) {
        const created = await this.groups.create(ctx, { name, ...(description !== undefined ? { description } : {}) }, [], { link: linkChange, tx });
        remember(created);
        return note({ action: 'create', kind: 'user_group', externalId: object.externalId, localId: created.id, name, changes: fromNothing({ name, description }) });
      }
      const changes: Record<string, AttributeChange> = {};
      if (current.name !== name && !rosterOwns(settings)) changes.name = { before: current.name, after: name };
      if (description !== undefined && current.description !== description) changes.description = { before: current.description, after: description };
      if (Object.keys(changes).length === 0 && action === 'update') return void remember(current);
      const after = await this.groups.change(ctx, current.id, {
        input: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.after])),
        ...(action === 'link' ? { link: linkChange } : {}),
        tx,
      });
      remember(after);
      note({ action, kind: 'user_group', externalId: object.externalId, localId: after.id, name, changes });
    } catch (e) {
      if (!(e instanceof DirectoryError)) throw e;
      note({ action: 'conflict', kind: 'user_group', externalId: object.externalId, name, reason: e.message });
    }
  }

  /** A group's direct members become the source's; members Roster added itself (not linked to this directory) stay. */
  private async importMembers(
    tx: Transaction,
    ctx: Context,
    directoryId: DirectoryId,
    settings: AdDomainSettings,
    object: SourceObject,
    groupLinks: Map<string, IdentityLink>,
    userLinks: Map<string, IdentityLink>,
    note: (item: SyncPlanItem) => void,
  ): Promise<void> {
    const link = groupLinks.get(object.externalId);
    if (!link) return;
    const name = groupName(object) ?? '';
    const wantedUsers = object.members!.filter((m) => m.kind === 'user').map((m) => m.externalId);
    const wantedGroups = object.members!.filter((m) => m.kind === 'user_group').map((m) => m.externalId);
    // Members linked earlier than this batch.
    for (const [kind, ids, known] of [['user', wantedUsers, userLinks], ['user_group', wantedGroups, groupLinks]] as const) {
      const missing = ids.filter((id) => !known.has(id));
      for (const l of await tx.identityLinks.findByExternalIds(ctx.orgId, directoryId, kind, missing)) known.set(l.externalId, l);
    }
    const wanted = new Map<string, MemberRef>();
    for (const id of wantedUsers) {
      const l = userLinks.get(id);
      if (l) wanted.set(`user:${l.localId}`, { type: 'user', id: l.localId });
    }
    for (const id of wantedGroups) {
      const l = groupLinks.get(id);
      if (l && l.localId !== link.localId) wanted.set(`user_group:${l.localId}`, { type: 'user_group', id: l.localId });
    }
    const current = (await tx.groups.listMembers(ctx.orgId, link.localId as GroupId, ALL_ROWS)).items;
    const currentKeys = new Set(current.map((m) => `${m.memberType}:${m.memberId}`));
    const currentUserLinks = await tx.identityLinks.findByLocalIds(ctx.orgId, directoryId, 'user', current.filter((m) => m.memberType === 'user').map((m) => m.memberId));
    const currentGroupLinks = await tx.identityLinks.findByLocalIds(ctx.orgId, directoryId, 'user_group', current.filter((m) => m.memberType === 'user_group').map((m) => m.memberId));
    const linkedUsers = new Set(currentUserLinks.map((l) => l.localId));
    const linkedGroups = new Set(currentGroupLinks.map((l) => l.localId));
    // Two-way with what the group last held known: only the directory's own changes are imported
    // (a member Roster added and export has not written yet stays; one Roster removed is not brought back).
    const known = link.known?.members && authorityOf(settings, 'membership') === 'both' ? new Set(link.known.members) : undefined;
    const externalOf = new Map<string, string>();
    for (const l of [...userLinks.values(), ...currentUserLinks]) externalOf.set(`user:${l.localId}`, l.externalId);
    for (const l of [...groupLinks.values(), ...currentGroupLinks]) externalOf.set(`user_group:${l.localId}`, l.externalId);
    const heldBefore = (key: string) => known?.has(externalOf.get(key) ?? '') === true;
    const add = [...wanted.entries()].filter(([key]) => !currentKeys.has(key) && !heldBefore(key)).map(([, ref]) => ref);
    const remove = current
      .filter((m) => !wanted.has(`${m.memberType}:${m.memberId}`) && (m.memberType === 'user' ? linkedUsers.has(m.memberId) : linkedGroups.has(m.memberId)))
      .filter((m) => !known || heldBefore(`${m.memberType}:${m.memberId}`))
      .map((m) => ({ type: m.memberType, id: m.memberId }));
    const members = [...wantedUsers.filter((id) => userLinks.has(id)), ...wantedGroups.filter((id) => groupLinks.has(id) && groupLinks.get(id)!.localId !== link.localId)];
    const knownAfter: KnownObject = { ...(link.known ?? { attributes: {} }), attributes: { ...(link.known?.attributes ?? {}), cn: first(object.attributes, 'cn') ?? null, description: first(object.attributes, 'description') ?? null }, members };
    if (JSON.stringify(knownAfter) !== JSON.stringify(link.known ?? null)) await tx.identityLinks.setKnown(ctx.orgId, directoryId, 'user_group', link.localId, knownAfter, this.deps.clock().toISOString());
    if (add.length === 0 && remove.length === 0) return;
    await this.groups.change(ctx, link.localId, { add, remove, tx });
    for (const m of add) note({ action: 'member_add', kind: 'user_group', externalId: object.externalId, localId: link.localId, name, member: `${m.type}:${m.id}` });
    for (const m of remove) note({ action: 'member_remove', kind: 'user_group', externalId: object.externalId, localId: link.localId, name, member: `${m.type}:${m.id}` });
  }

  /**
   * Removals, unless the safety checks hold them back: a source that suddenly holds no users, or
   * more removals than the delete threshold allows (max of its count and its share of the objects
   * linked to the directory). Held removals are in the plan and apply nothing.
   */
  private async applyRemovals(
    tx: Transaction,
    ctx: Context,
    directory: Directory,
    settings: AdDomainSettings,
    removals: Removal[],
    emptySource: boolean,
    note: (item: SyncPlanItem) => void,
    run: DirectorySyncRun,
    now: string,
  ): Promise<void> {
    if (removals.length === 0) return;
    const linked =
      (await tx.identityLinks.listByDirectory(ctx.orgId, directory.id, 'user')).length + (await tx.identityLinks.listByDirectory(ctx.orgId, directory.id, 'user_group')).length;
    const allowed = Math.max(settings.deleteThreshold.count, Math.floor((settings.deleteThreshold.percent / 100) * linked));
    const hold = emptySource ? 'the source returned no users; nothing is removed until it does' : removals.length > allowed ? `${removals.length} removals exceed the delete threshold (${allowed})` : undefined;
    const reasonText = (r: Removal) => (r.reason === 'out_of_scope' ? 'not in the import scope any more' : 'deleted in the directory');
    if (hold) {
      for (const r of removals) note({ action: r.kind === 'user' && settings.removal.action === 'suspend' ? 'suspend' : 'delete', kind: r.kind, externalId: r.externalId, localId: r.localId, name: r.name, reason: `${reasonText(r)}; held: ${hold}`, held: true });
      run.status = 'held';
      const state = (await tx.directorySync.state(ctx.orgId, directory.id, { forUpdate: true })) ?? emptyState(directory, now);
      await tx.directorySync.putState({ ...state, lastError: `Removals held back: ${hold}`, lastErrorAt: now, updated: now });
      return;
    }
    if (rosterOwns(settings)) {
      // Roster is authoritative: an account gone from the directory is forgotten, and the export creates it again.
      for (const r of removals) {
        await forgetLink(tx, ctx, directory.id, r.kind, r.localId);
        note({ action: 'delete', kind: r.kind, externalId: r.externalId, localId: r.localId, name: r.name, reason: `${reasonText(r)}; unlinked: Roster is authoritative and creates it again` });
      }
      return;
    }
    for (const r of removals) {
      if (r.kind === 'user_group') {
        const group = await tx.groups.findById(ctx.orgId, r.localId as GroupId);
        if (!group) continue;
        await this.groups.delete(ctx, group.id, { tx });
        note({ action: 'delete', kind: 'user_group', externalId: r.externalId, localId: r.localId, name: r.name || group.name, reason: reasonText(r) });
        continue;
      }
      const user = await tx.users.findById(ctx.orgId, r.localId as UserId);
      if (!user) continue;
      if (settings.removal.action === 'delete') {
        await this.users.deleteIn(tx, ctx, user.id, { cascadeManager: null });
        note({ action: 'delete', kind: 'user', externalId: r.externalId, localId: user.id, name: r.name || user.username, reason: reasonText(r) });
        continue;
      }
      const graceDays = settings.removal.graceDays;
      await tx.directorySync.putRemoval({
        orgId: ctx.orgId,
        directoryId: directory.id,
        kind: 'user',
        localId: user.id,
        removedAt: now,
        deleteAfter: graceDays === null ? null : new Date(Date.parse(now) + graceDays * 86_400_000).toISOString(),
      });
      if (user.state === 'SUSPENDED') continue;
      await this.users.updateIn(tx, ctx, user.id, { state: 'SUSPENDED' });
      note({ action: 'suspend', kind: 'user', externalId: r.externalId, localId: user.id, name: r.name || user.username, reason: `${reasonText(r)}; deleted after ${graceDays === null ? 'never' : `${graceDays} days`}`, changes: { state: { before: user.state, after: 'SUSPENDED' } } });
    }
  }

  /** System: deletes the users whose removal grace period has ended (still linked, still suspended). The number deleted. */
  async deleteDueRemovals(limit = 500): Promise<number> {
    const due = await this.deps.store.read.directorySync.dueRemovals(this.deps.clock().toISOString(), limit);
    let deleted = 0;
    for (const r of due) {
      await this.deps.store.transaction(async (tx) => {
        const ctx = directoryContext(r.orgId, r.directoryId, `sync:${r.directoryId}`);
        if (!(await tx.directorySync.deleteRemoval(r.orgId, r.directoryId, r.kind, r.localId))) return;
        const user = await tx.users.findById(r.orgId, r.localId as UserId, { forUpdate: true });
        const [link] = await tx.identityLinks.findByLocalIds(r.orgId, r.directoryId, 'user', [r.localId]);
        if (!user || !link || user.state !== 'SUSPENDED') return;
        await this.users.deleteIn(tx, ctx, user.id, { cascadeManager: null });
        deleted++;
      });
    }
    return deleted;
  }
}

/** A cloud directory Roster is authoritative for: its accounts are Roster's to create and put right, never to import. */
const rosterOwns = (settings: AdDomainSettings): boolean => isCloudSchema(settings.schema) && settings.configuration === 'roster_authoritative';

/** A group's name as its directory has it (AD cn or sAMAccountName; a cloud directory's name). */
const groupName = (object: SourceObject): string | undefined => first(object.attributes, 'cn') ?? first(object.attributes, 'samaccountname') ?? first(object.attributes, 'name');

/** The attributes of `input` that differ from `user`, before → after. */
function diff(user: User, input: Record<string, unknown>): Record<string, AttributeChange> {
  const changes: Record<string, AttributeChange> = {};
  for (const [field, value] of Object.entries(input)) {
    const before = (user as unknown as Record<string, unknown>)[field];
    const same = field === 'username' || field === 'email' ? foldCase(String(before ?? '')) === foldCase(String(value ?? '')) && before === value : (before ?? '') === (value ?? '');
    if (!same) changes[field] = { before: before ?? null, after: value };
  }
  return changes;
}

/** A new object's attributes as changes from nothing. */
const fromNothing = (after: Record<string, unknown>): Record<string, AttributeChange> =>
  Object.fromEntries(Object.entries(after).filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [k, { before: null, after: v }]));

const valueOf = (user: User, field: string): string | null => {
  const v = (user as unknown as Record<string, unknown>)[field];
  return v === undefined || v === null || v === '' ? null : String(v);
};

/**
 * A source attribute as Roster takes it: its value, except an email the directory does not have,
 * which is the one Roster made (from the userPrincipalName or the username), so that export does
 * not write a made-up address back as if Roster had changed it.
 */
function importedValue(object: SourceObject, field: string, attribute: string, input: Record<string, unknown>): string | null {
  const value = first(object.attributes, attribute);
  if (value === undefined && field === 'email' && typeof input.email === 'string' && input.email !== '') return input.email;
  return value ?? null;
}

/** What the directory holds of a user, from what the agent read: the attributes it reads (the others as known before). */
function knownUser(settings: AdDomainSettings, object: SourceObject, previous: KnownObject | null | undefined, input: Record<string, unknown>): KnownObject {
  const attributes: Record<string, string | null> = { ...(previous?.attributes ?? {}) };
  // A cloud directory is read whole each time: what it holds of every mapped attribute is known, so drift is repaired.
  const cloud = isCloudSchema(settings.schema);
  for (const [field, attribute] of Object.entries(attributeSources(settings))) {
    const authority = authorityOf(settings, field);
    if (authority === 'import' || authority === 'both' || (cloud && authority !== 'ignore')) attributes[attribute] = importedValue(object, field, attribute, input);
  }
  const known: KnownObject = { ...(previous ?? {}), attributes };
  if (object.disabled !== undefined) known.disabled = object.disabled;
  return known;
}

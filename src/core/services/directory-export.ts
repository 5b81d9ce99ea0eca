import { directoryContext, requirePermission, type Context } from '../context.js';
import { notFound } from '../errors.js';
import { newId, type DirectoryId, type GroupId, type OrgId, type SyncRunId, type UserId } from '../ids.js';
import type { Directory, DirectoryAgent, DirectorySyncRun, SyncPlanItem, User, UserGroup } from '../model.js';
import type { IdentityLink, KnownObject, LinkedKind, Transaction } from '../ports.js';
import { adSettings, attributeSources, authorityOf, isCloudSchema, type AdDomainSettings } from './active-directory.js';
import { journal, type Deps } from './deps.js';
import type { DirectoryViewService } from './directory-view.js';
import { externalIdKey, forgetLink } from './identity-links.js';

/**
 * One write to the directory, planned by Roster and carried out by the domain's agent. Members
 * are external ids (objectGUIDs); attribute names are the directory's, lowercase; null clears.
 */
export type ExportOp =
  | { op: 'create_user'; localId: string; name: string; parentDn: string; attributes: Record<string, string>; disabled: boolean }
  | {
      op: 'update_user';
      localId: string;
      name: string;
      externalId: string;
      changes: Record<string, string | null>;
      disabled?: boolean;
      reason?: string;
      /** The Roster user was deleted: disable the account (one already gone is as good), then Roster forgets the link. */
      deletedInRoster?: boolean;
    }
  /** A cloud directory whose deprovisioning policy is `delete`: the account goes (one already gone is as good), then Roster forgets the link. */
  | { op: 'delete_user'; localId: string; name: string; externalId: string; reason: string }
  | { op: 'create_group'; localId: string; name: string; parentDn: string; attributes: Record<string, string> }
  | { op: 'update_group'; localId: string; name: string; externalId: string; changes: Record<string, string | null>; add: string[]; remove: string[] };

/** What the agent did with an operation. */
export interface ExportOutcome {
  op: ExportOp;
  ok: boolean;
  /** A created object's external id. */
  externalId?: string;
  dn?: string;
  /** With a created user: its password was set in the same write (a password task), so it is enabled as `op.disabled` says. */
  passwordSet?: boolean;
  /** With a created user: whether the account is disabled now (an existing account taken over keeps its state). */
  disabled?: boolean;
  error?: string;
  /** With `delete_user`: the account was deleted (or was gone already). */
  deleted?: boolean;
  /** The account or group is not in the directory any more (deleted behind Roster's back). */
  gone?: boolean;
}

export interface ExportPlan {
  ops: ExportOp[];
  /** More operations wait than this plan carries. */
  more: boolean;
  /** Deprovisioning held back by the delete threshold (the rest of the plan goes ahead): how many, and why. */
  held?: { count: number; reason: string };
}

/** Takes an account away from its user: deleted, or disabled because the user was deleted or is no longer associated. */
const deprovisions = (op: ExportOp): boolean => op.op === 'delete_user' || (op.op === 'update_user' && op.disabled === true && (op.deletedInRoster === true || op.reason !== undefined));

const writes = (authority: string) => authority === 'export' || authority === 'both';
const valueOf = (user: User, field: string): string | null => {
  const v = (user as unknown as Record<string, unknown>)[field];
  return v === undefined || v === null || v === '' ? null : String(v);
};

/** Who carries out a directory's sync: its agent (AD), or Roster's own worker (cloud directories). */
export type SyncActor = Pick<DirectoryAgent, 'id' | 'orgId' | 'directoryId'>;

/** Where new objects go: AD's configured OUs; a cloud directory's org unit path (Google), or nothing to name (Microsoft 365). */
const parentOf = (settings: AdDomainSettings, ou: string | null): string | null => (isCloudSchema(settings.schema) ? (ou ?? '') : ou);

/** Whether the domain's configuration has Roster write to it (the sync role). */
export const exportsTo = (settings: AdDomainSettings): boolean => settings.configuration !== 'ad_authoritative' && settings.configuration !== 'directory_authoritative';

/**
 * Roster → the directory (the sync role): what the directory should hold — the users associated
 * with it (directly or through groups) and those it is linked to, the associated groups with their
 * members — compared with what it last held (each link's `known`), as operations for the agent.
 * The plan is computed afresh from the current state each time, so an agent that dies mid-way
 * repeats nothing that was recorded and loses nothing that was not. A change imported from the
 * directory updates `known` along with Roster, so it is never written back (no echo).
 */
export class DirectoryExportService {
  constructor(
    private readonly deps: Deps,
    /** What each kind of directory exposes (its associated users and groups), by directory type. */
    private readonly views: Partial<Record<Directory['type'], DirectoryViewService<Directory>>>,
  ) {}

  private viewOf(directory: Directory): DirectoryViewService<Directory> {
    const views = this.views[directory.type];
    if (!views) throw notFound('DIRECTORY_NOT_FOUND', `A ${directory.type} directory has no export`);
    return views;
  }

  /** The export's dry run, for an administrator: what would be written to the directory now; writes nothing. */
  async preview(ctx: Context, id: string, limit = 500, type: Directory['type'] = 'active_directory'): Promise<ExportPlan> {
    requirePermission(ctx, 'directories:read');
    const directory = await this.deps.store.read.directories.findById(ctx.orgId, id as DirectoryId);
    if (directory?.type !== type) throw notFound('DIRECTORY_NOT_FOUND', type === 'active_directory' ? 'Active Directory domain not found' : 'Directory not found');
    return this.plan(ctx.orgId, directory.id, limit);
  }

  async plan(orgId: OrgId, directoryId: DirectoryId, limit = 500): Promise<ExportPlan> {
    const repos = this.deps.store.read;
    const directory = await repos.directories.findById(orgId, directoryId);
    if (!directory) throw notFound('DIRECTORY_NOT_FOUND', 'Directory not found');
    const settings = adSettings(directory);
    if (!exportsTo(settings)) return { ops: [], more: false };
    const view = await this.viewOf(directory).current(orgId, directoryId);
    if (!view) return { ops: [], more: false };
    const [allUserLinks, groupLinkList, removals] = await Promise.all([
      repos.identityLinks.listByDirectory(orgId, directoryId, 'user'),
      repos.identityLinks.listByDirectory(orgId, directoryId, 'user_group'),
      repos.directorySync.listRemovals(orgId, directoryId),
    ]);
    // Users whose account left the directory wait out their grace period: nothing is written for
    // them (not even as group members), and their account is not created again.
    const pendingRemoval = new Set(removals.filter((r) => r.kind === 'user').map((r) => r.localId));
    const userLinkList = allUserLinks.filter((l) => !pendingRemoval.has(l.localId));
    const userLinks = new Map(userLinkList.map((l) => [l.localId, l]));
    const groupLinks = new Map(groupLinkList.map((l) => [l.localId, l]));

    const users = new Map<string, User>(view.users);
    const missingUsers = userLinkList.map((l) => l.localId).filter((id) => !users.has(id as UserId));
    for (let i = 0; i < missingUsers.length; i += 1000) for (const u of await repos.users.findByIds(orgId, missingUsers.slice(i, i + 1000) as UserId[])) users.set(u.id, u);
    const groups = new Map<string, UserGroup>(view.groups);
    for (const l of groupLinkList) {
      if (groups.has(l.localId)) continue;
      const g = await repos.groups.findById(orgId, l.localId as GroupId);
      if (g) groups.set(g.id, g);
    }

    const creates: ExportOp[] = [];
    const updates: ExportOp[] = [];
    for (const link of userLinkList) {
      if (!link.known?.deletedInRoster || users.has(link.localId as UserId)) continue;
      const name = link.known.attributes.samaccountname ?? link.known.attributes.username ?? link.localId;
      if (settings.deprovision === 'delete') updates.push({ op: 'delete_user', localId: link.localId, name, externalId: link.externalId, reason: 'deleted in Roster' });
      else updates.push({ op: 'update_user', localId: link.localId, name, externalId: link.externalId, changes: {}, disabled: true, reason: 'deleted in Roster', deletedInRoster: true });
    }
    for (const user of users.values()) {
      if (pendingRemoval.has(user.id)) continue;
      const op = this.userOp(settings, user, userLinks.get(user.id), view.users.has(user.id));
      if (op) (op.op === 'create_user' ? creates : updates).push(op);
    }
    const members = writes(authorityOf(settings, 'membership')) ? await this.membersOf(orgId, [...groups.keys()], userLinks, groupLinks) : undefined;
    for (const group of groups.values()) {
      const link = groupLinks.get(group.id);
      const inView = view.groups.has(group.id as GroupId);
      if (!link) {
        const parent = parentOf(settings, settings.groupsOu);
        if (inView && parent !== null) {
          creates.push({ op: 'create_group', localId: group.id, name: group.name, parentDn: parent, attributes: group.description ? { description: group.description } : {} });
        }
        continue;
      }
      const known = link.known ?? { attributes: {} };
      const changes: Record<string, string | null> = {};
      if (writes(authorityOf(settings, 'description')) && (known.attributes.description ?? null) !== (group.description || null)) changes.description = group.description || null;
      const wanted = members?.get(group.id);
      const had = new Set(known.members ?? []);
      const add = wanted ? [...wanted].filter((m) => !had.has(m)) : [];
      // Without knowing what the group held, nothing is taken out of it.
      const remove = wanted && known.members ? known.members.filter((m) => !wanted.has(m)) : [];
      if (Object.keys(changes).length > 0 || add.length > 0 || remove.length > 0) {
        updates.push({ op: 'update_group', localId: group.id, name: group.name, externalId: link.externalId, changes, add, remove });
      }
    }
    // Objects first (users before groups), then changes: members created in this plan are added by the next.
    let ops = [...creates, ...updates];
    // Like an import's removals, mass deprovisioning (an association removed by mistake) waits for an administrator.
    const leaving = ops.filter(deprovisions).length;
    const allowed = Math.max(settings.deleteThreshold.count, Math.floor((settings.deleteThreshold.percent / 100) * userLinkList.length));
    let held: ExportPlan['held'];
    if (leaving > allowed) {
      ops = ops.filter((op) => !deprovisions(op));
      held = { count: leaving, reason: `${leaving} accounts to suspend or delete exceed the delete threshold (${allowed}); raise the threshold to let them go` };
    }
    return { ops: ops.slice(0, limit), more: ops.length > limit, ...(held ? { held } : {}) };
  }

  /** How to create the user in the directory, when it is associated with it and not there yet (a password write creates it with the password). */
  async createOpFor(orgId: OrgId, directory: Directory, user: User): Promise<Extract<ExportOp, { op: 'create_user' }> | undefined> {
    const settings = adSettings(directory);
    if (!exportsTo(settings)) return undefined;
    const view = await this.viewOf(directory).current(orgId, directory.id);
    if (!view?.users.has(user.id)) return undefined;
    const op = this.userOp(settings, user, undefined, true);
    return op?.op === 'create_user' ? op : undefined;
  }

  private userOp(settings: AdDomainSettings, user: User, link: IdentityLink | undefined, inView: boolean): ExportOp | undefined {
    const cloud = isCloudSchema(settings.schema);
    const desired: Record<string, string | null> = {};
    for (const [field, attribute] of Object.entries(attributeSources(settings))) {
      // A cloud directory's username is part of its account name (primaryEmail, userPrincipalName): set at creation, never renamed.
      if (cloud && field === 'username') continue;
      if (writes(authorityOf(settings, field))) desired[attribute] = valueOf(user, field);
    }
    const suspended = user.state !== 'ACTIVATED';
    const stateWrites = writes(authorityOf(settings, 'suspended'));
    if (!link) {
      const parent = parentOf(settings, settings.usersOu);
      if (!inView || parent === null) return undefined;
      const attributes: Record<string, string> = {};
      for (const [k, v] of Object.entries(desired)) if (v !== null) attributes[k] = v;
      if (cloud) attributes.username = user.username;
      else {
        attributes.samaccountname ??= user.username;
        attributes.userprincipalname ??= `${user.username}@${settings.domain}`;
        attributes.cn = user.displayname || [user.firstname, user.lastname].filter(Boolean).join(' ') || user.username;
      }
      return { op: 'create_user', localId: user.id, name: user.username, parentDn: parent, attributes, disabled: suspended };
    }
    const known = link.known ?? { attributes: {} };
    const changes: Record<string, string | null> = {};
    for (const [attribute, value] of Object.entries(desired)) {
      if ((known.attributes[attribute] ?? null) !== value) changes[attribute] = value;
    }
    const op: Extract<ExportOp, { op: 'update_user' }> = { op: 'update_user', localId: user.id, name: user.username, externalId: link.externalId, changes };
    const gone = !inView && known.createdByRoster === true;
    if (gone && settings.deprovision === 'delete') return { op: 'delete_user', localId: user.id, name: user.username, externalId: link.externalId, reason: 'no longer associated with the directory' };
    if (stateWrites) {
      // An account Roster created is disabled once it is no longer associated; one waiting for its first password stays disabled.
      const disabled = gone || suspended || known.awaitingPassword === true;
      if (disabled !== (known.disabled ?? !disabled)) {
        op.disabled = disabled;
        if (gone) op.reason = 'no longer associated with the domain';
      }
    }
    return Object.keys(changes).length > 0 || op.disabled !== undefined ? op : undefined;
  }

  /** Each group's direct members that the directory knows (linked), as external ids. */
  private async membersOf(orgId: OrgId, groupIds: string[], userLinks: Map<string, IdentityLink>, groupLinks: Map<string, IdentityLink>): Promise<Map<string, Set<string>>> {
    const wanted = new Set(groupIds);
    const out = new Map<string, Set<string>>(groupIds.map((id) => [id, new Set<string>()]));
    for (const m of await this.deps.store.read.groups.allMemberships(orgId)) {
      if (!wanted.has(m.groupId)) continue;
      const link = m.memberType === 'user' ? userLinks.get(m.memberId) : groupLinks.get(m.memberId);
      if (link) out.get(m.groupId)!.add(link.externalId);
    }
    return out;
  }

  /**
   * The agent's report on a plan it carried out: links for what it created, and what the
   * directory now holds, recorded with a run (kind export) and journaled with the directory as
   * origin. Operations that failed are in the run with the directory's reason and planned again.
   */
  async record(agent: SyncActor, outcomes: ExportOutcome[]): Promise<DirectorySyncRun> {
    const now = this.deps.clock().toISOString();
    return this.deps.store.transaction(async (tx) => {
      const directory = await tx.directories.findById(agent.orgId, agent.directoryId);
      if (!directory) throw notFound('DIRECTORY_NOT_FOUND', 'Directory not found');
      const run: DirectorySyncRun = {
        id: newId<SyncRunId>(),
        orgId: agent.orgId,
        directoryId: directory.id,
        agentId: agent.id,
        kind: 'export',
        mode: 'incremental',
        dryRun: false,
        status: 'running',
        started: now,
        finished: now,
        counts: {},
        plan: [],
        error: null,
      };
      const note = (item: SyncPlanItem) => {
        run.counts[item.action] = (run.counts[item.action] ?? 0) + 1;
        if (run.plan.length < 2000) run.plan.push(item);
      };
      for (const outcome of outcomes) await this.recordOne(tx, agent, directory, outcome, note, now);
      const failed = run.counts.failed ?? 0;
      run.status = failed > 0 && failed === outcomes.length ? 'failed' : 'succeeded';
      if (failed > 0) run.error = `${failed} of ${outcomes.length} writes failed; they are tried again`;
      await tx.directorySync.insertRun(run);
      // In the journal when it wrote something (a run of refusals only is in the run history).
      if (Object.keys(run.counts).some((action) => action !== 'failed')) {
        tx.record({ orgId: agent.orgId, actor: { type: 'system', id: agent.id }, origin: `sync:${directory.id}` }, [
          { objectType: 'directory', objectId: directory.id, operation: 'sync_run', changes: {}, details: { runId: run.id, kind: 'export', status: run.status, counts: run.counts } },
        ]);
      }
      return run;
    });
  }

  private async recordOne(tx: Transaction, agent: SyncActor, directory: Directory, outcome: ExportOutcome, note: (item: SyncPlanItem) => void, now: string): Promise<void> {
    const { op } = outcome;
    const kind: LinkedKind = op.op === 'create_user' || op.op === 'update_user' || op.op === 'delete_user' ? 'user' : 'user_group';
    const externalId = 'externalId' in op ? op.externalId : (outcome.externalId ?? '');
    const ctx = directoryContext(agent.orgId, directory.id, `sync:${directory.id}`);
    const [link] = await tx.identityLinks.findByLocalIds(agent.orgId, directory.id, kind, [op.localId]);
    const unlink = () => forgetLink(tx, ctx, directory.id, kind, op.localId);
    if (!outcome.ok) {
      // Deleted behind Roster's back while Roster is authoritative: forgotten, so that the next plan creates it again.
      if (outcome.gone && link && link.externalId === externalId && adSettings(directory).configuration === 'roster_authoritative') {
        await unlink();
        note({ action: 'delete', kind, externalId, localId: op.localId, name: op.name, reason: 'gone from the directory: it is created again' });
        return;
      }
      note({ action: 'failed', kind, externalId, localId: op.localId, name: op.name, reason: outcome.error ?? 'failed' });
      return;
    }
    if (op.op === 'delete_user') {
      if (link?.externalId === op.externalId) await unlink();
      note({ action: 'delete', kind, externalId: op.externalId, localId: op.localId, name: op.name, reason: `${op.reason}: the account is deleted` });
      return;
    }
    if (op.op === 'create_user' || op.op === 'create_group') {
      const exists = kind === 'user' ? await tx.users.findById(agent.orgId, op.localId as UserId) : await tx.groups.findById(agent.orgId, op.localId as GroupId);
      if (!exists || !outcome.externalId) {
        note({ action: 'failed', kind, externalId, localId: op.localId, name: op.name, reason: exists ? 'the agent reported no objectGUID' : 'the Roster object is gone' });
        return;
      }
      const [holder] = await tx.identityLinks.findByExternalIds(agent.orgId, directory.id, kind, [outcome.externalId]);
      if (holder && holder.localId !== op.localId) {
        note({ action: 'conflict', kind, externalId: outcome.externalId, localId: op.localId, name: op.name, reason: `the directory object is linked to another Roster ${kind === 'user' ? 'user' : 'group'}` });
        return;
      }
      const known: KnownObject =
        op.op === 'create_user'
          ? {
              attributes: { ...op.attributes },
              disabled: outcome.disabled ?? (op.disabled || !outcome.passwordSet),
              createdByRoster: true,
              // An enabled account has a password already (one taken over); a new one waits for Roster's.
              awaitingPassword: !outcome.passwordSet && outcome.disabled !== false,
              ...(outcome.dn ? { dn: outcome.dn } : {}),
            }
          : { attributes: { ...op.attributes }, members: [], createdByRoster: true, ...(outcome.dn ? { dn: outcome.dn } : {}) };
      await tx.identityLinks.put({ orgId: agent.orgId, directoryId: directory.id, kind, localId: op.localId, externalId: outcome.externalId, created: link?.created ?? now, updated: now, known });
      journal(tx, ctx, { objectType: kind, objectId: op.localId, operation: 'update', changes: { [externalIdKey(directory.id)]: { before: link?.externalId ?? null, after: outcome.externalId } } });
      note({ action: 'create', kind, externalId: outcome.externalId, localId: op.localId, name: op.name, changes: Object.fromEntries(Object.entries(op.attributes).map(([k, v]) => [k, { before: null, after: v }])) });
      return;
    }
    if (!link || link.externalId !== op.externalId) {
      note({ action: 'conflict', kind, externalId: op.externalId, localId: op.localId, name: op.name, reason: 'the link changed while the agent wrote' });
      return;
    }
    const known: KnownObject = { ...(link.known ?? { attributes: {} }) };
    known.attributes = { ...known.attributes, ...op.changes };
    const changes = Object.fromEntries(Object.entries(op.changes).map(([k, v]) => [k, { before: link.known?.attributes[k] ?? null, after: v }]));
    if (op.op === 'update_user' && op.deletedInRoster) {
      // Disabled: the account no longer needs its link to the deleted user.
      await tx.identityLinks.delete(agent.orgId, directory.id, kind, op.localId);
      note({ action: 'suspend', kind, externalId: op.externalId, localId: op.localId, name: op.name, reason: 'deleted in Roster: the account is disabled' });
      return;
    }
    if (op.op === 'update_user') {
      if (op.disabled !== undefined) known.disabled = op.disabled;
      await tx.identityLinks.setKnown(agent.orgId, directory.id, kind, op.localId, known, now);
      const action = op.disabled === true ? 'suspend' : op.disabled === false ? 'unsuspend' : 'update';
      note({ action, kind, externalId: op.externalId, localId: op.localId, name: op.name, changes, ...(op.reason ? { reason: op.reason } : {}) });
      return;
    }
    const members = new Set(known.members ?? []);
    for (const m of op.add) members.add(m);
    for (const m of op.remove) members.delete(m);
    known.members = [...members];
    await tx.identityLinks.setKnown(agent.orgId, directory.id, kind, op.localId, known, now);
    if (Object.keys(changes).length > 0) note({ action: 'update', kind, externalId: op.externalId, localId: op.localId, name: op.name, changes });
    for (const m of op.add) note({ action: 'member_add', kind, externalId: op.externalId, localId: op.localId, name: op.name, member: m });
    for (const m of op.remove) note({ action: 'member_remove', kind, externalId: op.externalId, localId: op.localId, name: op.name, member: m });
  }
}

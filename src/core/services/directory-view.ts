import type { GroupId, OrgId, UserId } from '../ids.js';
import type { Directory, Organization, ResourceType, User, UserGroup } from '../model.js';
import { foldCase, ALL_ROWS } from '../query.js';
import type { JournalPosition, Repositories } from '../ports.js';
import type { Deps } from './deps.js';

/**
 * What one resource (the LDAP service, a RADIUS server) exposes of an org: the users connected
 * to it directly or through groups, the groups that connect them and the groups nested inside
 * those, with direct memberships restricted to what is exposed. A snapshot: never mutated once built.
 */
export interface DirectoryView<R extends { id: string } = Directory> {
  readonly org: Organization;
  readonly resource: R;
  /** The journal position the snapshot reflects. */
  readonly seq: number;
  /** Changes on every full rebuild; incremental user refreshes keep it. */
  readonly generation: number;
  readonly users: ReadonlyMap<UserId, User>;
  readonly userIdsByName: ReadonlyMap<string, UserId>;
  readonly groups: ReadonlyMap<GroupId, UserGroup>;
  readonly groupIdsByName: ReadonlyMap<string, GroupId>;
  /** The groups associated with the resource itself (the others are exposed through nesting). */
  readonly associatedGroups: ReadonlySet<GroupId>;
  /** Direct members of each exposed group. */
  readonly memberUsers: ReadonlyMap<GroupId, readonly UserId[]>;
  readonly memberGroups: ReadonlyMap<GroupId, readonly GroupId[]>;
  /** Exposed groups a user or group is a direct member of. */
  readonly parents: ReadonlyMap<string, readonly GroupId[]>;
  /** Every exposed group a user or group belongs to, directly or through nesting (cycle-safe). */
  groupsOf(memberId: string): ReadonlySet<GroupId>;
}

/** Journal rows that cannot change what a directory exposes. */
const IRRELEVANT = new Set<JournalPosition['objectType']>(['administrator', 'api_key', 'scim_token', 'application']);
const EVENTS = new Set<JournalPosition['operation']>(['ldap_bind', 'ldap_search', 'radius_auth', 'radius_accounting', 'mfa_enroll', 'mfa_reset', 'provisioning_run', 'sign_in', 'sign_out', 'sync_run', 'sync_conflict']);
/** User rows that change a user's attributes but not the graph. */
const USER_REFRESH = new Set<JournalPosition['operation']>(['update', 'password_set', 'login_failed', 'lock', 'unlock', 'create']);
const MAX_INCREMENTAL = 500;

interface OrgState<R extends { id: string }> {
  view?: DirectoryView<R>;
  /** How far the journal has been read; past `view.seq` when the rows since changed nothing exposed. */
  checked: number;
  running?: Promise<DirectoryView<R> | undefined>;
  queued?: Promise<DirectoryView<R> | undefined>;
}

/** Finds the resource a view is of: the org's one LDAP service, or a RADIUS server by id. */
export type ResourceLocator<R> = (repos: Repositories, orgId: OrgId, key: string | undefined) => Promise<R | undefined>;

/** The org's directory of a type: there is one LDAP service per org. */
export const directoryOfType =
  (type: Directory['type']): ResourceLocator<Directory> =>
  async (repos, orgId) =>
    (
      await repos.directories.list(orgId, {
        filter: { kind: 'compare', field: 'type', op: 'eq', value: type },
        sort: [],
        page: { limit: 1, skip: 0 },
      })
    ).items[0];

/**
 * Keeps each org's view of a directory resource current by following the journal: every caller
 * gets a view at least as new as the journal was when it called (read-your-writes across
 * processes sharing the store), while concurrent callers share one journal check.
 */
export class DirectoryViewService<R extends { id: string } = Directory> {
  private readonly states = new Map<string, OrgState<R>>();
  private generations = 0;

  constructor(
    private readonly deps: Deps,
    private readonly type: ResourceType,
    private readonly locate: ResourceLocator<R>,
  ) {}

  /**
   * The current view of the org's resource (`key` names it where an org has several); undefined
   * when the org or the resource is gone.
   */
  current(orgId: OrgId, key?: string): Promise<DirectoryView<R> | undefined> {
    const stateKey = key === undefined ? orgId : `${orgId}/${key}`;
    let state = this.states.get(stateKey);
    if (!state) {
      state = { checked: 0 };
      this.states.set(stateKey, state);
    }
    const s = state;
    if (!s.running) {
      s.running = this.refresh(orgId, key, s).finally(() => (s.running = undefined));
      return s.running;
    }
    // A check already running may have read the journal before this call: wait for the next one.
    s.queued ??= s.running
      .catch(() => undefined)
      .then(() => {
        s.queued = undefined;
        return this.current(orgId, key);
      });
    return s.queued;
  }

  private async refresh(orgId: OrgId, key: string | undefined, state: OrgState<R>): Promise<DirectoryView<R> | undefined> {
    const previous = state.view;
    if (!previous) return this.rebuild(orgId, key, state);
    const journal = this.deps.store.read.journal;
    // The head alone is the cheap common case: nothing happened since the last check.
    if ((await journal.head(orgId)) === state.checked) return previous;
    const rows = await journal.positions(orgId, state.checked, MAX_INCREMENTAL + 1);
    if (rows.length === 0) return previous;
    if (rows.length > MAX_INCREMENTAL) return this.rebuild(orgId, key, state);
    const userIds = new Set<UserId>();
    for (const row of rows) {
      if (IRRELEVANT.has(row.objectType) || EVENTS.has(row.operation)) continue;
      if (row.objectType === 'user' && USER_REFRESH.has(row.operation)) userIds.add(row.objectId as UserId);
      else return this.rebuild(orgId, key, state);
    }
    const seq = rows.at(-1)!.seq;
    state.checked = seq;
    // Rows that expose nothing new keep the same view object, so what is built from it stays valid.
    if (![...userIds].some((id) => previous.users.has(id))) return previous;
    return (state.view = await this.refreshUsers(previous, userIds, seq));
  }

  private async rebuild(orgId: OrgId, key: string | undefined, state: OrgState<R>): Promise<DirectoryView<R> | undefined> {
    const view = await this.build(orgId, key);
    state.view = view;
    state.checked = view?.seq ?? 0;
    return view;
  }

  private async refreshUsers(view: DirectoryView<R>, ids: Set<UserId>, seq: number): Promise<DirectoryView<R>> {
    const exposed = [...ids].filter((id) => view.users.has(id));
    const fresh = await this.deps.store.read.users.findByIds(view.org.id, exposed);
    const users = new Map(view.users);
    const names = new Map(view.userIdsByName);
    for (const id of exposed) {
      const old = users.get(id)!;
      names.delete(foldCase(old.username));
      users.delete(id);
    }
    for (const user of fresh) {
      users.set(user.id, user);
      names.set(foldCase(user.username), user.id);
    }
    return { ...view, seq, users, userIdsByName: names, groupsOf: view.groupsOf };
  }

  private async build(orgId: OrgId, key: string | undefined): Promise<DirectoryView<R> | undefined> {
    const repos = this.deps.store.read;
    // The head is read first: a change committed while loading is seen again at the next check.
    const seq = await repos.journal.head(orgId);
    const org = await repos.orgs.findById(orgId);
    if (!org) return undefined;
    const resource = await this.locate(repos, orgId, key);
    if (!resource) return undefined;

    const [associations, memberships, allGroups] = await Promise.all([
      repos.associations.ofResource(orgId, this.type, resource.id, ['user', 'user_group']),
      repos.groups.allMemberships(orgId),
      repos.groups.list(orgId, { sort: [], page: ALL_ROWS }),
    ]);
    const childGroups = new Map<GroupId, GroupId[]>();
    const childUsers = new Map<GroupId, UserId[]>();
    const push = <T>(map: Map<GroupId, T[]>, key: GroupId, value: T) => {
      const list = map.get(key);
      if (list) list.push(value);
      else map.set(key, [value]);
    };
    for (const m of memberships) {
      if (m.memberType === 'user') push(childUsers, m.groupId, m.memberId as UserId);
      else push(childGroups, m.groupId, m.memberId as GroupId);
    }

    const exposedGroups = new Set<GroupId>();
    const associatedGroups = new Set(associations.filter((a) => a.subjectType === 'user_group').map((a) => a.subjectId as GroupId));
    const stack = [...associatedGroups];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (exposedGroups.has(id)) continue;
      exposedGroups.add(id);
      for (const child of childGroups.get(id) ?? []) stack.push(child);
    }
    const userIds = new Set<UserId>(associations.filter((a) => a.subjectType === 'user').map((a) => a.subjectId as UserId));
    for (const g of exposedGroups) for (const u of childUsers.get(g) ?? []) userIds.add(u);

    const users = new Map<UserId, User>();
    const userIdsByName = new Map<string, UserId>();
    const ids = [...userIds];
    for (let i = 0; i < ids.length; i += 1000) {
      for (const user of await repos.users.findByIds(orgId, ids.slice(i, i + 1000))) {
        users.set(user.id, user);
        userIdsByName.set(foldCase(user.username), user.id);
      }
    }

    const groups = new Map<GroupId, UserGroup>();
    const groupIdsByName = new Map<string, GroupId>();
    for (const g of allGroups.items) {
      if (!exposedGroups.has(g.id)) continue;
      groups.set(g.id, g);
      groupIdsByName.set(foldCase(g.name), g.id);
    }
    const memberUsers = new Map<GroupId, UserId[]>();
    const memberGroups = new Map<GroupId, GroupId[]>();
    const parents = new Map<string, GroupId[]>();
    const addParent = (member: string, group: GroupId) => {
      const list = parents.get(member) ?? [];
      list.push(group);
      parents.set(member, list);
    };
    for (const g of groups.keys()) {
      const us = (childUsers.get(g) ?? []).filter((u) => users.has(u));
      const gs = (childGroups.get(g) ?? []).filter((c) => groups.has(c));
      memberUsers.set(g, us);
      memberGroups.set(g, gs);
      for (const u of us) addParent(u, g);
      for (const c of gs) addParent(c, g);
    }

    const memo = new Map<string, ReadonlySet<GroupId>>();
    const groupsOf = (memberId: string): ReadonlySet<GroupId> => {
      let found = memo.get(memberId);
      if (found) return found;
      const reached = new Set<GroupId>();
      const todo = [...(parents.get(memberId) ?? [])];
      while (todo.length > 0) {
        const g = todo.pop()!;
        if (reached.has(g)) continue;
        reached.add(g);
        for (const p of parents.get(g) ?? []) todo.push(p);
      }
      found = reached;
      memo.set(memberId, found);
      return found;
    };

    return {
      org,
      resource,
      seq,
      generation: ++this.generations,
      users,
      userIdsByName,
      groups,
      groupIdsByName,
      associatedGroups,
      memberUsers,
      memberGroups,
      parents,
      groupsOf,
    };
  }
}

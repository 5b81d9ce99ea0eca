import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound, type ErrorDetail } from '../errors.js';
import { GROUP_FIELDS } from '../fields.js';
import { groupsContaining, groupsWithin, toReached, userPaths } from '../graph.js';
import { newId, type GroupId, type UserId } from '../ids.js';
import { changesBetween } from '../journal.js';
import type { Membership, MemberType, Reached, UserGroup } from '../model.js';
import type { Transaction } from '../ports.js';
import { ALL_ROWS, foldCase, type ListQuery, type ListResult, type Page } from '../query.js';
import { parseReplyAttributes } from '../radius-reply.js';
import { checkedQuery, dissociateAll, journal, type Deps } from './deps.js';
import { applyLinkChange, removeAllLinks, type LinkChange } from './identity-links.js';
import { assertVersion } from './journal.js';
import { checkQuery as checkUserQuery } from './users.js';

/** A direct member to add or remove: a user, or (a Roster extension) a group. */
export interface MemberRef {
  type: MemberType;
  id: string;
}

export interface GroupInput {
  name?: string;
  description?: string;
  email?: string;
  attributes?: Record<string, unknown>;
}

const MAX_NAME = 256;
const MAX_TEXT = 1024;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function checkGroupInput(input: GroupInput, requireName: boolean): { value: GroupInput; errors: ErrorDetail[] } {
  const errors: ErrorDetail[] = [];
  const value: GroupInput = {};
  const text = (field: 'name' | 'description' | 'email', max: number) => {
    const raw = input[field];
    if (raw === undefined) return;
    if (typeof raw !== 'string') return errors.push({ field, reason: 'NOT_A_STRING', message: `${field} must be a string` });
    // Runs of spaces collapse to one, as LDAP compares names (RFC 4518 insignificant space handling).
    const v = raw.normalize('NFC').trim().replace(/\s+/g, ' ');
    if ([...v].length > max) return errors.push({ field, reason: 'TOO_LONG', message: `${field} must be at most ${max} characters` });
    if (CONTROL.test(v)) return errors.push({ field, reason: 'CONTROL_CHARACTER', message: `${field} must not contain control characters` });
    value[field] = v;
  };
  text('name', MAX_NAME);
  text('description', MAX_TEXT);
  text('email', MAX_TEXT);
  if (requireName && !value.name) errors.push({ field: 'name', reason: 'REQUIRED', message: 'name is required' });
  else if (value.name === '') errors.push({ field: 'name', reason: 'REQUIRED', message: 'name must not be empty' });
  if (input.attributes !== undefined) {
    if (typeof input.attributes !== 'object' || input.attributes === null || Array.isArray(input.attributes)) {
      errors.push({ field: 'attributes', reason: 'NOT_AN_OBJECT', message: 'attributes must be an object' });
    } else if (JSON.stringify(input.attributes).length > 64 * 1024) {
      errors.push({ field: 'attributes', reason: 'TOO_LONG', message: 'attributes must be at most 64 KiB' });
    } else {
      const radius = (input.attributes as { radius?: unknown }).radius;
      const reply = typeof radius === 'object' && radius !== null ? (radius as { reply?: unknown }).reply : radius;
      const parsed = parseReplyAttributes(reply);
      if (!parsed.ok) for (const message of parsed.errors) errors.push({ field: 'attributes.radius.reply', reason: 'INVALID_RADIUS_ATTRIBUTE', message });
      else value.attributes = input.attributes;
    }
  }
  return { value, errors };
}

const groupNotFound = () => notFound('USER_GROUP_NOT_FOUND', 'User group not found');

export class GroupService {
  constructor(private readonly deps: Deps) {}

  async list(ctx: Context, query: ListQuery): Promise<ListResult<UserGroup>> {
    requirePermission(ctx, 'groups:read');
    return this.deps.store.read.groups.list(ctx.orgId, checkedQuery(query, GROUP_FIELDS));
  }

  async get(ctx: Context, id: string): Promise<UserGroup> {
    requirePermission(ctx, 'groups:read');
    const group = await this.deps.store.read.groups.findById(ctx.orgId, id as GroupId);
    if (!group) throw groupNotFound();
    return group;
  }

  /**
   * Creates a group, with its first direct members when given, in one transaction: a member that
   * does not exist leaves no group behind. `link` is the group's identity link to the directory it
   * comes from, written in the same transaction.
   */
  async create(ctx: Context, input: GroupInput, members: readonly MemberRef[] = [], options: { link?: LinkChange; tx?: Transaction } = {}): Promise<UserGroup> {
    requirePermission(ctx, 'groups:write');
    const { value, errors } = checkGroupInput(input, true);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    const now = this.deps.clock().toISOString();
    const group: UserGroup = {
      id: newId<GroupId>(),
      orgId: ctx.orgId,
      name: value.name!,
      description: value.description ?? '',
      email: value.email ?? '',
      attributes: value.attributes ?? {},
      membershipMethod: 'STATIC',
      created: now,
      updated: now,
    };
    return this.within(options.tx, async (tx) => {
      await assertNameFree(tx, group);
      await tx.groups.insert(group);
      const linked = options.link ? await applyLinkChange(tx, ctx, 'user_group', group.id, options.link, now) : {};
      journal(tx, ctx, { objectType: 'user_group', objectId: group.id, operation: 'create', changes: { ...changesBetween(null, group), ...linked } });
      await this.addMembers(tx, ctx, group.id, members);
      return group;
    });
  }

  async update(ctx: Context, id: string, input: GroupInput): Promise<UserGroup> {
    return this.change(ctx, id, { input });
  }

  /**
   * Changes a group's attributes and its direct members in one transaction: all of it or none.
   * `members` replaces the member list; `add` and `remove` are idempotent (a member already there
   * or already gone is no error), as directories that push memberships expect. With `ifVersion`,
   * only a group at that version (the sequence number of its latest journal row) is changed.
   * `link` changes the group's identity link to a directory.
   */
  async change(
    ctx: Context,
    id: string,
    change: { input?: GroupInput; members?: MemberRef[]; add?: MemberRef[]; remove?: MemberRef[]; ifVersion?: number; link?: LinkChange; tx?: Transaction },
  ): Promise<UserGroup> {
    requirePermission(ctx, 'groups:write');
    const { value, errors } = checkGroupInput(change.input ?? {}, false);
    if (errors.length > 0) throw invalid('INVALID_INPUT', errors.map((e) => `${e.field}: ${e.message}`).join('; '), errors);
    return this.within(change.tx, async (tx) => {
      const before = await tx.groups.findById(ctx.orgId, id as GroupId, { forUpdate: true });
      if (!before) throw groupNotFound();
      await assertVersion(tx, ctx, 'user_group', before.id, change.ifVersion);
      const after: UserGroup = { ...before, ...value, updated: this.deps.clock().toISOString() };
      if (after.name !== before.name) await assertNameFree(tx, after);
      await tx.groups.update(after);
      const linked = change.link ? await applyLinkChange(tx, ctx, 'user_group', after.id, change.link, after.updated) : {};
      journal(tx, ctx, { objectType: 'user_group', objectId: after.id, operation: 'update', changes: { ...changesBetween(before, after), ...linked } });
      const current = change.members ? (await tx.groups.listMembers(ctx.orgId, before.id, ALL_ROWS)).items : [];
      const key = (m: { memberType: MemberType; memberId: string }) => `${m.memberType}:${m.memberId}`;
      const wanted = new Set((change.members ?? []).map((m) => key({ memberType: m.type, memberId: m.id })));
      const removals = [...(change.remove ?? []), ...current.filter((m) => !wanted.has(key(m))).map((m) => ({ type: m.memberType, id: m.memberId }))];
      for (const r of removals) {
        const m: Membership = { groupId: before.id, memberType: r.type, memberId: r.id };
        if (await tx.groups.removeMember(ctx.orgId, m)) journal(tx, ctx, memberEntry(m, 'member_remove'));
      }
      const present = new Set(current.map(key));
      await this.addMembers(tx, ctx, before.id, [...(change.add ?? []), ...(change.members ?? []).filter((m) => !present.has(key({ memberType: m.type, memberId: m.id })))]);
      return after;
    });
  }

  /** `work` in the caller's transaction when there is one (a directory sync applying a batch), else in its own. */
  private within<T>(tx: Transaction | undefined, work: (tx: Transaction) => Promise<T>): Promise<T> {
    return tx ? work(tx) : this.deps.store.transaction(work);
  }

  /** Adds direct members inside the caller's transaction; one already there is skipped. */
  private async addMembers(tx: Transaction, ctx: Context, groupId: GroupId, members: readonly MemberRef[]): Promise<void> {
    for (const a of members) {
      const m = await this.resolveMembership(tx, ctx, groupId, a.type, a.id);
      if (a.type === 'user_group' && m.memberId === m.groupId) throw invalid('GROUP_SELF_MEMBER', 'A group cannot be a member of itself');
      if (await tx.groups.hasMember(ctx.orgId, m)) continue;
      await tx.groups.addMember(ctx.orgId, m, this.deps.clock().toISOString());
      journal(tx, ctx, memberEntry(m, 'member_add'));
    }
  }

  /** With `ifVersion`, only a group at that version is deleted. */
  async delete(ctx: Context, id: string, options: { ifVersion?: number; tx?: Transaction } = {}): Promise<UserGroup> {
    requirePermission(ctx, 'groups:write');
    return this.within(options.tx, async (tx) => {
      const group = await tx.groups.findById(ctx.orgId, id as GroupId, { forUpdate: true });
      if (!group) throw groupNotFound();
      await assertVersion(tx, ctx, 'user_group', group.id, options.ifVersion);
      // The group leaves the groups it was nested in; its own member list goes with it.
      for (const m of await tx.groups.parentsOf(ctx.orgId, 'user_group', [group.id])) {
        await tx.groups.removeMember(ctx.orgId, m);
        journal(tx, ctx, memberEntry(m, 'member_remove'));
      }
      await dissociateAll(tx, ctx, 'user_group', group.id);
      const unlinked = await removeAllLinks(tx, ctx, 'user_group', group.id);
      await tx.groups.delete(ctx.orgId, group.id);
      journal(tx, ctx, { objectType: 'user_group', objectId: group.id, operation: 'delete', changes: { ...changesBetween(group, null), ...unlinked } });
      return group;
    });
  }

  /** Adds a user (or, as a Roster extension, a group) to a group. */
  async addMember(ctx: Context, groupId: string, memberType: MemberType, memberId: string): Promise<void> {
    requirePermission(ctx, 'groups:write');
    await this.deps.store.transaction(async (tx) => {
      const m = await this.resolveMembership(tx, ctx, groupId, memberType, memberId);
      if (memberType === 'user_group' && m.memberId === m.groupId) {
        throw invalid('GROUP_SELF_MEMBER', 'A group cannot be a member of itself');
      }
      if (await tx.groups.hasMember(ctx.orgId, m)) throw conflict('MEMBER_EXISTS', `The ${memberType} is already a member of the group`);
      await tx.groups.addMember(ctx.orgId, m, this.deps.clock().toISOString());
      journal(tx, ctx, memberEntry(m, 'member_add'));
    });
  }

  async removeMember(ctx: Context, groupId: string, memberType: MemberType, memberId: string): Promise<void> {
    requirePermission(ctx, 'groups:write');
    await this.deps.store.transaction(async (tx) => {
      const group = await tx.groups.findById(ctx.orgId, groupId as GroupId, { forUpdate: true });
      if (!group) throw groupNotFound();
      const m: Membership = { groupId: group.id, memberType, memberId };
      if (!(await tx.groups.removeMember(ctx.orgId, m))) {
        throw notFound('MEMBER_NOT_FOUND', `The ${memberType} is not a member of the group`);
      }
      journal(tx, ctx, memberEntry(m, 'member_remove'));
    });
  }

  /** Direct members, users and groups. */
  async members(ctx: Context, groupId: string, page: Page): Promise<ListResult<Membership>> {
    const group = await this.get(ctx, groupId);
    return this.deps.store.read.groups.listMembers(ctx.orgId, group.id, page);
  }

  /** Every user in the group, directly or through nested groups, with the paths. */
  async membership(ctx: Context, groupId: string, query: ListQuery): Promise<ListResult<Reached>> {
    requirePermission(ctx, 'users:read');
    const group = await this.get(ctx, groupId);
    const repos = this.deps.store.read;
    const groups = await groupsWithin(repos, ctx.orgId, new Map([[group.id, [[]]]]), group.id);
    const page = await repos.reach.pageUsers(ctx.orgId, { groupIds: [...groups.keys()] as GroupId[] }, checkUserQuery(query));
    const paths = await userPaths(repos, ctx.orgId, groups, page.items.map((u) => u.id));
    return { total: page.total, items: page.items.map((u) => ({ ref: { type: 'user', id: u.id }, paths: paths.get(u.id) ?? [] })) };
  }

  /** Every group the user belongs to, directly or through nesting, with the paths. */
  async groupsOfUser(ctx: Context, userId: string, page: Page): Promise<ListResult<Reached>> {
    requirePermission(ctx, 'groups:read');
    const user = await this.deps.store.read.users.findById(ctx.orgId, userId as UserId);
    if (!user) throw notFound('USER_NOT_FOUND', 'User not found');
    const paths = await groupsContaining(this.deps.store.read, ctx.orgId, { type: 'user', id: user.id });
    return pageOf(toReached('user_group', paths), page);
  }

  /** Every group this group is nested in, transitively, with the paths. */
  async groupsOfGroup(ctx: Context, groupId: string, page: Page): Promise<ListResult<Reached>> {
    const group = await this.get(ctx, groupId);
    const paths = await groupsContaining(this.deps.store.read, ctx.orgId, { type: 'user_group', id: group.id });
    return pageOf(toReached('user_group', paths), page);
  }

  private async resolveMembership(tx: Transaction, ctx: Context, groupId: string, memberType: MemberType, memberId: string): Promise<Membership> {
    const group = await tx.groups.findById(ctx.orgId, groupId as GroupId, { forUpdate: true });
    if (!group) throw groupNotFound();
    const exists =
      memberType === 'user'
        ? await tx.users.findById(ctx.orgId, memberId as UserId)
        : await tx.groups.findById(ctx.orgId, memberId as GroupId);
    if (!exists) {
      throw notFound(memberType === 'user' ? 'USER_NOT_FOUND' : 'USER_GROUP_NOT_FOUND', `The ${memberType} to add was not found`);
    }
    return { groupId: group.id, memberType, memberId };
  }
}

function memberEntry(m: Membership, operation: 'member_add' | 'member_remove') {
  const member = { type: m.memberType, id: m.memberId };
  return {
    objectType: 'user_group' as const,
    objectId: m.groupId,
    operation,
    changes: { member: operation === 'member_add' ? { before: null, after: member } : { before: member, after: null } },
  };
}

async function assertNameFree(tx: Transaction, group: UserGroup) {
  const other = await tx.groups.findByName(group.orgId, group.name);
  if (other && other.id !== group.id && foldCase(other.name) === foldCase(group.name)) {
    throw conflict('GROUP_NAME_TAKEN', `A user group named ${group.name} already exists`, [
      { field: 'name', reason: 'GROUP_NAME_TAKEN', message: 'is taken' },
    ]);
  }
}

/** In-memory paging for graph results, which are bounded by the number of groups or resources. */
export function pageOf<T>(items: T[], page: Page): ListResult<T> {
  return { total: items.length, items: items.slice(page.skip, page.skip + page.limit) };
}

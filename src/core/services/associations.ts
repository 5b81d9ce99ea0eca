import { requirePermission, type Context } from '../context.js';
import { conflict, invalid, notFound } from '../errors.js';
import { groupsContaining, groupsWithin, resourceSeeds, toReached, userPaths } from '../graph.js';
import type { ApplicationId, DirectoryId, GroupId, RadiusServerId, UserId } from '../ids.js';
import type { Association, GraphEdge, GraphRef, Reached, ResourceType, SubjectType } from '../model.js';
import type { Repositories } from '../ports.js';
import type { ListQuery, ListResult, Page } from '../query.js';
import type { Permission } from '../roles.js';
import { associationEntry, journal, type Deps } from './deps.js';
import { pageOf } from './groups.js';
import { checkQuery as checkUserQuery } from './users.js';

export type AssociationOp = 'add' | 'remove' | 'update';

/** A direct edge as the graph endpoints list it. */
export interface Connection {
  from: GraphRef;
  to: GraphRef;
  attributes: Record<string, unknown> | null;
}

const DIRECTORY_TYPES: readonly ResourceType[] = ['ldap_server', 'active_directory', 'g_suite', 'office_365'];

async function resourceExists(repos: Repositories, ctx: Context, type: ResourceType, id: string): Promise<boolean> {
  if (type === 'application') return (await repos.applications.findById(ctx.orgId, id as ApplicationId)) !== undefined;
  if (DIRECTORY_TYPES.includes(type)) {
    const directory = await repos.directories.findById(ctx.orgId, id as DirectoryId);
    return directory?.type === type;
  }
  if (type === 'radius_server') return (await repos.radiusServers.findById(ctx.orgId, id as RadiusServerId)) !== undefined;
  // Systems and system groups have no objects yet, so nothing of theirs exists.
  return false;
}

async function subjectExists(repos: Repositories, ctx: Context, type: SubjectType, id: string): Promise<boolean> {
  return type === 'user'
    ? (await repos.users.findById(ctx.orgId, id as UserId)) !== undefined
    : (await repos.groups.findById(ctx.orgId, id as GroupId)) !== undefined;
}

const READ_PERMISSIONS: Partial<Record<SubjectType | ResourceType, Permission>> = {
  user: 'users:read',
  user_group: 'groups:read',
  application: 'applications:read',
  radius_server: 'radius:read',
};

const readPermission = (type: SubjectType | ResourceType): Permission => READ_PERMISSIONS[type] ?? 'directories:read';

const objectNotFound = (type: string) =>
  notFound(`${type.toUpperCase()}_NOT_FOUND`, `${type.replace('_', ' ')} not found`);

/** Access: associations between users or groups and resources, and what they grant transitively. */
export class AssociationService {
  constructor(private readonly deps: Deps) {}

  private get repos() {
    return this.deps.store.read;
  }

  private async requireSubject(ctx: Context, type: SubjectType, id: string) {
    requirePermission(ctx, readPermission(type));
    if (!(await subjectExists(this.repos, ctx, type, id))) throw objectNotFound(type);
  }

  private async requireResource(ctx: Context, type: ResourceType, id: string) {
    requirePermission(ctx, readPermission(type));
    if (!(await resourceExists(this.repos, ctx, type, id))) throw objectNotFound(type);
  }

  /** Direct associations of a user or group with resources of the given types. */
  async ofSubject(ctx: Context, type: SubjectType, id: string, targets: readonly ResourceType[], page: Page): Promise<ListResult<Connection>> {
    await this.requireSubject(ctx, type, id);
    const edges = await this.repos.associations.ofSubjects(ctx.orgId, type, [id], targets);
    return pageOf(
      edges.map((a) => ({ from: { type, id }, to: { type: a.resourceType, id: a.resourceId }, attributes: a.attributes })),
      page,
    );
  }

  /** Direct associations of a resource with users or groups. */
  async ofResource(ctx: Context, type: ResourceType, id: string, targets: readonly SubjectType[], page: Page): Promise<ListResult<Connection>> {
    await this.requireResource(ctx, type, id);
    const edges = await this.repos.associations.ofResource(ctx.orgId, type, id, targets);
    return pageOf(
      edges.map((a) => ({ from: { type, id }, to: { type: a.subjectType, id: a.subjectId }, attributes: a.attributes })),
      page,
    );
  }

  async change(
    ctx: Context,
    subject: { type: SubjectType; id: string },
    resource: { type: ResourceType; id: string },
    op: AssociationOp,
    attributes: Record<string, unknown> | null = null,
  ): Promise<void> {
    requirePermission(ctx, 'associations:write');
    const a: Association = { subjectType: subject.type, subjectId: subject.id, resourceType: resource.type, resourceId: resource.id, attributes };
    await this.deps.store.transaction(async (tx) => {
      if (!(await subjectExists(tx, ctx, subject.type, subject.id))) throw objectNotFound(subject.type);
      if (!(await resourceExists(tx, ctx, resource.type, resource.id))) throw objectNotFound(resource.type);
      const existing = await tx.associations.find(ctx.orgId, a);
      if (op === 'add') {
        if (existing) throw conflict('ASSOCIATION_EXISTS', `The ${subject.type} is already associated with the ${resource.type}`);
        await tx.associations.add(ctx.orgId, a, this.deps.clock().toISOString());
        journal(tx, ctx, associationEntry(a, 'associate'));
      } else if (op === 'remove') {
        if (!existing) throw notFound('ASSOCIATION_NOT_FOUND', `The ${subject.type} is not associated with the ${resource.type}`);
        await tx.associations.remove(ctx.orgId, a);
        journal(tx, ctx, associationEntry(existing, 'dissociate'));
      } else {
        if (!existing) throw notFound('ASSOCIATION_NOT_FOUND', `The ${subject.type} is not associated with the ${resource.type}`);
        await tx.associations.remove(ctx.orgId, a);
        await tx.associations.add(ctx.orgId, a, this.deps.clock().toISOString());
        journal(tx, ctx, associationEntry(a, 'update', existing));
      }
    });
  }

  /** Resources a user can reach: direct associations and those of every group the user is in. */
  async resourcesOfSubject(ctx: Context, type: SubjectType, id: string, targets: readonly ResourceType[], page: Page): Promise<ListResult<Reached>> {
    await this.requireSubject(ctx, type, id);
    for (const t of targets) requirePermission(ctx, readPermission(t));
    const groups = await groupsContaining(this.repos, ctx.orgId, { type, id });
    const reached = new Map<string, { ref: GraphRef; paths: GraphEdge[][] }>();
    const add = (a: Association, via: GraphEdge[]) => {
      const key = `${a.resourceType}:${a.resourceId}`;
      const entry = reached.get(key) ?? { ref: { type: a.resourceType, id: a.resourceId }, paths: [] };
      const from: GraphRef = { type: a.subjectType, id: a.subjectId };
      entry.paths.push([...via, { from, to: entry.ref, attributes: a.attributes }]);
      reached.set(key, entry);
    };
    for (const a of await this.repos.associations.ofSubjects(ctx.orgId, type, [id], targets)) add(a, []);
    const viaGroups = await this.repos.associations.ofSubjects(ctx.orgId, 'user_group', [...groups.keys()], targets);
    for (const a of viaGroups) for (const path of groups.get(a.subjectId) ?? []) add(a, path);
    const items = [...reached.values()].sort((x, y) => (x.ref.id < y.ref.id ? -1 : x.ref.id > y.ref.id ? 1 : 0));
    return pageOf(items, page);
  }

  /** Users with access to a resource, directly or through (nested) groups, with the paths. */
  async usersOfResource(ctx: Context, type: ResourceType, id: string, query: ListQuery): Promise<ListResult<Reached>> {
    await this.requireResource(ctx, type, id);
    requirePermission(ctx, 'users:read');
    const origin: GraphRef = { type, id };
    const associations = await this.repos.associations.ofResource(ctx.orgId, type, id, ['user', 'user_group']);
    const groups = await groupsWithin(this.repos, ctx.orgId, resourceSeeds(origin, associations), id);
    const page = await this.repos.reach.pageUsers(
      ctx.orgId,
      { groupIds: [...groups.keys()] as GroupId[], resource: { type, id } },
      checkUserQuery(query),
    );
    const paths = await userPaths(this.repos, ctx.orgId, groups, page.items.map((u) => u.id), { origin, associations });
    return { total: page.total, items: page.items.map((u) => ({ ref: { type: 'user', id: u.id }, paths: paths.get(u.id) ?? [] })) };
  }

  /** Groups with access to a resource: those associated and every group nested in them. */
  async groupsOfResource(ctx: Context, type: ResourceType, id: string, page: Page): Promise<ListResult<Reached>> {
    await this.requireResource(ctx, type, id);
    requirePermission(ctx, 'groups:read');
    const origin: GraphRef = { type, id };
    const associations = await this.repos.associations.ofResource(ctx.orgId, type, id, ['user_group']);
    const groups = await groupsWithin(this.repos, ctx.orgId, resourceSeeds(origin, associations), id);
    return pageOf(toReached('user_group', groups), page);
  }

  /** Validates a target list from a query string. */
  static checkTargets<T extends string>(targets: readonly string[], allowed: readonly T[]): T[] {
    if (targets.length === 0) throw invalid('TARGETS_REQUIRED', `targets is required: one or more of ${allowed.join(', ')}`);
    const bad = targets.filter((t) => !(allowed as readonly string[]).includes(t));
    if (bad.length > 0) throw invalid('INVALID_TARGETS', `unknown targets ${bad.join(', ')}; use ${allowed.join(', ')}`);
    return [...new Set(targets)] as T[];
  }
}

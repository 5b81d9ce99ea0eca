import type { GroupId, OrgId, UserId } from './ids.js';
import type { Association, GraphEdge, GraphRef, Reached } from './model.js';
import type { Repositories } from './ports.js';

/** Paths kept per reached object; enough to explain access without enumerating a dense graph. */
export const MAX_PATHS = 10;
/** Nesting deeper than this is not followed (AD allows cycles and deep chains; neither may hang us). */
export const MAX_DEPTH = 32;

type Paths = Map<string, GraphEdge[][]>;

const group = (id: string): GraphRef => ({ type: 'user_group', id });

const onPath = (path: GraphEdge[], origin: string, node: string) =>
  origin === node || path.some((e) => e.to.id === node);

/**
 * Breadth-first over group-in-group edges from `seeds` (node → paths already leading to it).
 * Each path stays simple, so cycles end the walk instead of looping; each node keeps at most
 * MAX_PATHS paths and is expanded again only when it gained one.
 */
async function walk(seeds: Paths, origin: string, step: (ids: string[]) => Promise<{ from: string; to: string }[]>): Promise<Paths> {
  const reached: Paths = new Map([...seeds].map(([k, v]) => [k, [...v]]));
  let frontier: Paths = seeds;
  for (let depth = 0; frontier.size > 0 && depth < MAX_DEPTH; depth++) {
    const next: Paths = new Map();
    for (const { from, to } of await step([...frontier.keys()])) {
      for (const path of frontier.get(from) ?? []) {
        if (onPath(path, path[0]?.from.id ?? origin, to)) continue;
        const known = reached.get(to) ?? [];
        if (known.length >= MAX_PATHS) continue;
        const extended = [...path, { from: group(from), to: group(to), attributes: null }];
        known.push(extended);
        reached.set(to, known);
        next.set(to, [...(next.get(to) ?? []), extended]);
      }
    }
    frontier = next;
  }
  return reached;
}

/** Every group `start` belongs to, directly or through nesting, with the paths from `start`. */
export async function groupsContaining(repos: Repositories, orgId: OrgId, start: GraphRef & { type: 'user' | 'user_group' }): Promise<Paths> {
  const seeds: Paths = new Map();
  for (const m of await repos.groups.parentsOf(orgId, start.type, [start.id])) {
    if (m.groupId === start.id) continue;
    seeds.set(m.groupId, [[{ from: start, to: group(m.groupId), attributes: null }]]);
  }
  return walk(seeds, start.id, async (ids) =>
    (await repos.groups.parentsOf(orgId, 'user_group', ids)).map((m) => ({ from: m.memberId, to: m.groupId })),
  );
}

/** Groups nested (transitively) inside the seeds, plus the seeds, with paths from the origin. */
export async function groupsWithin(repos: Repositories, orgId: OrgId, seeds: Paths, origin: string): Promise<Paths> {
  return walk(seeds, origin, async (ids) =>
    (await repos.groups.childGroupsOf(orgId, ids as GroupId[])).map((m) => ({ from: m.groupId, to: m.memberId })),
  );
}

/** Seeds for walking down from a resource: the groups associated with it. */
export function resourceSeeds(resource: GraphRef, associations: readonly Association[]): Paths {
  const seeds: Paths = new Map();
  for (const a of associations) {
    if (a.subjectType !== 'user_group') continue;
    seeds.set(a.subjectId, [[{ from: resource, to: group(a.subjectId), attributes: a.attributes }]]);
  }
  return seeds;
}

/**
 * Paths to each user on a page: through every reached group that holds the user directly, plus a
 * direct edge from `origin` where the user is associated with it directly.
 */
export async function userPaths(
  repos: Repositories,
  orgId: OrgId,
  groups: Paths,
  userIds: readonly UserId[],
  direct?: { origin: GraphRef; associations: readonly Association[] },
): Promise<Map<string, GraphEdge[][]>> {
  const out = new Map<string, GraphEdge[][]>(userIds.map((id) => [id, []]));
  if (direct) {
    for (const a of direct.associations) {
      if (a.subjectType === 'user' && out.has(a.subjectId)) {
        out.get(a.subjectId)!.push([{ from: direct.origin, to: { type: 'user', id: a.subjectId }, attributes: a.attributes }]);
      }
    }
  }
  for (const m of await repos.groups.userMemberships(orgId, [...groups.keys()] as GroupId[], userIds)) {
    const list = out.get(m.memberId)!;
    for (const path of groups.get(m.groupId) ?? []) {
      if (list.length >= MAX_PATHS) break;
      list.push([...path, { from: group(m.groupId), to: { type: 'user', id: m.memberId }, attributes: null }]);
    }
  }
  return out;
}

/** Reached objects in id order, so in-memory pages are stable. */
export const toReached = (type: GraphRef['type'], paths: Paths): Reached[] =>
  [...paths]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([id, p]) => ({ ref: { type, id }, paths: p }));

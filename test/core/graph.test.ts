import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupsContaining, groupsWithin, MAX_DEPTH, MAX_PATHS, resourceSeeds, toReached, userPaths } from '../../src/core/graph.js';
import { newId, type GroupId, type OrgId, type UserId } from '../../src/core/ids.js';
import type { GraphEdge, GraphRef, User } from '../../src/core/model.js';
import { openTestCore, type TestCore } from '../support/core.js';

/** A path written as the ids it visits: origin>g1>g2. */
const show = (path: GraphEdge[]) => [path[0]?.from.id, ...path.map((e) => e.to.id)].join('>');
const shows = (paths: GraphEdge[][] | undefined) => (paths ?? []).map(show).sort();

describe('the directory graph', () => {
  let t: TestCore;
  let orgId: OrgId;
  beforeAll(async () => {
    t = await openTestCore();
    orgId = t.ctx.orgId;
  });
  afterAll(() => t.dispose());

  const repos = () => t.core.store.read;
  const at = '2024-01-01T00:00:00.000Z';

  async function groups(...names: string[]): Promise<GroupId[]> {
    const ids: GroupId[] = [];
    for (const name of names) ids.push((await t.core.groups.create(t.ctx, { name: `${name}-${newId()}` })).id);
    return ids;
  }
  async function user(): Promise<User> {
    return t.core.users.create(t.ctx, { username: `u${newId()}`, email: `${newId()}@x.test` });
  }
  /** `child` becomes a member of `parent`, written directly so self-loops are possible. */
  async function nest(parent: GroupId, memberId: string, memberType: 'user' | 'user_group' = 'user_group') {
    await t.core.store.transaction((tx) => tx.groups.addMember(orgId, { groupId: parent, memberType, memberId }, at));
  }
  const up = (ref: GraphRef & { type: 'user' | 'user_group' }) => groupsContaining(repos(), orgId, ref);
  const down = (start: GroupId) => groupsWithin(repos(), orgId, new Map([[start, [[]]]]), start);

  it('groupsContaining: transitive groups of a user, each with its path', async () => {
    const u = await user();
    const [a, b, c, unrelated] = await groups('a', 'b', 'c', 'unrelated');
    await nest(a!, u.id, 'user');
    await nest(b!, a!);
    await nest(c!, b!);
    await nest(unrelated!, c!, 'user'); // a user membership of the same id is not a group edge
    const reached = await up({ type: 'user', id: u.id });
    expect([...reached.keys()].sort()).toEqual([a, b, c].sort());
    expect(shows(reached.get(a!))).toEqual([`${u.id}>${a}`]);
    expect(shows(reached.get(c!))).toEqual([`${u.id}>${a}>${b}>${c}`]);
    const edge = reached.get(b!)![0]![1]!;
    expect(edge).toEqual({ from: { type: 'user_group', id: a }, to: { type: 'user_group', id: b }, attributes: null });
    expect(reached.get(a!)![0]![0]!.from).toEqual({ type: 'user', id: u.id });
  });

  it('groupsContaining from a group leaves the group itself out', async () => {
    const [a, b] = await groups('a', 'b');
    await nest(b!, a!);
    const reached = await up({ type: 'user_group', id: a! });
    expect([...reached.keys()]).toEqual([b]);
    expect(shows(reached.get(b!))).toEqual([`${a}>${b}`]);
  });

  it('groupsWithin: transitive subgroups, the start included with an empty path', async () => {
    const [top, mid, leaf, side] = await groups('top', 'mid', 'leaf', 'side');
    await nest(top!, mid!);
    await nest(mid!, leaf!);
    await nest(top!, side!);
    const reached = await down(top!);
    expect([...reached.keys()].sort()).toEqual([top, mid, leaf, side].sort());
    expect(reached.get(top!)).toEqual([[]]);
    expect(shows(reached.get(leaf!))).toEqual([`${top}>${mid}>${leaf}`]);
    expect(shows(reached.get(side!))).toEqual([`${top}>${side}`]);
  });

  it('a cycle A∈B∈A terminates with finite, simple paths', async () => {
    const u = await user();
    const [a, b] = await groups('a', 'b');
    await nest(a!, u.id, 'user');
    await nest(b!, a!);
    await nest(a!, b!);
    const reached = await up({ type: 'user', id: u.id });
    expect([...reached.keys()].sort()).toEqual([a, b].sort());
    expect(shows(reached.get(a!))).toEqual([`${u.id}>${a}`]);
    expect(shows(reached.get(b!))).toEqual([`${u.id}>${a}>${b}`]);
    const fromA = await up({ type: 'user_group', id: a! });
    expect([...fromA.keys()]).toEqual([b]);
    const within = await down(a!);
    expect([...within.keys()].sort()).toEqual([a, b].sort());
    expect(shows(within.get(b!))).toEqual([`${a}>${b}`]);
    expect(within.get(a!)).toEqual([[]]);
  });

  it('a longer cycle A∈B∈C∈A reports each group once', async () => {
    const u = await user();
    const [a, b, c] = await groups('a', 'b', 'c');
    await nest(a!, u.id, 'user');
    await nest(b!, a!);
    await nest(c!, b!);
    await nest(a!, c!);
    const reached = await up({ type: 'user', id: u.id });
    expect([...reached.keys()].sort()).toEqual([a, b, c].sort());
    for (const paths of reached.values()) expect(paths).toHaveLength(1);
  });

  it('a self-loop is ignored', async () => {
    const u = await user();
    const [a, b] = await groups('a', 'b');
    await nest(a!, u.id, 'user');
    await nest(a!, a!);
    await nest(b!, a!);
    const reached = await up({ type: 'user', id: u.id });
    expect(shows(reached.get(a!))).toEqual([`${u.id}>${a}`]);
    expect(shows(reached.get(b!))).toEqual([`${u.id}>${a}>${b}`]);
    expect([...(await up({ type: 'user_group', id: a! })).keys()]).toEqual([b]);
    const within = await down(a!);
    expect([...within.keys()]).toEqual([a]);
    expect(within.get(a!)).toEqual([[]]);
  });

  it('a diamond reports both paths to the top', async () => {
    const u = await user();
    const [base, left, right, top] = await groups('base', 'left', 'right', 'top');
    await nest(base!, u.id, 'user');
    await nest(left!, base!);
    await nest(right!, base!);
    await nest(top!, left!);
    await nest(top!, right!);
    const reached = await up({ type: 'user', id: u.id });
    expect(shows(reached.get(top!))).toEqual([`${u.id}>${base}>${left}>${top}`, `${u.id}>${base}>${right}>${top}`].sort());
    const within = await down(top!);
    expect(shows(within.get(base!))).toEqual([`${top}>${left}>${base}`, `${top}>${right}>${base}`].sort());
    // And a user directly in both arms is reached from the top twice.
    const v = await user();
    await nest(left!, v.id, 'user');
    await nest(right!, v.id, 'user');
    const paths = await userPaths(repos(), orgId, within, [v.id]);
    expect(shows(paths.get(v.id))).toEqual([`${top}>${left}>${v.id}`, `${top}>${right}>${v.id}`].sort());
  });

  it(`nesting deeper than MAX_DEPTH (${MAX_DEPTH}) is not followed`, async () => {
    const u = await user();
    const chain = await groups(...Array.from({ length: MAX_DEPTH + 5 }, (_, i) => `d${i}`));
    await nest(chain[0]!, u.id, 'user');
    for (let i = 1; i < chain.length; i++) await nest(chain[i]!, chain[i - 1]!);
    const reached = await up({ type: 'user', id: u.id });
    expect(reached.size).toBe(MAX_DEPTH + 1);
    expect(reached.has(chain[MAX_DEPTH]!)).toBe(true);
    expect(reached.has(chain[MAX_DEPTH + 1]!)).toBe(false);
    expect(reached.get(chain[MAX_DEPTH]!)![0]).toHaveLength(MAX_DEPTH + 1);
    const within = await down(chain.at(-1)!);
    expect(within.size).toBe(MAX_DEPTH + 1);
  });

  it(`keeps at most MAX_PATHS (${MAX_PATHS}) paths to one group`, async () => {
    const u = await user();
    const arms = await groups(...Array.from({ length: MAX_PATHS + 3 }, (_, i) => `arm${i}`));
    const [top, above] = await groups('top', 'above');
    for (const arm of arms) {
      await nest(arm, u.id, 'user');
      await nest(top!, arm);
    }
    await nest(above!, top!);
    const reached = await up({ type: 'user', id: u.id });
    expect(reached.get(top!)).toHaveLength(MAX_PATHS);
    expect(reached.get(above!)!.length).toBeLessThanOrEqual(MAX_PATHS);
    expect(reached.get(above!)!.length).toBeGreaterThan(0);
    for (const arm of arms) expect(reached.get(arm)).toHaveLength(1);
    const within = await down(top!);
    const paths = await userPaths(repos(), orgId, within, [u.id]);
    expect(paths.get(u.id)).toHaveLength(MAX_PATHS);
  });

  it('paths from a resource start at the resource and carry association attributes', async () => {
    const app = await t.core.applications.create(t.ctx, { name: `app-${newId()}` });
    const [g, sub] = await groups('g', 'sub');
    const [u, v] = [await user(), await user()];
    await nest(g!, sub!);
    await nest(sub!, u.id, 'user');
    await t.core.associations.change(t.ctx, { type: 'user_group', id: g! }, { type: 'application', id: app.id }, 'add', { sudo: { enabled: true } });
    await t.core.associations.change(t.ctx, { type: 'user', id: v.id }, { type: 'application', id: app.id }, 'add');
    const origin: GraphRef = { type: 'application', id: app.id };
    const associations = await repos().associations.ofResource(orgId, 'application', app.id, ['user', 'user_group']);
    const within = await groupsWithin(repos(), orgId, resourceSeeds(origin, associations), app.id);
    expect(shows(within.get(sub!))).toEqual([`${app.id}>${g}>${sub}`]);
    expect(within.get(g!)![0]![0]).toEqual({ from: origin, to: { type: 'user_group', id: g }, attributes: { sudo: { enabled: true } } });
    const paths = await userPaths(repos(), orgId, within, [u.id, v.id], { origin, associations });
    expect(shows(paths.get(u.id))).toEqual([`${app.id}>${g}>${sub}>${u.id}`]);
    expect(shows(paths.get(v.id))).toEqual([`${app.id}>${v.id}`]);

    // The services report the same, through the API's shape.
    const users = await t.core.associations.usersOfResource(t.ctx, 'application', app.id, { sort: [], page: { limit: 10, skip: 0 } });
    expect(users.items.map((r) => r.ref.id).sort()).toEqual([u.id, v.id].sort());
    const reached = await t.core.associations.resourcesOfSubject(t.ctx, 'user', u.id, ['application'], { limit: 10, skip: 0 });
    expect(reached.items.map((r) => shows(r.paths))).toEqual([[`${u.id}>${sub}>${g}>${app.id}`]]);
  });

  it('toReached lists objects in id order', () => {
    const ids = [newId<UserId>(), newId<UserId>(), newId<UserId>()];
    const reached = toReached('user_group', new Map(ids.map((id) => [id, []])));
    expect(reached.map((r) => r.ref.id)).toEqual([...ids].sort());
    expect(reached[0]!.ref.type).toBe('user_group');
  });
});

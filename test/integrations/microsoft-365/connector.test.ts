import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ExportOp } from '../../../src/core/services/directory-export.js';
import type { SourceObject } from '../../../src/core/services/directory-sync.js';
import type { CloudConnector } from '../../../src/sync/cloud-connector.js';
import { microsoft365Connector, type Microsoft365Connection } from '../../../src/integrations/microsoft-365/connector.js';
import { SyncError } from '../../../src/sync/errors.js';
import { passwordMeetsPolicy, startGraphEmulator, type GraphEmulator } from '../../support/graph-emulator.js';

/**
 * The Microsoft 365 connector, running Microsoft's Graph client and @azure/identity (MSAL) against
 * the local Graph emulator over TLS: delta reads, scope, writes, takeovers, lost answers, throttling
 * and refused credentials.
 */

const PASSWORD = 'Corr3ct-Horse!';
const PASSWORD_MESSAGE = 'The specified password does not comply with password complexity requirements. Please provide a different password.';

let em: GraphEmulator;
let delays: number[];

beforeEach(async () => {
  em = await startGraphEmulator({ domain: 'contoso.example' });
  delays = [];
});
afterEach(async () => {
  await em.close();
});

function connect(over: Partial<Microsoft365Connection> = {}): CloudConnector {
  return microsoft365Connector({
    tenantId: em.tenantId,
    clientId: em.clientId,
    clientSecret: em.clientSecret,
    domain: em.domain,
    domainMap: { 'roster.example': 'contoso.example' },
    usageLocation: 'DE',
    groupType: 'security',
    scope: { groupId: null },
    authorityHost: em.authorityHost,
    graphBaseUrl: em.graphBaseUrl,
    ca: em.ca,
    // Waits are recorded and move the emulator's clock instead of the test's.
    retry: {
      attempts: 6,
      baseDelayMs: 1,
      maxDelayMs: 5,
      maxRetryAfterMs: 60_000,
      sleep: async (ms) => {
        delays.push(ms);
        em.advance(ms);
      },
    },
    timeoutMs: 5_000,
    ...over,
  });
}

const person = (name: string, extra: Record<string, unknown> = {}) =>
  em.admin.createUser({ userPrincipalName: `${name}@contoso.example`, displayName: name, givenName: name, mail: `${name}@roster.example`, ...extra });
const users = (objects: SourceObject[]) => objects.filter((o) => o.kind === 'user');
const groups = (objects: SourceObject[]) => objects.filter((o) => o.kind === 'user_group');
const byId = (objects: SourceObject[], id: string) => objects.find((o) => o.externalId === id);
const sorted = (ids: string[]) => [...ids].sort();
const deltaCalls = (kind: 'users' | 'groups') => em.requests.filter((r) => r.path === `/v1.0/${kind}/delta`).length;

const createUser = (name: string, attributes: Record<string, string> = {}, disabled = false): ExportOp => ({
  op: 'create_user',
  localId: `local-${name}`,
  name,
  parentDn: '',
  attributes: { username: name, ...attributes },
  disabled,
});

describe('read', () => {
  it('reads everything in full, paging through users/delta, with groups and their direct members', async () => {
    const all = Array.from({ length: 250 }, (_, i) =>
      person(`user${i}`, { surname: `Number${i}`, jobTitle: i === 0 ? 'Engineer' : null, department: i === 0 ? 'R&D' : null, employeeId: i === 0 ? 'E-0' : null, usageLocation: i === 0 ? 'FR' : null }),
    );
    const [u0, u1, u2, u3] = all as [typeof all[0], typeof all[0], typeof all[0], typeof all[0]];
    const eng = em.admin.createGroup({ displayName: 'Engineering', description: 'Builds', members: [u0.id, u1.id] });
    const team = em.admin.createGroup({ displayName: 'Team Alpha', type: 'microsoft365', members: [u2.id, eng.id] });
    const dl = em.admin.createGroup({ displayName: 'All Staff', type: 'distribution', members: [u3.id] });
    em.admin.addMember(eng.id, dl.id);

    const read = await connect().read(null);

    expect(read.mode).toBe('full');
    expect(users(read.objects)).toHaveLength(250);
    expect(read.seen?.users).toHaveLength(250);
    expect(sorted(read.seen?.groups ?? [])).toEqual(sorted([eng.id, team.id]));
    expect(deltaCalls('users')).toBe(3);
    expect(byId(read.objects, u0.id)).toEqual({
      kind: 'user',
      externalId: u0.id,
      present: true,
      disabled: false,
      privileged: false,
      attributes: {
        username: ['user0'],
        userprincipalname: ['user0@contoso.example'],
        mail: ['user0@roster.example'],
        givenname: ['user0'],
        surname: ['Number0'],
        displayname: ['user0'],
        jobtitle: ['Engineer'],
        department: ['R&D'],
        employeeid: ['E-0'],
        usagelocation: ['FR'],
        mailnickname: ['user0'],
      },
    });
    // The distribution list is neither imported nor kept as a member.
    expect(byId(read.objects, eng.id)).toMatchObject({ attributes: { name: ['Engineering'], description: ['Builds'], mailnickname: [eng.mailNickname] } });
    expect(sorted(byId(read.objects, eng.id)!.members!.map((m) => m.externalId))).toEqual(sorted([u0.id, u1.id]));
    expect(byId(read.objects, team.id)!.members).toEqual([
      { kind: 'user', externalId: u2.id },
      { kind: 'user_group', externalId: eng.id },
    ]);
    expect(JSON.parse(read.cursor!)).toEqual({ users: expect.stringContaining('/v1.0/users/delta?$deltatoken='), groups: expect.stringContaining('/v1.0/groups/delta?$deltatoken=') });
  });

  it('reads from the delta links only what changed, removals included', async () => {
    const [a, b, c, d] = ['ann', 'ben', 'cid', 'dot'].map((n) => person(n)) as [ReturnType<typeof person>, ReturnType<typeof person>, ReturnType<typeof person>, ReturnType<typeof person>];
    em.admin.createGroup({ displayName: 'Ops', members: [a.id] });
    const connector = connect();
    const full = await connector.read(null);

    em.admin.updateUser(a.id, { jobTitle: 'CTO' });
    em.admin.deleteUser(b.id);
    em.admin.updateUser(c.id, { accountEnabled: false });
    const e = person('eve');
    const next = await connector.read(full.cursor);

    expect(next.mode).toBe('incremental');
    expect(next.seen).toBeUndefined();
    expect(sorted(next.objects.map((o) => o.externalId))).toEqual(sorted([a.id, b.id, c.id, e.id]));
    expect(byId(next.objects, a.id)).toMatchObject({ present: true, attributes: { jobtitle: ['CTO'], userprincipalname: ['ann@contoso.example'] } });
    expect(byId(next.objects, b.id)).toEqual({ kind: 'user', externalId: b.id, attributes: {}, present: false, gone: 'deleted' });
    expect(byId(next.objects, c.id)).toMatchObject({ present: true, disabled: true });
    expect(byId(next.objects, d.id)).toBeUndefined();

    const quiet = await connector.read(next.cursor);
    expect(quiet).toMatchObject({ mode: 'incremental', objects: [] });
  });

  it('sees membership changes through groups/delta and reads the full member list', async () => {
    const [a, b, c] = ['ann', 'ben', 'cid'].map((n) => person(n)) as [ReturnType<typeof person>, ReturnType<typeof person>, ReturnType<typeof person>];
    const ops = em.admin.createGroup({ displayName: 'Ops', members: [a.id, b.id] });
    const gone = em.admin.createGroup({ displayName: 'Old' });
    const connector = connect();
    const full = await connector.read(null);

    em.admin.addMember(ops.id, c.id);
    em.admin.removeMember(ops.id, a.id);
    em.admin.deleteGroup(gone.id);
    const next = await connector.read(full.cursor);

    expect(users(next.objects)).toEqual([]);
    expect(sorted(byId(next.objects, ops.id)!.members!.map((m) => m.externalId))).toEqual(sorted([b.id, c.id]));
    expect(byId(next.objects, gone.id)).toMatchObject({ kind: 'user_group', present: false, gone: 'deleted' });
    expect(groups(next.objects)).toHaveLength(2);
  });

  it('reads in full again when Graph no longer honours the delta links (410 Gone, or 400 syncStateNotFound after 7 days)', async () => {
    person('ann');
    const connector = connect();
    const first = await connector.read(null);

    em.expireDeltaTokens(410);
    const afterGone = await connector.read(first.cursor);
    expect(afterGone.mode).toBe('full');
    expect(afterGone.seen?.users).toHaveLength(1);
    expect(em.requests.some((r) => r.status === 410)).toBe(true);

    em.expireDeltaTokens(400);
    const fresh = await connector.read(null);
    em.advance(8 * 24 * 3600_000);
    const afterWeek = await connector.read(fresh.cursor);
    expect(afterWeek.mode).toBe('full');
    expect(em.requests.some((r) => r.status === 400 && r.path.endsWith('/delta'))).toBe(true);
  });

  it('with a scope group, imports its transitive members only and reads in full every time', async () => {
    const [a, b, c] = ['ann', 'ben', 'cid'].map((n) => person(n)) as [ReturnType<typeof person>, ReturnType<typeof person>, ReturnType<typeof person>];
    const nested = em.admin.createGroup({ displayName: 'Nested', members: [b.id] });
    const scope = em.admin.createGroup({ displayName: 'Roster users', members: [a.id, nested.id] });
    const sales = em.admin.createGroup({ displayName: 'Sales', members: [a.id, c.id, nested.id] });
    const connector = connect({ scope: { groupId: scope.id } });

    const read = await connector.read(null);
    expect(read).toMatchObject({ mode: 'full', cursor: null });
    expect(sorted(users(read.objects).map((u) => u.externalId))).toEqual(sorted([a.id, b.id]));
    expect(sorted(read.seen!.users)).toEqual(sorted([a.id, b.id]));
    expect(byId(read.objects, sales.id)!.members).toEqual([
      { kind: 'user', externalId: a.id },
      { kind: 'user_group', externalId: nested.id },
    ]);
    expect((await connector.read('{"users":"x","groups":"y"}')).mode).toBe('full');

    await expect(connect({ scope: { groupId: '00000000-0000-4000-8000-000000000000' } }).read(null)).rejects.toMatchObject({ kind: 'stop' });
  });

  it('flags holders of a directory role as privileged, reading the roles once per read', async () => {
    const admin = person('root');
    const plain = person('ann');
    em.admin.assignRole(admin.id, 'Global Administrator');
    const read = await connect().read(null);
    expect(byId(read.objects, admin.id)?.privileged).toBe(true);
    expect(byId(read.objects, plain.id)?.privileged).toBe(false);
    expect(em.requests.filter((r) => r.path === '/v1.0/directoryRoles')).toHaveLength(1);
  });
});

describe('apply', () => {
  it('creates, updates, disables and deletes users, and creates groups and changes their members', async () => {
    const connector = connect();
    const ada = await connector.apply(createUser('ada', { givenname: 'Ada', surname: 'Lovelace', mail: 'ada@roster.example', jobtitle: 'Analyst', department: 'R&D' }));
    expect(ada).toMatchObject({ ok: true, disabled: false, passwordSet: false });
    expect(em.user(ada.externalId!)).toMatchObject({
      userPrincipalName: 'ada@contoso.example',
      displayName: 'Ada Lovelace',
      mailNickname: 'ada',
      givenName: 'Ada',
      mail: 'ada@roster.example',
      jobTitle: 'Analyst',
      usageLocation: 'DE',
      accountEnabled: true,
    });
    expect(passwordMeetsPolicy(em.user(ada.externalId!)!.password)).toBe(true);

    const bob = await connector.apply(createUser('bob', { mail: 'bob@elsewhere.example' }, true), { password: PASSWORD });
    expect(bob).toMatchObject({ ok: true, disabled: true, passwordSet: true });
    expect(em.user(bob.externalId!)).toMatchObject({ userPrincipalName: 'bob@contoso.example', displayName: 'bob', accountEnabled: false, password: PASSWORD });

    const update: ExportOp = { op: 'update_user', localId: 'local-ada', name: 'ada', externalId: ada.externalId!, changes: { jobtitle: 'Engineer', department: null, username: 'ada2' }, disabled: true };
    expect(await connector.apply(update)).toMatchObject({ ok: true });
    expect(em.user(ada.externalId!)).toMatchObject({ jobTitle: 'Engineer', department: null, accountEnabled: false, userPrincipalName: 'ada@contoso.example' });

    const group = await connector.apply({ op: 'create_group', localId: 'g1', name: 'Platform Team', parentDn: '', attributes: { description: 'Builds things' } });
    expect(group.ok).toBe(true);
    expect(em.group(group.externalId!)).toMatchObject({ displayName: 'Platform Team', description: 'Builds things', mailNickname: 'Platform-Team', securityEnabled: true, mailEnabled: false, groupTypes: [] });

    const members = (add: string[], remove: string[], changes: Record<string, string | null> = {}): ExportOp => ({ op: 'update_group', localId: 'g1', name: 'Platform Team', externalId: group.externalId!, changes, add, remove });
    expect(await connector.apply(members([ada.externalId!, bob.externalId!], [], { description: null }))).toMatchObject({ ok: true });
    expect(em.group(group.externalId!)).toMatchObject({ description: null, members: [ada.externalId, bob.externalId] });
    // Adding a member already there and removing one not there are done already.
    expect(await connector.apply(members([ada.externalId!], [bob.externalId!, '11111111-1111-4111-8111-111111111111']))).toMatchObject({ ok: true });
    expect(em.group(group.externalId!)!.members).toEqual([ada.externalId]);

    const del: ExportOp = { op: 'delete_user', localId: 'local-bob', name: 'bob', externalId: bob.externalId!, reason: 'deprovisioned' };
    expect(await connector.apply(del)).toMatchObject({ ok: true, deleted: true });
    expect(em.user(bob.externalId!)).toBeUndefined();
    expect(await connector.apply(del)).toMatchObject({ ok: true, deleted: true });
    expect(await connector.apply({ ...update, externalId: bob.externalId! })).toMatchObject({ ok: false, gone: true });

    em.admin.deleteGroup(group.externalId!);
    expect(await connector.apply(members([ada.externalId!], []))).toMatchObject({ ok: false, gone: true });
  });

  it('creates Microsoft 365 groups, with a suffix when the alias is taken', async () => {
    const connector = connect({ groupType: 'microsoft365' });
    const op: ExportOp = { op: 'create_group', localId: 'g', name: 'Design', parentDn: '', attributes: {} };
    const first = await connector.apply(op);
    const second = await connector.apply(op);
    expect(em.group(first.externalId!)).toMatchObject({ groupTypes: ['Unified'], mailEnabled: true, securityEnabled: false, mailNickname: 'Design' });
    expect(em.group(second.externalId!)!.mailNickname).toMatch(/^Design-[0-9a-f]{4}$/);
  });

  it('takes over an account that exists already under the principal name, but never an administrator', async () => {
    const existing = person('grace', { accountEnabled: false });
    const connector = connect();
    const out = await connector.apply(createUser('grace', { givenname: 'Grace', surname: 'Hopper' }), { password: PASSWORD });
    expect(out).toMatchObject({ ok: true, externalId: existing.id, disabled: true, passwordSet: true });
    expect(em.user(existing.id)).toMatchObject({ givenName: 'Grace', surname: 'Hopper', password: PASSWORD, accountEnabled: false });
    expect(em.users().filter((u) => u.userPrincipalName === 'grace@contoso.example')).toHaveLength(1);

    const root = person('root');
    em.admin.assignRole(root.id);
    const refused = await connector.apply(createUser('root', { givenname: 'Mallory' }), { password: PASSWORD });
    expect(refused).toMatchObject({ ok: false, error: expect.stringContaining('administrator') });
    expect(em.user(root.id)).toMatchObject({ givenName: 'root', password: root.password });
  });

  it('creates exactly one account and one group when Graph commits but the answer is lost', async () => {
    const connector = connect();
    em.fail({ times: 1, status: 503, afterCommit: true, match: (m, p) => m === 'POST' && p === '/v1.0/users' });
    const out = await connector.apply(createUser('lin'), { password: PASSWORD });
    const accounts = em.users().filter((u) => u.userPrincipalName === 'lin@contoso.example');
    expect(accounts).toHaveLength(1);
    expect(out).toMatchObject({ ok: true, externalId: accounts[0]!.id, passwordSet: true });
    expect(em.writes.get('POST /users')).toBe(1);

    em.fail({ times: 1, status: 504, afterCommit: true, match: (m, p) => m === 'POST' && p === '/v1.0/groups' });
    const group = await connector.apply({ op: 'create_group', localId: 'g', name: 'Finance', parentDn: '', attributes: {} });
    expect(em.groups().filter((g) => g.displayName === 'Finance').map((g) => g.id)).toEqual([group.externalId]);
  });

  it('waits as long as a 429 Retry-After says, and keeps going under the write throttle', async () => {
    const connector = connect();
    em.fail({ times: 1, status: 429, retryAfterSeconds: 7, match: (m, p) => m === 'POST' && p === '/v1.0/users' });
    expect(await connector.apply(createUser('kim'))).toMatchObject({ ok: true });
    expect(delays).toEqual([7_000]);

    delays.length = 0;
    em.rateLimit({ writesPer150s: 3 });
    const outcomes = [];
    for (const name of ['u1', 'u2', 'u3', 'u4', 'u5']) outcomes.push(await connector.apply(createUser(name)));
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const throttled = em.requests.filter((r) => r.injected === 'throttle');
    expect(throttled.length).toBeGreaterThanOrEqual(2);
    expect(throttled.every((r) => r.status === 429)).toBe(true);
    // 3 writes per 150 s: one more each 50 s, as Retry-After says.
    expect(delays.length).toBe(throttled.length);
    expect(delays.every((d) => d >= 1_000 && d <= 50_000)).toBe(true);
  });
});

describe('passwords and credentials', () => {
  it("sets passwords, reporting Graph's complexity refusal as bad_request with its message", async () => {
    const connector = connect();
    const ann = person('ann');
    await connector.setPassword(ann.id, PASSWORD);
    expect(em.user(ann.id)!.password).toBe(PASSWORD);

    const weak = await connector.setPassword(ann.id, 'password').catch((e: unknown) => e);
    expect(weak).toBeInstanceOf(SyncError);
    expect(weak).toMatchObject({ kind: 'bad_request', message: PASSWORD_MESSAGE });
    await expect(connector.setPassword('22222222-2222-4222-8222-222222222222', PASSWORD)).rejects.toMatchObject({ kind: 'not_found' });

    expect(await connector.apply(createUser('zed'), { password: 'short' })).toMatchObject({ ok: false, error: PASSWORD_MESSAGE });
  });

  it('stops when the client secret is refused, or when the app lacks a permission, naming the call', async () => {
    const refused = connect({ clientSecret: 'not-the-secret' });
    await expect(refused.read(null)).rejects.toMatchObject({ kind: 'stop', message: expect.stringContaining('AADSTS7000215') });
    await expect(refused.apply(createUser('ann'))).rejects.toMatchObject({ kind: 'stop' });
    expect(em.requests.filter((r) => r.path.startsWith('/v1.0/'))).toEqual([]);

    em.permissions.delete('Group.ReadWrite.All');
    const denied = await connect()
      .apply({ op: 'create_group', localId: 'g', name: 'Ops', parentDn: '', attributes: {} })
      .catch((e: unknown) => e);
    expect(denied).toMatchObject({ kind: 'stop', message: expect.stringMatching(/POST \/groups.*Group\.ReadWrite\.All/) });
  });
});

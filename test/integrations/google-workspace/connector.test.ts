import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExportOp } from '../../../src/core/services/directory-export.js';
import type { SourceObject } from '../../../src/core/services/directory-sync.js';
import type { CloudConnector } from '../../../src/sync/cloud-connector.js';
import { googleWorkspaceConnector, type GoogleWorkspaceConnection } from '../../../src/integrations/google-workspace/connector.js';
import { SyncError } from '../../../src/sync/errors.js';
import type { RetryPolicy } from '../../../src/sync/retry.js';
import { startGoogleEmulator, type GoogleEmulator } from '../../support/google-emulator.js';

/** The Google Workspace connector, through Google's own client library, against the Directory API emulator. */

const FAST: RetryPolicy = { attempts: 6, baseDelayMs: 5, maxDelayMs: 40, maxRetryAfterMs: 5_000, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 40))) };
const SCOPE_ALL = { orgUnitPath: null, groupEmail: null, importGroups: true };

const connect = (g: GoogleEmulator, over: Partial<GoogleWorkspaceConnection> = {}): CloudConnector =>
  googleWorkspaceConnector({
    serviceAccountKey: g.serviceAccountKey,
    adminEmail: g.adminEmail,
    customer: 'my_customer',
    domain: g.domain,
    scope: SCOPE_ALL,
    rootUrl: g.rootUrl,
    tokenUrl: g.tokenUrl,
    retry: FAST,
    timeoutMs: 5_000,
    ...over,
  });

const usersOf = (objects: SourceObject[]) => objects.filter((o) => o.kind === 'user');
const emailsOf = (objects: SourceObject[]) => usersOf(objects).map((o) => o.attributes.primaryemail?.[0]).sort();
const calls = (g: GoogleEmulator, method: string, pathEnd: string) => g.requests.filter((r) => r.method === method && r.path.endsWith(pathEnd));
const thrown = async (p: Promise<unknown>): Promise<SyncError> => {
  try {
    await p;
  } catch (e) {
    if (e instanceof SyncError) return e;
    throw e;
  }
  throw new Error('expected a SyncError');
};

describe('read', () => {
  let g: GoogleEmulator;
  const at = (local: string) => `${local}@${g.domain}`;

  beforeAll(async () => {
    g = await startGoogleEmulator();
    for (let i = 0; i < 1_200; i++) g.addUser({ primaryEmail: at(`u${String(i).padStart(4, '0')}`), givenName: 'User', familyName: String(i) });
    g.addUser({
      primaryEmail: at('alice'),
      givenName: 'Alice',
      familyName: 'Ng',
      orgUnitPath: '/Sales',
      suspended: true,
      organizations: [{ title: 'Old', department: 'Other' }, { primary: true, title: 'Engineer', department: 'R&D', costCenter: 'CC-7', description: 'Backend' }],
      externalIds: [{ type: 'account', value: 'A-1' }, { type: 'organization', value: 'E-42' }],
    });
    g.addUser({ primaryEmail: at('bob'), givenName: 'Bob', familyName: 'Ode', orgUnitPath: '/Sales/East' });
    g.addUser({ primaryEmail: at('dana'), givenName: 'Dana', familyName: 'Lee', isDelegatedAdmin: true });
    g.addGroup({ email: at('scope'), name: 'Scope', description: 'who syncs' });
    g.addGroup({ email: at('inner'), name: 'Inner' });
    g.addMember(at('scope'), at('alice'));
    g.addMember(at('scope'), at('inner'));
    g.addMember(at('inner'), at('bob'));
  });
  afterAll(async () => {
    await g?.close();
  });

  it('reads every user through the pages, with attributes, state and privilege; groups with their direct members', async () => {
    const before = calls(g, 'GET', '/admin/directory/v1/users').length;
    const read = await connect(g).read(null);
    // 1,200 + alice, bob, dana and the super admin: three pages of 500.
    expect(calls(g, 'GET', '/admin/directory/v1/users').length - before).toBe(3);
    expect(read).toMatchObject({ mode: 'full', cursor: null });
    expect(usersOf(read.objects)).toHaveLength(1_204);
    expect(read.seen?.users).toHaveLength(1_204);

    const alice = read.objects.find((o) => o.attributes.primaryemail?.[0] === at('alice'))!;
    expect(alice).toMatchObject({ kind: 'user', externalId: g.user(at('alice'))!.id, present: true, disabled: true, privileged: false });
    expect(alice.attributes).toEqual({
      username: ['alice'],
      primaryemail: [at('alice')],
      givenname: ['Alice'],
      familyname: ['Ng'],
      fullname: ['Alice Ng'],
      title: ['Engineer'],
      department: ['R&D'],
      costcenter: ['CC-7'],
      description: ['Backend'],
      employeeid: ['E-42'],
      orgunitpath: ['/Sales'],
    });
    const privileged = usersOf(read.objects).filter((o) => o.privileged).map((o) => o.attributes.username?.[0]);
    expect(privileged.sort()).toEqual(['admin', 'dana']);

    const scope = read.objects.find((o) => o.kind === 'user_group' && o.attributes.email?.[0] === at('scope'))!;
    expect(scope.attributes).toEqual({ name: ['Scope'], email: [at('scope')], description: ['who syncs'] });
    expect(scope.members).toEqual(
      expect.arrayContaining([
        { kind: 'user', externalId: g.user(at('alice'))!.id },
        { kind: 'user_group', externalId: g.group(at('inner'))!.id },
      ]),
    );
    expect(scope.members).toHaveLength(2);
    expect(read.seen?.groups.sort()).toEqual([g.group(at('scope'))!.id, g.group(at('inner'))!.id].sort());
  });

  it('keeps to an org unit and the org units under it', async () => {
    g.addOrgUnit('/Salesforce');
    g.addUser({ primaryEmail: at('eve'), givenName: 'Eve', familyName: 'Ray', orgUnitPath: '/Salesforce' });
    const read = await connect(g, { scope: { orgUnitPath: '/Sales', groupEmail: null, importGroups: true } }).read(null);
    expect(emailsOf(read.objects)).toEqual([at('alice'), at('bob')]);
    expect(g.requests.some((r) => r.path.endsWith('/users') && decodeURIComponent(r.query).includes("orgUnitPath='/Sales'"))).toBe(true);
    // Groups are read whole; their members only as far as the scope reaches (bob is in inner, out of a scope without him).
    const inner = read.objects.find((o) => o.kind === 'user_group' && o.attributes.email?.[0] === at('inner'))!;
    expect(inner.members).toEqual([{ kind: 'user', externalId: g.user(at('bob'))!.id }]);
    g.deleteUser(at('eve'));
  });

  it('keeps to the members of a group, nested ones included, and reads no groups when told not to', async () => {
    const before = calls(g, 'GET', '/admin/directory/v1/groups').length;
    const read = await connect(g, { scope: { orgUnitPath: null, groupEmail: at('scope'), importGroups: false } }).read(null);
    expect(emailsOf(read.objects)).toEqual([at('alice'), at('bob')]);
    expect(read.objects.some((o) => o.kind === 'user_group')).toBe(false);
    expect(read.seen).toEqual({ users: expect.arrayContaining([g.user(at('alice'))!.id, g.user(at('bob'))!.id]), groups: [] });
    expect(calls(g, 'GET', '/admin/directory/v1/groups').length).toBe(before);
    expect(g.requests.some((r) => r.path.endsWith('/members') && r.query.includes('includeDerivedMembership=true'))).toBe(true);
  });

  it('stops on a scope group that does not exist', async () => {
    const e = await thrown(connect(g, { scope: { orgUnitPath: null, groupEmail: at('nope'), importGroups: true } }).read(null));
    expect(e.kind).toBe('stop');
  });
});

describe('apply and setPassword', () => {
  let g: GoogleEmulator;
  let google: CloudConnector;
  const at = (local: string) => `${local}@${g.domain}`;
  const createOp = (name: string, attributes: Record<string, string> = {}, disabled = false): Extract<ExportOp, { op: 'create_user' }> => ({
    op: 'create_user',
    localId: `local-${name}`,
    name,
    parentDn: '',
    attributes: { username: name, ...attributes },
    disabled,
  });

  beforeAll(async () => {
    g = await startGoogleEmulator();
    google = connect(g);
  });
  afterAll(async () => {
    await g?.close();
  });

  it('creates, updates, suspends and deletes users, and manages groups and their members', async () => {
    g.addOrgUnit('/Staff');
    const created = await google.apply(
      { ...createOp('frank', { givenname: 'Frank', familyname: 'Oz', title: 'Engineer', department: 'R&D', employeeid: 'E-7' }), parentDn: '/Staff' },
      { password: 'Correct-Horse-42' },
    );
    expect(created).toMatchObject({ ok: true, disabled: false, passwordSet: true });
    const frank = g.user(created.externalId!)!;
    expect(frank).toMatchObject({
      primaryEmail: at('frank'),
      name: { givenName: 'Frank', familyName: 'Oz' },
      password: 'Correct-Horse-42',
      orgUnitPath: '/Staff',
      suspended: false,
      organizations: [{ primary: true, title: 'Engineer', department: 'R&D' }],
      externalIds: [{ type: 'organization', value: 'E-7' }],
    });

    const random = await google.apply(createOp('gina', {}, true));
    expect(random).toMatchObject({ ok: true, disabled: true, passwordSet: false });
    expect(g.user(random.externalId!)).toMatchObject({ primaryEmail: at('gina'), name: { givenName: 'gina', familyName: 'gina' }, suspended: true });
    expect(g.user(random.externalId!)!.password.length).toBeGreaterThanOrEqual(16);

    const update: ExportOp = { op: 'update_user', localId: 'local-frank', name: 'frank', externalId: frank.id, changes: { title: 'Lead', employeeid: null, username: 'renamed', orgunitpath: '/' }, disabled: true };
    expect(await google.apply(update)).toEqual({ op: update, ok: true });
    expect(g.user(frank.id)).toMatchObject({ primaryEmail: at('frank'), orgUnitPath: '/Staff', suspended: true, organizations: [{ primary: true, title: 'Lead', department: 'R&D' }], externalIds: undefined });

    const group = await google.apply({ op: 'create_group', localId: 'local-g', name: 'Ops Team (EU)', parentDn: '', attributes: { description: 'on call' } });
    expect(group.ok).toBe(true);
    expect(g.group(group.externalId!)).toMatchObject({ email: at('ops-team-eu'), name: 'Ops Team (EU)', description: 'on call' });
    const sub = await google.apply({ op: 'create_group', localId: 'local-sub', name: 'Sub', parentDn: '', attributes: { email: at('sub-team') } });
    expect(g.group(sub.externalId!)?.email).toBe(at('sub-team'));

    const members: ExportOp = { op: 'update_group', localId: 'local-g', name: 'Ops', externalId: group.externalId!, changes: { name: 'Ops', description: null }, add: [frank.id, random.externalId!, sub.externalId!], remove: [] };
    expect(await google.apply(members)).toMatchObject({ ok: true });
    expect(g.members(group.externalId!).map((m) => [m.id, m.type]).sort()).toEqual(
      [
        [frank.id, 'USER'],
        [random.externalId!, 'USER'],
        [sub.externalId!, 'GROUP'],
      ].sort(),
    );
    expect(g.group(group.externalId!)).toMatchObject({ name: 'Ops', description: '', email: at('ops-team-eu') });
    // Again: members already there (409) and already gone (404) are as good as done.
    const again: ExportOp = { ...members, changes: {}, add: [frank.id], remove: [random.externalId!, 'no-such-member'] };
    expect(await google.apply(again)).toMatchObject({ ok: true });
    expect(g.members(group.externalId!).map((m) => m.id).sort()).toEqual([frank.id, sub.externalId!].sort());

    const del: ExportOp = { op: 'delete_user', localId: 'local-gina', name: 'gina', externalId: random.externalId!, reason: 'deleted in Roster' };
    expect(await google.apply(del)).toEqual({ op: del, ok: true, deleted: true });
    expect(g.user(random.externalId!)).toBeUndefined();
    expect(await google.apply(del)).toEqual({ op: del, ok: true, deleted: true });
    const gone = await google.apply({ ...update, externalId: random.externalId! } as ExportOp);
    expect(gone).toMatchObject({ ok: false, gone: true, error: 'Resource Not Found: userKey' });

    const refused = await google.apply(createOp('bad', { primaryemail: 'bad@elsewhere.org' }));
    expect(refused).toMatchObject({ ok: false, error: 'Domain not found.' });
  });

  it('takes over an account that exists (never an administrator) instead of creating it twice', async () => {
    const carol = g.addUser({ primaryEmail: at('carol'), givenName: 'C', familyName: 'Old', organizations: [{ primary: true, department: 'Ops', name: 'Acme' }] });
    const outcome = await google.apply(createOp('carol', { givenname: 'Carol', familyname: 'Smith', title: 'Manager' }, true), { password: 'Another-Pass-9' });
    expect(outcome).toMatchObject({ ok: true, externalId: carol.id, disabled: false, passwordSet: true });
    expect(g.users().filter((u) => u.primaryEmail === at('carol'))).toHaveLength(1);
    expect(g.user(carol.id)).toMatchObject({ name: { givenName: 'Carol', familyName: 'Smith' }, password: 'Another-Pass-9', organizations: [{ primary: true, department: 'Ops', name: 'Acme', title: 'Manager' }] });

    g.addUser({ primaryEmail: at('boss'), givenName: 'The', familyName: 'Boss', isAdmin: true, password: 'Boss-Pass-123' });
    const admin = await google.apply(createOp('boss', { givenname: 'Mallory' }), { password: 'Hijacked-123' });
    expect(admin).toEqual({ op: expect.anything(), ok: false, error: 'an account with that email exists and is an administrator: never managed' });
    expect(g.user(at('boss'))).toMatchObject({ name: { givenName: 'The' }, password: 'Boss-Pass-123' });
  });

  it('creates one account when the answer to the insert is lost, and one group likewise', async () => {
    g.fail({ status: 503, afterCommit: true, match: (method, path) => method === 'POST' && path.endsWith('/users') });
    const outcome = await google.apply(createOp('henry', { givenname: 'Henry' }), { password: 'Lost-Answer-1' });
    const henry = g.users().filter((u) => u.primaryEmail === at('henry'));
    expect(henry).toHaveLength(1);
    expect(outcome).toMatchObject({ ok: true, externalId: henry[0]!.id, passwordSet: true });
    expect(calls(g, 'POST', '/users').slice(-2).map((r) => r.status)).toEqual([503, 409]);

    g.fail({ status: 503, afterCommit: true, match: (method, path) => method === 'POST' && path.endsWith('/groups') });
    const group = await google.apply({ op: 'create_group', localId: 'local-lost', name: 'Lost', parentDn: '', attributes: {} });
    expect(g.groups().filter((x) => x.email === at('lost'))).toHaveLength(1);
    expect(group).toMatchObject({ ok: true, externalId: g.group(at('lost'))!.id });
  });

  it('waits as long as Retry-After says, and reports a fault that outlasts its attempts without throwing', async () => {
    const patient = connect(g, { retry: { ...FAST, sleep: undefined } });
    g.fail({ status: 429, retryAfterSeconds: 1 });
    const started = Date.now();
    const read = await patient.read(null);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(read.objects.length).toBeGreaterThan(0);
    expect(g.requests.filter((r) => r.status === 429)).toHaveLength(1);

    // The client library's own retries are off: exactly our attempts reach Google.
    const before = calls(g, 'POST', '/groups').length;
    g.fail({ status: 500, times: FAST.attempts, match: (method, path) => method === 'POST' && path.endsWith('/groups') });
    const failed = await google.apply({ op: 'create_group', localId: 'local-x', name: 'Never', parentDn: '', attributes: {} });
    expect(failed).toMatchObject({ ok: false, error: 'Internal error encountered.' });
    expect(calls(g, 'POST', '/groups').length - before).toBe(FAST.attempts);

    // gtoken asks gaxios to retry its token POST; that is off too: one token request per attempt.
    const tokensBefore = calls(g, 'POST', '/token').length;
    g.fail({ status: 503, times: 2, match: (_, path) => path === '/token' });
    await connect(g).read(null);
    expect(calls(g, 'POST', '/token').slice(tokensBefore).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it("gets through Google's per-user rate limit (403 userRateLimitExceeded)", async () => {
    for (let i = 0; i < 24; i++) g.addGroup({ email: at(`rl${i}`), name: `RL ${i}` });
    g.rateLimit(1_200, 3);
    try {
      const read = await connect(g, { retry: { attempts: 20, baseDelayMs: 20, maxDelayMs: 200, maxRetryAfterMs: 1_000 } }).read(null);
      expect(read.objects.filter((o) => o.kind === 'user_group').length).toBeGreaterThanOrEqual(24);
      expect(g.requests.some((r) => r.status === 403)).toBe(true);
    } finally {
      g.rateLimit(null);
    }
  });

  it("refuses a password with Google's reason, and a missing account as not_found", async () => {
    const id = g.addUser({ primaryEmail: at('ivy'), givenName: 'Ivy', familyName: 'Ash' }).id;
    await google.setPassword(id, 'Fine-Password-1');
    expect(g.user(id)?.password).toBe('Fine-Password-1');
    const short = await thrown(google.setPassword(id, 'short'));
    expect(short).toMatchObject({ kind: 'bad_request', message: 'Invalid Password', status: 400 });
    expect((await thrown(google.setPassword(id, 'x'.repeat(101)))).kind).toBe('bad_request');
    expect((await thrown(google.setPassword('100000000000000000000', 'Fine-Password-1'))).kind).toBe('not_found');
  });

  it('stops on credentials Google refuses, without retrying them', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const wrongKey = JSON.stringify({ ...(JSON.parse(g.serviceAccountKey) as object), private_key: other });
    const tokenCalls = () => g.requests.filter((r) => r.path === '/token').length;
    const before = tokenCalls();
    const e = await thrown(connect(g, { serviceAccountKey: wrongKey }).read(null));
    expect(e).toMatchObject({ kind: 'stop', status: 400 });
    expect(e.message).toContain('invalid_grant: Invalid JWT Signature.');
    expect(tokenCalls() - before).toBe(1);
    await expect(connect(g, { serviceAccountKey: wrongKey }).apply(createOp('nobody'))).rejects.toMatchObject({ kind: 'stop' });
    await expect(connect(g, { serviceAccountKey: 'not json' }).read(null)).rejects.toMatchObject({ kind: 'stop' });
    await expect(connect(g, { adminEmail: at('nobody') }).read(null)).rejects.toMatchObject({ kind: 'stop', message: expect.stringContaining('Invalid email or User ID') });

    // The impersonated admin lost its role: 403 forbidden.
    g.updateUser(g.adminEmail, { isAdmin: false });
    try {
      await expect(google.apply(createOp('judy'))).rejects.toMatchObject({ kind: 'stop', status: 403 });
    } finally {
      g.updateUser(g.adminEmail, { isAdmin: true });
    }
  });
});

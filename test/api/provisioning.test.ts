import { afterAll, beforeAll, expect, it } from 'vitest';
import { ProvisioningWorker } from '../../src/integrations/scim-app/worker.js';
import { openTestApi, type TestApi } from '../support/api.js';
import { FAST_RETRY } from '../support/provisioning.js';
import { startScimPeer, type ScimPeer } from '../support/scim-peer.js';
import { describeEachStore } from '../support/stores.js';
import { addMember, adminWithKey, createApp, createGroup, createUser, detailFields, expectError, expectOk, MISSING_ID, uniq } from './helpers.js';

const REDACTED = '[REDACTED]';
const provisioning = (appId: string, rest = '') => `/api/v2/applications/${appId}/provisioning${rest}`;

describeEachStore('API outbound SCIM provisioning of an application', (kind) => {
  let t: TestApi;
  const peers: ScimPeer[] = [];

  beforeAll(async () => {
    t = await openTestApi(kind);
    // "Run now" goes through the process's worker; this one retries fast so chaos tests stay quick.
    t.app.provisioningWorker = new ProvisioningWorker(t.core.provisioning, { retry: FAST_RETRY });
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await t?.dispose();
  });

  const newPeer = async () => {
    const peer = await startScimPeer();
    peers.push(peer);
    return peer;
  };
  const read = async (appId: string, key?: string) => expectOk(await t.call('GET', provisioning(appId), key ? { key } : {}));
  const configure = async (appId: string, body: Record<string, unknown>, method: 'PUT' | 'PATCH' = 'PUT') => expectOk(await t.call(method, provisioning(appId), { body }));
  const journalOf = async (appId: string) => {
    const res = await t.call('GET', `/api/v2/journal?filter=${encodeURIComponent(`objectId:eq:${appId}`)}&limit=1000`);
    expectOk(res);
    return res;
  };
  const objects = async (appId: string, query = '') => {
    const res = await t.call('GET', provisioning(appId, `/objects${query}`));
    return { items: expectOk(res) as any[], total: Number(res.headers['x-total-count']) };
  };
  const targetRow = (appId: string) =>
    t.testStore.store.db.selectFrom('provisioning_targets').selectAll().where('application_id', '=', appId).executeTakeFirst();
  const objectRows = (appId: string) => t.testStore.store.db.selectFrom('provisioned_objects').selectAll().where('application_id', '=', appId).execute();

  const activeUser = () => createUser(t, { state: 'ACTIVATED', firstname: 'Test', lastname: 'User' });
  const associate = async (appId: string, type: 'user' | 'user_group', id: string, op: 'add' | 'remove' = 'add') =>
    expectOk(await t.call('POST', `/api/v2/applications/${appId}/associations`, { body: { op, type, id } }), 204);

  /** An application with three users (two through a group, one directly) and a user it does not see. */
  async function populatedApp() {
    const app = await createApp(t);
    const [ada, grace, ken, dennis] = [await activeUser(), await activeUser(), await activeUser(), await activeUser()];
    const group = await createGroup(t);
    await addMember(t, group.id, 'user', ada.id);
    await addMember(t, group.id, 'user', grace.id);
    await associate(app._id, 'user_group', group.id);
    await associate(app._id, 'user', ken.id);
    return { app, ada, grace, ken, dennis, group };
  }

  it('reads an application never configured as disabled with the defaults; an unknown application is 404', async () => {
    const app = await createApp(t);
    expect(await read(app._id)).toEqual({
      applicationId: app._id,
      enabled: false,
      baseUrl: '',
      deprovision: 'deactivate',
      groups: true,
      roleMappings: [],
      patch: 'auto',
      memberPatch: 'filter',
      bulk: 'auto',
      matchBy: 'userName',
      concurrency: 8,
      reconcileMinutes: 60,
      hasToken: false,
      status: 'disabled',
      cursor: 0,
      counters: {},
      lastRunAt: null,
      lastSuccessAt: null,
      lastError: null,
      lastErrorAt: null,
      reconciledAt: null,
      updated: expect.any(String),
    });
    expect(await objects(app._id)).toEqual({ items: [], total: 0 });
    expect(await targetRow(app._id)).toBeUndefined();

    for (const [method, rest, body] of [
      ['GET', '', undefined],
      ['PUT', '', { concurrency: 2 }],
      ['PATCH', '', { concurrency: 2 }],
      ['GET', '/objects', undefined],
      ['GET', '/plan', undefined],
      ['POST', '/run', {}],
    ] as const) {
      expectError(await t.call(method, provisioning(MISSING_ID, rest), body ? { body } : {}), 404, 'APPLICATION_NOT_FOUND');
    }
  });

  it('refuses invalid settings with a 400 that says what is wrong, and changes nothing', async () => {
    const peer = await newPeer();
    const group = await createGroup(t);
    const fresh = await createApp(t);
    const configured = await createApp(t);
    await configure(configured._id, { baseUrl: peer.url, token: peer.token, roleMappings: [{ groupId: group.id, role: 'admin' }], concurrency: 4 });

    const refused: [app: { _id: string }, body: unknown, field: string, message: RegExp][] = [
      [configured, { baseUrl: 'http://app.example.com/scim/v2' }, 'baseUrl', /baseUrl must use https/],
      [configured, { baseUrl: 'https://admin:hunter2@app.example.com/scim/v2' }, 'baseUrl', /must not hold credentials/],
      [configured, { baseUrl: 'https://app.example.com/scim/v2?tenant=acme' }, 'baseUrl', /must not have a query/],
      [configured, { baseUrl: 'https://app.example.com/scim/v2#users' }, 'baseUrl', /must not have a query or a fragment/],
      [configured, { baseUrl: 'app.example.com/scim/v2' }, 'baseUrl', /absolute URL/],
      [configured, { baseUrl: 'ftp://app.example.com/scim' }, 'baseUrl', /https/],
      [fresh, { enabled: true, baseUrl: peer.url }, 'token', /token is required/],
      [configured, { enabled: true, token: null }, 'token', /token is required/],
      [fresh, { enabled: true, token: 'secret' }, 'baseUrl', /baseUrl is required/],
      [configured, { enabled: true, baseUrl: '' }, 'baseUrl', /baseUrl is required/],
      [configured, { colour: 'blue' }, 'colour', /colour is not a provisioning setting/],
      [configured, { deprovision: 'archive' }, 'deprovision', /^deprovision must be one of deactivate, delete$/],
      [configured, { patch: 'sometimes' }, 'patch', /^patch must be one of auto, never$/],
      [configured, { memberPatch: 'append' }, 'memberPatch', /^memberPatch must be one of filter, value, replace$/],
      [configured, { bulk: 'always' }, 'bulk', /^bulk must be one of auto, never$/],
      [configured, { matchBy: 'email' }, 'matchBy', /^matchBy must be one of userName, externalId$/],
      [configured, { concurrency: 0 }, 'concurrency', /concurrency must be >= 1/],
      [configured, { concurrency: 65 }, 'concurrency', /concurrency must be <= 64/],
      [configured, { concurrency: 2.5 }, 'concurrency', /concurrency must be integer/],
      [configured, { reconcileMinutes: -1 }, 'reconcileMinutes', /reconcileMinutes must be >= 0/],
      [configured, { reconcileMinutes: 10_081 }, 'reconcileMinutes', /reconcileMinutes must be <= 10080/],
      [configured, { roleMappings: [{ groupId: MISSING_ID, role: 'admin' }] }, '', new RegExp(`roleMappings name groups that do not exist: ${MISSING_ID}`)],
      [configured, { roleMappings: [{ groupId: group.id, role: '   ' }] }, 'roleMappings[0].role', /role must be a non-empty string/],
      [configured, { roleMappings: [{ groupId: group.id }] }, 'roleMappings.0.role', /must have required property 'role'/],
      [configured, { enabled: 'yes' }, 'enabled', /enabled must be boolean/],
      [configured, { groups: 1 }, 'groups', /groups must be boolean/],
      [configured, { concurrency: '8' }, 'concurrency', /concurrency must be integer/],
      [configured, { baseUrl: 42 }, 'baseUrl', /baseUrl must be string/],
      [configured, { token: 5 }, 'token', /token must be string/],
      [configured, { token: '' }, 'token', /token must be a non-empty string/],
      [configured, { roleMappings: { groupId: group.id, role: 'admin' } }, 'roleMappings', /roleMappings must be array/],
      [configured, [], 'body', /body must be object/],
    ];
    const before = { fresh: await read(fresh._id), configured: await read(configured._id) };
    const journal = { fresh: (await journalOf(fresh._id)).body, configured: (await journalOf(configured._id)).body };
    for (const [app, body, field, message] of refused) {
      for (const method of ['PUT', 'PATCH']) {
        const error = expectError(await t.call(method, provisioning(app._id), { body }), 400, 'INVALID_INPUT');
        const label = `${method} ${JSON.stringify(body)}`;
        expect(error.message, label).toMatch(message);
        if (field !== '') expect(detailFields(error), label).toContain(field);
      }
    }
    expect(await read(fresh._id)).toEqual(before.fresh);
    expect(await read(configured._id)).toEqual(before.configured);
    expect(await targetRow(fresh._id)).toBeUndefined();
    expect((await journalOf(fresh._id)).body).toBe(journal.fresh);
    expect((await journalOf(configured._id)).body).toBe(journal.configured);

    // The loopback exception: plain http to this machine is fine, and a trailing slash is dropped.
    expect(await configure(configured._id, { baseUrl: 'http://localhost:8080/scim/v2/' }, 'PATCH')).toMatchObject({ baseUrl: 'http://localhost:8080/scim/v2', concurrency: 4 });
  });

  it('never returns the token, journals it as redacted and stores it sealed', async () => {
    const peer = await newPeer();
    const app = await createApp(t);
    const token = `tok_${uniq('secret')}`;
    const rotated = `tok_${uniq('rotated')}`;
    const noToken = (text: string) => {
      expect(text).not.toContain(token);
      expect(text).not.toContain(rotated);
    };

    const put = await t.call('PUT', provisioning(app._id), { body: { enabled: true, baseUrl: peer.url, token } });
    noToken(put.body);
    expect(expectOk(put)).toMatchObject({ enabled: true, baseUrl: peer.url, hasToken: true, status: 'idle' });
    expect(put.json()).not.toHaveProperty('token');
    const got = await t.call('GET', provisioning(app._id));
    noToken(got.body);
    expect(got.json()).toEqual(put.json());

    const patched = await t.call('PATCH', provisioning(app._id), { body: { concurrency: 3 } });
    noToken(patched.body);
    expect(expectOk(patched)).toMatchObject({ concurrency: 3, hasToken: true });

    const row = await targetRow(app._id);
    expect(row?.token).toEqual(expect.any(String));
    expect(JSON.stringify(row)).not.toContain(token);
    expect((await t.core.provisioning.runnableTarget(app.organization, app._id))?.token).toBe(token);

    noToken((await t.call('PATCH', provisioning(app._id), { body: { token: rotated } })).body);
    expect(JSON.stringify(await targetRow(app._id))).not.toContain(rotated);
    expect((await t.core.provisioning.runnableTarget(app.organization, app._id))?.token).toBe(rotated);
    expect(expectOk(await t.call('PATCH', provisioning(app._id), { body: { enabled: false, token: null } }))).toMatchObject({ hasToken: false, status: 'disabled' });
    expect((await targetRow(app._id))?.token).toBeNull();

    const journal = await journalOf(app._id);
    noToken(journal.body);
    const updates = (journal.json() as { operation: string; changes: Record<string, unknown> }[]).filter((e) => e.operation === 'update');
    expect(updates.map((e) => e.changes['provisioning.token'])).toEqual([
      { before: null, after: REDACTED },
      undefined,
      { before: REDACTED, after: REDACTED },
      { before: REDACTED, after: null },
    ]);
    expect(updates[0]!.changes.provisioning).toMatchObject({ before: { enabled: false, baseUrl: '' }, after: { enabled: true, baseUrl: peer.url } });
    expect(updates[1]!.changes.provisioning).toMatchObject({ before: { concurrency: 8 }, after: { concurrency: 3 } });
    expect(updates[2]!.changes.provisioning).toBeUndefined();
  });

  it('lets a read-only key read but not configure or run, and keeps other organizations out', async () => {
    const peer = await newPeer();
    const app = await createApp(t);
    await configure(app._id, { enabled: true, baseUrl: peer.url, token: peer.token });
    const before = await read(app._id);

    for (const reader of [await adminWithKey(t, 'Administrator', { readOnly: true }), await adminWithKey(t, 'Read Only')]) {
      expect(await read(app._id, reader.key)).toEqual(before);
      expectOk(await t.call('GET', provisioning(app._id, '/objects'), { key: reader.key }));
      expectOk(await t.call('GET', provisioning(app._id, '/plan'), { key: reader.key }));
      expectError(await t.call('PUT', provisioning(app._id), { body: { concurrency: 1 }, key: reader.key }), 403);
      expectError(await t.call('PATCH', provisioning(app._id), { body: { enabled: false }, key: reader.key }), 403);
      expectError(await t.call('POST', provisioning(app._id, '/run'), { body: {}, key: reader.key }), 403);
    }

    const other = await adminWithKey(t, 'Administrator', { orgId: (await t.core.organizations.create(uniq('Other'))).id });
    for (const [method, rest, body] of [
      ['GET', '', undefined],
      ['PUT', '', { enabled: false }],
      ['PATCH', '', { token: 'stolen' }],
      ['GET', '/objects', undefined],
      ['GET', '/plan', undefined],
      ['POST', '/run', {}],
    ] as const) {
      expectError(await t.call(method, provisioning(app._id, rest), { key: other.key, ...(body ? { body } : {}) }), 404, 'APPLICATION_NOT_FOUND');
    }
    expect(await read(app._id)).toEqual(before);
    expect(peer.requests).toEqual([]);
  });

  it('plans, runs against the application, lists what was written, and then has nothing left to do', async () => {
    const peer = await newPeer();
    const { app, ada, grace, ken, dennis, group } = await populatedApp();
    await configure(app._id, { enabled: true, baseUrl: peer.url, token: peer.token });

    const plan = expectOk(await t.call('GET', provisioning(app._id, '/plan')));
    expect(plan).toMatchObject({ seq: expect.any(Number), enabled: true, summary: { user: { create: 3 }, group: { create: 1 } } });
    expect(plan.operations).toHaveLength(4);
    expect(plan.operations).toContainEqual(
      expect.objectContaining({ type: 'user', id: ada.id, name: ada.username, action: 'create', reason: 'associated with the application', attributes: expect.objectContaining({ userName: ada.username, active: true }) }),
    );
    expect(plan.operations.find((op: any) => op.type === 'group')).toMatchObject({
      id: group.id,
      name: group.name,
      action: 'create',
      reason: 'associated with the application',
      attributes: expect.objectContaining({ displayName: group.name }),
    });
    expect(plan.operations.find((op: any) => op.type === 'group').members.add.sort()).toEqual([ada.id, grace.id].sort());
    expect(plan.operations.map((op: any) => op.id)).not.toContain(dennis.id);
    expect(expectOk(await t.call('GET', provisioning(app._id, '/plan?limit=1'))).operations).toHaveLength(1);
    expect(peer.requests).toEqual([]);

    // Regression: a bare POST /run (no body, as curl -X POST sends it) was refused with "body must be object".
    const run = expectOk(await t.call('POST', provisioning(app._id, '/run')));
    expect(run).toMatchObject({ seq: expect.any(Number), errors: [], status: 'idle', counters: expect.objectContaining({ created: 4 }) });
    expect(run.stopped).toBeUndefined();
    expect(peer.users().map((u) => u.userName).sort()).toEqual([ada.username, grace.username, ken.username].sort());
    expect(peer.users().every((u) => u.active === true)).toBe(true);
    const nameOf = new Map(peer.users().map((u) => [u.id, u.userName]));
    expect(peer.groups().map((g) => ({ name: g.displayName, members: g.members.map((m) => nameOf.get(m.value)).sort() }))).toEqual([
      { name: group.name, members: [ada.username, grace.username].sort() },
    ]);

    expect(expectOk(await t.call('GET', provisioning(app._id, '/plan')))).toEqual({ seq: run.seq, enabled: true, summary: { user: {}, group: {} }, operations: [] });
    const status = await read(app._id);
    expect(status).toMatchObject({ status: 'idle', cursor: run.seq, lastError: null, counters: expect.objectContaining({ created: 4 }) });
    expect(status.cursor).toBeGreaterThan(0);
    expect(Date.parse(status.lastSuccessAt)).not.toBeNaN();
    expect(status.lastRunAt).toBe(status.lastSuccessAt);

    const all = await objects(app._id, '?limit=100');
    expect(all.total).toBe(4);
    expect(all.items).toHaveLength(4);
    const remoteIds = new Set([...peer.users(), ...peer.groups()].map((o) => o.id));
    for (const o of all.items) {
      expect(o).toMatchObject({ state: 'active', error: null, errorAt: null, writtenAt: expect.any(String) });
      expect(remoteIds.has(o.remoteId)).toBe(true);
    }
    const users = await objects(app._id, '?type=user');
    expect(users.total).toBe(3);
    expect(users.items.map((o) => o.id).sort()).toEqual([ada.id, grace.id, ken.id].sort());
    expect(users.items.find((o) => o.id === ada.id)).toMatchObject({ type: 'user', name: ada.username, written: expect.objectContaining({ userName: ada.username }) });
    const groups = await objects(app._id, '?type=group');
    expect(groups).toMatchObject({ total: 1, items: [{ type: 'group', id: group.id, name: group.name }] });
    expect(groups.items[0].written.members.sort()).toEqual([ada.id, grace.id].sort());
    expect(await objects(app._id, '?failed=true')).toEqual({ items: [], total: 0 });
    expect((await objects(app._id, '?failed=false')).total).toBe(4);
    const first = await objects(app._id, '?limit=2');
    const second = await objects(app._id, '?limit=2&skip=2');
    expect([first.total, second.total]).toEqual([4, 4]);
    expect([...first.items, ...second.items].map((o) => `${o.type}:${o.id}`)).toEqual(all.items.map((o) => `${o.type}:${o.id}`));
    expect(await objects(app._id, '?skip=4')).toEqual({ items: [], total: 4 });
    expectError(await t.call('GET', provisioning(app._id, '/objects?limit=101')), 400);
    expectError(await t.call('GET', provisioning(app._id, '/objects?type=device')), 400);

    // A run with nothing to do does not call the application.
    const asked = peer.requests.length;
    const idle = expectOk(await t.call('POST', provisioning(app._id, '/run'), { body: {} }));
    expect(idle).toMatchObject({ errors: [], status: 'idle' });
    expect(idle.counters.created).toBeUndefined();
    expect(peer.requests.slice(asked)).toEqual([]);

    // A change is planned with its reason, then applied.
    await associate(app._id, 'user', ken.id, 'remove');
    const next = expectOk(await t.call('GET', provisioning(app._id, '/plan')));
    expect(next.summary).toEqual({ user: { deactivate: 1 }, group: {} });
    expect(next.operations).toEqual([expect.objectContaining({ type: 'user', id: ken.id, action: 'deactivate', reason: expect.stringMatching(/no longer associated/), remoteId: expect.any(String) })]);
    expect(expectOk(await t.call('POST', provisioning(app._id, '/run'))).counters).toMatchObject({ deactivated: 1 });
    expect(peer.users().find((u) => u.userName === ken.username)?.active).toBe(false);
    expect((await objects(app._id, '?type=user')).items.find((o) => o.id === ken.id)).toMatchObject({ state: 'inactive' });

    // reconcile: true reads the application back; nothing drifted, so nothing is written.
    expect(await read(app._id)).toMatchObject({ reconciledAt: null });
    const reconciled = expectOk(await t.call('POST', provisioning(app._id, '/run'), { body: { reconcile: true } }));
    expect(reconciled).toMatchObject({ status: 'idle', errors: [] });
    expect(reconciled.counters).not.toHaveProperty('drifted');
    expect(peer.requests.some((r) => r.method === 'GET' && r.path === '/Users')).toBe(true);
    expect((await read(app._id)).reconciledAt).toEqual(expect.any(String));

    const runs = (await journalOf(app._id)).json().filter((e: any) => e.operation === 'provisioning_run');
    expect(runs).toHaveLength(2);
  });

  it('records failed objects, reports them in the status and the objects list, and retries them on the next run', async () => {
    const peer = await newPeer();
    const { app, ada } = await populatedApp();
    await configure(app._id, { enabled: true, baseUrl: peer.url, token: peer.token });
    // Every create fails (500, before anything is applied).
    peer.setChaos({ rate: 1, kinds: ['failed'], methods: ['POST'] });
    const failed = expectOk(await t.call('POST', provisioning(app._id, '/run')));
    peer.setChaos(undefined);
    expect(failed.status).toBe('error');
    expect(failed.errors.length).toBeGreaterThan(0);
    const status = await read(app._id);
    expect(status).toMatchObject({ status: 'error', lastError: expect.stringMatching(/failed/), lastErrorAt: expect.any(String), lastSuccessAt: null, cursor: 0 });
    const broken = await objects(app._id, '?failed=true&limit=100');
    expect(broken.total).toBe(failed.errors.length);
    expect(broken.items.find((o) => o.id === ada.id)).toMatchObject({ error: expect.any(String), errorAt: expect.any(String), attempts: 1 });

    const plan = expectOk(await t.call('GET', provisioning(app._id, '/plan')));
    expect(plan.summary.user).toEqual({ create: 3 });

    const healed = expectOk(await t.call('POST', provisioning(app._id, '/run')));
    expect(healed).toMatchObject({ status: 'idle', errors: [] });
    expect(await objects(app._id, '?failed=true')).toEqual({ items: [], total: 0 });
    expect(await read(app._id)).toMatchObject({ status: 'idle', lastError: null, lastErrorAt: null, lastSuccessAt: expect.any(String) });
    expect(peer.users()).toHaveLength(3);
  });

  it('refuses to run an application whose provisioning is disabled', async () => {
    const peer = await newPeer();
    const never = await createApp(t);
    expectError(await t.call('POST', provisioning(never._id, '/run')), 400, 'PROVISIONING_DISABLED');
    const off = await createApp(t);
    await configure(off._id, { enabled: false, baseUrl: peer.url, token: peer.token });
    expectError(await t.call('POST', provisioning(off._id, '/run'), { body: { reconcile: true } }), 400, 'PROVISIONING_DISABLED');
    expect(peer.requests).toEqual([]);
    expect(await read(off._id)).toMatchObject({ status: 'disabled', lastRunAt: null });
  });

  it('forgets what was written to the old application when baseUrl changes, and provisions the new one afresh', async () => {
    const [oldPeer, newPeerOfApp] = [await newPeer(), await newPeer()];
    const { app, ada, grace, ken } = await populatedApp();
    await configure(app._id, { enabled: true, baseUrl: oldPeer.url, token: oldPeer.token });
    const first = expectOk(await t.call('POST', provisioning(app._id, '/run')));
    expect((await objects(app._id)).total).toBe(4);
    // The old application refuses one create, so the target carries an error when it moves.
    await associate(app._id, 'user', (await activeUser()).id);
    oldPeer.setChaos({ rate: 1, kinds: ['failed'], methods: ['POST'] });
    expect(expectOk(await t.call('POST', provisioning(app._id, '/run'))).status).toBe('error');
    oldPeer.setChaos(undefined);
    const oldRequests = oldPeer.requests.length;

    // Regression: the answer (and the stored status) kept the old application's error, while the store cleared lastError.
    const moved = await configure(app._id, { baseUrl: newPeerOfApp.url, token: newPeerOfApp.token }, 'PATCH');
    expect(moved).toMatchObject({ baseUrl: newPeerOfApp.url, cursor: 0, counters: {}, reconciledAt: null, lastError: null, lastErrorAt: null, status: 'idle' });
    expect(await read(app._id)).toEqual(moved);
    expect(await objects(app._id)).toEqual({ items: [], total: 0 });
    expect(await objectRows(app._id)).toEqual([]);
    expect(expectOk(await t.call('GET', provisioning(app._id, '/plan'))).summary).toEqual({ user: { create: 4 }, group: { create: 1 } });

    const run = expectOk(await t.call('POST', provisioning(app._id, '/run')));
    expect(run).toMatchObject({ status: 'idle', errors: [], counters: expect.objectContaining({ created: 5 }) });
    expect(run.seq).toBeGreaterThanOrEqual(first.seq);
    expect(newPeerOfApp.users().map((u) => u.userName)).toEqual(expect.arrayContaining([ada.username, grace.username, ken.username]));
    expect(newPeerOfApp.users()).toHaveLength(4);
    expect(newPeerOfApp.groups()).toHaveLength(1);
    expect(oldPeer.requests.length).toBe(oldRequests);
    const records = await objects(app._id, '?limit=100');
    expect(records.total).toBe(5);
    const remoteIds = new Set([...newPeerOfApp.users(), ...newPeerOfApp.groups()].map((o) => o.id));
    expect(records.items.every((o) => remoteIds.has(o.remoteId))).toBe(true);

    // The same base URL sent again is not a new target.
    await configure(app._id, { baseUrl: newPeerOfApp.url }, 'PATCH');
    expect((await objects(app._id)).total).toBe(5);
  });

  it('removes the provisioning with its application', async () => {
    const peer = await newPeer();
    const { app } = await populatedApp();
    await configure(app._id, { enabled: true, baseUrl: peer.url, token: peer.token });
    expectOk(await t.call('POST', provisioning(app._id, '/run')));
    expect(await objectRows(app._id)).toHaveLength(4);
    expectOk(await t.call('DELETE', `/api/applications/${app._id}`));
    expectError(await t.call('GET', provisioning(app._id)), 404, 'APPLICATION_NOT_FOUND');
    expectError(await t.call('GET', provisioning(app._id, '/objects')), 404, 'APPLICATION_NOT_FOUND');
    expectError(await t.call('POST', provisioning(app._id, '/run')), 404, 'APPLICATION_NOT_FOUND');
    expect(await targetRow(app._id)).toBeUndefined();
    expect(await objectRows(app._id)).toEqual([]);
    expect((await t.core.provisioning.runnable()).map((r) => r.target.applicationId)).not.toContain(app._id);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { adminWithKey, createUser, expectError, expectOk } from './helpers.js';

describeEachStore('API Active Directory domains and the agent protocol', (kind) => {
  let t: TestApi;
  const call = (method: string, url: string, body?: unknown) => t.call(method, url, body === undefined ? {} : { body });
  const agentCall = (method: string, url: string, credential: string | null, body?: unknown) =>
    t.app.inject({
      method: method as 'GET',
      url: `/api/agent/v1${url}`,
      headers: { ...(credential ? { authorization: `Bearer ${credential}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });

  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(async () => t?.dispose());

  const newDomain = async (domain = `corp${Math.floor(Math.random() * 1e9)}.example.test`) =>
    expectOk(await call('POST', '/api/v2/activedirectories', { domain, importScopeGroupDn: 'CN=Roster,CN=Users,DC=corp,DC=example,DC=test' }), 201);
  const registeredAgent = async (domainId: string) => {
    const created = expectOk(await call('POST', `/api/v2/activedirectories/${domainId}/agents`, {}), 201);
    const registered = await agentCall('POST', '/register', null, { connectKey: created.connectKey, hostname: 'dc1.corp', version: '0.1.0' });
    expect(registered.statusCode, registered.body).toBe(201);
    return { id: created.id as string, credential: registered.json().credential as string };
  };

  it('connects a domain with its settings, refuses bad settings and a second connection of the same domain, and disconnects it', async () => {
    const domain = await newDomain('corp.example.test');
    expect(domain).toMatchObject({ domain: 'corp.example.test', configuration: 'ad_authoritative', removal: { action: 'suspend', graceDays: 30 } });
    expectError(await call('POST', '/api/v2/activedirectories', { domain: 'CORP.example.test' }), 409, 'DOMAIN_EXISTS');
    expectError(await call('POST', '/api/v2/activedirectories', { domain: 'not a domain' }), 400);
    expectError(await call('PATCH', `/api/v2/activedirectories/${domain.id}`, { configuration: 'sometimes' }), 400);
    expectError(await call('PATCH', `/api/v2/activedirectories/${domain.id}`, { usersOu: 'nonsense' }), 400);
    const changed = expectOk(await call('PATCH', `/api/v2/activedirectories/${domain.id}`, { configuration: 'two_way', usersOu: 'OU=Roster,DC=corp,DC=example,DC=test', authority: { department: 'ignore' } }));
    expect(changed).toMatchObject({ configuration: 'two_way', usersOu: 'OU=Roster,DC=corp,DC=example,DC=test', authority: { department: 'ignore' } });
    const listed = expectOk(await call('GET', '/api/v2/activedirectories'));
    expect(listed.map((d: { id: string }) => d.id)).toContain(domain.id);
    const journal = expectOk(await call('GET', `/api/v2/journal?filter=objectId:eq:${domain.id}`));
    expect(journal.some((e: { changes: Record<string, unknown> }) => 'config.configuration' in e.changes || 'config' in e.changes)).toBe(true);
    expectOk(await call('DELETE', `/api/v2/activedirectories/${domain.id}`));
    expectError(await call('GET', `/api/v2/activedirectories/${domain.id}`), 404);
  });

  it('gives an agent a one-time connect key; the agent registers, reads its configuration, and holds the writer lease', async () => {
    const domain = await newDomain();
    const created = expectOk(await call('POST', `/api/v2/activedirectories/${domain.id}/agents`, {}), 201);
    expect(created).toMatchObject({ state: 'unsealed', connectKey: expect.stringMatching(/^rck_/) });
    expect(expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/agents/${created.id}`)).connectKey).toBeUndefined();

    const registered = await agentCall('POST', '/register', null, { connectKey: created.connectKey, hostname: 'dc1.corp', version: '0.1.0' });
    expect(registered.statusCode).toBe(201);
    const { credential } = registered.json();
    expect((await agentCall('POST', '/register', null, { connectKey: created.connectKey, hostname: 'x', version: '0' })).statusCode).toBe(401);

    const config = await agentCall('GET', '/config', credential);
    expect(config.statusCode).toBe(200);
    expect(config.json()).toMatchObject({ domain: domain.domain, importScopeGroupDn: domain.importScopeGroupDn, fullImportWanted: true, importCursor: null, writer: true });
    expect(config.json().userAttributes).toEqual(expect.arrayContaining(['samaccountname', 'mail', 'givenname', 'sn']));
    const second = await registeredAgent(domain.id);
    expect((await agentCall('GET', '/config', second.credential)).json().writer).toBe(false);
    expectError(await agentCall('POST', '/import', second.credential, { mode: 'incremental', objects: [] }) as never, 409, 'NOT_THE_WRITER');

    const agents = expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/agents`));
    expect(agents.find((a: { id: string }) => a.id === created.id)).toMatchObject({ state: 'active', hostname: 'dc1.corp', version: '0.1.0' });
    expect((await agentCall('GET', '/config', 'rag_nonsense')).statusCode).toBe(401);
    expect((await call('DELETE', `/api/v2/activedirectories/${domain.id}/agents/${created.id}`)).statusCode).toBe(204);
    expect((await agentCall('GET', '/config', credential)).statusCode).toBe(401);
  });

  it('imports a batch from the agent, shows the run and its plan, and a dry run applies nothing', async () => {
    const domain = await newDomain();
    const agent = await registeredAgent(domain.id);
    const guid = randomUUID();
    const user = { kind: 'user', externalId: guid, present: true, disabled: false, attributes: { samaccountname: [`dora${guid.slice(0, 6)}`], givenname: ['Dora'], sn: ['Ng'], mail: [`dora-${guid.slice(0, 6)}@corp.example.test`] } };
    const dry = await agentCall('POST', '/import', agent.credential, { mode: 'full', dryRun: true, objects: [user], complete: { seen: { users: [guid], groups: [] } }, cursor: 'c1' });
    expect(dry.statusCode, dry.body).toBe(200);
    expect(dry.json()).toMatchObject({ status: 'succeeded', plan: [expect.objectContaining({ action: 'create' })] });
    expect((await call('GET', `/api/systemusers?filter=username:$eq:dora${guid.slice(0, 6)}`)).json().totalCount).toBe(0);

    const applied = await agentCall('POST', '/import', agent.credential, { mode: 'full', objects: [user], complete: { seen: { users: [guid], groups: [] } }, cursor: 'c1' });
    expect(applied.json()).toMatchObject({ status: 'succeeded', counts: { create: 1 } });
    const found = expectOk(await call('GET', `/api/systemusers?filter=username:$eq:dora${guid.slice(0, 6)}`));
    expect(found.results[0]).toMatchObject({ firstname: 'Dora', lastname: 'Ng' });

    const sync = expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/sync`));
    expect(sync).toMatchObject({ cursor: true, fullImportWanted: false, lastRun: { status: 'succeeded', dryRun: false, counts: { create: 1 } } });
    const runs = expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/sync/runs`));
    expect(runs).toHaveLength(2);
    const run = expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/sync/runs/${runs[0].id}`));
    expect(run.plan).toEqual([expect.objectContaining({ action: 'create', externalId: guid })]);

    expectOk(await call('POST', `/api/v2/activedirectories/${domain.id}/sync/full`), 202);
    expect((await agentCall('GET', '/config', agent.credential)).json().fullImportWanted).toBe(true);

    // Bad input changes nothing.
    const bad = await agentCall('POST', '/import', agent.credential, { mode: 'full', objects: [{ kind: 'printer', externalId: 'x' }] });
    expect(bad.statusCode).toBe(400);
    expect(expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/sync/runs`))).toHaveLength(2);
  });

  it('reports agent errors with the domain state, and lets users and groups be associated with the domain', async () => {
    const domain = await newDomain();
    const agent = await registeredAgent(domain.id);
    expect((await agentCall('POST', '/error', agent.credential, { message: 'ldaps://dc1: connect ECONNREFUSED' })).statusCode).toBe(204);
    expect(expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/sync`)).lastError).toContain('ECONNREFUSED');
    const user = await createUser(t);
    expect((await call('POST', `/api/v2/activedirectories/${domain.id}/associations`, { op: 'add', type: 'user', id: user._id })).statusCode).toBe(204);
    const users = expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/users`));
    expect(users.map((u: { id: string }) => u.id)).toContain(user._id);
  });

  it('keeps read-only administrators from connecting domains or adding agents', async () => {
    const domain = await newDomain();
    const reader = await adminWithKey(t, 'Read Only');
    expectError(await t.call('POST', '/api/v2/activedirectories', { key: reader.key, body: { domain: 'other.example.test' } }), 403);
    expectError(await t.call('POST', `/api/v2/activedirectories/${domain.id}/agents`, { key: reader.key, body: {} }), 403);
    expectOk(await t.call('GET', `/api/v2/activedirectories/${domain.id}`, { key: reader.key }));
  });

  it('Roster authoritative over the protocol: the export plan, the agent reporting what it wrote, the preview for administrators, and password requests', async () => {
    const domain = expectOk(await call('POST', '/api/v2/activedirectories', { domain: `w${Math.floor(Math.random() * 1e9)}.example.test`, configuration: 'roster_authoritative', usersOu: 'OU=Roster,DC=corp,DC=example,DC=test' }), 201);
    const agent = await registeredAgent(domain.id);
    const user = await createUser(t);
    expect((await call('POST', `/api/v2/activedirectories/${domain.id}/associations`, { op: 'add', type: 'user', id: user._id })).statusCode).toBe(204);
    const preview = expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/sync/export`));
    expect(preview.ops).toEqual([expect.objectContaining({ op: 'create_user', localId: user._id, parentDn: 'OU=Roster,DC=corp,DC=example,DC=test' })]);
    const plan = await agentCall('GET', '/export', agent.credential);
    expect(plan.statusCode, plan.body).toBe(200);
    const guid = randomUUID();
    const reported = await agentCall('POST', '/export', agent.credential, { outcomes: [{ op: plan.json().ops[0], ok: true, externalId: guid, dn: 'CN=x,OU=Roster,DC=corp,DC=example,DC=test' }] });
    expect(reported.statusCode, reported.body).toBe(200);
    expect(reported.json()).toMatchObject({ status: 'succeeded', counts: { create: 1 } });
    expect(expectOk(await call('GET', `/api/v2/activedirectories/${domain.id}/sync/export`)).ops).toEqual([]);
    // A malformed report changes nothing.
    expect((await agentCall('POST', '/export', agent.credential, { outcomes: [{ op: { op: 'drop_table' }, ok: true }] })).statusCode).toBe(400);
    // The long poll answers with nothing to do, and the password authority is set per linked user.
    const tasks = await agentCall('GET', '/tasks?wait=0', agent.credential);
    expect(tasks.json()).toMatchObject({ tasks: [] });
    expect(expectOk(await call('PUT', `/api/v2/activedirectories/${domain.id}/users/${user._id}/passwordauthority`, { passwordAuthority: 'directory' }))).toEqual({ passwordAuthority: 'directory' });
    expectError(await call('PUT', `/api/v2/activedirectories/${domain.id}/users/${user._id}/passwordauthority`, { passwordAuthority: 'elsewhere' }), 400);
    expect((await agentCall('POST', '/tasks/nope', agent.credential, { ok: true })).statusCode).toBe(404);
    // A password pushed for an account no Roster user is linked to.
    expect((await agentCall('POST', '/password', agent.credential, { externalId: randomUUID(), password: 'Whatever-1' })).statusCode).toBe(404);
    const reader = await adminWithKey(t, 'Read Only');
    expectOk(await t.call('GET', `/api/v2/activedirectories/${domain.id}/sync/export`, { key: reader.key }));
    expectError(await t.call('PUT', `/api/v2/activedirectories/${domain.id}/users/${user._id}/passwordauthority`, { key: reader.key, body: { passwordAuthority: null } }), 403);
  });
});

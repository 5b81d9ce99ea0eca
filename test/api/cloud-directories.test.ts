import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { connectorFor } from '../../src/app/cloud-connectors.js';
import { startGoogleEmulator } from '../support/google-emulator.js';
import { createUser, expectError, expectOk } from './helpers.js';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const serviceAccountKey = JSON.stringify({ type: 'service_account', client_email: 'roster-sync@project.iam.gserviceaccount.com', private_key: PEM, private_key_id: 'k1' });

describeEachStore('API Google Workspace (/gsuites) and Microsoft 365 (/office365s)', (kind) => {
  let t: TestApi;
  const call = (method: string, url: string, body?: unknown) => t.call(method, url, body === undefined ? {} : { body });

  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(async () => t?.dispose());

  it('connects Google Workspace with a sealed key: never returned, journaled as [REDACTED]; refuses bad settings', async () => {
    expectError(await call('POST', '/api/v2/gsuites', { domain: 'example.com', adminEmail: 'admin@example.com' }), 400, 'INVALID_INPUT');
    expectError(await call('POST', '/api/v2/gsuites', { domain: 'example.com', adminEmail: 'admin@example.com', serviceAccountKey: '{"type":"user"}' }), 400);
    expectError(await call('POST', '/api/v2/gsuites', { domain: 'example.com', adminEmail: 'admin@example.com', serviceAccountKey, configuration: 'ad_authoritative' }), 400);
    expectError(await call('POST', '/api/v2/gsuites', { domain: 'example.com', adminEmail: 'admin@example.com', serviceAccountKey, tenantId: 'x' }), 400);
    expectError(await call('POST', '/api/v2/gsuites', { domain: 'example.com', adminEmail: 'admin@example.com', serviceAccountKey, scope: { orgUnitPath: "/x' or 1" } }), 400);
    const created = expectOk(await call('POST', '/api/v2/gsuites', { domain: 'Example.com', adminEmail: 'admin@example.com', serviceAccountKey, scope: { orgUnitPath: '/Staff' }, authority: { jobTitle: 'ignore', password: 'export' } }), 201);
    expect(created).toMatchObject({
      domain: 'example.com',
      configuration: 'roster_authoritative',
      credentialSet: true,
      serviceAccountEmail: 'roster-sync@project.iam.gserviceaccount.com',
      scope: { orgUnitPath: '/Staff', groupEmail: null, importGroups: true },
      usersOu: '/',
      authority: { jobTitle: 'ignore', password: 'export' },
    });
    const keyLine = PEM.split('\n')[1]!;
    expect(JSON.stringify(created)).not.toContain(keyLine);
    expectError(await call('POST', '/api/v2/gsuites', { domain: 'example.com', adminEmail: 'other@example.com', serviceAccountKey }), 409, 'DOMAIN_EXISTS');
    const got = expectOk(await call('GET', `/api/v2/gsuites/${created.id}`));
    expect(JSON.stringify(got)).not.toContain(keyLine);
    const changed = expectOk(await call('PATCH', `/api/v2/gsuites/${created.id}`, { configuration: 'two_way', serviceAccountKey, deprovision: 'delete' }));
    expect(changed).toMatchObject({ configuration: 'two_way', deprovision: 'delete' });
    expectError(await call('PATCH', `/api/v2/gsuites/${created.id}`, { domain: 'other.com' }), 400);
    const journal = expectOk(await call('GET', `/api/v2/journal?filter=objectId:eq:${created.id}`));
    expect(JSON.stringify(journal)).not.toContain(keyLine);
    expect(JSON.stringify(journal)).toContain('[REDACTED]');
    expect(expectOk(await call('GET', `/api/v2/gsuites/${created.id}/sync`))).toMatchObject({ fullImportWanted: true, cursor: false, lastError: null });
    expectError(await call('GET', `/api/v2/office365s/${created.id}`), 404);

    // JumpCloud's translation rules: an attribute's direction, kept as its authority.
    const rule = expectOk(await call('POST', `/api/v2/gsuites/${created.id}/translationrules`, { builtIn: 'user_primary_organization_title', direction: 'import' }), 201);
    expect(rule).toMatchObject({ builtIn: 'user_primary_organization_title', direction: 'import' });
    expect(expectOk(await call('GET', `/api/v2/gsuites/${created.id}`)).authority).toMatchObject({ jobTitle: 'import' });
    expectError(await call('POST', `/api/v2/gsuites/${created.id}/translationrules`, { builtIn: 'user_primary_organization_title' }), 409);
    expectError(await call('POST', `/api/v2/gsuites/${created.id}/translationrules`, { builtIn: 'user_manager' }), 400, 'UNSUPPORTED_TRANSLATION');
    expectError(await call('POST', `/api/v2/gsuites/${created.id}/translationrules`, { builtIn: 'nonsense' }), 400);
    expect(expectOk(await call('GET', `/api/v2/gsuites/${created.id}/translationrules`))).toEqual([rule]);
    expectOk(await call('GET', `/api/v2/gsuites/${created.id}/translationrules/${rule.id}`));
    expectOk(await call('DELETE', `/api/v2/gsuites/${created.id}/translationrules/${rule.id}`), 204);
    expect(expectOk(await call('GET', `/api/v2/gsuites/${created.id}`)).authority.jobTitle).toBeUndefined();
    expectError(await call('DELETE', `/api/v2/gsuites/${created.id}/translationrules/${rule.id}`), 404);
    // This process has no connector: the import list says so rather than guessing.
    expectError(await call('GET', `/api/v2/gsuites/${created.id}/import/users`), 503, 'DIRECTORY_UNAVAILABLE', 'UNAVAILABLE');
  });

  it('connects Microsoft 365; its users and groups tabs show who is connected directly and through a group', async () => {
    const tenantId = randomUUID();
    expectError(await call('POST', '/api/v2/office365s', { domain: 'contoso.example', tenantId, clientId: 'not-a-guid', clientSecret: 's3cret-value' }), 400);
    expectError(await call('POST', '/api/v2/office365s', { domain: 'contoso.example', tenantId, clientId: randomUUID(), clientSecret: 's3cret-value', usageLocation: 'usa' }), 400);
    const o = expectOk(await call('POST', '/api/v2/office365s', { domain: 'contoso.example', tenantId, clientId: randomUUID(), clientSecret: 's3cret-value', usageLocation: 'US', groupType: 'microsoft365', domainMap: { 'contoso.co.uk': 'contoso.co.uk' } }), 201);
    expect(o).toMatchObject({ credentialSet: true, usageLocation: 'US', groupType: 'microsoft365', domainMap: { 'contoso.co.uk': 'contoso.co.uk' }, scope: { groupId: null } });
    expect(JSON.stringify(o)).not.toContain('s3cret-value');
    expect(expectOk(await call('GET', '/api/v2/office365s')).map((d: { id: string }) => d.id)).toContain(o.id);

    const direct = await createUser(t, { username: `direct-${randomUUID().slice(0, 8)}` });
    const viaGroup = await createUser(t, { username: `member-${randomUUID().slice(0, 8)}` });
    const group = expectOk(await call('POST', '/api/v2/usergroups', { name: `M365 ${randomUUID().slice(0, 8)}` }), 201);
    expectOk(await call('POST', `/api/v2/usergroups/${group.id}/members`, { op: 'add', type: 'user', id: viaGroup.id }), 204);
    expectOk(await call('POST', `/api/v2/office365s/${o.id}/associations`, { op: 'add', type: 'user', id: direct.id }), 204);
    expectOk(await call('POST', `/api/v2/office365s/${o.id}/associations`, { op: 'add', type: 'user_group', id: group.id }), 204);
    const users = expectOk(await call('GET', `/api/v2/office365s/${o.id}/users`));
    expect(users.map((u: { id: string }) => u.id).sort()).toEqual([direct.id, viaGroup.id].sort());
    // The export's dry run: both users would be created; nothing is written.
    const plan = expectOk(await call('GET', `/api/v2/office365s/${o.id}/sync/export`));
    expect(plan.ops.filter((op: { op: string }) => op.op === 'create_user').map((op: { localId: string }) => op.localId).sort()).toEqual([direct.id, viaGroup.id].sort());
    expectOk(await call('POST', `/api/v2/office365s/${o.id}/sync/plan`), 202);
    expect(expectOk(await call('GET', `/api/v2/office365s/${o.id}/sync`))).toMatchObject({ dryRunWanted: true });
    expectOk(await call('DELETE', `/api/v2/office365s/${o.id}`), 204);
    expectError(await call('GET', `/api/v2/office365s/${o.id}`), 404);
  });

  it("lists a Google Workspace's accounts available for import, paged JumpCloud's way, through the connector", async () => {
    const google = await startGoogleEmulator({ domain: 'import.example' });
    try {
      t.core.cloudDirectories.useReader((connection) => connectorFor(connection).read(null));
      for (let i = 0; i < 12; i++) google.addUser({ primaryEmail: `person${String(i).padStart(2, '0')}@${google.domain}`, givenName: 'Person', familyName: String(i) });
      google.addUser({ primaryEmail: `boss@${google.domain}`, givenName: 'Super', familyName: 'Admin', isAdmin: true });
      const g = expectOk(await call('POST', '/api/v2/gsuites', { domain: google.domain, adminEmail: google.adminEmail, serviceAccountKey: google.serviceAccountKey, endpoints: { rootUrl: google.rootUrl, tokenUrl: google.tokenUrl } }), 201);
      const first = expectOk(await call('GET', `/api/v2/gsuites/${g.id}/import/users`));
      expect(first.users).toHaveLength(10);
      expect(first.users[0]).toMatchObject({ id: expect.any(String), primaryEmail: expect.stringMatching(/^person/), givenName: 'Person' });
      const second = expectOk(await call('GET', `/api/v2/gsuites/${g.id}/import/users?pageToken=${first.nextPageToken}`));
      expect(second.users).toHaveLength(2);
      expect(second.nextPageToken).toBeUndefined();
      const found = expectOk(await call('GET', `/api/v2/gsuites/${g.id}/import/users?query=person07`));
      expect(found.users.map((u: { primaryEmail: string }) => u.primaryEmail)).toEqual([`person07@${google.domain}`]);
    } finally {
      await google.close();
    }
  });
});

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyFrom, runCli, startRoster, tempDir, type RosterProcess } from '../support/roster-process.js';
import { startScimPeer } from '../support/scim-peer.js';

/** The CLI works on the same data directory as a running server, as an operator would use it. */
describe('roster CLI', () => {
  const dir = tempDir();
  const env = { ROSTER_DATA_DIR: dir.path };
  let server: RosterProcess;
  let key: string;

  const api = async (path: string, apiKey = key) => {
    const res = await fetch(`${server.url}${path}`, { headers: { 'x-api-key': apiKey } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const csv = (name: string, content: string) => {
    const file = join(dir.path, name);
    writeFileSync(file, content);
    return file;
  };
  const count = async () => (await api('/api/systemusers?limit=0')).body.totalCount as number;

  beforeAll(async () => {
    server = await startRoster(env);
    key = apiKeyFrom(server.stdout())!;
  });
  afterAll(async () => {
    await server.stop();
    dir.remove();
  });

  it('imports users from CSV with mapped columns, Unicode, managers and custom attributes', async () => {
    const file = csv(
      'good.csv',
      [
        'Username,Email,First Name,Last Name,Department,Manager,attribute.shirtSize,Sudo,Mobile',
        'zoe,zoe@cli.test,Zoë,Ødegård,Engineering,,M,yes,+47 555 0101',
        'amir,AMIR@cli.test,أمير,Haddad,Engineering,zoe,L,no,',
        'li,li@cli.test,李,"Wei, Jr.",Support,amir@cli.test,,,',
      ].join('\n'),
    );
    const result = await runCli(['users', 'import', file], env);
    expect(result.stderr).toContain('Imported 3 of 3 users');
    expect(result.code).toBe(0);
    const found = await api('/api/systemusers?filter=username:$eq:amir');
    const amir = found.body.results[0];
    expect(amir.firstname).toBe('أمير');
    expect(amir.email).toBe('AMIR@cli.test');
    const zoe = (await api('/api/systemusers?filter=username:$eq:zoe')).body.results[0];
    expect(amir.manager).toBe(zoe._id);
    expect(zoe.attributes).toEqual([{ name: 'shirtSize', value: 'M' }]);
    expect(zoe.sudo).toBe(true);
    expect(zoe.phoneNumbers).toEqual([{ id: expect.stringMatching(/^[0-9a-f]{24}$/), type: 'mobile', number: '+47 555 0101' }]);
    const li = (await api('/api/systemusers?filter=username:$eq:li')).body.results[0];
    expect(li.lastname).toBe('Wei, Jr.');
    expect(li.manager).toBe(amir._id);
  });

  it('reports every bad row with its line number and imports nothing', async () => {
    const before = await count();
    const file = csv(
      'bad.csv',
      [
        'username,email,sudo,uid',
        'ok1,ok1@cli.test,,',
        'bad email,not-an-email,,',
        'ok2,ok2@cli.test,maybe,',
        'zoe,ZOE@CLI.TEST,,',
        'ok3,ok3@cli.test,,12x',
        'ok4,ok1@cli.test,,',
      ].join('\n'),
    );
    const result = await runCli(['users', 'import', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/bad\.csv:3: .*username/);
    expect(result.stderr).toMatch(/bad\.csv:3: .*email/);
    expect(result.stderr).toMatch(/bad\.csv:4: sudo must be true or false/);
    expect(result.stderr).toMatch(/bad\.csv:5: username zoe is taken/);
    expect(result.stderr).toMatch(/bad\.csv:6: unixUid must be a whole number/);
    expect(result.stderr).toMatch(/bad\.csv:7: email duplicates line 2/);
    expect(result.stderr).toContain('Nothing was imported');
    expect(await count()).toBe(before);
  });

  it('imports the good rows with --continue-on-error and says which were skipped', async () => {
    const before = await count();
    const file = csv('mixed.csv', ['username,email', 'fine1,fine1@cli.test', 'zoe,dup@cli.test', 'fine2,fine2@cli.test'].join('\n'));
    const result = await runCli(['users', 'import', file, '--continue-on-error'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/mixed\.csv:3: username zoe is taken/);
    expect(result.stderr).toContain('Imported 2 of 3 users');
    expect(await count()).toBe(before + 2);
  });

  it('writes nothing on --dry-run', async () => {
    const before = await count();
    const file = csv('dry.csv', ['username,email', 'dry1,dry1@cli.test'].join('\n'));
    const result = await runCli(['users', 'import', file, '--dry-run'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('Dry run: 1 of 1 rows would be imported');
    expect(await count()).toBe(before);
  });

  it('refuses a file with unknown columns before reading any row', async () => {
    const file = csv('typo.csv', ['username,emial', 'x,y'].join('\n'));
    const result = await runCli(['users', 'import', file], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown column "emial"');
    expect(result.stderr).toContain('an email column is required');
  });

  it('creates and revokes API keys, including read-only ones', async () => {
    const created = await runCli(['apikey', 'create', '--admin', 'admin@roster.localhost', '--read-only', '--name', 'reports'], env);
    expect(created.code).toBe(0);
    const readOnly = created.stdout.trim();
    expect((await api('/api/systemusers?limit=1', readOnly)).status).toBe(200);
    const write = await fetch(`${server.url}/api/v2/usergroups`, {
      method: 'POST',
      headers: { 'x-api-key': readOnly, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'nope' }),
    });
    expect(write.status).toBe(403);
    const id = /Created API key (\S+)/.exec(created.stderr)![1]!;
    expect((await runCli(['apikey', 'revoke', id], env)).code).toBe(0);
    const after = await api('/api/systemusers?limit=1', readOnly);
    expect(after.status).toBe(401);
    expect(after.body.reason).toBe('API_KEY_REVOKED');
  });

  it('creates administrators with a role and refuses unknown roles', async () => {
    const ok = await runCli(['admin', 'create', '--email', 'desk@cli.test', '--role', 'Help Desk', '--api-key'], env);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toMatch(/Password\s+\S+/);
    const deskKey = /API key\s+(\S+)/.exec(ok.stderr)![1]!;
    const admins = await api('/api/users', deskKey);
    expect(admins.status).toBe(403);
    const bad = await runCli(['admin', 'create', '--email', 'x@cli.test', '--role', 'Overlord'], env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('must be one of');
  });

  it('creates organizations and links an administrator to them', async () => {
    const created = await runCli(['org', 'create', 'Second Org', '--admin', 'admin@roster.localhost'], env);
    expect(created.code).toBe(0);
    const orgId = created.stdout.trim();
    const listed = await runCli(['org', 'list'], env);
    expect(listed.stdout).toContain(`${orgId}  Second Org`);
    // Now the first admin manages two orgs: requests must choose one.
    const res = await api('/api/systemusers');
    expect(res.status).toBe(401);
    expect(res.body.reason).toBe('ORG_ID_REQUIRED');
    const other = await fetch(`${server.url}/api/systemusers`, { headers: { 'x-api-key': key, 'x-org-id': orgId } });
    expect(((await other.json()) as any).totalCount).toBe(0);
    const ambiguous = await runCli(['users', 'import', csv('o.csv', 'username,email\nq,q@cli.test')], env);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain('choose one with --org');
  });

  it('reports that migrations are up to date', async () => {
    const result = await runCli(['migrate'], env);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('is up to date');
  });
  it("shows an application's provisioning status and dry-run plan, and runs it", async () => {
    const peer = await startScimPeer();
    try {
      // An earlier test links the administrator to a second organization: name the first one.
      const orgId = /^(\S+) {2}My Organization$/m.exec((await runCli(['org', 'list'], env)).stdout)![1]!;
      const org = ['--org', orgId];
      const send = async (method: string, path: string, body: unknown) => {
        const res = await fetch(`${server.url}${path}`, { method, headers: { 'x-api-key': key, 'x-org-id': orgId, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
        const text = await res.text();
        return (text ? JSON.parse(text) : undefined) as any;
      };
      const user = await send('POST', '/api/systemusers', { username: 'provisioned', email: 'provisioned@cli.test', firstname: 'Pro', lastname: 'Visioned' });
      const app = await send('POST', '/api/applications', { name: 'cli-app', displayLabel: 'CLI app' });
      await send('POST', `/api/v2/applications/${app._id}/associations`, { op: 'add', type: 'user', id: user._id });

      const plan = await runCli(['provisioning', 'plan', app._id, ...org], env);
      expect(plan.code).toBe(0);
      expect(plan.stdout).toMatch(/^create +user +provisioned +— associated with the application$/m);
      expect(plan.stderr).toContain('Provisioning is off');
      const off = await runCli(['provisioning', 'run', app._id, ...org], env);
      expect(off.code).not.toBe(0);
      expect(off.stderr).toContain('provisioning is not enabled');

      // The server's own worker provisions the application once it is enabled.
      await send('PUT', `/api/v2/applications/${app._id}/provisioning`, { enabled: true, baseUrl: peer.url, token: peer.token });
      await peer.waitFor(() => peer.sizes().users === 1, 10_000);
      await expect.poll(async () => (await runCli(['provisioning', 'status', app._id, ...org], env)).stdout, { timeout: 5_000 }).toMatch(/^status +idle$/m);
      const status = await runCli(['provisioning', 'status', app._id, ...org], env);
      expect(status.stdout).toContain(`target       ${peer.url}  token set`);
      expect((await runCli(['provisioning', 'plan', app._id, ...org], env)).stderr).toContain('Nothing to do');
      const run = await runCli(['provisioning', 'run', app._id, '--reconcile', ...org], env);
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ requests: expect.any(Number) });
      expect(peer.users()).toEqual([expect.objectContaining({ userName: 'provisioned', active: true })]);
    } finally {
      await peer.close();
    }
  });
});

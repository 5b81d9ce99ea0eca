import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyFrom, startRoster, tempDir, type RosterProcess } from '../support/roster-process.js';
import { PG_URL, STORE_KINDS } from '../support/stores.js';

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });

describe('roster serve on the embedded store', () => {
  const dir = tempDir();
  let server: RosterProcess;
  let key: string;

  beforeAll(async () => {
    server = await startRoster({ ROSTER_DATA_DIR: dir.path, ROSTER_ADMIN_EMAIL: 'first@e2e.test', ROSTER_ORG_NAME: 'E2E' });
    key = apiKeyFrom(server.stdout())!;
  });
  afterAll(async () => {
    await server.stop();
    dir.remove();
  });

  it('prints the one-time first-run credentials', () => {
    expect(server.stdout()).toContain('First run: created the organization "E2E"');
    expect(server.stdout()).toContain('first@e2e.test');
    expect(key).toMatch(/^rst_[A-Za-z0-9_-]{43}$/);
  });

  it('answers health and readiness without a key', async () => {
    expect((await json(await fetch(`${server.url}/healthz`))).status).toBe(200);
    const ready = await json(await fetch(`${server.url}/readyz`));
    expect(ready).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('serves the API with the printed key and refuses requests without it', async () => {
    const ok = await json(await fetch(`${server.url}/api/systemusers`, { headers: { 'x-api-key': key } }));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ totalCount: 0, results: [] });
    const denied = await json(await fetch(`${server.url}/api/systemusers`));
    expect(denied.status).toBe(401);
    expect(denied.body.reason).toBe('API_KEY_MISSING');
  });

  it('publishes its OpenAPI document and human-readable docs', async () => {
    const doc = await json(await fetch(`${server.url}/api/openapi.json`));
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toContain('/api/systemusers');
    const page = await fetch(`${server.url}/docs/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
  });

  it('keeps the master key in a file only its owner can read', () => {
    expect(statSync(join(dir.path, 'master.key')).mode & 0o777).toBe(0o600);
  });

  it('does not bootstrap again on restart, and the first key still works', async () => {
    await server.stop();
    server = await startRoster({ ROSTER_DATA_DIR: dir.path });
    expect(server.stdout()).not.toContain('First run');
    const res = await fetch(`${server.url}/api/organizations`, { headers: { 'x-api-key': key } });
    expect((await json(res)).body.results).toEqual([expect.objectContaining({ displayName: 'E2E' })]);
  });

  it('refuses to start with a master key that is not the store\'s', async () => {
    const other = randomBytes(32).toString('base64');
    await expect(startRoster({ ROSTER_DATA_DIR: dir.path, ROSTER_MASTER_KEY: other, ROSTER_HTTP_PORT: '0' })).rejects.toThrow(/master key does not match/);
  });
});

describe.runIf(STORE_KINDS.includes('postgres'))('several roster serve processes on one PostgreSQL', () => {
  const schema = `roster_e2e_${randomBytes(5).toString('hex')}`;
  const url = `${PG_URL}${PG_URL.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  const masterKey = randomBytes(32).toString('base64');
  const dirs = [tempDir(), tempDir()];
  let servers: RosterProcess[] = [];
  let key: string;

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    // Both start at once on an empty store: migrations and first-run bootstrap must not collide.
    servers = await Promise.all(dirs.map((d) => startRoster({ DATABASE_URL: url, ROSTER_MASTER_KEY: masterKey, ROSTER_DATA_DIR: d.path })));
    const banners = servers.map((s) => apiKeyFrom(s.stdout())).filter(Boolean);
    expect(banners).toHaveLength(1);
    key = banners[0]!;
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    for (const d of dirs) d.remove();
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  });

  const call = (i: number, method: string, path: string, body?: unknown) =>
    fetch(`${servers[i]!.url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });

  it('sees a change made through one process immediately through the other', async () => {
    const created = await json(await call(0, 'POST', '/api/systemusers', { username: 'shared', email: 'shared@e2e.test' }));
    expect(created.status).toBe(200);
    const seen = await json(await call(1, 'GET', `/api/systemusers/${created.body._id}`));
    expect(seen.body.username).toBe('shared');
    await call(1, 'PUT', `/api/systemusers/${created.body._id}`, { department: 'Ops' });
    expect((await json(await call(0, 'GET', `/api/systemusers/${created.body._id}`))).body.department).toBe('Ops');
  });

  it('lets exactly one of two concurrent creates of the same username win', async () => {
    for (let round = 0; round < 5; round++) {
      const body = { username: `race${round}`, email: `race${round}@e2e.test` };
      const results = await Promise.all([call(0, 'POST', '/api/systemusers', body), call(1, 'POST', '/api/systemusers', { ...body, email: `other${round}@e2e.test` })]);
      expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    }
  });

  it('hands out distinct unix uids under concurrent creates from both processes', async () => {
    const creates = Array.from({ length: 20 }, (_, i) => call(i % 2, 'POST', '/api/systemusers', { username: `uid${i}`, email: `uid${i}@e2e.test` }));
    const users = await Promise.all(creates.map(async (r) => (await json(await r)).body));
    const uids = users.map((u) => u.unix_uid);
    expect(new Set(uids).size).toBe(20);
  });

  it('journals every change once, in one sequence both processes share', async () => {
    const res = await json(await call(1, 'GET', '/api/v2/journal?limit=1000'));
    const seqs = (res.body as { seq: number }[]).map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    expect((res.body as { objectType: string; operation: string }[]).filter((e) => e.objectType === 'user' && e.operation === 'create')).toHaveLength(1 + 5 + 20);
  });
});

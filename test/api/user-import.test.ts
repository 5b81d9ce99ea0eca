import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { adminWithKey, countUsers, expectError, expectOk, sleep } from './helpers.js';

describeEachStore('API: CSV import of users (/api/v2/users/import)', (kind) => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(() => t.dispose());

  const post = (csv: string, query = '', key?: string) => t.call('POST', `/api/v2/users/import${query}`, { payload: csv, headers: { 'content-type': 'text/csv' }, ...(key ? { key } : {}) });
  const poll = async (id: string) => {
    for (let i = 0; i < 200; i++) {
      const job = expectOk(await t.call('GET', `/api/v2/users/import/${id}`));
      if (job.status !== 'running') return job;
      await sleep(25);
    }
    throw new Error('the import did not end');
  };

  it('checks a file without writing (dry run), naming the line of each error', async () => {
    const before = await countUsers(t);
    const report = expectOk(await post('username,email,firstname\nann.csv,ann.csv@example.com,Ann\nbad user,not-an-email,Bad\n', '?dryRun=true&continueOnError=true'));
    expect(report).toMatchObject({ rows: 2, created: 1, failed: 1, dryRun: true });
    expect(report.errors.map((e: { line: number }) => e.line)).toEqual(expect.arrayContaining([3]));
    expect(await countUsers(t)).toBe(before);
  });

  it('imports in the background and reports progress until it ends; a bad row writes nothing', async () => {
    const before = await countUsers(t);
    const rows = Array.from({ length: 1500 }, (_, i) => `bulk${i},bulk${i}@example.com,Bulk,Nº${i}`);
    const started = expectOk(await post(`username,email,firstname,lastname\n${rows.join('\n')}\n`), 202);
    expect(started).toMatchObject({ status: 'running', done: 0 });
    const job = await poll(started.id);
    expect(job).toMatchObject({ status: 'succeeded', done: 1500, total: 1500, report: { created: 1500, failed: 0 } });
    expect(await countUsers(t)).toBe(before + 1500);

    const refused = await poll(expectOk(await post('username,email\nfresh.one,fresh.one@example.com\nbulk1,dup@example.com\n'), 202).id);
    expect(refused).toMatchObject({ status: 'failed', report: { aborted: true, failed: 1 } });
    expect(refused.error).toMatch(/nothing was imported/);
    expect(await countUsers(t)).toBe(before + 1500);
  });

  it('refuses what is not a CSV import: no body, a NUL, a read-only key, an unknown job', async () => {
    expectError(await post(''), 400);
    expectError(await post('username,email\nnul\u0000,x@example.com\n', '?dryRun=true'), 400, 'INVALID_CHARACTER');
    const readOnly = await adminWithKey(t, 'Administrator', { readOnly: true });
    expectError(await post('username,email\nro,ro@example.com\n', '', readOnly.key), 403);
    expectError(await t.call('GET', '/api/v2/users/import/ffffffffffffffffffffffff'), 404, 'IMPORT_NOT_FOUND');
    const other = await adminWithKey(t, 'Administrator');
    const job = expectOk(await post('username,email\nmine.only,mine.only@example.com\n'), 202);
    await poll(job.id);
    expectOk(await t.call('GET', `/api/v2/users/import/${job.id}`, { key: other.key }));
  });
});

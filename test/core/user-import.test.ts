import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ImportRow } from '../../src/core/services/user-import.js';
import { ALL_ROWS } from '../../src/core/query.js';
import { openTestCore, type TestCore } from '../support/core.js';

const row = (line: number, username: string, extra: Partial<ImportRow['input']> = {}, managerRef?: string): ImportRow => ({
  line,
  input: { username, email: `${username}@import.test`, ...extra },
  ...(managerRef ? { managerRef } : {}),
});

describe('UserImportService', () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await openTestCore();
  });
  afterEach(() => t.dispose());

  const all = async () => (await t.core.users.list(t.ctx, { sort: [{ field: 'username', descending: false }], page: ALL_ROWS })).items;

  it('resolves managers named later in the same file, by username or email', async () => {
    const rows = [row(2, 'report', {}, 'boss@IMPORT.test'), row(3, 'boss', {}, 'ceo'), row(4, 'ceo')];
    const report = await t.core.userImport.import(t.ctx, () => rows);
    expect(report).toMatchObject({ rows: 3, created: 3, failed: 0, aborted: false });
    const byName = new Map((await all()).map((u) => [u.username, u]));
    expect(byName.get('report')!.manager).toBe(byName.get('boss')!.id);
    expect(byName.get('boss')!.manager).toBe(byName.get('ceo')!.id);
    expect(byName.get('ceo')!.manager).toBeNull();
  });

  it('skips uids given by hand when it allocates the others', async () => {
    const rows = [row(2, 'auto1'), row(3, 'manual', { unixUid: 5001 }), row(4, 'auto2'), row(5, 'auto3')];
    await t.core.userImport.import(t.ctx, () => rows);
    const uids = (await all()).map((u) => [u.username, u.unixUid]);
    expect(Object.fromEntries(uids)).toEqual({ auto1: 5000, manual: 5001, auto2: 5002, auto3: 5003 });
  });

  it('hashes passwords, and the journal shows only that one was set', async () => {
    await t.core.userImport.import(t.ctx, () => [row(2, 'pw', { password: 'CorrectHorse42x' })]);
    const [user] = await all();
    expect(user!.passwordSet).toBe(true);
    expect((await t.core.authentication.verify(t.ctx.orgId, 'pw', 'CorrectHorse42x', 'portal')).ok).toBe(true);
    const entries = await t.core.journal.list(t.ctx, 0, 100);
    const created = entries.find((e) => e.objectId === user!.id)!;
    expect(created.changes.password).toEqual({ before: '[REDACTED]', after: '[REDACTED]' });
    expect(JSON.stringify(entries)).not.toContain('CorrectHorse42x');
  });

  it('writes nothing when a row fails, and reports every failing row', async () => {
    await t.core.users.create(t.ctx, { username: 'exists', email: 'exists@import.test' });
    const rows = [row(2, 'fine'), row(3, 'EXISTS'), row(4, 'bad', { email: 'nope' }), row(5, 'cell', {}, undefined)];
    rows[3]!.problems = [{ field: 'sudo', message: 'sudo must be true or false, not "maybe"' }];
    const report = await t.core.userImport.import(t.ctx, () => rows);
    expect(report).toMatchObject({ rows: 4, created: 0, failed: 3, aborted: true });
    expect(report.errors.map((e) => e.line)).toEqual([3, 3, 4, 5]);
    expect((await all()).map((u) => u.username)).toEqual(['exists']);
  });

  it('imports the good rows with continueOnError', async () => {
    const report = await t.core.userImport.import(t.ctx, () => [row(2, 'one'), row(3, 'one'), row(4, 'two')], { continueOnError: true });
    expect(report).toMatchObject({ created: 2, failed: 1 });
    expect(report.errors).toEqual([{ line: 3, field: 'username', message: 'username duplicates line 2' }, { line: 3, field: 'email', message: 'email duplicates line 2' }]);
    expect((await all()).map((u) => u.username)).toEqual(['one', 'two']);
  });

  it('refuses rows that change between the check and the write, and writes nothing', async () => {
    let pass = 0;
    const source = () => {
      pass++;
      return pass === 1 ? [row(2, 'steady'), row(3, 'fickle')] : [row(2, 'steady'), row(3, 'fickle', { email: 'not an email' })];
    };
    await expect(t.core.userImport.import(t.ctx, source)).rejects.toMatchObject({ code: 'IMPORT_SOURCE_CHANGED' });
    expect(await all()).toEqual([]);
  });

  it('reads the rows twice and never holds them: a generator source works', async () => {
    async function* rows() {
      for (let i = 0; i < 2500; i++) yield row(i + 2, `gen${i}`);
    }
    const progress: number[] = [];
    const report = await t.core.userImport.import(t.ctx, rows, { onProgress: (done) => progress.push(done) });
    expect(report.created).toBe(2500);
    expect(progress).toEqual([1000, 2000, 2500]);
    expect((await t.core.users.list(t.ctx, { sort: [], page: { limit: 0, skip: 0 } })).total).toBe(2500);
  });
});

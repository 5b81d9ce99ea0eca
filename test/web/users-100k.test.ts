/**
 * The admin portal's user list with 100,000 users in the directory: the first page shows in under
 * a second in the browser, from navigation to the fiftieth row on screen. The users are imported
 * with `roster users import`, as an operator would.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipChromium } from '../support/chromium.js';
import { openPortalServer, signInAsAdmin, watchedPage, type PortalServer } from '../support/portal.js';
import { runCli, tempDir } from '../support/roster-process.js';

const USERS = 100_000;

describe.skipIf(skipChromium())('Admin portal with 100,000 users (Chromium)', () => {
  let s: PortalServer;
  let page: Page;
  const dir = tempDir('roster-100k-');

  beforeAll(async () => {
    s = await openPortalServer();
    const lines = ['username,email,firstname,lastname,department'];
    for (let i = 0; i < USERS; i++) lines.push(`user${String(i).padStart(6, '0')},user${i}@scale.test,First${i},Last${i},${['Engineering', 'Sales', 'Support', 'Légal'][i % 4]}`);
    const file = join(dir.path, 'users.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const imported = await runCli(['users', 'import', file], s.env);
    if (imported.code !== 0) throw new Error(`import failed: ${imported.stderr}`);
    page = (await watchedPage(s.browser, s.url)).page;
    await signInAsAdmin(page, s.url, s.email, s.password);
  }, 240_000);
  afterAll(async () => {
    await s?.stop();
    dir.remove();
  });

  /** Milliseconds from `start` until the user table shows `rows` rows whose first is `first`. */
  const timeToRows = async (start: () => Promise<unknown>, first: string, rows = 50) => {
    const t0 = performance.now();
    await start();
    const table = page.getByRole('table', { name: 'Users' });
    await table.locator('tbody tr').nth(rows - 1).waitFor();
    await table.locator('tbody tr').first().filter({ hasText: first }).waitFor();
    return performance.now() - t0;
  };

  it('shows the first page of users in under a second', async () => {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) times.push(await timeToRows(() => page.goto(`${s.url}/admin/users`), 'user000000'));
    expect(await page.getByText(`1–50 of ${USERS.toLocaleString('en-US')}`).count()).toBe(1);
    console.log(`first page of 100,000 users, navigation to 50 rows: ${times.map((t) => `${Math.round(t)} ms`).join(', ')}`);
    for (const t of times) expect(t).toBeLessThan(1000);
  });

  it('pages, searches and sorts through them', async () => {
    const next = await timeToRows(() => page.getByRole('button', { name: 'Next' }).click(), 'user000050');
    const search = await timeToRows(() => page.getByLabel('Search users').fill('user099999'), 'user099999', 1);
    await page.getByText('1–1 of 1').waitFor();
    await page.getByLabel('Search users').fill('');
    const sorted = await timeToRows(() => page.getByLabel('Sort by').selectOption({ label: 'Username (Z–A)' }), 'user099999');
    console.log(`next page ${Math.round(next)} ms, search ${Math.round(search)} ms (with 300 ms typing pause), reverse sort ${Math.round(sorted)} ms`);
  });
});

/**
 * The admin portal in a real browser (Debian's Chromium, headless, driven by playwright-core)
 * against the real `roster serve`: the main flows an administrator goes through, checked both on
 * the page and through the API.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipChromium } from '../support/chromium.js';
import { openPortalServer, signInAsAdmin, watchedPage, type PortalServer, type WatchedPage } from '../support/portal.js';

describe.skipIf(skipChromium())('Admin portal (Chromium)', () => {
  let s: PortalServer;
  let w: WatchedPage;
  let page: Page;
  let appId: string;
  let ldapId: string;
  let userId: string;

  beforeAll(async () => {
    s = await openPortalServer();
    w = await watchedPage(s.browser, s.url);
    page = w.page;
    appId = (await s.api<{ _id: string }>('POST', '/api/applications', { name: 'wiki', displayLabel: 'Team wiki', ssoUrl: 'https://wiki.example.com/' }))._id;
    ldapId = (await s.api<{ id: string }[]>('GET', '/api/v2/ldapservers'))[0]!.id;
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('refuses a wrong password, then signs the administrator in', async () => {
    await page.goto(`${s.url}/admin/`);
    await page.getByLabel('Email').fill(s.email);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('The email or password is incorrect');
    await signInAsAdmin(page, s.url, s.email, s.password);
    expect(await page.getByRole('navigation', { name: 'Admin portal' }).textContent()).toContain('User groups');
  });

  it('creates a user', async () => {
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel('Username').fill('ada.lovelace');
    await dialog.getByLabel('Email').fill('ada@portal.test');
    await dialog.getByLabel('First name').fill('Ada');
    await dialog.getByLabel('Last name').fill('Lovelace');
    await dialog.getByLabel('Password').fill('Analytical-Engine-1843');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { level: 1, name: 'Ada Lovelace' }).waitFor();
    userId = new URL(page.url()).pathname.split('/').pop()!;
    const user = await s.api('GET', `/api/systemusers/${userId}`);
    expect(user).toMatchObject({ username: 'ada.lovelace', email: 'ada@portal.test', state: 'ACTIVATED' });
  });

  it('imports users from a CSV file: checks it, lists the bad line, imports the good rows with progress', async () => {
    await page.getByRole('link', { name: 'Users' }).first().click();
    const rows = ['username,email,firstname,lastname', ...Array.from({ length: 300 }, (_, i) => `csv.user${i},csv.user${i}@portal.test,Csv,User ${i}`), 'broken user,not-an-email,Bad,Row'];
    await page.getByRole('button', { name: 'Import CSV' }).click();
    const dialog = page.getByRole('dialog', { name: 'Import users from CSV' });
    await dialog.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(`${rows.join('\n')}\n`) });
    await dialog.getByRole('button', { name: 'Check file' }).click();
    await dialog.getByText('301 rows: 300 ready to import, 1 with errors.').waitFor();
    expect(await dialog.getByRole('table', { name: 'Errors in the file' }).textContent()).toContain('302');
    expect(await dialog.getByRole('button', { name: /^Import/ }).isDisabled()).toBe(true);
    await dialog.getByLabel('Import the good rows and skip the others').check();
    await dialog.getByRole('button', { name: 'Import 300 users' }).click();
    await dialog.getByText('Imported 300 users; 1 row skipped for errors.').waitFor({ timeout: 20_000 });
    await dialog.getByRole('button', { name: 'Close' }).click();
    expect((await s.api<{ totalCount: number }>('GET', '/api/systemusers?filter=firstname:$eq:Csv&limit=1')).totalCount).toBe(300);
  });

  it('shows the API\'s reason when a form is refused', async () => {
    await page.getByRole('link', { name: 'Users' }).first().click();
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel('Username').fill('ADA.LOVELACE');
    await dialog.getByLabel('Email').fill('another@portal.test');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    await expect(dialog.getByRole('alert').first().textContent()).resolves.toMatch(/username/i);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  it('creates a group, adds the user, and connects the group to an application and to the LDAP directory', async () => {
    await page.getByRole('link', { name: 'User groups' }).click();
    await page.getByRole('button', { name: 'New group' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user group' });
    await dialog.getByLabel('Name').fill('Engineering');
    await dialog.getByRole('button', { name: 'Create group' }).click();
    await page.getByRole('heading', { level: 1, name: 'Engineering' }).waitFor();
    const groupId = new URL(page.url()).pathname.split('/').pop()!;

    await page.getByLabel('Add a user').fill('lovelace');
    await page.getByRole('combobox', { name: 'User' }).locator('option', { hasText: 'Ada Lovelace' }).waitFor({ state: 'attached' });
    await page.getByRole('button', { name: 'Add user' }).click();
    await page.getByRole('table', { name: 'Direct members' }).getByRole('link', { name: 'Ada Lovelace' }).waitFor();
    expect((await s.api<{ to: { id: string } }[]>('GET', `/api/v2/usergroups/${groupId}/members`)).map((m) => m.to.id)).toEqual([userId]);

    await page.getByRole('tab', { name: 'Access' }).click();
    const connect = page.getByLabel('Connect to a resource');
    await connect.locator('option', { hasText: 'Team wiki' }).waitFor({ state: 'attached' });
    await connect.selectOption({ label: 'Application: Team wiki' });
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.getByRole('table', { name: 'Resources this group grants' }).getByRole('link', { name: 'Team wiki' }).waitFor();
    await connect.selectOption({ label: 'LDAP service: Roster LDAP' });
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await page.getByRole('table', { name: 'Resources this group grants' }).getByRole('link', { name: 'Roster LDAP' }).waitFor();
    const edges = await s.api<{ to: { type: string; id: string } }[]>('GET', `/api/v2/usergroups/${groupId}/associations?targets=application,ldap_server`);
    expect(edges.map((e) => `${e.to.type}:${e.to.id}`).sort()).toEqual([`application:${appId}`, `ldap_server:${ldapId}`].sort());
  });

  it('shows the user as connected to the LDAP directory and the application through the group', async () => {
    await page.goto(`${s.url}/admin/users/${userId}`);
    await page.getByRole('tab', { name: 'Access' }).click();
    const ldap = page.getByRole('table', { name: 'LDAP service' });
    await ldap.getByRole('row', { name: /Roster LDAP/ }).waitFor();
    expect(await ldap.textContent()).toContain('Through group Engineering');
    expect(await page.getByRole('table', { name: 'Applications' }).textContent()).toContain('Through group Engineering');

    // The LDAP directory's own Users tab says the same, with the removal choice the group implies.
    await page.goto(`${s.url}/admin/directories/ldap/${ldapId}`);
    await page.getByRole('tab', { name: 'Users and groups' }).click();
    const users = page.getByRole('table', { name: /Users connected to/ });
    await users.getByRole('link', { name: 'Ada Lovelace' }).waitFor();
    expect(await users.textContent()).toContain('Through group Engineering');
    await users.getByRole('button', { name: /Remove Ada Lovelace/ }).click();
    const removal = page.getByRole('dialog');
    expect(await removal.textContent()).toContain('Remove Ada Lovelace from the group Engineering');
    await removal.getByRole('button', { name: 'Cancel' }).click();
  });

  it('suspends the user', async () => {
    await page.goto(`${s.url}/admin/users/${userId}`);
    await page.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('dialog', { name: /Suspend Ada Lovelace/ }).getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('status').filter({ hasText: 'Ada Lovelace is suspended.' }).waitFor();
    expect(await s.api('GET', `/api/systemusers/${userId}`)).toMatchObject({ state: 'SUSPENDED' });
    await page.getByRole('button', { name: 'Restore' }).waitFor();
  });

  it('reads the suspension in the audit log', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await page.getByLabel('Object id').fill(userId);
    await page.getByLabel('Operation').selectOption({ label: 'Updated' });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const row = page.getByRole('row').filter({ hasText: 'Ada Lovelace' }).filter({ hasText: 'Updated' }).first();
    await row.waitFor();
    expect(await row.textContent()).toContain(s.email);
    expect(await row.textContent()).toContain('portal');
    await row.getByRole('button', { name: /Show details/ }).click();
    await page.getByText('SUSPENDED').first().waitFor();
  });

  it('loaded nothing from another origin and logged no error', () => {
    expect(w.problems()).toEqual([]);
  });
});

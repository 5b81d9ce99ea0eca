/**
 * Every page of both portals, checked by axe-core (WCAG 2.1 A and AA; serious and critical
 * findings fail) in Chromium, at a desktop width and at a phone's; and the keyboard's way in.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipChromium } from '../support/chromium.js';
import { accessibilityProblems, openPortalServer, signInAsAdmin, watchedPage, type PortalServer } from '../support/portal.js';

describe.skipIf(skipChromium())('Portals: accessibility (axe-core, Chromium)', () => {
  let s: PortalServer;
  const pages: { name: string; path: string; ready: (page: Page) => Promise<unknown> }[] = [];
  const heading = (name: string | RegExp) => (page: Page) => page.getByRole('heading', { level: 1, name }).waitFor();

  beforeAll(async () => {
    s = await openPortalServer();
    const user = await s.api<{ _id: string }>('POST', '/api/systemusers', { username: 'axe.user', email: 'axe@portal.test', firstname: 'Axe', lastname: 'User', password: 'Accessible-Passw0rd-1', state: 'ACTIVATED' });
    const group = await s.api<{ id: string }>('POST', '/api/v2/usergroups', { name: 'Auditors' });
    await s.api('POST', `/api/v2/usergroups/${group.id}/members`, { op: 'add', type: 'user', id: user._id });
    const app = await s.api<{ _id: string }>('POST', '/api/applications', { name: 'axe-app', displayLabel: 'Axe app', ssoUrl: 'https://app.example.com/' });
    await s.api('POST', `/api/v2/applications/${app._id}/associations`, { op: 'add', type: 'user_group', id: group.id });
    const ldap = (await s.api<{ id: string }[]>('GET', '/api/v2/ldapservers'))[0]!.id;
    const ad = await s.api<{ id: string }>('POST', '/api/v2/activedirectories', { domain: 'corp.example.com' });
    const radius = await s.api<{ _id?: string; id?: string }>('POST', '/api/radiusservers', { name: 'Office WiFi', networkSourceIp: '192.0.2.20', sharedSecret: 'a-long-shared-secret-1' });
    const admin = (await s.api<{ results: { _id?: string; id?: string }[] }>('GET', '/api/users')).results[0]!;
    pages.push(
      { name: 'users', path: '/admin/users', ready: heading('Users') },
      { name: 'user', path: `/admin/users/${user._id}`, ready: heading('Axe User') },
      { name: 'groups', path: '/admin/groups', ready: heading('User groups') },
      { name: 'group', path: `/admin/groups/${group.id}`, ready: (p) => p.getByRole('table', { name: 'Direct members' }).waitFor() },
      { name: 'applications', path: '/admin/applications', ready: heading('Applications') },
      { name: 'application', path: `/admin/applications/${app._id}`, ready: heading('Axe app') },
      { name: 'directories', path: '/admin/directories', ready: heading('Directories') },
      { name: 'ldap', path: `/admin/directories/ldap/${ldap}`, ready: heading(/LDAP/) },
      { name: 'active directory', path: `/admin/directories/active-directory/${ad.id}`, ready: heading(/corp\.example\.com/) },
      { name: 'radius', path: '/admin/radius', ready: heading(/RADIUS/) },
      { name: 'radius server', path: `/admin/radius/${radius._id ?? radius.id}`, ready: heading('Office WiFi') },
      { name: 'administrators', path: '/admin/administrators', ready: heading('Administrators') },
      { name: 'administrator', path: `/admin/administrators/${admin._id ?? admin.id}`, ready: heading(/admin@portal\.test/) },
      { name: 'api keys', path: '/admin/api-keys', ready: heading('API keys') },
      { name: 'audit log', path: '/admin/audit', ready: heading('Audit log') },
      { name: 'settings', path: '/admin/settings', ready: heading('Settings') },
      { name: 'account', path: '/admin/account', ready: heading('My account') },
    );
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  for (const [label, width] of [
    ['desktop', 1280],
    ['phone', 390],
  ] as const) {
    it(`admin portal pages have no serious or critical findings (${label})`, async () => {
      const { page } = await watchedPage(s.browser, s.url, { width, height: 900 });
      await page.goto(`${s.url}/admin/`);
      await page.getByLabel('Email').waitFor();
      const problems = (await accessibilityProblems(page)).map((p) => `sign-in: ${p}`);
      await signInAsAdmin(page, s.url, s.email, s.password);
      for (const p of pages) {
        await page.goto(`${s.url}${p.path}`);
        await p.ready(page);
        await page.waitForLoadState('networkidle');
        problems.push(...(await accessibilityProblems(page)).map((x) => `${p.name}: ${x}`));
      }
      expect(problems).toEqual([]);
    }, 120_000);
  }

  it('user portal pages have no serious or critical findings', async () => {
    const { page } = await watchedPage(s.browser, s.url, { width: 390, height: 900 });
    await page.goto(`${s.url}/portal/`);
    await page.getByLabel('Username').fill('axe.user');
    await page.getByLabel('Password').fill('Accessible-Passw0rd-1');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const problems: string[] = [];
    for (const [path, title] of [
      ['/portal/applications', 'My applications'],
      ['/portal/password', 'Change password'],
      ['/portal/security', 'Two-step verification'],
    ] as const) {
      await page.goto(`${s.url}${path}`);
      await page.getByRole('heading', { level: 1, name: title }).waitFor();
      await page.waitForLoadState('networkidle');
      problems.push(...(await accessibilityProblems(page)).map((x) => `${path}: ${x}`));
    }
    expect(problems).toEqual([]);
  });

  it('the keyboard reaches "Skip to content" first, which moves focus to the page', async () => {
    const { page } = await watchedPage(s.browser, s.url);
    await signInAsAdmin(page, s.url, s.email, s.password);
    await page.goto(`${s.url}/admin/groups`);
    await page.getByRole('heading', { level: 1, name: 'User groups' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(new URL(page.url()).hash).toBe('#main');
    // After an in-app navigation, focus is on the new page's heading, for screen readers to announce.
    await page.getByRole('link', { name: 'Users' }).first().click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'page-title');
  });
});

/**
 * npm run screenshots — the pictures of the portals in docs/screenshots/, taken from a real
 * `roster serve` (first run, in a temporary directory) filled with example data through the API,
 * with Debian's Chromium (ROSTER_CHROMIUM names another). Run it again after changing a page.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { openPortalServer, signInAsAdmin, watchedPage } from '../test/support/portal.js';
import { ROOT } from '../test/support/roster-process.js';

const OUT = join(ROOT, 'docs', 'screenshots');

const PEOPLE = [
  ['Ada', 'Lovelace', 'Engineering', 'Principal Engineer'],
  ['Grace', 'Hopper', 'Engineering', 'Compiler Lead'],
  ['Alan', 'Turing', 'Research', 'Researcher'],
  ['Katherine', 'Johnson', 'Research', 'Mathematician'],
  ['Linus', 'Pauling', 'Research', 'Chemist'],
  ['Margaret', 'Hamilton', 'Engineering', 'Director of Software'],
  ['Edsger', 'Dijkstra', 'Engineering', 'Engineer'],
  ['Hedy', 'Lamarr', 'Sales', 'Account Executive'],
  ['Claude', 'Shannon', 'Research', 'Researcher'],
  ['Barbara', 'Liskov', 'Engineering', 'Architect'],
  ['Chiara', 'Müller', 'Sales', 'Sales Manager'],
  ['Søren', 'Kierkegaard', 'Support', 'Support Lead'],
  ['Zoë', 'Ångström', 'Support', 'Support Engineer'],
  ['José', 'Núñez', 'Finance', 'Controller'],
  ['Yuki', 'Tanaka', 'Finance', 'Analyst'],
  ['Priya', 'Raman', 'Engineering', 'SRE'],
];

async function main(): Promise<void> {
  mkdirSync(OUT, { recursive: true });
  const s = await openPortalServer({ ROSTER_ORG_NAME: 'Acme Corp' });
  try {
    const ids: Record<string, string> = {};
    for (const [first, last, department, title] of PEOPLE) {
      const username = `${first}.${last}`.toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');
      const user = await s.api<{ _id: string }>('POST', '/api/systemusers', { username, email: `${username}@acme.example`, firstname: first, lastname: last, department, jobTitle: title, password: 'Example-Passw0rd-2026', state: 'ACTIVATED' });
      ids[username] = user._id;
    }
    await s.api('PUT', `/api/systemusers/${ids['hedy.lamarr']}`, { suspended: true });
    const group = async (name: string, description: string, members: string[]) => {
      const g = await s.api<{ id: string }>('POST', '/api/v2/usergroups', { name, description });
      for (const m of members) await s.api('POST', `/api/v2/usergroups/${g.id}/members`, { op: 'add', type: 'user', id: ids[m] });
      return g.id;
    };
    const engineering = await group('Engineering', 'Everyone who builds the product', ['ada.lovelace', 'grace.hopper', 'margaret.hamilton', 'edsger.dijkstra', 'barbara.liskov', 'priya.raman']);
    const research = await group('Research', 'Research and data science', ['alan.turing', 'katherine.johnson', 'linus.pauling', 'claude.shannon']);
    const staff = await group('All staff', 'Engineering, Research and everyone else', ['chiara.muller', 'søren.kierkegaard', 'zoe.angstrom', 'jose.nunez', 'yuki.tanaka']);
    await s.api('POST', `/api/v2/usergroups/${staff}/members`, { op: 'add', type: 'user_group', id: engineering });
    await s.api('POST', `/api/v2/usergroups/${staff}/members`, { op: 'add', type: 'user_group', id: research });
    const ldap = (await s.api<{ id: string }[]>('GET', '/api/v2/ldapservers'))[0]!.id;
    const wiki = await s.api<{ _id: string }>('POST', '/api/applications', { name: 'wiki', displayLabel: 'Team wiki', ssoUrl: 'https://wiki.acme.example/login' });
    const crm = await s.api<{ _id: string }>('POST', '/api/applications', { name: 'crm', displayLabel: 'CRM', ssoUrl: 'https://crm.acme.example/' });
    await s.api('POST', `/api/v2/ldapservers/${ldap}/associations`, { op: 'add', type: 'user_group', id: engineering });
    await s.api('POST', `/api/v2/ldapservers/${ldap}/associations`, { op: 'add', type: 'user', id: ids['jose.nunez'] });
    await s.api('POST', `/api/v2/applications/${wiki._id}/associations`, { op: 'add', type: 'user_group', id: staff });
    await s.api('POST', `/api/v2/applications/${crm._id}/associations`, { op: 'add', type: 'user', id: ids['grace.hopper'] });
    const ad = await s.api<{ id: string }>('POST', '/api/v2/activedirectories', { domain: 'corp.acme.example', configuration: 'two_way' }).catch(() => undefined);
    if (ad) await s.api('POST', `/api/v2/activedirectories/${ad.id}/agents`, {}).catch(() => undefined);
    await s.api('POST', '/api/radiusservers', { name: 'Office WiFi', networkSourceIp: '192.0.2.10', sharedSecret: 'example-shared-secret-2026' }).catch(() => undefined);

    const { page } = await watchedPage(s.browser, s.url, { width: 1360, height: 860 });
    const shot = async (name: string, p: Page = page) => {
      await p.waitForLoadState('networkidle');
      await p.screenshot({ path: join(OUT, `${name}.png`) });
      console.log(`docs/screenshots/${name}.png`);
    };
    await page.goto(`${s.url}/admin/`);
    await page.getByLabel('Email').waitFor();
    await shot('admin-sign-in');
    await signInAsAdmin(page, s.url, s.email, s.password);
    await shot('admin-users');
    await page.goto(`${s.url}/admin/users/${ids['ada.lovelace']}`);
    await page.getByRole('tab', { name: 'Access' }).click();
    await page.getByRole('table', { name: 'LDAP service' }).waitFor();
    await shot('admin-user-access');
    await page.goto(`${s.url}/admin/groups/${staff}`);
    await page.getByRole('table', { name: 'Direct members' }).waitFor();
    await shot('admin-group-members');
    await page.goto(`${s.url}/admin/directories/ldap/${ldap}?tab=access`);
    await page.getByRole('table', { name: /Users connected to/ }).waitFor();
    await shot('admin-ldap-users');
    await page.goto(`${s.url}/admin/directories`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await shot('admin-directories');
    if (ad) {
      await page.goto(`${s.url}/admin/directories/active-directory/${ad.id}`);
      await page.getByRole('heading', { level: 1 }).waitFor();
      await shot('admin-active-directory');
    }
    await page.goto(`${s.url}/admin/applications/${wiki._id}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await shot('admin-application');
    await page.goto(`${s.url}/admin/audit`);
    await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
    await shot('admin-audit-log');

    // The user portal, as Grace Hopper.
    const user = await watchedPage(s.browser, s.url, { width: 1100, height: 760 });
    await user.page.goto(`${s.url}/portal/`);
    await user.page.getByLabel('Username').fill('grace.hopper');
    await user.page.getByLabel('Password').fill('Example-Passw0rd-2026');
    await user.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await user.page.getByRole('heading', { level: 1, name: 'My applications' }).waitFor();
    await shot('portal-applications', user.page);
    await user.page.getByRole('link', { name: 'Password' }).click();
    await user.page.getByLabel('New password', { exact: true }).fill('weak');
    await shot('portal-password', user.page);
    await user.page.getByRole('link', { name: 'Two-step verification' }).click();
    await user.page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await user.page.getByRole('img', { name: /QR code/ }).waitFor();
    await shot('portal-authenticator-setup', user.page);
    const secret = (await user.page.getByTestId('totp-secret').textContent())!.trim();
    await user.page.getByLabel('Code from the app').fill(await generate({ secret }));
    await user.page.getByRole('button', { name: 'Verify and turn on' }).click();
    await user.page.getByRole('list', { name: 'Recovery codes' }).waitFor();
    await shot('portal-recovery-codes', user.page);
  } finally {
    await s.stop();
  }
}

await main();

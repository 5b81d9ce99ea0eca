/**
 * A password change in the user portal that Active Directory refuses: a real Samba AD DC, the real
 * `roster serve` over HTTPS with `roster agent`, and Debian's Chromium. The user sees AD's own
 * reason, and nothing changes on either side; a password AD accepts then works in both.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, stopProcess, type AgentProcess } from '../support/agent-process.js';
import { launchChromium, skipChromium } from '../support/chromium.js';
import { tempDir } from '../support/roster-process.js';
import { useSamba, type SambaDc, type TestOu } from '../support/samba.js';
import { startTestRoster, waitFor, type TestRoster } from '../support/test-roster.js';

const dc = await useSamba();

describe.skipIf(!dc || skipChromium())('User portal: a password Active Directory refuses (Samba AD DC, Chromium)', () => {
  const samba = dc as SambaDc;
  let roster: TestRoster;
  let ou: TestOu;
  let agent: AgentProcess | undefined;
  let browser: Browser;
  let page: Page;
  const dir = tempDir('roster-portal-ad-');

  const adUser = async (name: string) => {
    for await (const entry of ou.client.pagedSearch(samba.baseDn, `(sAMAccountName=${name})`, ['useraccountcontrol'], 1)) return entry;
    return undefined;
  };

  beforeAll(async () => {
    roster = await startTestRoster({ prefix: 'roster-portal-ad-', orgName: 'Portal AD', domain: 'portal-ad.test' });
    ou = await samba.createOu('portal');
    const domain = await roster.must<{ id: string }>('POST', '/api/v2/activedirectories', { domain: samba.realm.toLowerCase(), configuration: 'roster_authoritative', usersOu: ou.dn, groupsOu: ou.dn }, 201);
    const { connectKey } = await roster.must<{ connectKey: string }>('POST', `/api/v2/activedirectories/${domain.id}/agents`, {}, 201);
    agent = spawnAgent({ roster, stateFile: join(dir.path, 'agent.json'), ldapUrl: samba.url, ldapCa: samba.caFile, bindDn: samba.adminDn, password: samba.adminPassword, connectKey });
    const user = await roster.createUser({ username: 'kay-portal', firstname: 'Kay', lastname: 'Portal', email: 'kay@portal-ad.test' });
    await roster.must('POST', `/api/v2/activedirectories/${domain.id}/associations`, { op: 'add', type: 'user', id: user }, 204);
    await waitFor(() => adUser('kay-portal'), 60_000, () => `kay-portal was not created in AD\n${agent?.output.slice(-2000)}`);
    await roster.must('PUT', `/api/systemusers/${user}`, { password: 'Kestrel-first-Passw0rd', state: 'ACTIVATED' }, 200);
    // Roster's own policy allows what AD's does not, so the refusal comes from AD.
    await roster.setPasswordPolicy({ minLength: 4, needsLowercase: false, needsUppercase: false, needsNumber: false, needsSymbol: false });
    browser = await launchChromium(roster.certs.cert);
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(15_000);
  }, 300_000);
  afterAll(async () => {
    await browser?.close();
    await stopProcess(agent);
    await ou?.remove();
    await roster?.stop();
    dir.remove();
  });

  it("shows AD's refusal in the directory's own words, and changes nothing", async () => {
    await page.goto(`${roster.apiUrl}/portal/password`);
    await page.getByLabel('Username').fill('kay-portal');
    await page.getByLabel('Password').fill('Kestrel-first-Passw0rd');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Change password' }).waitFor();
    await page.getByLabel('Current password').fill('Kestrel-first-Passw0rd');
    await page.getByLabel('New password', { exact: true }).fill('Ab1!x');
    await page.getByLabel('New password again').fill('Ab1!x');
    await page.getByRole('button', { name: 'Change password' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'A directory your account is connected to refused this password.' });
    await alert.waitFor({ timeout: 30_000 });
    expect(await alert.textContent()).toMatch(/Active Directory .* refused the password/);
    expect(await ou.client.authenticate(`CN=Kay Portal,${ou.dn}`, 'Kestrel-first-Passw0rd')).toEqual({ ok: true });
  }, 60_000);

  it('takes a password AD accepts, in both directories', async () => {
    await page.getByLabel('New password', { exact: true }).fill('Kestrel-second-Passw0rd');
    await page.getByLabel('New password again').fill('Kestrel-second-Passw0rd');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password is changed.').waitFor({ timeout: 30_000 });
    expect(await ou.client.authenticate(`CN=Kay Portal,${ou.dn}`, 'Kestrel-second-Passw0rd')).toEqual({ ok: true });
  }, 60_000);
});

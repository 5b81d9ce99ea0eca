/**
 * The user portal in a real browser (Debian's Chromium, headless, driven by playwright-core)
 * against the real `roster serve`: signing in, my applications, changing the password under the
 * org's policy, and setting up an authenticator app with recovery codes.
 */
import { generate } from 'otplib';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipChromium } from '../support/chromium.js';
import { openPortalServer, watchedPage, type PortalServer, type WatchedPage } from '../support/portal.js';

describe.skipIf(skipChromium())('User portal (Chromium)', () => {
  let s: PortalServer;
  let w: WatchedPage;
  let page: Page;
  let userId: string;
  let orgId: string;
  let recoveryCodes: string[] = [];

  const signIn = async (password: string) => {
    await page.getByLabel('Username').fill('grace.hopper');
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };

  beforeAll(async () => {
    s = await openPortalServer();
    w = await watchedPage(s.browser, s.url, { width: 420, height: 900 });
    page = w.page;
    orgId = (await s.api<{ results: { _id: string }[] }>('GET', '/api/organizations')).results[0]!._id;
    userId = (await s.api<{ _id: string }>('POST', '/api/systemusers', { username: 'grace.hopper', email: 'grace@portal.test', firstname: 'Grace', lastname: 'Hopper', password: 'Cobol-Compiler-1959', state: 'ACTIVATED' }))._id;
    const app = await s.api<{ _id: string }>('POST', '/api/applications', { name: 'tracker', displayLabel: 'Bug tracker', ssoUrl: 'https://bugs.example.com/login' });
    await s.api('POST', `/api/v2/users/${userId}/associations`, { op: 'add', type: 'application', id: app._id });
  }, 60_000);
  afterAll(async () => {
    await s?.stop();
  });

  it('sends a signed-out visitor to the sign-in page and back, and lists their applications', async () => {
    await page.goto(`${s.url}/portal/`);
    expect(new URL(page.url()).pathname).toBe(`/sso/${orgId}/sign-in`);
    await signIn('Cobol-Compiler-1959');
    await page.getByRole('heading', { level: 1, name: 'My applications' }).waitFor();
    const tile = page.getByRole('link', { name: /Bug tracker/ });
    expect(await tile.getAttribute('href')).toBe('https://bugs.example.com/login');
  });

  it('changes the password: shows the policy, refuses a wrong current password and a weak one, then asks to sign in again', async () => {
    await page.getByRole('link', { name: 'Password' }).click();
    await page.getByRole('heading', { level: 1, name: 'Change password' }).waitFor();
    const rules = page.locator('#password-rules');
    expect(await rules.textContent()).toMatch(/At least \d+ characters/);

    await page.getByLabel('Current password').fill('Not-my-password-1');
    await page.getByLabel('New password', { exact: true }).fill('Nanosecond-Wire-1985');
    await page.getByLabel('New password again').fill('Nanosecond-Wire-1985');
    await page.getByRole('button', { name: 'Change password' }).click();
    await expect(page.getByText('The current password is not correct').first().textContent()).resolves.toBeTruthy();

    await page.getByLabel('Current password').fill('Cobol-Compiler-1959');
    await page.getByLabel('New password', { exact: true }).fill('short');
    await page.getByLabel('New password again').fill('short');
    expect(await rules.locator('.rule-unmet').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByRole('alert').first().waitFor();

    await page.getByLabel('New password', { exact: true }).fill('Nanosecond-Wire-1985');
    await page.getByLabel('New password again').fill('Nanosecond-Wire-1985');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password is changed.').waitFor();
    await page.getByRole('button', { name: 'Sign in again' }).click();
    await page.waitForURL(/\/sso\/.*\/sign-in/);
    await signIn('Cobol-Compiler-1959');
    await page.getByText('The username or password is incorrect.').waitFor();
    await signIn('Nanosecond-Wire-1985');
    await page.getByRole('heading', { level: 1, name: 'My applications' }).waitFor();
  });

  it('sets up an authenticator app from its QR code and key, and shows recovery codes once', async () => {
    await page.getByRole('link', { name: 'Two-step verification' }).click();
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.getByRole('img', { name: 'QR code to scan with your authenticator app' }).waitFor();
    const secret = (await page.getByTestId('totp-secret').textContent())!.trim();
    await page.getByLabel('Code from the app').fill('000000');
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    await page.getByRole('alert').filter({ hasText: /not the current code/ }).waitFor();
    await page.getByLabel('Code from the app').fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Verify and turn on' }).click();
    const codes = page.getByRole('list', { name: 'Recovery codes' });
    await codes.waitFor();
    recoveryCodes = (await codes.locator('li').allTextContents()).map((c) => c.trim());
    expect(recoveryCodes).toHaveLength(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    expect(await s.api('GET', `/api/v2/users/${userId}/totp`)).toMatchObject({ confirmed: true });
  });

  it('asks for the second step at the next sign-in, where a recovery code works once', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sso\/.*\/sign-in/);
    await signIn('Nanosecond-Wire-1985');
    await page.waitForURL(/\/sign-in\/mfa/);
    await page.getByLabel(/code from your authenticator app, or a recovery code/).fill(recoveryCodes[0]!);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { level: 1, name: 'My applications' }).waitFor();
    await page.getByRole('link', { name: 'Two-step verification' }).click();
    await page.getByText('9 of 10 codes left.').waitFor();
  });

  it('loaded nothing from another origin and logged no error', () => {
    expect(w.problems()).toEqual([]);
  });
});

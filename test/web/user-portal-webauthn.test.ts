/**
 * Security keys and passkeys in the user portal: Debian's Chromium with its virtual authenticator
 * (the DevTools WebAuthn domain) against `roster serve` over HTTPS. The portal registers a key,
 * sign-in then asks for it, and the portal removes it.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, skipChromium } from '../support/chromium.js';
import { startTestRoster, type TestRoster } from '../support/test-roster.js';

const PASSWORD = 'Passkey-Portal-2026';

describe.skipIf(skipChromium())('User portal: security keys (Chromium virtual authenticator)', () => {
  let roster: TestRoster;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let userId: string;

  beforeAll(async () => {
    roster = await startTestRoster({ prefix: 'roster-portal-key-', orgName: 'Key Corp', domain: 'key.test' });
    // WebAuthn wants a host name, not an IP address; the test certificate names localhost.
    base = `https://localhost:${new URL(roster.apiUrl).port}`;
    userId = await roster.createUser({ username: 'kim', email: 'kim@key.test', password: PASSWORD });
    browser = await launchChromium(roster.certs.cert);
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await roster?.stop();
  });

  const signIn = async () => {
    await page.getByLabel('Username').fill('kim');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };

  it('registers a security key from the portal, with a first set of recovery codes', async () => {
    await page.goto(`${base}/portal/security`);
    await signIn();
    await page.getByRole('heading', { level: 1, name: 'Two-step verification' }).waitFor();
    await page.getByLabel('Name for the new key').fill('Desk key');
    await page.getByRole('button', { name: 'Add a security key or passkey' }).click();
    await page.getByText('Your security key is added.').waitFor();
    expect(await page.getByRole('list', { name: 'Recovery codes' }).locator('li').count()).toBe(10);
    await page.getByRole('button', { name: 'I have saved them' }).click();
    await page.getByRole('table', { name: 'Your security keys and passkeys' }).getByText('Desk key').waitFor();
    const keys = (await roster.must<{ name: string }[]>('GET', `/api/v2/users/${userId}/webauthn`, undefined, 200)).map((k) => k.name);
    expect(keys).toEqual(['Desk key']);
  });

  it('then asks for the key at sign-in, and removes it from the portal', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sso\/.*\/sign-in/);
    await signIn();
    await page.waitForURL(/\/sign-in\/mfa/);
    await page.getByRole('button', { name: 'Use your security key or passkey' }).click();
    await page.getByRole('heading', { level: 1, name: 'My applications' }).waitFor();
    await page.getByRole('link', { name: 'Two-step verification' }).click();
    await page.getByRole('button', { name: 'Remove Desk key' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('table', { name: 'Your security keys and passkeys' }).getByText('None yet.').waitFor();
    expect(await roster.must('GET', `/api/v2/users/${userId}/webauthn`, undefined, 200)).toEqual([]);
  });
});

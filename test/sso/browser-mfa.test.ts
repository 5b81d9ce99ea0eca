import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, skipChromium } from '../support/chromium.js';
import { startTestRoster, type TestRoster } from '../support/test-roster.js';

const PASSWORD = 'CorrectHorse42x';

/**
 * Two-step verification in a real browser: Debian's Chromium, headless, against `roster serve`
 * over HTTPS, with Chromium's virtual authenticator (the DevTools WebAuthn domain) standing in for
 * a security key with a PIN. The pages' own script runs the WebAuthn ceremonies.
 */
describe.skipIf(skipChromium())('Two-step verification in Chromium', () => {
  let roster: TestRoster;
  let browser: Browser;
  let base: string;

  beforeAll(async () => {
    roster = await startTestRoster({ prefix: 'roster-mfa-', orgName: 'Acme Corp', domain: 'acme.test' });
    // WebAuthn wants a host name, not an IP address; the test certificate names localhost.
    base = `https://localhost:${new URL(roster.apiUrl).port}`;
    await roster.setOrgSettings({ mfa: { required: true } });
    browser = await launchChromium(roster.certs.cert);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await roster?.stop();
  });

  const signInUrl = () => `${base}/sso/${roster.orgId}/sign-in?return=${encodeURIComponent('/sso/session')}`;
  const sessionOf = async (page: Page) => JSON.parse((await page.locator('body').innerText()) || '{}');
  const signInWithPassword = async (page: Page, username: string) => {
    await page.goto(signInUrl());
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };
  /** A browser profile with a platform authenticator that verifies its user (a PIN or fingerprint). */
  const withAuthenticator = async (context: BrowserContext, page: Page) => {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    return { cdp, authenticatorId };
  };

  it('enrolls an authenticator app from the QR page at the first sign-in, shows recovery codes once, then asks for a code', async () => {
    await roster.createUser({ username: 'ann', email: 'ann@acme.test', password: PASSWORD });
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInWithPassword(page, 'ann');
    await expect.poll(() => page.locator('h1').innerText()).toBe('Set up two-step verification');
    await page.getByRole('button', { name: 'Use an authenticator app' }).click();
    await expect.poll(() => page.locator('h1').innerText()).toBe('Scan this code');
    const qr = page.getByRole('img', { name: /QR code/ });
    expect(await qr.locator('svg').boundingBox()).toMatchObject({ width: expect.any(Number) });
    const secret = (await page.locator('code').innerText()).replace(/\s/g, '');
    await page.getByLabel('The 6-digit code the app shows').fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Verify and finish' }).click();
    await expect.poll(() => page.locator('h1').innerText()).toBe('Save your recovery codes');
    const codes = await page.locator('ol.codes li').allInnerTexts();
    expect(codes).toHaveLength(10);
    await page.getByRole('link', { name: /continue/ }).click();
    expect((await sessionOf(page)).session.mfa).toBe('totp');

    // A new browser: the password, then a recovery code (the TOTP code of this step is spent).
    const second = await (await browser.newContext()).newPage();
    await signInWithPassword(second, 'ann');
    await expect.poll(() => second.locator('h1').innerText()).toBe("Verify it's you");
    await second.getByLabel(/recovery code/).fill(codes[0]!);
    await second.getByRole('button', { name: 'Verify' }).click();
    expect((await sessionOf(second)).session.mfa).toBe('recovery_code');
    await context.close();
    await second.context().close();
  }, 60_000);

  it('enrolls a passkey at sign-in, takes it as the second factor, then signs in with it alone', async () => {
    await roster.createUser({ username: 'bob', email: 'bob@acme.test', password: PASSWORD });
    const context = await browser.newContext();
    const page = await context.newPage();
    const { cdp, authenticatorId } = await withAuthenticator(context, page);

    await signInWithPassword(page, 'bob');
    await expect.poll(() => page.locator('h1').innerText()).toBe('Set up two-step verification');
    await page.getByLabel('Name for this key (optional)').fill('Laptop');
    await page.getByRole('button', { name: 'Use a security key or passkey' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toBe('Save your recovery codes');
    await page.getByRole('link', { name: /continue/ }).click();
    expect((await sessionOf(page)).session.mfa).toBe('webauthn');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]!.isResidentCredential).toBe(true);

    // Signed out: the password, then the key.
    await context.clearCookies();
    await signInWithPassword(page, 'bob');
    await expect.poll(() => page.locator('h1').innerText()).toBe("Verify it's you");
    await page.getByRole('button', { name: 'Use your security key or passkey' }).click();
    await expect.poll(async () => (await sessionOf(page)).session?.mfa, { timeout: 15_000 }).toBe('webauthn');

    // Signed out again: the passkey alone names and verifies the user.
    await context.clearCookies();
    await page.goto(signInUrl());
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect.poll(async () => (await sessionOf(page).catch(() => ({}))).session?.mfa, { timeout: 15_000 }).toBe('passkey');
    expect((await sessionOf(page)).user.username).toBe('bob');

    const keys = await roster.must('GET', `/api/v2/users/${(await sessionOf(page)).user.id}/webauthn`, undefined, 200);
    expect(keys).toEqual([expect.objectContaining({ name: 'Laptop', transports: expect.arrayContaining(['internal']) })]);
    const signIns = await roster.journal(['operation:eq:sign_in']);
    expect(signIns.map((e) => e.details?.method)).toEqual(expect.arrayContaining(['webauthn', 'passkey']));
    await context.close();
  }, 60_000);

  it('refuses a passkey whose user was suspended', async () => {
    const id = await roster.createUser({ username: 'carol', email: 'carol@acme.test', password: PASSWORD });
    const context = await browser.newContext();
    const page = await context.newPage();
    await withAuthenticator(context, page);
    await signInWithPassword(page, 'carol');
    await page.getByRole('button', { name: 'Use a security key or passkey' }).click();
    await expect.poll(() => page.locator('h1').innerText(), { timeout: 15_000 }).toBe('Save your recovery codes');
    await roster.suspend(id);
    await context.clearCookies();
    await page.goto(signInUrl());
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect.poll(() => page.locator('[role=alert]').first().innerText(), { timeout: 15_000 }).toBe('The username or password is incorrect.');
    await context.close();
  }, 60_000);
});

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './chromium.js';
import { apiKeyFrom, startRoster, tempDir, type RosterProcess } from './roster-process.js';

export interface PortalServer {
  server: RosterProcess;
  /** The environment the server runs with (its data directory): `roster` commands given it act on the same store. */
  env: NodeJS.ProcessEnv;
  url: string;
  email: string;
  password: string;
  key: string;
  browser: Browser;
  /** The API with the first administrator's key. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<T>;
  stop(): Promise<void>;
}

/** The real `roster serve` (first run) and a headless Chromium to drive its portals. */
export async function openPortalServer(env: NodeJS.ProcessEnv = {}): Promise<PortalServer> {
  const dir = tempDir('roster-web-');
  const email = 'admin@portal.test';
  const serverEnv = { ROSTER_DATA_DIR: dir.path, ROSTER_ADMIN_EMAIL: email, ROSTER_ORG_NAME: 'Portal Test', ROSTER_LDAP_PORT: 'off', ROSTER_LDAPS_PORT: 'off', ...env };
  const server = await startRoster(serverEnv);
  const password = /Password\s+(\S+)/.exec(server.stdout())?.[1];
  const key = apiKeyFrom(server.stdout());
  if (!password || !key) throw new Error(`no first-run credentials in:\n${server.stdout()}`);
  const browser = await launchChromium();
  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${server.url}${path}`, { method, headers: { 'x-api-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  return {
    server,
    env: serverEnv,
    url: server.url,
    email,
    password,
    key,
    browser,
    api,
    async stop() {
      await browser.close().catch(() => undefined);
      await server.stop();
      dir.remove();
    },
  };
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Requests that left this server, and console errors (a refused script or style shows there). */
  problems(): string[];
}

/** A fresh browser context and page that records every request to another origin and every console error. */
export async function watchedPage(browser: Browser, base: string, options: { width?: number; height?: number } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 860 } });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const origin = new URL(base).origin;
  const problems: string[] = [];
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && u.origin !== origin) problems.push(`request to another origin: ${r.url()}`);
  });
  page.on('console', (m) => {
    // The browser logs every 4xx answer (a refused form, a signed-out check) as a failed resource;
    // the pages show those. A 5xx, a refused script or style (CSP), or a script error is a problem.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { page, context, problems: () => [...problems] };
}

/** Signs in to the admin portal and waits for the user list. */
export async function signInAsAdmin(page: Page, base: string, email: string, password: string): Promise<void> {
  await page.goto(`${base}/admin/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * The accessibility problems axe-core finds on the page as it stands (WCAG 2.1 A and AA rules),
 * of impact serious or critical, as "rule: target" lines. axe runs through the DevTools protocol,
 * which the page's content security policy does not govern.
 */
export async function accessibilityProblems(page: Page): Promise<string[]> {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: unknown): Promise<{ violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] }> } }).axe;
    return axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
  });
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .flatMap((v) => v.nodes.map((n) => `${v.id}: ${JSON.stringify(n.target)}`));
}

import { createHash, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { PEERS_REQUIRED } from './stores.js';

/** Debian's Chromium (package chromium), which .ci/run installs; ROSTER_CHROMIUM names another. */
export const CHROMIUM = process.env.ROSTER_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether tests that drive Chromium are skipped here, warning once with the reason. Throws when it
 * is missing and ROSTER_REQUIRE_PEERS=1 forbids skipping.
 */
export function skipChromium(): boolean {
  if (existsSync(CHROMIUM)) return false;
  const reason = `${CHROMIUM} not found (Debian package chromium)`;
  if (PEERS_REQUIRED) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
  console.warn(`SKIPPING tests that drive Chromium: ${reason}`);
  return true;
}

/**
 * Headless Chromium that trusts the test server's certificate, when there is one: its public key
 * is pinned with --ignore-certificate-errors-spki-list, so pages count as a secure context with no
 * certificate error (WebAuthn refuses pages with certificate errors).
 */
export function launchChromium(serverCert?: Buffer): Promise<Browser> {
  const pin = serverCert ? createHash('sha256').update(new X509Certificate(serverCert).publicKey.export({ type: 'spki', format: 'der' })).digest('base64') : undefined;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      ...(pin ? [`--ignore-certificate-errors-spki-list=${pin}`] : []),
      // Loopback only: every other name fails to resolve, and nothing phones home.
      '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

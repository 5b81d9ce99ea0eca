import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Repositories } from '../core/ports.js';
import { SecretBox } from '../core/secrets.js';

export const MASTER_KEY_FILE = 'master.key';

function decode(text: string, source: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) throw new Error(`${source} must hold 32 bytes, as 64 hex digits or base64 (e.g. from: openssl rand -base64 32)`);
  return key;
}

/**
 * The master key: ROSTER_MASTER_KEY if set (required when several processes share PostgreSQL on
 * different hosts), else `<dataDir>/master.key`, created with mode 0600 on first run. A key file
 * that others can read is refused, as ssh refuses such private keys.
 */
export function loadMasterKey(fromEnv: string | undefined, dataDir: string): { box: SecretBox; source: string } {
  if (fromEnv) return { box: SecretBox.fromKey(decode(fromEnv, 'ROSTER_MASTER_KEY')), source: 'ROSTER_MASTER_KEY' };
  const file = join(dataDir, MASTER_KEY_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
  }
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new Error(`${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`);
  }
  return { box: SecretBox.fromKey(decode(readFileSync(file, 'utf8'), file)), source: file };
}

const CHECK_KEY = 'master_key_check';
const CHECK_TEXT = 'roster master key check';

/** Fails at start-up, not at the first decryption, when the master key is not the store's. */
export async function checkMasterKey(meta: Repositories['meta'], box: SecretBox): Promise<void> {
  const stored = await meta.setIfAbsent(CHECK_KEY, box.seal(CHECK_TEXT, CHECK_KEY));
  try {
    if (box.open(stored, CHECK_KEY) === CHECK_TEXT) return;
  } catch {
    // fall through
  }
  throw new Error('The master key does not match the one this store was created with; secrets could not be read. Set ROSTER_MASTER_KEY or restore the original master.key.');
}

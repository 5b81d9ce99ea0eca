import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** The repository root: two levels up from test/support, three from dist/test/support when a benchmark runs compiled. */
const HERE = import.meta.dirname ?? new URL('.', import.meta.url).pathname;
export const ROOT = join(HERE, ...(basename(join(HERE, '..', '..')) === 'dist' ? ['..', '..', '..'] : ['..', '..']));
export const BIN = join(ROOT, 'bin', 'roster.js');

export interface RosterProcess {
  child: ChildProcess;
  url: string;
  /** Everything the process printed on stdout so far. */
  stdout(): string;
  stop(): Promise<void>;
}

/**
 * Starts the real `roster serve` on a random port and waits until it says where it listens.
 * ROSTER_TEST_NODE_ARGS adds Node.js flags to it (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
export async function startRoster(env: NodeJS.ProcessEnv): Promise<RosterProcess> {
  const nodeArgs = (process.env.ROSTER_TEST_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve'], {
    env: { ...process.env, ROSTER_HTTP_PORT: '0', ROSTER_LDAP_PORT: '0', ROSTER_LDAPS_PORT: '0', ROSTER_RADIUS_PORT: '0', ROSTER_RADIUS_ACCT_PORT: '0', ROSTER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`roster serve did not start in 30 s:\n${out}\n${err}`)), 30_000);
    const check = () => {
      const m = /listening on (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        // The banner follows the address line in the same write; give it a tick.
        setTimeout(() => resolve(m[1]!), 50);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`roster serve exited with ${code}:\n${out}\n${err}`));
    });
  });
  return {
    child,
    url,
    stdout: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a `roster` command to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  return { code, stdout, stderr };
}

export function tempDir(prefix = 'roster-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export const apiKeyFrom = (banner: string): string | undefined => /API key\s+(\S+)/.exec(banner)?.[1];

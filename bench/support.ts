import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = join(ROOT, 'bin', 'roster.js');

/**
 * Peak resident set of a live process, in MiB; polled, so a process's last reading counts. `VmHWM`
 * is the peak since the process started; `VmRSS` sampled gives the peak of one phase.
 */
export class PeakRss {
  peak = 0;
  private timer: NodeJS.Timeout;
  private readonly pattern: RegExp;
  constructor(
    private readonly pid: number,
    field: 'VmHWM' | 'VmRSS' = 'VmHWM',
    intervalMs = 50,
  ) {
    this.pattern = new RegExp(`${field}:\\s+(\\d+) kB`);
    this.timer = setInterval(() => this.sample(), intervalMs);
  }
  sample(): void {
    try {
      const m = this.pattern.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
      if (m) this.peak = Math.max(this.peak, Number(m[1]) / 1024);
    } catch {
      // the process has exited
    }
  }
  stop(): number {
    this.sample();
    clearInterval(this.timer);
    return this.peak;
  }
}

export interface Running {
  child: ChildProcess;
  url: string;
  apiKey: string;
  rss: PeakRss;
  stop(): Promise<void>;
}

/** Starts `roster serve` and waits for its first-run banner. */
export async function startServer(env: NodeJS.ProcessEnv): Promise<Running> {
  const child = spawn(process.execPath, [BIN, 'serve'], { env: { ...process.env, ROSTER_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const rss = new PeakRss(child.pid!);
  let out = '';
  const ready = new Promise<{ url: string; apiKey: string }>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /listening on (\S+)/.exec(out)?.[1];
      const key = /API key\s+(\S+)/.exec(out)?.[1];
      if (url && key) resolve({ url, apiKey: key });
    });
    child.once('exit', (code) => reject(new Error(`roster serve exited with ${code}:\n${out}`)));
  });
  const { url, apiKey } = await ready;
  return {
    child,
    url,
    apiKey,
    rss,
    async stop() {
      rss.stop();
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

/** Runs a roster command to completion; returns wall time and the command's peak RSS. */
export async function runRoster(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; rssMiB: number; stderr: string }> {
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  const rss = new PeakRss(child.pid!);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rssMiB = rss.stop();
  if (code !== 0) throw new Error(`roster ${args.join(' ')} failed (${code}):\n${stderr}`);
  return { seconds, rssMiB, stderr };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Sequential requests on one keep-alive connection; returns sorted latencies in ms. */
export async function measure(count: number, request: (i: number) => Promise<Response>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = process.hrtime.bigint();
    const res = await request(i);
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

/** Runs `task` over `items` with at most `width` in flight. */
export async function pool<T>(items: readonly T[], width: number, task: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const i = next++;
        await task(items[i]!, i);
      }
    }),
  );
}

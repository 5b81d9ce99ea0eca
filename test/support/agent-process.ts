import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** bin/roster.js, also when this module runs compiled (the benchmarks run from dist/). */
const BIN = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'bin', 'roster.js');
})();

export interface AgentProcessOptions {
  /** The Roster the agent dials out to. */
  roster: { apiUrl: string; certs: { caFile: string } };
  /** Where the agent keeps its credential; the bind password goes in a file beside it. */
  stateFile: string;
  /** The directory server (a DC, slapd) and the account the agent reads it as. */
  ldapUrl: string;
  ldapCa: string;
  bindDn: string;
  password: string;
  /** For the first start. */
  connectKey?: string;
  /** More ROSTER_AGENT_* settings (the poll interval is 2 s unless given). */
  env?: NodeJS.ProcessEnv;
  /** Keep what it prints (the default), or let it go to this process's stderr (benchmarks). */
  output?: 'keep' | 'inherit';
}

/** `roster agent` as its own process; what it prints is kept in `output`, for failures. */
export type AgentProcess = ChildProcess & { readonly output: string };

export function spawnAgent(options: AgentProcessOptions): AgentProcess {
  const passwordFile = `${options.stateFile}.password`;
  writeFileSync(passwordFile, options.password, { mode: 0o600 });
  const child = spawn(process.execPath, [BIN, 'agent', '--state-file', options.stateFile], {
    env: {
      ...process.env,
      ROSTER_AGENT_URL: options.roster.apiUrl,
      ROSTER_AGENT_ROSTER_CA: options.roster.certs.caFile,
      ROSTER_AGENT_LDAP_URL: options.ldapUrl,
      ROSTER_AGENT_LDAP_CA: options.ldapCa,
      ROSTER_AGENT_BIND_DN: options.bindDn,
      ROSTER_AGENT_BIND_PASSWORD_FILE: passwordFile,
      ROSTER_AGENT_POLL_SECONDS: '2',
      ...(options.connectKey ? { ROSTER_AGENT_CONNECT_KEY: options.connectKey } : {}),
      ...options.env,
    },
    stdio: options.output === 'inherit' ? ['ignore', 'ignore', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  Object.defineProperty(child, 'output', { get: () => output });
  return child as AgentProcess;
}

/** Stops a process (SIGTERM: gracefully) and waits for it to exit; nothing when it already has. */
export async function stopProcess(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}

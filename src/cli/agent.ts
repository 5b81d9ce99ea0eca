import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { openAdSource } from '../integrations/active-directory/ad-source.js';
import { DirectoryAgent } from '../integrations/active-directory/agent.js';
import { RosterClient } from '../integrations/active-directory/roster-client.js';
import { openLdapDirectorySource } from '../integrations/ldap-directory/source.js';
import { rosterVersion } from '../app/version.js';

export interface AgentCliOptions {
  url?: string;
  connectKey?: string;
  stateFile: string;
  rosterCa?: string;
  ldapUrl?: string;
  bindDn?: string;
  bindPasswordFile?: string;
  ldapCa?: string;
  startTls?: boolean;
  allowPlainLdap?: boolean;
  pollSeconds?: number;
  /** Another LDAP directory's base DN (its root DSE's naming context when absent). */
  baseDn?: string;
}

interface AgentState {
  url: string;
  agentId: string;
  credential: string;
  directoryId: string;
  domain: string;
}

const env = process.env;

/** Reads a secret from a file (trailing newline dropped). */
const secretFile = (path: string) => readFileSync(path, 'utf8').replace(/\r?\n$/, '');

/**
 * `roster agent`: registers with the connect key the first time (keeping its own credential in
 * the state file, readable by its owner only), then runs the import role against the domain
 * controller until stopped. Every setting has an environment variable, so a service manager can
 * run it without a command line holding secrets.
 */
export async function runAgent(options: AgentCliOptions, say: (line: string) => void): Promise<void> {
  const stateFile = options.stateFile;
  let state: AgentState | undefined = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as AgentState) : undefined;
  const url = options.url ?? env.ROSTER_AGENT_URL ?? state?.url;
  if (!url) throw new Error('Roster\'s address is needed: --url https://roster.example.com (ROSTER_AGENT_URL)');
  const caFile = options.rosterCa ?? env.ROSTER_AGENT_ROSTER_CA;
  const roster = new RosterClient({ url, ...(caFile ? { ca: readFileSync(caFile) } : {}) });

  if (!state) {
    const connectKey = options.connectKey ?? env.ROSTER_AGENT_CONNECT_KEY;
    if (!connectKey) throw new Error(`This agent is not registered yet (no ${stateFile}): give the connect key from the domain's Agents page with --connect-key (ROSTER_AGENT_CONNECT_KEY)`);
    const registered = await roster.register(connectKey, hostname(), rosterVersion());
    state = { url, agentId: registered.agentId, credential: registered.credential, directoryId: registered.directoryId, domain: registered.domain };
    writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    chmodSync(stateFile, 0o600);
    say(`Registered agent ${state.agentId} for ${state.domain}; its credential is in ${stateFile}.`);
  }
  roster.useCredential(state.credential);

  const ldapUrl = options.ldapUrl ?? env.ROSTER_AGENT_LDAP_URL;
  const bindDn = options.bindDn ?? env.ROSTER_AGENT_BIND_DN;
  const passwordFile = options.bindPasswordFile ?? env.ROSTER_AGENT_BIND_PASSWORD_FILE;
  const password = passwordFile ? secretFile(passwordFile) : env.ROSTER_AGENT_BIND_PASSWORD;
  if (!ldapUrl || !bindDn || password === undefined) {
    throw new Error('The domain controller is needed: --ldap-url ldaps://dc1.corp.example.com --bind-dn … --bind-password-file … (ROSTER_AGENT_LDAP_URL, ROSTER_AGENT_BIND_DN, ROSTER_AGENT_BIND_PASSWORD_FILE)');
  }
  const ldapCaFile = options.ldapCa ?? env.ROSTER_AGENT_LDAP_CA;
  const ldap = {
    url: ldapUrl,
    bindDn,
    password,
    ...(ldapCaFile ? { ca: readFileSync(ldapCaFile) } : {}),
    startTls: options.startTls ?? env.ROSTER_AGENT_START_TLS === '1',
    allowPlain: options.allowPlainLdap ?? env.ROSTER_AGENT_ALLOW_PLAIN_LDAP === '1',
  };
  const pollSeconds = options.pollSeconds ?? Number(env.ROSTER_AGENT_POLL_SECONDS ?? 30);
  const baseDn = options.baseDn ?? env.ROSTER_AGENT_BASE_DN;
  const agent = new DirectoryAgent({
    roster,
    connect: () => openAdSource(ldap),
    // For a directory whose schema is ldap (OpenLDAP, 389-ds, FreeIPA): the same connection settings.
    connectLdap: () => openLdapDirectorySource({ ...ldap, ...(baseDn ? { baseDn } : {}) }),
    log: (level, message, fields) => say(JSON.stringify({ level, time: new Date().toISOString(), msg: message, ...fields })),
    pollMs: Math.max(1, pollSeconds) * 1000,
    // Objects per batch sent to Roster (each batch is one transaction); 500 unless set.
    batchSize: Math.min(5000, Math.max(1, Number(env.ROSTER_AGENT_BATCH_SIZE ?? 500))),
  });
  const stop = () => void agent.stop();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  say(`Agent ${state.agentId} running for ${state.domain} against ${ldapUrl}.`);
  await agent.run();
}

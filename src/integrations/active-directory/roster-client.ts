import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AgentTaskAnswer, TakenTask } from '../../core/services/agent-tasks.js';
import type { ExportOutcome, ExportPlan } from '../../core/services/directory-export.js';
import type { ImportBatch } from '../../core/services/directory-sync.js';
import { parseRetryAfter } from '../../sync/retry.js';
import { SyncError } from '../../sync/errors.js';

/** What Roster tells its agent at each contact (GET /api/agent/v1/config). */
export interface AgentConfig {
  agentId: string;
  directoryId: string;
  domain: string;
  /** active_directory, or ldap: another LDAP directory (imported only). */
  schema: 'active_directory' | 'ldap';
  configuration: 'ad_authoritative' | 'two_way' | 'roster_authoritative';
  importScopeGroupDn: string | null;
  usersOu: string | null;
  groupsOu: string | null;
  userAttributes: string[];
  importCursor: string | null;
  fullImportWanted: boolean;
  /** An administrator asked for a plan: read the whole scope and send it as a dry run. */
  dryRunWanted: boolean;
  /** This agent holds the writer lease: it imports (others wait, ready to take over). */
  writer: boolean;
  leaseSeconds: number;
}

export interface ImportAnswer {
  runId: string;
  status: string;
  counts: Record<string, number>;
}

export interface RosterClientOptions {
  /** Roster's address, https://… (http:// only to this machine). */
  url: string;
  /** A CA to trust for Roster's certificate, besides the system's. */
  ca?: Buffer;
  timeoutMs?: number;
}

/**
 * The agent's side of /api/agent/v1: JSON over HTTPS, dialing out to Roster only. Failures are
 * sync errors: an unreachable Roster or a 5xx is transient; a refused credential stops the agent.
 */
export class RosterClient {
  private credential: string | undefined;

  constructor(private readonly options: RosterClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname))) {
      throw new Error('Roster must be reached over https:// (http:// only on this machine)');
    }
  }

  useCredential(credential: string): void {
    this.credential = credential;
  }

  register(connectKey: string, hostname: string, version: string): Promise<{ agentId: string; credential: string; directoryId: string; organization: string; domain: string }> {
    return this.call('POST', '/register', { connectKey, hostname, version }, false);
  }

  config(): Promise<AgentConfig> {
    return this.call('GET', '/config');
  }

  import(batch: ImportBatch): Promise<ImportAnswer> {
    return this.call('POST', '/import', batch);
  }

  exportPlan(): Promise<ExportPlan> {
    return this.call('GET', '/export');
  }

  exportResults(outcomes: ExportOutcome[]): Promise<ImportAnswer> {
    return this.call('POST', '/export', { outcomes });
  }

  /** Waits up to `waitSeconds` for Roster's requests, or until its journal moves past `head`. */
  tasks(waitSeconds: number, head?: number): Promise<{ tasks: TakenTask[]; head: number }> {
    return this.call('GET', `/tasks?wait=${waitSeconds}${head !== undefined ? `&head=${head}` : ''}`);
  }

  async answerTask(id: string, answer: AgentTaskAnswer): Promise<void> {
    await this.call('POST', `/tasks/${encodeURIComponent(id)}`, answer);
  }

  /** A password changed in the directory (a password filter on a domain controller). */
  async pushPassword(account: { username?: string; externalId?: string }, password: string): Promise<void> {
    await this.call('POST', '/password', { ...account, password });
  }

  async reportError(message: string): Promise<void> {
    await this.call('POST', '/error', { message: message.slice(0, 2000) });
  }

  async releaseLease(): Promise<void> {
    await this.call('POST', '/lease/release', {});
  }

  async rotateCredential(): Promise<string> {
    const { credential } = await this.call<{ credential: string }>('POST', '/credential', {});
    this.credential = credential;
    return credential;
  }

  private call<T>(method: string, path: string, body?: unknown, authenticated = true): Promise<T> {
    const url = new URL(`${this.options.url.replace(/\/+$/, '')}/api/agent/v1${path}`);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (payload) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    if (authenticated) {
      if (!this.credential) throw new SyncError('stop', 'the agent is not registered');
      headers.authorization = `Bearer ${this.credential}`;
    }
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, { method, headers, timeout: this.options.timeoutMs ?? 60_000, ...(this.options.ca ? { ca: this.options.ca } : {}) }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          if (status >= 200 && status < 300) return resolve(parsed as T);
          const message = `Roster answered ${status} to ${method} ${path}: ${(parsed as { message?: string } | undefined)?.message ?? text.slice(0, 200)}`;
          const retryAfter = parseRetryAfter(String(res.headers['retry-after'] ?? '') || null);
          const kind = status === 401 || status === 403 ? 'stop' : status === 409 ? 'conflict' : status === 429 || status >= 500 ? 'transient' : 'bad_request';
          reject(new SyncError(kind, message, status, retryAfter));
        });
        res.on('error', (e) => reject(new SyncError('transient', `reading Roster's answer failed: ${e.message}`)));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer from Roster in ${(this.options.timeoutMs ?? 60_000) / 1000} s`)));
      req.on('error', (e) => reject(e instanceof SyncError ? e : new SyncError('transient', `Roster is unreachable: ${e.message}`)));
      req.end(payload);
    });
  }
}

import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { apiKeyFrom, startRoster, tempDir, type RosterProcess } from './roster-process.js';
import { makeTestCertificates, type TestCertificates } from './tls.js';

export interface ApiResponse<T = any> {
  status: number;
  body: T;
}

export interface UserSpec {
  username: string;
  email?: string;
  firstname?: string;
  lastname?: string;
  displayname?: string;
  password?: string;
  ldap_binding_user?: boolean;
  [field: string]: unknown;
}

export interface JournalEntryWire {
  seq: number;
  at: string;
  objectType: string;
  objectId: string;
  operation: string;
  changes: Record<string, unknown>;
  actor: { type: string; id: string | null; apiKeyId?: string | null };
  origin: string;
  details: Record<string, unknown> | null;
}

/** Polls `probe` (every 100 ms) until it returns something other than undefined/null. */
export async function waitFor<T>(probe: () => T | undefined | null | Promise<T | undefined | null>, timeoutMs: number, describe: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null) return value;
    if (Date.now() >= deadline) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The real `roster serve` over HTTPS with a fresh data directory, its certificate (also used for
 * LDAPS, StartTLS and EAP) signed by a throwaway CA, and the JumpCloud-style API at hand with
 * the first-run key. The protocol helpers (LDAP, RADIUS) build on it.
 */
export interface TestRoster {
  process: RosterProcess;
  certs: TestCertificates;
  apiUrl: string;
  apiKey: string;
  orgId: string;
  /** Calls the HTTPS API with the first-run key, trusting the test CA. */
  api<T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>>;
  /** `api`, throwing unless the status is one of `ok`. */
  must<T = any>(method: string, path: string, body: unknown, ...ok: number[]): Promise<T>;
  /** POST /api/systemusers; throws unless 200. Returns the new user's id. */
  createUser(spec: UserSpec): Promise<string>;
  /** POST /api/v2/usergroups with optional graph attributes. Returns the new group's id. */
  createGroup(name: string, attributes?: Record<string, unknown>): Promise<string>;
  addMember(groupId: string, type: 'user' | 'user_group', id: string): Promise<void>;
  removeMember(groupId: string, type: 'user' | 'user_group', id: string): Promise<void>;
  /** PUT /api/systemusers/{id} with the given fields. */
  updateUser(id: string, fields: Record<string, unknown>): Promise<void>;
  suspend(userId: string): Promise<void>;
  /** PUT /api/organizations/{id} with the given settings. */
  setOrgSettings(settings: Record<string, unknown>): Promise<void>;
  /** PUT /api/organizations/{id} with settings.passwordPolicy. */
  setPasswordPolicy(policy: Record<string, number | boolean>): Promise<void>;
  /** GET /api/v2/journal after `since`, with v2 filters such as `operation:eq:ldap_bind`, following pages. */
  journal(filters?: string[], since?: number): Promise<JournalEntryWire[]>;
  /** The sequence number of the newest journal entry (0 when empty). */
  journalHead(): Promise<number>;
  /** Polls the journal until `match` finds an entry (protocol events are written in batches). */
  waitForJournal(filters: string[], match: (e: JournalEntryWire) => boolean, options?: { since?: number; timeoutMs?: number }): Promise<JournalEntryWire>;
  /**
   * Stops the process with SIGTERM (a graceful shutdown) and starts another on the same data
   * directory and key; the returned roster has new ports. This one is spent.
   */
  restart(): Promise<TestRoster>;
  /** Stops the process and removes its data directory. */
  stop(): Promise<void>;
}

export interface TestRosterOptions {
  /** Prefix of the temporary data directory. */
  prefix: string;
  orgName: string;
  /** Email domain of the admin and of users created without an email. */
  domain: string;
  env?: NodeJS.ProcessEnv;
  /** A line `roster serve` must print before the roster counts as started (a protocol listener). */
  ready?: RegExp;
}

export async function startTestRoster(options: TestRosterOptions): Promise<TestRoster> {
  const dir = tempDir(options.prefix);
  try {
    const certs = await makeTestCertificates(dir.path);
    const env: NodeJS.ProcessEnv = {
      ROSTER_DATA_DIR: dir.path,
      ROSTER_TLS_CERT: certs.certFile,
      ROSTER_TLS_KEY: certs.keyFile,
      ROSTER_MASTER_KEY: randomBytes(32).toString('base64'),
      ROSTER_ORG_NAME: options.orgName,
      ROSTER_ADMIN_EMAIL: `admin@${options.domain}`,
      ...options.env,
    };
    return await launch({ dir, certs, env, options });
  } catch (e) {
    dir.remove();
    throw e;
  }
}

interface LaunchState {
  dir: { path: string; remove(): void };
  certs: TestCertificates;
  env: NodeJS.ProcessEnv;
  options: TestRosterOptions;
  /** Known after the first run, which prints it once. */
  apiKey?: string;
}

/** Servers still running when the test process exits (a crash, a timeout) are killed with it. */
const running = new Set<RosterProcess>();
process.on('exit', () => {
  for (const server of running) server.child.kill('SIGKILL');
});

async function launch(state: LaunchState): Promise<TestRoster> {
  const { dir, certs, options } = state;
  let started: RosterProcess | undefined;
  try {
    started = await startRoster(state.env);
    const proc = started;
    running.add(proc);
    proc.child.once('exit', () => running.delete(proc));
    if (options.ready) await waitFor(() => options.ready!.exec(proc.stdout()), 5_000, () => `no ${options.ready} line in:\n${proc.stdout()}`);
    const apiKey = state.apiKey ?? (await waitFor(() => apiKeyFrom(proc.stdout()), 5_000, () => `no API key in:\n${proc.stdout()}`));
    const apiUrl = proc.url;

    const api = <T = any>(method: string, path: string, body?: unknown): Promise<ApiResponse<T>> =>
      new Promise((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = httpsRequest(
          `${apiUrl}${path}`,
          {
            method,
            ca: certs.ca,
            headers: { 'x-api-key': apiKey, accept: 'application/json', ...(payload ? { 'content-type': 'application/json' } : {}) },
          },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => {
              let parsed: unknown = text;
              try {
                parsed = text === '' ? null : JSON.parse(text);
              } catch {
                /* not JSON */
              }
              resolve({ status: res.statusCode ?? 0, body: parsed as T });
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(payload);
      });

    const must = async <T = any>(method: string, path: string, body: unknown, ...ok: number[]): Promise<T> => {
      const res = await api<T>(method, path, body);
      if (!ok.includes(res.status)) throw new Error(`${method} ${path} answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    };

    const orgs = await must<{ results: { _id: string }[] }>('GET', '/api/organizations', undefined, 200);
    const orgId = orgs.results[0]!._id;

    const journal = async (filters: string[] = [], from = 0): Promise<JournalEntryWire[]> => {
      const out: JournalEntryWire[] = [];
      let since = from;
      for (;;) {
        const query = new URLSearchParams({ since: String(since), limit: '1000' });
        for (const f of filters) query.append('filter', f);
        const page = await must<JournalEntryWire[]>('GET', `/api/v2/journal?${query}`, undefined, 200);
        if (page.length === 0) return out;
        out.push(...page);
        since = page.at(-1)!.seq;
      }
    };

    let retired = false;
    return {
      process: proc,
      certs,
      apiUrl,
      apiKey,
      orgId,
      api,
      must,
      async createUser(spec) {
        const body = { email: `${spec.username.toLowerCase()}@${options.domain}`, firstname: spec.username, lastname: 'Tester', ...spec };
        return (await must<{ _id: string }>('POST', '/api/systemusers', body, 200))._id;
      },
      async createGroup(name, attributes) {
        return (await must<{ id: string }>('POST', '/api/v2/usergroups', attributes === undefined ? { name } : { name, attributes }, 201)).id;
      },
      async addMember(groupId, type, id) {
        await must('POST', `/api/v2/usergroups/${groupId}/members`, { op: 'add', type, id }, 204);
      },
      async removeMember(groupId, type, id) {
        await must('POST', `/api/v2/usergroups/${groupId}/members`, { op: 'remove', type, id }, 204);
      },
      async updateUser(id, fields) {
        await must('PUT', `/api/systemusers/${id}`, fields, 200);
      },
      async suspend(userId) {
        await must('PUT', `/api/systemusers/${userId}`, { state: 'SUSPENDED' }, 200);
      },
      async setOrgSettings(settings) {
        await must('PUT', `/api/organizations/${orgId}`, { settings }, 200);
      },
      async setPasswordPolicy(policy) {
        await must('PUT', `/api/organizations/${orgId}`, { settings: { passwordPolicy: policy } }, 200);
      },
      journal,
      async journalHead() {
        return (await journal()).at(-1)?.seq ?? 0;
      },
      async waitForJournal(filters, match, { since = 0, timeoutMs = 5_000 } = {}) {
        let seen: JournalEntryWire[] = [];
        return waitFor(
          async () => {
            seen = await journal(filters, since);
            return seen.find(match);
          },
          timeoutMs,
          () => `no matching journal entry within ${timeoutMs} ms among ${seen.length}: ${JSON.stringify(seen.slice(-5))}`,
        );
      },
      async restart() {
        retired = true;
        await proc.stop();
        return launch({ ...state, apiKey });
      },
      async stop() {
        if (retired) return;
        retired = true;
        await proc.stop();
        dir.remove();
      },
    };
  } catch (e) {
    await started?.stop();
    throw e;
  }
}

import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { newId, type DirectoryId, type OrgId } from '../ids.js';
import type { DirectoryAgent } from '../model.js';
import type { KnownObject } from '../ports.js';
import type { Deps } from './deps.js';
import type { ExportOp } from './directory-export.js';

/** What Roster asks of a directory's agent and waits for. */
export type AgentTaskRequest =
  /**
   * Write a password to the directory (an administrator's reset). `externalId` null: the user is
   * not in the directory yet, and `create` says how to create it, with the password.
   */
  | { kind: 'set_password'; username: string; externalId: string | null; create?: Extract<ExportOp, { op: 'create_user' }>; enable: boolean; password: string }
  /** Delegated authentication: is this the user's password in the directory? */
  | { kind: 'verify_password'; username: string; externalId: string; password: string };

export type AgentTaskAnswer =
  | { ok: true; externalId?: string; known?: KnownObject }
  /** `refused`: the directory refused (a password policy, a wrong password); `failed`: the agent could not do it (the DC unreachable). */
  | { ok: false; outcome: 'refused' | 'failed'; reason: string };

export interface TakenTask {
  id: string;
  request: AgentTaskRequest;
}

/** How often a process looks for tasks or answers another process wrote to the shared store. */
const POLL_MS = 100;

/**
 * Requests to a directory's agent, through the store so that any Roster process can ask and any
 * can serve the agent's long poll. The payload (a password) is sealed at rest, and the row is
 * removed as soon as its answer is read or its requester gives up. Within one process the two
 * sides also wake each other at once.
 */
export class AgentTaskService {
  private readonly events = new EventEmitter();
  private lastSweep = 0;

  constructor(private readonly deps: Deps) {
    this.events.setMaxListeners(0);
  }

  /** Asks the directory's agent and waits up to `timeoutMs`; undefined when no agent answered in time. */
  async request(orgId: OrgId, directoryId: DirectoryId, request: AgentTaskRequest, timeoutMs: number): Promise<AgentTaskAnswer | undefined> {
    const id = newId<string>();
    const now = this.deps.clock();
    const repo = this.deps.store.read.directorySync;
    await repo.insertTask({
      id,
      orgId,
      directoryId,
      kind: request.kind,
      payload: this.deps.secrets.seal(JSON.stringify(request), `agent-task:${id}`),
      state: 'pending',
      agentId: null,
      result: null,
      created: now.toISOString(),
      expires: new Date(now.getTime() + timeoutMs).toISOString(),
    });
    this.events.emit(`task:${directoryId}`);
    const deadline = Date.now() + timeoutMs;
    try {
      while (Date.now() < deadline) {
        const task = await repo.findTask(orgId, id);
        if (task?.state === 'done' && task.result) return JSON.parse(task.result) as AgentTaskAnswer;
        await this.wait(`done:${id}`, Math.min(POLL_MS, deadline - Date.now()));
      }
      return undefined;
    } finally {
      await repo.deleteTask(orgId, id);
    }
  }

  /**
   * The agent's long poll: the directory's pending tasks, waiting up to `waitMs` for one, or until
   * `stop()` says to answer early (the journal moved on, so the agent has changes to export).
   */
  async take(agent: DirectoryAgent, waitMs: number, stop: () => Promise<boolean> = async () => false): Promise<TakenTask[]> {
    const repo = this.deps.store.read.directorySync;
    const deadline = Date.now() + waitMs;
    for (;;) {
      await this.sweep();
      const claimed = await repo.claimTasks(agent.orgId, agent.directoryId, agent.id, this.deps.clock().toISOString(), 20);
      if (claimed.length > 0) {
        return claimed.map((t) => ({ id: t.id, request: JSON.parse(this.deps.secrets.open(t.payload, `agent-task:${t.id}`)) as AgentTaskRequest }));
      }
      if (Date.now() >= deadline || (await stop())) return [];
      await this.wait(`task:${agent.directoryId}`, Math.min(POLL_MS * 2, deadline - Date.now()));
    }
  }

  /** The agent's answer; false when the task is not its own or is gone (its requester gave up). */
  async answer(agent: DirectoryAgent, id: string, answer: AgentTaskAnswer): Promise<boolean> {
    const done = await this.deps.store.read.directorySync.completeTask(agent.orgId, id, agent.id, JSON.stringify(answer));
    if (done) this.events.emit(`done:${id}`);
    return done;
  }

  private async wait(event: string, ms: number): Promise<void> {
    if (ms <= 0) return;
    const controller = new AbortController();
    const wake = () => controller.abort();
    this.events.once(event, wake);
    try {
      await sleep(ms, undefined, { signal: controller.signal });
    } catch {
      // woken early
    } finally {
      this.events.off(event, wake);
    }
  }

  /** Tasks whose requester is gone are removed now and then (a requester removes its own otherwise). */
  private async sweep(): Promise<void> {
    if (Date.now() - this.lastSweep < 60_000) return;
    this.lastSweep = Date.now();
    await this.deps.store.read.directorySync.deleteExpiredTasks(this.deps.clock().toISOString());
  }
}

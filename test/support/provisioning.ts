import { randomBytes } from 'node:crypto';
import { operatorContext, type Context } from '../../src/core/context.js';
import { createDirectoryCore, type DirectoryCore } from '../../src/core/directory.js';
import type { ApplicationId } from '../../src/core/ids.js';
import type { ProvisioningConfig, User, UserGroup } from '../../src/core/model.js';
import { SecretBox } from '../../src/core/secrets.js';
import { ScimAppRun, type RunResult } from '../../src/integrations/scim-app/provisioner.js';
import type { RetryPolicy } from '../../src/sync/retry.js';
import type { ScimPeer } from './scim-peer.js';
import { openTestStore, type StoreKind } from './stores.js';

/** Fast retries for tests: the peer's Retry-After is honoured but capped at 20 ms. */
export const FAST_RETRY: RetryPolicy = { attempts: 10, baseDelayMs: 2, maxDelayMs: 20, maxRetryAfterMs: 20 };

export interface ProvisioningFixture {
  core: DirectoryCore;
  ctx: Context;
  appId: ApplicationId;
  /** Creates an activated user with the usual attributes. */
  user(username: string, extra?: Record<string, unknown>): Promise<User>;
  group(name: string, members?: User[]): Promise<UserGroup>;
  associate(subject: User | UserGroup): Promise<void>;
  dissociate(subject: User | UserGroup): Promise<void>;
  /** Points the application at the peer and enables provisioning with these settings. */
  enable(peer: ScimPeer, settings?: Partial<ProvisioningConfig>): Promise<void>;
  /** One run, as the worker starts it. */
  run(options?: { reconcile?: boolean }): Promise<RunResult>;
  /** Runs until a run ends without errors (at most `max` runs); returns every run. */
  converge(max?: number, options?: { reconcile?: boolean }): Promise<RunResult[]>;
  dispose(): Promise<void>;
}

const isGroup = (s: User | UserGroup): s is UserGroup => !('username' in s);

export async function openProvisioning(kind: StoreKind, appName = 'Slack'): Promise<ProvisioningFixture> {
  const store = await openTestStore(kind);
  const core = createDirectoryCore(store.store, SecretBox.fromKey(randomBytes(32)));
  const org = await core.organizations.create('Acme');
  const ctx = operatorContext(org.id, 'api');
  const app = await core.applications.create(ctx, { name: appName });
  const appId = app.id;
  const run = async (options: { reconcile?: boolean } = {}) => {
    const runnable = await core.provisioning.runnableTarget(org.id, appId);
    if (!runnable?.token) throw new Error('provisioning is not configured');
    return new ScimAppRun(core.provisioning, runnable.target, runnable.token, { ...options, retry: FAST_RETRY }).run();
  };
  return {
    core,
    ctx,
    appId,
    user: (username, extra = {}) =>
      core.users.create(ctx, { username, email: `${username}@example.com`, firstname: username[0]!.toUpperCase() + username.slice(1), lastname: 'Tester', state: 'ACTIVATED', ...extra }),
    group: (name, members = []) => core.groups.create(ctx, { name }, members.map((m) => ({ type: 'user' as const, id: m.id }))),
    associate: (s) => core.associations.change(ctx, { type: isGroup(s) ? 'user_group' : 'user', id: s.id }, { type: 'application', id: appId }, 'add'),
    dissociate: (s) => core.associations.change(ctx, { type: isGroup(s) ? 'user_group' : 'user', id: s.id }, { type: 'application', id: appId }, 'remove'),
    async enable(peer, settings = {}) {
      await core.provisioning.configure(ctx, appId, { enabled: true, baseUrl: peer.url, token: peer.token, ...settings });
    },
    run,
    async converge(max = 20, options = {}) {
      const runs: RunResult[] = [];
      for (let i = 0; i < max; i++) {
        const result = await run(i === 0 ? options : {});
        runs.push(result);
        if (result.errors.length === 0 && !result.stopped) return runs;
      }
      throw new Error(`no convergence in ${max} runs; last: ${JSON.stringify(runs.at(-1))}`);
    },
    dispose: () => store.dispose(),
  };
}

import type { Context } from '../../src/core/context.js';
import type { DirectoryId, OrgId, UserId } from '../../src/core/ids.js';
import type { DirectorySyncRun, User } from '../../src/core/model.js';
import type { CloudDirectoryType } from '../../src/core/services/cloud-directories.js';
import { cachedConnectors, connectorFor } from '../../src/app/cloud-connectors.js';
import { CloudDirectoryWorker, CloudPasswordWriter, type TurnResult } from '../../src/integrations/cloud-directory/worker.js';
import { DEFAULT_RETRY } from '../../src/sync/retry.js';
import { openTestCore, type TestCore } from './core.js';
import type { StoreKind } from './stores.js';

/** Retries as in production, but waits are cut short (a Retry-After of seconds is honoured at up to 1.5 s). */
export const FAST_RETRY = { ...DEFAULT_RETRY, baseDelayMs: 5, maxDelayMs: 50, maxRetryAfterMs: 1_500 };

export interface CloudSync extends TestCore {
  worker: CloudDirectoryWorker;
  directoryId: DirectoryId;
  /** One turn of the worker: a read (unless `read: false`), then the export until it converges. */
  turn(options?: { read?: boolean; full?: boolean }): Promise<TurnResult>;
  user(username: string): Promise<User | undefined>;
  link(localId: string): Promise<string | undefined>;
  /** Runs since the test began, newest first, with their plans. */
  runs(): Promise<DirectorySyncRun[]>;
  newUser(username: string, extra?: Record<string, unknown>): Promise<User>;
  associate(subject: { type: 'user' | 'user_group'; id: string }): Promise<void>;
}

/** A core over `kind` with a cloud directory connected through the real connector and password writer. */
export async function openCloudSync(kind: StoreKind, type: CloudDirectoryType, settings: Record<string, unknown>): Promise<CloudSync> {
  const tc = await openTestCore(kind);
  const { core, ctx } = tc;
  const connectors = cachedConnectors((c) => connectorFor(c, { retry: FAST_RETRY }));
  core.directoryPasswords.useCloudWriter(new CloudPasswordWriter(core, connectors));
  core.cloudDirectories.useReader((connection) => connectors(connection).read(null));
  const worker = new CloudDirectoryWorker(core, connectors, { tickMs: 100, failureBackoffMs: 100 });
  const directory = await core.cloudDirectories.create(ctx, type, settings);
  const org = ctx.orgId as OrgId;
  return {
    ...tc,
    worker,
    directoryId: directory.id,
    turn: (options = {}) => worker.runNow(org, directory.id, options),
    user: (username) => core.store.read.users.findByUsername(org, username),
    link: async (localId) => (await core.store.read.identityLinks.findByLocalIds(org, directory.id, 'user', [localId]))[0]?.externalId,
    runs: async () => {
      const page = await core.store.read.directorySync.listRuns(org, directory.id, 100, 0);
      return Promise.all(page.items.map(async (r) => (await core.store.read.directorySync.findRun(org, r.id))!));
    },
    newUser: (username, extra = {}) => core.users.create(ctx, { username, email: `${username}@${String(settings.domain)}`, firstname: username, lastname: 'Test', ...extra }),
    associate: (subject) => core.associations.change(ctx, subject, { type, id: directory.id }, 'add'),
    dispose: async () => {
      await worker.stop();
      await tc.dispose();
    },
  };
}

export const userIdOf = (u: User | undefined): UserId => {
  if (!u) throw new Error('no such user');
  return u.id;
};

export type { Context };

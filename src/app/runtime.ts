import { createDirectoryCore, type DirectoryCore } from '../core/directory.js';
import { cachedConnectors } from './cloud-connectors.js';
import { CloudPasswordWriter, type ConnectorFactory } from '../integrations/cloud-directory/worker.js';
import { openStore, type KyselyStore } from '../store/index.js';
import type { Config } from './config.js';
import { checkMasterKey, loadMasterKey } from './master-key.js';

/** The composition root: store, secrets and core, wired from configuration. */
export interface Runtime {
  config: Config;
  store: KyselyStore;
  core: DirectoryCore;
  /** The cloud directories' connectors, shared by the sync worker and password changes. */
  cloudConnectors: ConnectorFactory;
  close(): Promise<void>;
}

export async function openRuntime(config: Config, options: { migrate?: boolean } = {}): Promise<Runtime> {
  const { box } = loadMasterKey(config.masterKey, config.dataDir);
  const store = await openStore({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.poolSize,
    migrate: options.migrate ?? config.autoMigrate,
  });
  try {
    await checkMasterKey(store.read.meta, box);
  } catch (e) {
    await store.close();
    throw e;
  }
  const core = createDirectoryCore(store, box, undefined, { passwordCacheSeconds: config.passwordCacheSeconds, sessions: config.sessions, oidcKeyRefreshSeconds: config.oidcKeyRefreshSeconds });
  const cloudConnectors = cachedConnectors();
  // Every process that changes passwords pushes them to Google Workspace and Microsoft 365.
  core.directoryPasswords.useCloudWriter(new CloudPasswordWriter(core, cloudConnectors));
  core.cloudDirectories.useReader((connection) => cloudConnectors(connection).read(null));
  return { config, store, core, cloudConnectors, close: () => store.close() };
}

import { resolve } from 'node:path';

/** Everything `roster` reads from its environment, with the defaults a first run needs. */
export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  http: { host: string; port: number; tlsCert: string | undefined; tlsKey: string | undefined; trustProxy: boolean };
  masterKey: string | undefined;
  logLevel: string;
  firstRun: { orgName: string; adminEmail: string };
  autoMigrate: boolean;
  poolSize: number;
}

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number (0-65535), not "${raw}"`);
  return n;
}

function flag(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, not "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    dataDir: resolve(env.ROSTER_DATA_DIR || './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    http: {
      host: env.ROSTER_HTTP_HOST || '127.0.0.1',
      port: port('ROSTER_HTTP_PORT', env.ROSTER_HTTP_PORT, 8080),
      tlsCert: env.ROSTER_TLS_CERT || undefined,
      tlsKey: env.ROSTER_TLS_KEY || undefined,
      trustProxy: flag('ROSTER_TRUST_PROXY', env.ROSTER_TRUST_PROXY, false),
    },
    masterKey: env.ROSTER_MASTER_KEY || undefined,
    logLevel: env.ROSTER_LOG_LEVEL || 'info',
    firstRun: {
      orgName: env.ROSTER_ORG_NAME || 'My Organization',
      adminEmail: env.ROSTER_ADMIN_EMAIL || 'admin@roster.localhost',
    },
    autoMigrate: flag('ROSTER_AUTO_MIGRATE', env.ROSTER_AUTO_MIGRATE, true),
    poolSize: Number(env.ROSTER_PG_POOL_SIZE || 10),
  };
}

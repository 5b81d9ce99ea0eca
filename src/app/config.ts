import { resolve } from 'node:path';

/** Everything `roster` reads from its environment, with the defaults a first run needs. */
export interface Config {
  dataDir: string;
  databaseUrl: string | undefined;
  http: {
    host: string;
    port: number;
    tlsCert: string | undefined;
    tlsKey: string | undefined;
    trustProxy: boolean;
    /** The URL browsers and clients reach this server at (behind a proxy); defaults to the listening address. The OIDC issuer is this plus /oidc. */
    publicUrl: string | undefined;
  };
  masterKey: string | undefined;
  logLevel: string;
  firstRun: { orgName: string; adminEmail: string };
  autoMigrate: boolean;
  poolSize: number;
  /** How long a verified password is remembered to spare repeated argon2id work; 0 (the default) is off. */
  passwordCacheSeconds: number;
  /** Conformance testing only: a SCIM source token served unauthenticated at /scim/v2/Token. */
  scimTestToken: string | undefined;
  /** Users' sign-in sessions: idle and absolute timeouts. */
  sessions: { idleMinutes: number; maxHours: number };
  /** How often each process reads the OIDC provider's keys from the store again (and how long after a rotation through the API the new key signs). */
  oidcKeyRefreshSeconds: number;
  /** Whether this process runs outbound SCIM provisioning (every process may; leases keep one run per application). */
  provisioningWorker: boolean;
  /** Whether this process syncs Google Workspace and Microsoft 365 directories (every process may; a lease keeps one per directory). */
  cloudDirectoryWorker: boolean;
  ldap: {
    host: string;
    /** null: the listener is off. */
    port: number | null;
    tlsPort: number | null;
    suffix: string;
    maxPdu: number;
    maxConnections: number;
    idleTimeoutMs: number;
  };
  radius: {
    host: string;
    /** Access-Requests (and Status-Server); null: off. */
    authPort: number | null;
    /** Accounting-Requests; null: off. */
    acctPort: number | null;
    /** The EAP server certificate (PEAP, EAP-TTLS); defaults to ROSTER_TLS_CERT/KEY. */
    tlsCert: string | undefined;
    tlsKey: string | undefined;
    /** Requests being answered at once; more are dropped and the NAS retransmits. */
    maxPending: number;
    /** Requests per second accepted from one client address. */
    clientRate: number;
    /** EAP conversations and MFA challenges in progress at once. */
    maxConversations: number;
  };
}

function port(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a port number (0-65535), not "${raw}"`);
  return n;
}

function optionalPort(name: string, raw: string | undefined, fallback: number): number | null {
  return raw?.toLowerCase() === 'off' ? null : port(name, raw, fallback);
}

function positive(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number, not "${raw}"`);
  return n;
}

function nonNegative(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 86_400) throw new Error(`${name} must be a whole number of seconds from 0 to 86400, not "${raw}"`);
  return n;
}

function between(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
  return n;
}

function publicUrl(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`ROSTER_PUBLIC_URL must be an absolute http(s) URL, not "${raw}"`);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.search || url.hash) throw new Error(`ROSTER_PUBLIC_URL must be an http(s) URL without query or fragment, not "${raw}"`);
  return url.href.replace(/\/+$/, '');
}

function flag(name: string, raw: string | undefined, fallback: boolean): boolean {
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new Error(`${name} must be true or false, not "${raw}"`);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const httpHost = env.ROSTER_HTTP_HOST || '127.0.0.1';
  return {
    dataDir: resolve(env.ROSTER_DATA_DIR || './data'),
    databaseUrl: env.DATABASE_URL || undefined,
    http: {
      host: httpHost,
      port: port('ROSTER_HTTP_PORT', env.ROSTER_HTTP_PORT, 8080),
      tlsCert: env.ROSTER_TLS_CERT || undefined,
      tlsKey: env.ROSTER_TLS_KEY || undefined,
      trustProxy: flag('ROSTER_TRUST_PROXY', env.ROSTER_TRUST_PROXY, false),
      publicUrl: publicUrl(env.ROSTER_PUBLIC_URL),
    },
    masterKey: env.ROSTER_MASTER_KEY || undefined,
    logLevel: env.ROSTER_LOG_LEVEL || 'info',
    firstRun: {
      orgName: env.ROSTER_ORG_NAME || 'My Organization',
      adminEmail: env.ROSTER_ADMIN_EMAIL || 'admin@roster.localhost',
    },
    autoMigrate: flag('ROSTER_AUTO_MIGRATE', env.ROSTER_AUTO_MIGRATE, true),
    poolSize: Number(env.ROSTER_PG_POOL_SIZE || 10),
    scimTestToken: env.ROSTER_SCIM_TEST_TOKEN || undefined,
    provisioningWorker: flag('ROSTER_PROVISIONING', env.ROSTER_PROVISIONING, true),
    cloudDirectoryWorker: flag('ROSTER_CLOUD_DIRECTORIES', env.ROSTER_CLOUD_DIRECTORIES, true),
    sessions: {
      idleMinutes: between('ROSTER_SESSION_IDLE_MINUTES', env.ROSTER_SESSION_IDLE_MINUTES, 30, 1, 10_080),
      maxHours: between('ROSTER_SESSION_MAX_HOURS', env.ROSTER_SESSION_MAX_HOURS, 12, 1, 720),
    },
    passwordCacheSeconds: nonNegative('ROSTER_PASSWORD_CACHE_SECONDS', env.ROSTER_PASSWORD_CACHE_SECONDS, 0),
    oidcKeyRefreshSeconds: between('ROSTER_OIDC_KEY_REFRESH_SECONDS', env.ROSTER_OIDC_KEY_REFRESH_SECONDS, 60, 1, 3600),
    ldap: {
      host: env.ROSTER_LDAP_HOST || httpHost,
      port: optionalPort('ROSTER_LDAP_PORT', env.ROSTER_LDAP_PORT, 1389),
      tlsPort: optionalPort('ROSTER_LDAPS_PORT', env.ROSTER_LDAPS_PORT, 1636),
      suffix: env.ROSTER_LDAP_SUFFIX || 'dc=roster',
      maxPdu: positive('ROSTER_LDAP_MAX_PDU', env.ROSTER_LDAP_MAX_PDU, 1024 * 1024),
      maxConnections: positive('ROSTER_LDAP_MAX_CONNECTIONS', env.ROSTER_LDAP_MAX_CONNECTIONS, 4096),
      idleTimeoutMs: positive('ROSTER_LDAP_IDLE_TIMEOUT', env.ROSTER_LDAP_IDLE_TIMEOUT, 900) * 1000,
    },
    radius: {
      host: env.ROSTER_RADIUS_HOST || httpHost,
      authPort: optionalPort('ROSTER_RADIUS_PORT', env.ROSTER_RADIUS_PORT, 1812),
      acctPort: optionalPort('ROSTER_RADIUS_ACCT_PORT', env.ROSTER_RADIUS_ACCT_PORT, 1813),
      tlsCert: env.ROSTER_RADIUS_TLS_CERT || env.ROSTER_TLS_CERT || undefined,
      tlsKey: env.ROSTER_RADIUS_TLS_KEY || env.ROSTER_TLS_KEY || undefined,
      maxPending: positive('ROSTER_RADIUS_MAX_PENDING', env.ROSTER_RADIUS_MAX_PENDING, 1024),
      clientRate: positive('ROSTER_RADIUS_CLIENT_RATE', env.ROSTER_RADIUS_CLIENT_RATE, 5000),
      maxConversations: positive('ROSTER_RADIUS_MAX_CONVERSATIONS', env.ROSTER_RADIUS_MAX_CONVERSATIONS, 10_000),
    },
  };
}

import { createPrivateKey } from 'node:crypto';
import { admin, type admin_directory_v1 } from '@googleapis/admin';
import { JWT } from 'google-auth-library';
import { SyncError } from '../../sync/errors.js';
import { Pacer } from '../../sync/pacer.js';
import { withRetry, type RetryPolicy } from '../../sync/retry.js';
import { toSyncError } from './errors.js';

/** The Admin SDK scopes Roster asks for through domain-wide delegation (https://developers.google.com/workspace/admin/directory/v1/guides/authorizing). */
export const DIRECTORY_SCOPES = [
  'https://www.googleapis.com/auth/admin.directory.user',
  'https://www.googleapis.com/auth/admin.directory.group',
  'https://www.googleapis.com/auth/admin.directory.group.member',
];

/** Where gtoken (the library's JWT-bearer grant) always posts its assertion; it has no option for another. */
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';

export interface ClientSettings {
  serviceAccountKey: string;
  adminEmail: string;
  rootUrl?: string;
  tokenUrl?: string;
  timeoutMs: number;
  retry: RetryPolicy;
  /** The project's Directory API quota: calls are paced to stay under it. */
  queriesPerMinute: number;
}

/** The Directory API through Google's client library, every call retried by our policy and failing with a SyncError. */
export interface DirectoryClient {
  api: admin_directory_v1.Admin;
  call<T>(request: () => Promise<{ data: T }>): Promise<T>;
}

interface ServiceAccountKey {
  client_email: string;
  private_key: string;
  private_key_id?: string;
}

function parseKey(json: string): ServiceAccountKey {
  let key: Partial<ServiceAccountKey>;
  try {
    key = JSON.parse(json) as Partial<ServiceAccountKey>;
  } catch {
    throw new SyncError('stop', 'the service account key is not JSON (a key file from the Google Cloud console is expected)');
  }
  if (typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new SyncError('stop', 'the service account key has no client_email or private_key');
  }
  try {
    createPrivateKey(key.private_key);
  } catch (e) {
    throw new SyncError('stop', `the service account key's private_key is not a valid key: ${e instanceof Error ? e.message : String(e)}`);
  }
  return key as ServiceAccountKey;
}

export function directoryClient(s: ClientSettings): DirectoryClient {
  const key = parseKey(s.serviceAccountKey);
  // Our withRetry is the only retry loop: gaxios' own (retryConfig, and the retry googleapis-common turns on) is off, so attempts do not multiply.
  const jwt = new JWT({
    email: key.client_email,
    key: key.private_key,
    keyId: key.private_key_id,
    subject: s.adminEmail,
    scopes: DIRECTORY_SCOPES,
    transporterOptions: { retryConfig: { retry: 0 }, timeout: s.timeoutMs },
  });
  const tokenUrl = s.tokenUrl;
  if (tokenUrl !== undefined && tokenUrl !== GOOGLE_TOKEN_URL) {
    // gtoken 8 hard-codes Google's token URL (its `aud` claim too) and JWT ignores the key's token_uri: the request goes to tokenUrl through the client's own transporter.
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (config.url.toString() === GOOGLE_TOKEN_URL) config.url = new URL(tokenUrl);
        return config;
      },
    });
  }
  // Google's quota refusal (403 userRateLimitExceeded) says nothing of when to come back: staying under the quota beats finding it.
  const pacer = new Pacer(s.queriesPerMinute);
  const api = admin({ version: 'directory_v1', auth: jwt, rootUrl: s.rootUrl, retry: false, retryConfig: { retry: 0 }, timeout: s.timeoutMs });
  return {
    api,
    call: <T>(request: () => Promise<{ data: T }>) =>
      withRetry(s.retry, async () => {
        await pacer.take();
        try {
          return (await request()).data;
        } catch (e) {
          throw toSyncError(e);
        }
      }),
  };
}

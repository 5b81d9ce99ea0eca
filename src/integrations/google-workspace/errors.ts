import { parseRetryAfter } from '../../sync/retry.js';
import { SyncError, type SyncErrorKind } from '../../sync/errors.js';

/** A failure of the Directory API or of Google's token endpoint, as a sync error kind, with Google's reason kept. */
export class GoogleError extends SyncError {
  constructor(
    kind: SyncErrorKind,
    message: string,
    status?: number,
    retryAfterMs?: number,
    /** Google's `errors[0].reason` (`duplicate`, `notFound`, `userRateLimitExceeded` …), or the OAuth error code. */
    readonly reason?: string,
  ) {
    super(kind, message, status, retryAfterMs);
    this.name = 'GoogleError';
  }
}

/** The limits page's quota errors, answered with 403: retried like a 429 (https://developers.google.com/workspace/admin/directory/v1/limits). */
const RATE_LIMIT_REASONS = new Set(['userRateLimitExceeded', 'rateLimitExceeded', 'quotaExceeded']);

interface GaxiosLike {
  message?: string;
  code?: string | number;
  config?: unknown;
  response?: { status: number; data?: unknown; headers?: unknown };
}

interface GoogleErrorBody {
  error?: string | { code?: number; message?: string; status?: string; errors?: { reason?: string; message?: string }[] };
  error_description?: string;
}

const headerOf = (headers: unknown, name: string): string | null => {
  if (headers && typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  if (headers && typeof headers === 'object') {
    const v = (headers as Record<string, unknown>)[name];
    return typeof v === 'string' ? v : null;
  }
  return null;
};

/**
 * The one translator from the client library's errors (gaxios errors carrying Google's answer) to
 * sync errors: 429, 5xx, the quota 403s and failures without an answer are transient; refused
 * credentials (401, 403, the token endpoint's errors) stop the run; 404 is not_found, 409
 * conflict, any other 4xx bad_request with Google's message.
 */
export function toSyncError(e: unknown): SyncError {
  if (e instanceof SyncError) return e;
  const err = (typeof e === 'object' && e !== null ? e : {}) as GaxiosLike;
  const res = err.response;
  if (!res) {
    const message = e instanceof Error ? e.message : String(e);
    return new GoogleError('transient', `Google could not be reached: ${message}`, undefined, undefined, typeof err.code === 'string' ? err.code : undefined);
  }
  const status = res.status;
  const body = (typeof res.data === 'object' && res.data !== null ? res.data : {}) as GoogleErrorBody;
  const retryAfterMs = parseRetryAfter(headerOf(res.headers, 'retry-after'));

  // RFC 6749 §5.2: the token endpoint's errors are `{ error, error_description }`.
  if (typeof body.error === 'string') {
    const message = `Google refused the service account's credentials: ${body.error}${body.error_description ? `: ${body.error_description}` : ''}`;
    const kind = status === 429 || status >= 500 ? 'transient' : 'stop';
    return new GoogleError(kind, message, status, retryAfterMs, body.error);
  }
  const reason = body.error?.errors?.[0]?.reason;
  const message = body.error?.message ?? err.message ?? `HTTP ${status}`;
  const make = (kind: SyncErrorKind) => new GoogleError(kind, message, status, retryAfterMs, reason);
  if (status === 429 || status === 408 || status >= 500) return make('transient');
  if (status === 403 && reason !== undefined && RATE_LIMIT_REASONS.has(reason)) return make('transient');
  if (status === 401 || status === 403) return new GoogleError('stop', `Google refused the request (${status}): ${message}`, status, undefined, reason);
  if (status === 404) return make('not_found');
  if (status === 409) return make('conflict');
  return make('bad_request');
}

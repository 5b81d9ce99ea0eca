import { SyncError } from '../../sync/errors.js';
import { DEFAULT_RETRY, parseRetryAfter, withRetry, type RetryPolicy } from '../../sync/retry.js';

export const SCIM_CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const SCIM_ENTERPRISE_USER = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SCIM_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const SCIM_PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SCIM_BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

export type ScimResourceType = 'Users' | 'Groups';
export type ScimObject = Record<string, unknown> & { id?: string };

export interface PatchOperation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

/** What a target says it supports (RFC 7643 §5), with the defaults of a server that says nothing. */
export interface TargetFeatures {
  patch: boolean;
  filter: boolean;
  maxResults: number;
  /** Bulk requests (RFC 7644 §3.7) and their limits; maxOperations 0 when unsupported. */
  bulk: { maxOperations: number; maxPayloadSize: number };
}

export interface BulkOperation {
  method: 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  bulkId?: string;
  data?: unknown;
}

/** One operation's outcome in a BulkResponse. */
export interface BulkResult {
  bulkId?: string;
  status: number;
  location?: string;
  response?: unknown;
}

export interface ScimClientOptions {
  baseUrl: string;
  token: string;
  timeoutMs?: number;
  retry?: RetryPolicy;
  /** Called for each retried request: the reason and the wait. */
  onRetry?: (error: SyncError, delayMs: number) => void;
}

const TIMEOUT_MS = 30_000;
/** Bodies longer than this are cut in error messages. */
const DETAIL_LIMIT = 300;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A filter string value with its quotes and backslashes escaped (RFC 7644 §3.4.2.2, JSON string rules). */
export const quoted = (value: string) => JSON.stringify(value);

/** The peer's error text: SCIM's `detail`, else the start of the body. */
function detailOf(body: unknown, text: string): string {
  if (isObject(body) && typeof body.detail === 'string') return body.detail.slice(0, DETAIL_LIMIT);
  return text.slice(0, DETAIL_LIMIT);
}

/** An HTTP answer as a sync error kind (DESIGN.md), or undefined for success. */
function errorOf(status: number, body: unknown, text: string, retryAfter: string | null, what: string): SyncError | undefined {
  if (status < 400) return undefined;
  const detail = detailOf(body, text);
  const message = `${what}: HTTP ${status}${detail ? ` — ${detail}` : ''}`;
  if (status === 429 || status >= 500 || status === 408) return new SyncError('transient', message, status, parseRetryAfter(retryAfter));
  if (status === 404) return new SyncError('not_found', message, status);
  if (status === 409) return new SyncError('conflict', message, status);
  if (status === 401 || status === 403) return new SyncError('stop', `${message} (check the application's SCIM token)`, status);
  return new SyncError('bad_request', message, status);
}

/**
 * A SCIM 2.0 client for one application's server: bearer token, timeouts, retries of transient
 * failures with backoff honouring Retry-After, and the peer's errors as sync error kinds.
 */
export class ScimAppClient {
  private readonly base: string;
  private readonly retry: RetryPolicy;
  /** Requests sent, retries included. */
  requests = 0;
  retries = 0;

  constructor(private readonly options: ScimClientOptions) {
    this.base = options.baseUrl.replace(/\/+$/, '');
    this.retry = options.retry ?? DEFAULT_RETRY;
  }

  /** One HTTP exchange, no retry. Resolves with the parsed body (undefined when empty). */
  async send(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const what = `${method} ${path.split('?')[0]}`;
    this.requests++;
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.options.token}`,
          accept: 'application/scim+json, application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (e) {
      const reason = e instanceof Error ? (e.name === 'TimeoutError' ? 'timed out' : ((e.cause as Error | undefined)?.message ?? e.message)) : String(e);
      throw new SyncError('transient', `${what}: ${reason}`);
    }
    const text = await response.text().catch(() => '');
    let parsed: unknown;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
    }
    const error = errorOf(response.status, parsed, text, response.headers.get('retry-after'), what);
    if (error) throw error;
    if (text !== '' && parsed === undefined) throw new SyncError('bad_request', `${what}: the answer is not JSON`, response.status);
    return { status: response.status, body: parsed };
  }

  /** `send` with retries of transient failures; `beforeRetry` may settle the call instead (see withRetry). */
  async request(method: string, path: string, body?: unknown, beforeRetry?: () => Promise<unknown>): Promise<unknown> {
    return withRetry(this.retry, async () => (await this.send(method, path, body)).body, {
      onRetry: (error, delay) => {
        this.retries++;
        this.options.onRetry?.(error, delay);
      },
      ...(beforeRetry ? { beforeRetry } : {}),
    });
  }

  async features(): Promise<TargetFeatures> {
    const config = await this.request('GET', '/ServiceProviderConfig');
    const supported = (key: string) => isObject(config) && isObject(config[key]) && (config[key] as { supported?: unknown }).supported === true;
    const filter = isObject(config) && isObject(config.filter) ? (config.filter as { maxResults?: unknown }) : {};
    const bulk = isObject(config) && isObject(config.bulk) ? (config.bulk as { maxOperations?: unknown; maxPayloadSize?: unknown }) : {};
    const positive = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
    return {
      patch: supported('patch'),
      filter: supported('filter'),
      maxResults: positive(filter.maxResults) || 100,
      bulk: supported('bulk') ? { maxOperations: positive(bulk.maxOperations), maxPayloadSize: positive(bulk.maxPayloadSize) || 1024 * 1024 } : { maxOperations: 0, maxPayloadSize: 0 },
    };
  }

  /**
   * One BulkRequest with failOnErrors unset (every operation is attempted); the outcome of each
   * operation in request order, matched by bulkId. The request as a whole is retried only when it
   * was refused before being processed (429, 503); any other failure is the caller's to handle.
   */
  async bulk(operations: BulkOperation[]): Promise<BulkResult[]> {
    const body = await this.request('POST', '/Bulk', { schemas: [SCIM_BULK_REQUEST], Operations: operations });
    const results = isObject(body) && Array.isArray(body.Operations) ? body.Operations.filter(isObject) : undefined;
    if (!results) throw new SyncError('bad_request', 'POST /Bulk: the answer has no Operations');
    const byBulkId = new Map(results.filter((r) => typeof r.bulkId === 'string').map((r) => [r.bulkId as string, r]));
    return operations.map((op, i) => {
      const r = (op.bulkId !== undefined ? byBulkId.get(op.bulkId) : undefined) ?? results[i];
      if (!r) return { ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: 0 };
      const status = Number(typeof r.status === 'object' && r.status !== null ? (r.status as { code?: unknown }).code : r.status);
      return {
        ...(op.bulkId ? { bulkId: op.bulkId } : {}),
        status: Number.isFinite(status) ? status : 0,
        ...(typeof r.location === 'string' ? { location: r.location } : {}),
        ...(r.response !== undefined ? { response: r.response } : {}),
      };
    });
  }

  /** Objects matching `attribute eq value`, or an empty list. */
  async find(resource: ScimResourceType, attribute: string, value: string): Promise<ScimObject[]> {
    const body = await this.request('GET', `/${resource}?filter=${encodeURIComponent(`${attribute} eq ${quoted(value)}`)}`);
    return resourcesOf(body);
  }

  /** Every object of a type, page by page (startIndex/count). */
  async *all(resource: ScimResourceType, pageSize: number, attributes?: string): AsyncGenerator<ScimObject[]> {
    let start = 1;
    for (;;) {
      const query = `startIndex=${start}&count=${pageSize}${attributes ? `&attributes=${encodeURIComponent(attributes)}` : ''}`;
      const body = await this.request('GET', `/${resource}?${query}`);
      const page = resourcesOf(body);
      yield page;
      const total = isObject(body) && typeof body.totalResults === 'number' ? body.totalResults : undefined;
      start += page.length;
      if (page.length === 0 || (total !== undefined && start > total)) return;
    }
  }
}

function resourcesOf(body: unknown): ScimObject[] {
  if (!isObject(body) || !Array.isArray(body.Resources)) throw new SyncError('bad_request', 'the list answer has no Resources');
  return body.Resources.filter(isObject) as ScimObject[];
}

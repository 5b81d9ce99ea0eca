/**
 * The portals' one way to the server: Roster's REST API, with the browser's session cookie. Every
 * request carries `x-requested-with: roster`, which the API asks of cookie-authenticated calls.
 */

export interface ErrorDetail {
  field?: string;
  reason?: string;
  message: string;
}

/** An API error in Roster's (JumpCloud's) shape: HTTP status, stable reason, message, details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details: ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Listener = (error: ApiError) => void;
const signedOutListeners = new Set<Listener>();

/** Called when a request finds the session gone (401), so the app can show its sign-in page. */
export function onSignedOut(listener: Listener): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

let orgId: string | undefined;

/** The organization requests act on (x-org-id), for administrators of several. */
export function setOrganization(id: string | undefined): void {
  orgId = id;
}

export interface RequestOptions {
  /** Do not announce a 401 as a signed-out session (sign-in calls expect 401s). */
  quiet401?: boolean;
  signal?: AbortSignal;
}

export async function request<T>(method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<T> {
  return (await send<T>(method, path, body, options)).json;
}

async function send<T>(method: string, path: string, body: unknown, options: RequestOptions): Promise<{ json: T; headers: Headers }> {
  const headers: Record<string, string> = { 'x-requested-with': 'roster', accept: 'application/json' };
  const raw = body instanceof Blob;
  if (body !== undefined) headers['content-type'] = raw ? body.type || 'application/octet-stream' : 'application/json';
  if (orgId) headers['x-org-id'] = orgId;
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: raw ? body : JSON.stringify(body) } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(0, 'NETWORK_ERROR', 'Roster could not be reached. Check your connection and try again.');
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const e = (json ?? {}) as { reason?: string; message?: string; details?: ErrorDetail[] };
    const error = new ApiError(response.status, e.reason ?? `HTTP_${response.status}`, e.message ?? (response.statusText || 'The request failed'), e.details ?? []);
    if (response.status === 401 && !options.quiet401) for (const l of signedOutListeners) l(error);
    throw error;
  }
  return { json: json as T, headers: response.headers };
}

export const api = {
  get: <T>(path: string, options?: RequestOptions) => request<T>('GET', path, undefined, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>('POST', path, body ?? {}, options),
  put: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PUT', path, body, options),
  patch: <T>(path: string, body: unknown, options?: RequestOptions) => request<T>('PATCH', path, body, options),
  delete: <T = void>(path: string, options?: RequestOptions) => request<T>('DELETE', path, undefined, options),
  /** Sends a file as the body, with its type (text/csv, …). */
  upload: <T>(path: string, file: Blob, options?: RequestOptions) => request<T>('POST', path, file, options),
  /** A v2 list: the array the API answers and its total (x-total-count). */
  page: async <T>(path: string, options: RequestOptions = {}): Promise<{ items: T[]; total: number }> => {
    const { json, headers } = await send<T[]>('GET', path, undefined, options);
    return { items: json, total: Number(headers.get('x-total-count') ?? json.length) };
  },
};

/** A query string from defined values; arrays repeat the key. */
export function qs(params: Record<string, string | number | boolean | undefined | null | (string | number)[]>): string {
  const out = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const x of v) out.append(k, String(x));
    else out.append(k, String(v));
  }
  const s = out.toString();
  return s ? `?${s}` : '';
}

/** The message to show for any error a call threw. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiError) {
    const details = error.details.filter((d) => d.message && !error.message.includes(d.message)).map((d) => d.message);
    return details.length > 0 ? `${error.message} (${details.join('; ')})` : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

import { GraphError } from '@microsoft/microsoft-graph-client';
import { SyncError, type SyncErrorKind } from '../../sync/errors.js';
import { parseRetryAfter } from '../../sync/retry.js';

/** Error names the credential provider gives what @azure/identity threw; the Graph client keeps them as GraphError.code. */
export const TOKEN_REFUSED = 'TokenRefused';
export const TOKEN_UNAVAILABLE = 'TokenUnavailable';

/**
 * A Graph call's failure as a sync error (DESIGN.md), keeping what Graph said: its HTTP status, its
 * error code (`Request_BadRequest`, `syncStateNotFound` …) and its message, which outcomes report.
 */
export class GraphCallError extends SyncError {
  constructor(
    kind: SyncErrorKind,
    message: string,
    status: number | undefined,
    retryAfterMs: number | undefined,
    /** Graph's error.code, when it answered one. */
    readonly code: string | null,
    /** Graph's error.message (or the transport's), without the call. */
    readonly reason: string,
  ) {
    super(kind, message, status, retryAfterMs);
    this.name = 'GraphCallError';
  }
}

// https://learn.microsoft.com/en-us/graph/permissions-reference: the application permission each call needs.
function permissionFor(call: string): string {
  if (call.includes('/directoryRoles')) return 'RoleManagement.Read.Directory';
  if (call.includes('passwordProfile')) return 'User-PasswordProfile.ReadWrite.All (and, for administrators, a privileged role)';
  if (call.includes('/members/$ref') || call.includes('/members/{')) return 'GroupMember.ReadWrite.All';
  const write = !call.startsWith('GET');
  if (call.includes('/groups')) return write ? 'Group.ReadWrite.All' : 'Group.Read.All';
  return write ? 'User.ReadWrite.All' : 'User.Read.All';
}

/** What @azure/identity threw while getting a token: refused credentials end the run, the rest is retried. */
export function tokenError(e: unknown): Error {
  const name = e instanceof Error ? e.name : '';
  const message = e instanceof Error ? e.message : String(e);
  // MSAL's ServerError text starts with the OAuth error (RFC 6749 §5.2), AADSTS codes follow.
  const refused = name === 'ClientConfigurationError' || /^(invalid_client|unauthorized_client|invalid_scope|invalid_grant|invalid_request|invalid_tenant|unsupported_grant_type)\b/.test(message);
  const error = new Error(refused ? `Microsoft Entra ID refused the app's credentials: ${message}` : `no token from Microsoft Entra ID: ${message}`);
  error.name = refused ? TOKEN_REFUSED : TOKEN_UNAVAILABLE;
  return error;
}

/** Any failure of a Graph call, for `call` (e.g. `PATCH /users/{id}`), as a GraphCallError. */
export function translate(e: unknown, call: string): SyncError {
  if (e instanceof SyncError) return e;
  if (!(e instanceof GraphError)) {
    const reason = e instanceof Error ? e.message : String(e);
    return new GraphCallError('transient', `${call}: ${reason}`, undefined, undefined, null, reason);
  }
  const status = e.statusCode > 0 ? e.statusCode : undefined;
  const reason = e.message || (status ? `HTTP ${status}` : 'no answer');
  const code = e.code ?? null;
  const make = (kind: SyncErrorKind, message: string, retryAfterMs?: number) => new GraphCallError(kind, message, status, retryAfterMs, code, reason);
  if (code === TOKEN_REFUSED) return make('stop', reason);
  if (status === undefined) return make('transient', `${call}: ${reason}`);
  if (status === 401) return make('stop', `${call}: Graph refused the app's access token (${code ?? 401}): ${reason}`);
  if (status === 403) return make('stop', `${call}: the app lacks a permission (${code ?? 403}: ${reason}); grant it ${permissionFor(call)}`);
  if (status === 429 || status === 408 || status >= 500) return make('transient', `${call}: ${status} ${code ?? ''}: ${reason}`, parseRetryAfter(e.headers?.get('Retry-After') ?? null));
  if (status === 404) return make('not_found', `${call}: ${reason}`);
  if (status === 409) return make('conflict', `${call}: ${reason}`);
  return make('bad_request', `${call}: ${reason}`);
}

export const isGraphError = (e: unknown, status?: number, message?: RegExp): e is GraphCallError =>
  e instanceof GraphCallError && (status === undefined || e.status === status) && (message === undefined || message.test(e.reason));

/**
 * A delta link Graph no longer honours: read everything again. The overview documents 410 Gone
 * (https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset); identity
 * resources answer 400 `syncStateNotFound` once their 7-day token expires.
 */
export const isDeltaExpired = (e: unknown): boolean =>
  e instanceof GraphCallError && (e.status === 410 || (e.status === 400 && /^(syncStateNotFound|resync)/i.test(e.code ?? '')));

/** The text an outcome reports: Graph's own message when it answered. */
export const reasonOf = (e: unknown): string => (e instanceof GraphCallError ? e.reason : e instanceof Error ? e.message : String(e));

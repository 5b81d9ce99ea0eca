/**
 * The error kinds every connector turns its peer's failures into (DESIGN.md): `transient` is
 * retried later, `not_found` and `conflict` steer the plan, `bad_request` fails one object, and
 * `stop` ends the run (credentials refused, the peer is not what was configured).
 */
export type SyncErrorKind = 'transient' | 'not_found' | 'conflict' | 'bad_request' | 'stop';

export class SyncError extends Error {
  constructor(
    readonly kind: SyncErrorKind,
    message: string,
    /** The HTTP status (or similar) the peer answered, when it answered. */
    readonly status?: number,
    /** How long the peer asked to wait before the next attempt, in milliseconds. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'SyncError';
  }
}

export const isSyncError = (e: unknown, kind?: SyncErrorKind): e is SyncError => e instanceof SyncError && (kind === undefined || e.kind === kind);

/** Any failure as a sync error: what is not one already is a transient fault (a bug shows in the message). */
export function asSyncError(e: unknown): SyncError {
  if (e instanceof SyncError) return e;
  return new SyncError('transient', e instanceof Error ? e.message : String(e));
}

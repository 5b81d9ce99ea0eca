/** What went wrong, independent of any protocol. Each front-end translates kinds in one place. */
export type ErrorKind =
  | 'invalid'
  | 'not_found'
  | 'conflict'
  | 'forbidden'
  | 'unauthenticated'
  | 'unavailable'
  | 'locked';

export interface ErrorDetail {
  /** The input field the detail is about, in the caller's own terms where known. */
  field?: string;
  /** Stable reason code for that field (e.g. `TOO_SHORT`, `NEEDS_UPPERCASE`). */
  reason?: string;
  message: string;
}

/** The one error type the core throws. `code` is a stable SCREAMING_SNAKE identifier. */
export class DirectoryError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details: readonly ErrorDetail[] = [],
  ) {
    super(message);
    this.name = 'DirectoryError';
  }
}

export const invalid = (code: string, message: string, details: ErrorDetail[] = []) =>
  new DirectoryError('invalid', code, message, details);
export const notFound = (code: string, message: string) => new DirectoryError('not_found', code, message);
export const conflict = (code: string, message: string, details: ErrorDetail[] = []) =>
  new DirectoryError('conflict', code, message, details);
export const forbidden = (code: string, message: string) => new DirectoryError('forbidden', code, message);
export const unauthenticated = (code: string, message: string) =>
  new DirectoryError('unauthenticated', code, message);

export const isDirectoryError = (e: unknown): e is DirectoryError => e instanceof DirectoryError;

/** Result type for parsers: they report, they do not throw. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
export const parsed = <T>(value: T): Parsed<T> => ({ ok: true, value });
export const parseError = <T = never>(error: string): Parsed<T> => ({ ok: false, error });

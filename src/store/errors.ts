import { DirectoryError, conflict, invalid } from '../core/errors.js';
import { UNIQUE_KEYS } from './unique-keys.js';

interface DriverError {
  code?: string;
  constraint?: string;
  message?: string;
}

const asDriverError = (e: unknown): DriverError => (typeof e === 'object' && e !== null ? (e as DriverError) : {});

function uniqueViolation(e: DriverError): DirectoryError | undefined {
  let key;
  if (e.code === '23505') {
    key = UNIQUE_KEYS.find((k) => k.name === e.constraint);
  } else if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' || e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: users.org_id, users.username_key"
    const columns = (e.message ?? '').split(':')[1]?.split(',').map((c) => c.trim()) ?? [];
    key = UNIQUE_KEYS.find((k) => k.columns.length === columns.length && k.columns.every((c, i) => columns[i] === `${k.table}.${c}`));
  } else {
    return undefined;
  }
  if (!key) return conflict('ALREADY_EXISTS', 'The object already exists');
  return conflict(key.code, key.message, [{ field: key.field, reason: key.code, message: key.message }]);
}

/** PostgreSQL text cannot hold U+0000 or invalid UTF-8 (22021, 22P05); it is bad input, not an outage. */
const BAD_TEXT_CODES = new Set(['22021', '22P05']);

const UNAVAILABLE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '53300', '40001', '40P01']);

/** Turns driver errors into core errors; everything else passes through unchanged. */
export function translateStoreError(error: unknown): unknown {
  if (error instanceof DirectoryError) return error;
  const e = asDriverError(error);
  const unique = uniqueViolation(e);
  if (unique) return unique;
  if (e.code && BAD_TEXT_CODES.has(e.code)) {
    return invalid('INVALID_CHARACTER', 'A value contains a character the directory cannot store (U+0000)');
  }
  if (e.code && UNAVAILABLE_CODES.has(e.code)) {
    return new DirectoryError('unavailable', 'STORE_UNAVAILABLE', 'The directory store is busy or unreachable; try again');
  }
  return error;
}

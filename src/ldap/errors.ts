import { DirectoryError } from '../core/errors.js';
import { LdapResultError, ResultCode, type ResultCodeValue } from './result-codes.js';

const BY_KIND: Record<DirectoryError['kind'], ResultCodeValue> = {
  invalid: ResultCode.constraintViolation,
  not_found: ResultCode.noSuchObject,
  conflict: ResultCode.constraintViolation,
  forbidden: ResultCode.insufficientAccessRights,
  unauthenticated: ResultCode.invalidCredentials,
  locked: ResultCode.invalidCredentials,
  unavailable: ResultCode.unavailable,
};

/**
 * The one place core and internal errors become LDAP results. Unexpected errors become
 * `other` with a generic message; their details go to the log, never to the client.
 */
export function toLdapResult(error: unknown, log: (error: unknown) => void): { code: ResultCodeValue; message: string; matchedDn: string } {
  if (error instanceof LdapResultError) return { code: error.code, message: error.message, matchedDn: error.matchedDn };
  if (error instanceof DirectoryError) {
    return { code: BY_KIND[error.kind], message: error.message, matchedDn: '' };
  }
  log(error);
  return { code: ResultCode.other, message: 'Internal error; the server log has the details', matchedDn: '' };
}

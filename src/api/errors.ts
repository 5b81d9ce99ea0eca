import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DirectoryError, type ErrorDetail, type ErrorKind } from '../core/errors.js';

/** JumpCloud's error shape (`Error` / `ErrorDetails` in its specs) plus a stable `reason`. */
export interface ApiError {
  code: number;
  status: string;
  message: string;
  reason: string;
  details?: ErrorDetail[];
}

const BY_KIND: Record<ErrorKind, [number, string]> = {
  invalid: [400, 'INVALID_ARGUMENT'],
  unauthenticated: [401, 'UNAUTHENTICATED'],
  forbidden: [403, 'PERMISSION_DENIED'],
  not_found: [404, 'NOT_FOUND'],
  conflict: [409, 'ALREADY_EXISTS'],
  locked: [423, 'FAILED_PRECONDITION'],
  unavailable: [503, 'UNAVAILABLE'],
};

/** Conflicts that are not duplicates: the request was fine but the directory's state forbids it. */
const PRECONDITIONS = new Set(['USER_IS_MANAGER', 'LAST_ADMINISTRATOR', 'USER_SUSPENDED', 'TOO_MANY_API_KEYS']);

export function apiError(code: number, status: string, reason: string, message: string, details?: ErrorDetail[]): ApiError {
  return { code, status, message, reason, ...(details && details.length > 0 ? { details } : {}) };
}

/** Core field names back to the JumpCloud wire names callers used. */
const WIRE_FIELD: Record<string, string> = {
  unixUid: 'unix_uid',
  unixGuid: 'unix_guid',
  passwordlessSudo: 'passwordless_sudo',
  ldapBindingUser: 'ldap_binding_user',
  passwordNeverExpires: 'password_never_expires',
  mfaRequired: 'enable_user_portal_multifactor',
  mfaExclusion: 'mfa.exclusion',
  mfaExclusionUntil: 'mfa.exclusionUntil',
  externallyManaged: 'externally_managed',
  externalDn: 'external_dn',
  externalSourceType: 'external_source_type',
  accountLocked: 'account_locked',
  passwordExpirationDate: 'password_expiration_date',
};

function fromDirectoryError(e: DirectoryError): ApiError {
  const [code, status] = BY_KIND[e.kind];
  const details = e.details.map((d) => (d.field && WIRE_FIELD[d.field] ? { ...d, field: WIRE_FIELD[d.field] } : d));
  const message = Object.entries(WIRE_FIELD).reduce((m, [core, wire]) => m.replaceAll(`${core}:`, `${wire}:`), e.message);
  return apiError(code, PRECONDITIONS.has(e.code) ? 'FAILED_PRECONDITION' : status, e.code, message, details);
}

/** Fastify's own errors: body parsing, schema validation, limits. */
function fromFastifyError(e: FastifyError): ApiError | undefined {
  if (e.validation) {
    const details = e.validation.map((v) => {
      const path = (v.instancePath || '').replace(/^\//, '').replaceAll('/', '.');
      const missing = (v.params as { missingProperty?: string })?.missingProperty;
      const field = missing ? (path ? `${path}.${missing}` : missing) : path || e.validationContext || 'request';
      return { field, reason: v.keyword.toUpperCase(), message: `${field} ${v.message ?? 'is invalid'}` };
    });
    return apiError(400, 'INVALID_ARGUMENT', 'INVALID_INPUT', details.map((d) => d.message).join('; '), details);
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return apiError(400, 'INVALID_ARGUMENT', 'MALFORMED_JSON', `The request body is not valid JSON: ${e.message}`);
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return apiError(413, 'INVALID_ARGUMENT', 'BODY_TOO_LARGE', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return apiError(415, 'INVALID_ARGUMENT', 'UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return apiError(400, 'INVALID_ARGUMENT', 'INVALID_CONTENT_LENGTH', 'The Content-Length header does not match the body');
    case 'FST_ERR_BAD_URL':
      return apiError(400, 'INVALID_ARGUMENT', 'MALFORMED_URL', 'The request path is not a valid URL');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return apiError(414, 'INVALID_ARGUMENT', 'URI_TOO_LONG', 'A path parameter is too long');
    default:
      break;
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return apiError(e.statusCode, 'INVALID_ARGUMENT', e.code ?? 'BAD_REQUEST', e.message);
  }
  return undefined;
}

/** The one place where errors become HTTP answers. */
export function errorHandler(error: FastifyError | DirectoryError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let body: ApiError | undefined;
  if (error instanceof DirectoryError) body = fromDirectoryError(error);
  else body = fromFastifyError(error as FastifyError);
  if (!body) {
    request.log.error({ err: error }, 'unhandled error');
    body = apiError(500, 'INTERNAL', 'INTERNAL_ERROR', `Internal error; quote request id ${request.id} when reporting it`);
  } else if (body.code >= 500) {
    request.log.warn({ reason: body.reason }, body.message);
  }
  void reply.code(body.code).type('application/json; charset=utf-8').send(body);
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): void {
  void reply.code(404).send(apiError(404, 'NOT_FOUND', 'ROUTE_NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`));
}

import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DirectoryError, invalid, type ErrorKind } from '../core/errors.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12: an error response, `status` as a string, `scimType` where one applies. */
export interface ScimError {
  schemas: [typeof ERROR_SCHEMA];
  status: string;
  scimType?: string;
  detail: string;
}

export const scimError = (status: number, detail: string, scimType?: string): ScimError => ({
  schemas: [ERROR_SCHEMA],
  status: String(status),
  ...(scimType ? { scimType } : {}),
  detail,
});

/** RFC 7644 §3.12 scimType values of 400 errors, and the core error codes that carry them. */
const SCIM_TYPES = ['invalidFilter', 'invalidSyntax', 'invalidPath', 'noTarget', 'invalidValue', 'mutability', 'tooMany', 'sensitive', 'invalidVers'] as const;
export type ScimType = (typeof SCIM_TYPES)[number];
const codeOf = (scimType: ScimType) => `SCIM_${scimType.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
const TYPE_BY_CODE = new Map<string, ScimType>([...SCIM_TYPES.map((t) => [codeOf(t), t] as const), ['INVALID_FILTER', 'invalidFilter']]);

/** A 400 with a scimType, as the core's invalid-input error so it travels like any other. */
export const scimInvalid = (scimType: ScimType, detail: string) => invalid(codeOf(scimType), detail);

const BY_KIND: Record<ErrorKind, [number, string | undefined]> = {
  invalid: [400, 'invalidValue'],
  unauthenticated: [401, undefined],
  forbidden: [403, undefined],
  not_found: [404, undefined],
  conflict: [409, 'uniqueness'],
  locked: [409, undefined],
  unavailable: [503, undefined],
};

/** The SCIM front-end's one error translator: core error kinds, fastify's own errors, and the rest. */
export function scimErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  let status: number;
  let body: ScimError;
  if (error instanceof DirectoryError) {
    const [code, scimType] = BY_KIND[error.kind];
    status = code;
    body = scimError(code, error.message, TYPE_BY_CODE.get(error.code) ?? scimType);
  } else if ('statusCode' in error && typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    status = error.statusCode;
    body = scimError(status, error.message, status === 400 ? 'invalidSyntax' : undefined);
  } else {
    request.log.error({ err: error }, 'SCIM request failed');
    status = 500;
    body = scimError(500, 'Internal error');
  }
  void reply.code(status).type('application/scim+json').send(body);
}

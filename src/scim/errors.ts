import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DirectoryError, invalid, type ErrorKind } from '../core/errors.js';
import { SCIM_LIMITS } from './schemas.js';

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

/** An answer of the SCIM protocol itself rather than of the directory: 412, 413, a 409 without a core cause. */
export class ScimFailure extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly scimType?: string,
  ) {
    super(detail);
    this.name = 'ScimFailure';
  }
}

/** RFC 7644 §3.7.4: the limit exceeded, named in the detail of a 413. */
export const payloadTooLarge = (what: 'bulk operation' | 'request') =>
  new ScimFailure(413, `The size of the ${what} exceeds the maxPayloadSize (${SCIM_LIMITS.maxPayloadSize}).`);

const BY_KIND: Record<ErrorKind, [number, string | undefined]> = {
  invalid: [400, 'invalidValue'],
  unauthenticated: [401, undefined],
  forbidden: [403, undefined],
  not_found: [404, undefined],
  conflict: [409, 'uniqueness'],
  locked: [409, undefined],
  unavailable: [503, undefined],
};

/** Core error codes whose HTTP status is not their kind's. */
const STATUS_BY_CODE = new Map<string, [number, string | undefined]>([
  // An If-Match (or a bulk operation's version) that is no longer the resource's: RFC 7644 §3.14.
  ['VERSION_MISMATCH', [412, undefined]],
  // A conflict of state, not of a unique value.
  ['USER_IS_MANAGER', [409, undefined]],
]);

/**
 * The SCIM front-end's one error translator, for responses and for bulk operations alike: core
 * error kinds, SCIM failures, fastify's own errors; undefined for anything else (a bug: 500).
 */
export function translateError(error: unknown, bulk = false): { status: number; body: ScimError } | undefined {
  if (error instanceof DirectoryError) {
    const special = STATUS_BY_CODE.get(error.code);
    const [status, scimType] = special ?? BY_KIND[error.kind];
    return { status, body: scimError(status, error.message, special ? scimType : (TYPE_BY_CODE.get(error.code) ?? scimType)) };
  }
  if (error instanceof ScimFailure) return { status: error.status, body: scimError(error.status, error.message, error.scimType) };
  const fastify = error as Partial<FastifyError>;
  if (typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    if (fastify.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return translateError(payloadTooLarge(bulk ? 'bulk operation' : 'request'));
    const status = fastify.statusCode;
    return { status, body: scimError(status, fastify.message ?? 'Bad request', status === 400 ? 'invalidSyntax' : undefined) };
  }
  return undefined;
}

export function scimErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const known = translateError(error, /\/Bulk$/.test(request.routeOptions.url ?? ''));
  if (!known) request.log.error({ err: error }, 'SCIM request failed');
  const { status, body } = known ?? { status: 500, body: scimError(500, 'Internal error') };
  void reply.code(status).type('application/scim+json').send(body);
}

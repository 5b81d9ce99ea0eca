import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { TestScim } from './scim.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A request to the SCIM endpoint with the source's token. An object body is sent as JSON, a
 * string as it is (malformed JSON), with `application/scim+json` unless headers say otherwise.
 */
export function scim(t: TestScim, method: Method, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${t.token}`, ...(body !== undefined ? { 'content-type': 'application/scim+json' } : {}), ...headers },
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

export const patchOp = (Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

/** The org's latest journal sequence number: it moves with every change, and only then. */
export const journalHead = (t: TestScim) => t.core.store.read.journal.head(t.ctx.orgId);

/** A SCIM error (RFC 7644 §3.12) with this status and scimType (none when undefined). */
export function expectScimError(res: LightMyRequestResponse, status: number, scimType?: string, context = ''): void {
  expect(res.statusCode, `${context} ${res.body}`).toBe(status);
  expect(res.headers['content-type'], context).toMatch(/^application\/scim\+json/);
  const body = res.json();
  expect(body.schemas, context).toEqual([ERROR_SCHEMA]);
  expect(body.status, context).toBe(String(status));
  expect(typeof body.detail, context).toBe('string');
  if (scimType === undefined) expect(body.scimType, context).toBeUndefined();
  else expect(body.scimType, context).toBe(scimType);
}

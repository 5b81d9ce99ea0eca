import { expect } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import type { AdminId, OrgId } from '../../src/core/ids.js';
import type { RoleName } from '../../src/core/roles.js';
import type { TestApi } from '../support/api.js';

export type Res = Awaited<ReturnType<TestApi['call']>>;

let counter = 0;

/** A name no other test in the run uses: lowercase letters and digits only, so it sorts the same everywhere. */
export function uniq(prefix = 'x'): string {
  counter += 1;
  return `${prefix}${Date.now().toString(36)}${counter.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

const STATUS_BY_CODE: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ALREADY_EXISTS',
  413: 'INVALID_ARGUMENT',
  414: 'INVALID_ARGUMENT',
  415: 'INVALID_ARGUMENT',
};

export interface ErrorBody {
  code: number;
  status: string;
  message: string;
  reason: string;
  details?: { field?: string; reason?: string; message: string }[];
}

/** Asserts the JumpCloud error shape {code, status, message, reason, details?} with this code and reason. */
export function expectError(res: Res, code: number, reason?: string, status = STATUS_BY_CODE[code]): ErrorBody {
  expect(res.statusCode, res.body).toBe(code);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  const body = res.json<ErrorBody>();
  expect(Object.keys(body).sort().filter((k) => k !== 'details')).toEqual(['code', 'message', 'reason', 'status']);
  expect(body.code).toBe(code);
  expect(body.status).toBe(status);
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  if (reason !== undefined) expect(body.reason).toBe(reason);
  if (body.details !== undefined) {
    expect(Array.isArray(body.details)).toBe(true);
    expect(body.details.length).toBeGreaterThan(0);
  }
  return body;
}

/** The fields named in an error's details. */
export const detailFields = (body: ErrorBody): string[] => (body.details ?? []).map((d) => d.field ?? '');

export function expectOk(res: Res, code = 200): any {
  expect(res.statusCode, res.body).toBe(code);
  return code === 204 ? undefined : res.json();
}

export async function createUser(t: TestApi, body: Record<string, unknown> = {}, key?: string): Promise<any> {
  const name = uniq('user');
  const res = await t.call('POST', '/api/systemusers', { body: { username: name, email: `${name}@example.test`, ...body }, ...(key ? { key } : {}) });
  return expectOk(res);
}

export async function createGroup(t: TestApi, body: Record<string, unknown> = {}): Promise<any> {
  return expectOk(await t.call('POST', '/api/v2/usergroups', { body: { name: uniq('group'), ...body } }), 201);
}

export async function createApp(t: TestApi, body: Record<string, unknown> = {}): Promise<any> {
  return expectOk(await t.call('POST', '/api/applications', { body: { name: uniq('app'), ...body } }));
}

export async function addMember(t: TestApi, groupId: string, type: 'user' | 'user_group', id: string): Promise<void> {
  expectOk(await t.call('POST', `/api/v2/usergroups/${groupId}/members`, { body: { op: 'add', type, id } }), 204);
}

export async function countUsers(t: TestApi): Promise<number> {
  return expectOk(await t.call('GET', '/api/systemusers?limit=0')).totalCount;
}

export async function countGroups(t: TestApi): Promise<number> {
  const res = await t.call('GET', '/api/v2/usergroups?limit=0');
  expectOk(res);
  return Number(res.headers['x-total-count']);
}

/** The newest journal sequence number: the `since` that returns only what happens next. */
export async function journalHead(t: TestApi, key?: string): Promise<number> {
  let since = 0;
  for (;;) {
    const res = await t.call('GET', `/api/v2/journal?since=${since}&limit=1000`, key ? { key } : {});
    expectOk(res);
    const next = Number(res.headers['x-next-since']);
    if (res.json<unknown[]>().length === 0) return next;
    since = next;
  }
}

export interface AdminKey {
  adminId: AdminId;
  key: string;
  keyId: string;
}

/** An administrator of `orgId` with this role and an API key, made by the local operator. */
export async function adminWithKey(t: TestApi, roleName: RoleName, options: { readOnly?: boolean; orgId?: string } = {}): Promise<AdminKey> {
  const ctx = operatorContext((options.orgId ?? t.orgId) as OrgId);
  const admin = await t.core.administrators.create(ctx, { email: `${uniq('admin')}@acme.test`, roleName });
  const issued = await t.core.apiKeys.issue(ctx, admin.id, { name: 'test', readOnly: options.readOnly ?? false });
  return { adminId: admin.id, key: issued.secret, keyId: issued.key.id };
}

/** A well-formed id that names nothing. */
export const MISSING_ID = 'ffffffffffffffffffffffff';

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryError } from '../../src/core/errors.js';
import type { AdminId, OrgId } from '../../src/core/ids.js';
import type { Administrator } from '../../src/core/model.js';
import { MAX_KEYS_PER_ADMIN, selectOrganization } from '../../src/core/services/api-keys.js';
import { openTestCore, type TestCore } from '../support/core.js';

async function fails(promise: Promise<unknown>, kind: DirectoryError['kind'], code: string) {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e, `expected ${code}`).toBeInstanceOf(DirectoryError);
  expect({ kind: (e as DirectoryError).kind, code: (e as DirectoryError).code }).toEqual({ kind, code });
}

function throwsCode(fn: () => unknown, kind: DirectoryError['kind'], code: string) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DirectoryError);
    expect({ kind: (e as DirectoryError).kind, code: (e as DirectoryError).code }).toEqual({ kind, code });
    return;
  }
  throw new Error(`expected ${code}`);
}

const T0 = new Date('2025-03-01T12:00:00.000Z');

describe('ApiKeyService', () => {
  let t: TestCore;
  let admin: Administrator;
  beforeEach(async () => {
    t = await openTestCore();
    t.clock.now = new Date(T0);
    admin = await t.core.administrators.create(t.ctx, { email: 'owner@example.test', roleName: 'Administrator' });
  });
  afterEach(() => t.dispose());

  const later = (ms: number) => (t.clock.now = new Date(t.clock.now.getTime() + ms));
  const issue = (input: Parameters<TestCore['core']['apiKeys']['issue']>[2] = {}, owner: AdminId = admin.id) => t.core.apiKeys.issue(t.ctx, owner, input);
  const auth = (secret: string | undefined, org?: string) => t.core.apiKeys.authenticate(secret, org, 'api');

  it('a key authenticates as its administrator, with the role and a key id on the actor', async () => {
    const { key, secret } = await issue({ name: 'ci' });
    expect(secret.startsWith(key.prefix)).toBe(true);
    const ctx = await auth(secret);
    expect(ctx).toMatchObject({
      orgId: t.ctx.orgId,
      actor: { type: 'admin', id: admin.id, apiKeyId: key.id },
      role: 'Administrator',
      readOnlyKey: false,
      orgIds: [t.ctx.orgId],
    });
    expect(ctx.permissions.has('users:write')).toBe(true);
    expect(ctx.permissions.has('billing:read')).toBe(false);
    const created = await t.core.users.create(ctx, { username: 'via-key', email: 'via@key.test' });
    const row = (await t.core.journal.list(t.ctx, 0, 100)).find((e) => e.objectId === created.id)!;
    expect(row).toMatchObject({ actorType: 'admin', actorId: admin.id, apiKeyId: key.id });
  });

  it('records use at most once a minute (regression: a use exactly a minute old was not replaced)', async () => {
    const { key, secret } = await issue();
    const lastUsed = async () => (await t.core.store.read.apiKeys.findById(key.id))?.lastUsedAt;
    await auth(secret);
    expect(await lastUsed()).toBe(T0.toISOString());
    later(59_999);
    await auth(secret);
    expect(await lastUsed()).toBe(T0.toISOString());
    later(1);
    await auth(secret);
    expect(await lastUsed()).toBe(new Date(T0.getTime() + 60_000).toISOString());
  });

  it('missing, unknown and overlong keys are refused', async () => {
    await fails(auth(undefined), 'unauthenticated', 'API_KEY_MISSING');
    await fails(auth(''), 'unauthenticated', 'API_KEY_MISSING');
    await fails(auth('rst_nope'), 'unauthenticated', 'API_KEY_INVALID');
    const { secret } = await issue();
    await fails(auth(secret + 'x'), 'unauthenticated', 'API_KEY_INVALID');
    await fails(auth('x'.repeat(513)), 'unauthenticated', 'API_KEY_INVALID');
  });

  it('an expired key stops working at its expiry time', async () => {
    const { secret } = await issue({ expiresAt: new Date(T0.getTime() + 3_600_000).toISOString() });
    later(3_599_999);
    await auth(secret);
    later(1);
    await fails(auth(secret), 'unauthenticated', 'API_KEY_EXPIRED');
  });

  it('expiresAt must be a future time', async () => {
    await fails(issue({ expiresAt: T0.toISOString() }), 'invalid', 'INVALID_INPUT');
    await fails(issue({ expiresAt: 'tomorrow' }), 'invalid', 'INVALID_INPUT');
    const { key } = await issue({ expiresAt: '2025-03-02' });
    expect(key.expiresAt).toBe('2025-03-02T00:00:00.000Z');
  });

  it('a revoked key stops working; revoking again changes nothing', async () => {
    const { key, secret } = await issue();
    const revoked = await t.core.apiKeys.revoke(t.ctx, key.id);
    expect(revoked.revokedAt).toBe(T0.toISOString());
    later(1000);
    expect((await t.core.apiKeys.revoke(t.ctx, key.id)).revokedAt).toBe(T0.toISOString());
    await fails(auth(secret), 'unauthenticated', 'API_KEY_REVOKED');
    await fails(t.core.apiKeys.revoke(t.ctx, 'ffffffffffffffffffffffff'), 'not_found', 'API_KEY_NOT_FOUND');
  });

  it('keys of a suspended administrator stop working, and work again when unsuspended', async () => {
    await t.core.administrators.create(t.ctx, { email: 'top@example.test', roleName: 'Administrator with Billing' });
    const { secret } = await issue();
    await t.core.administrators.update(t.ctx, admin.id, { suspended: true });
    await fails(auth(secret), 'unauthenticated', 'ADMIN_SUSPENDED');
    await t.core.administrators.update(t.ctx, admin.id, { suspended: false });
    await auth(secret);
  });

  it('a read-only key keeps only read permissions and says why a write is refused', async () => {
    const { secret } = await issue({ readOnly: true });
    const ctx = await auth(secret);
    expect(ctx.readOnlyKey).toBe(true);
    expect([...ctx.permissions].every((p) => p.endsWith(':read'))).toBe(true);
    expect(ctx.permissions.has('users:read')).toBe(true);
    await t.core.users.list(ctx, { sort: [], page: { limit: 10, skip: 0 } });
    await fails(t.core.users.create(ctx, { username: 'nope', email: 'nope@x.test' }), 'forbidden', 'API_KEY_READ_ONLY');
    await fails(t.core.groups.create(ctx, { name: 'nope' }), 'forbidden', 'API_KEY_READ_ONLY');
  });

  it('a role without a permission is refused with PERMISSION_DENIED, not a read-only message', async () => {
    const helpDesk = await t.core.administrators.create(t.ctx, { email: 'hd@example.test', roleName: 'Help Desk' });
    const ctx = await auth((await issue({}, helpDesk.id)).secret);
    await fails(t.core.applications.create(ctx, { name: 'app' }), 'forbidden', 'PERMISSION_DENIED');
    await fails(t.core.users.delete(ctx, 'ffffffffffffffffffffffff'), 'forbidden', 'PERMISSION_DENIED');
  });

  it('an administrator of several orgs must choose one with x-org-id', async () => {
    const other = await t.core.organizations.create('Second');
    await t.core.store.transaction((tx) => tx.admins.linkOrg(admin.id, other.id));
    const { secret } = await issue();
    await fails(auth(secret), 'unauthenticated', 'ORG_ID_REQUIRED');
    expect((await auth(secret, other.id)).orgId).toBe(other.id);
    expect((await auth(secret, t.ctx.orgId)).orgId).toBe(t.ctx.orgId);
    await fails(auth(secret, 'not-an-id'), 'invalid', 'MALFORMED_ORG_ID');
    await fails(auth(secret, 'ffffffffffffffffffffffff'), 'not_found', 'ORGANIZATION_NOT_FOUND');
  });

  it('revoking another administrator\'s key needs admins:write', async () => {
    const manager = await t.core.administrators.create(t.ctx, { email: 'mgr@example.test', roleName: 'Manager' });
    const managerCtx = await auth((await issue({}, manager.id)).secret);
    const { key } = await issue();
    await fails(t.core.apiKeys.revoke(managerCtx, key.id), 'forbidden', 'PERMISSION_DENIED');
    const adminCtx = await auth((await issue()).secret);
    const own = (await t.core.apiKeys.list(managerCtx))[0]!;
    expect((await t.core.apiKeys.revoke(adminCtx, own.id)).revokedAt).not.toBeNull();
  });

  it(`an administrator holds at most ${MAX_KEYS_PER_ADMIN} active keys`, async () => {
    const keys = [];
    for (let i = 0; i < MAX_KEYS_PER_ADMIN; i++) keys.push((await issue({ name: `k${i}` })).key);
    await fails(issue(), 'conflict', 'TOO_MANY_API_KEYS');
    await t.core.apiKeys.revoke(t.ctx, keys[0]!.id);
    await issue();
  });

  it('the journal records key creation and revocation without the secret or its digest', async () => {
    const { key, secret } = await issue({ name: 'audited' });
    await t.core.apiKeys.revoke(t.ctx, key.id);
    const rows = (await t.core.journal.list(t.ctx, 0, 100)).filter((e) => e.objectId === key.id);
    expect(rows.map((r) => r.operation)).toEqual(['create', 'update']);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(secret.slice(10));
  });
});

describe('selectOrganization', () => {
  const a = 'aaaaaaaaaaaaaaaaaaaaaaaa' as OrgId;
  const b = 'bbbbbbbbbbbbbbbbbbbbbbbb' as OrgId;

  it('picks the only org when none is asked for', () => {
    expect(selectOrganization([a], undefined)).toBe(a);
    expect(selectOrganization([a], '')).toBe(a);
  });

  it('picks the asked org among several', () => {
    expect(selectOrganization([a, b], b)).toBe(b);
    expect(selectOrganization([a], a)).toBe(a);
  });

  it('refuses an ambiguous, malformed, foreign or impossible choice', () => {
    throwsCode(() => selectOrganization([a, b], undefined), 'unauthenticated', 'ORG_ID_REQUIRED');
    throwsCode(() => selectOrganization([a, b], 'AAAAAAAAAAAAAAAAAAAAAAAA'), 'invalid', 'MALFORMED_ORG_ID');
    throwsCode(() => selectOrganization([a], b), 'not_found', 'ORGANIZATION_NOT_FOUND');
    throwsCode(() => selectOrganization([], undefined), 'forbidden', 'NO_ORGANIZATION');
    throwsCode(() => selectOrganization([], a), 'not_found', 'ORGANIZATION_NOT_FOUND');
  });
});

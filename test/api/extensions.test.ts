import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { addMember, adminWithKey, createGroup, createUser, expectError, expectOk, journalHead, MISSING_ID, uniq } from './helpers.js';

const ROLES = ['Administrator with Billing', 'Administrator', 'Manager', 'Help Desk', 'Read Only', 'Command Runner', 'Command Runner with Billing'];

describeEachStore('API Roster extensions', (kind) => {
  let t: TestApi;
  let firstKeyId: string;
  beforeAll(async () => {
    t = await openTestApi(kind);
    firstKeyId = expectOk(await t.call('GET', '/api/v2/apikeys')).find((k: any) => k.name === 'first run').id;
  });
  afterAll(() => t.dispose());

  const journal = async (query: string, key?: string) => {
    const res = await t.call('GET', `/api/v2/journal?${query}`, key ? { key } : {});
    return { entries: expectOk(res) as any[], next: Number(res.headers['x-next-since']), raw: res.body };
  };

  describe('roles', () => {
    it('GET /api/v2/roles lists the seven JumpCloud roles with described permissions', async () => {
      const roles = expectOk(await t.call('GET', '/api/v2/roles'));
      expect(roles.map((r: any) => r.name)).toEqual(ROLES);
      const perms = (name: string): string[] => roles.find((r: any) => r.name === name).permissions.map((p: any) => p.name);
      expect(perms('Read Only').filter((p) => !p.endsWith(':read'))).toEqual(['apikeys:write']);
      expect(perms('Read Only')).toContain('users:read');
      expect(perms('Administrator with Billing')).toContain('billing:write');
      expect(perms('Administrator')).not.toContain('billing:write');
      expect(perms('Help Desk')).not.toContain('users:delete');
      for (const r of roles) for (const p of r.permissions) expect(p.description.length).toBeGreaterThan(0);
    });
  });

  describe('API keys', () => {
    it("GET /api/v2/apikeys lists the caller's keys without secrets", async () => {
      const res = await t.call('GET', '/api/v2/apikeys');
      const first = expectOk(res).find((k: any) => k.id === firstKeyId);
      expect(first).toEqual({ id: firstKeyId, name: 'first run', prefix: t.key.slice(0, 10), readOnly: false, expiresAt: null, created: expect.any(String), lastUsedAt: expect.any(String), revokedAt: null });
      expect(res.body).not.toContain(t.key);
    });

    it('POST answers 201 with the key once; the key works and is never listed', async () => {
      const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
      const created = expectOk(await t.call('POST', '/api/v2/apikeys', { body: { name: 'ci', readOnly: true, expiresAt } }), 201);
      expect(created).toMatchObject({ name: 'ci', readOnly: true, expiresAt, revokedAt: null, lastUsedAt: null });
      expect(created.key).toMatch(/^rst_[A-Za-z0-9_-]{40,}$/);
      expect(created.prefix).toBe(created.key.slice(0, 10));
      expectOk(await t.call('GET', '/api/systemusers', { key: created.key }));
      const list = await t.call('GET', '/api/v2/apikeys');
      expect(list.body).not.toContain(created.key);
      expect(list.json().find((k: any) => k.id === created.id)).not.toHaveProperty('key');
      const entries = await journal(`filter=${encodeURIComponent(`objectId:eq:${created.id}`)}`);
      expect(entries.entries.map((e) => e.operation)).toEqual(['create']);
      expect(entries.raw).not.toContain(created.key);
    });

    it('refuses expiry in the past, bad dates, unknown fields and over-long names', async () => {
      const count = async () => expectOk(await t.call('GET', '/api/v2/apikeys')).length;
      const before = await count();
      expectError(await t.call('POST', '/api/v2/apikeys', { body: { expiresAt: '2001-01-01T00:00:00Z' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('POST', '/api/v2/apikeys', { body: { expiresAt: 'next tuesday' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('POST', '/api/v2/apikeys', { body: { admin: MISSING_ID } }), 400, 'INVALID_INPUT');
      expectError(await t.call('POST', '/api/v2/apikeys', { body: { name: 'n'.repeat(257) } }), 400, 'INVALID_INPUT');
      expectError(await t.call('POST', '/api/v2/apikeys', { body: { readOnly: 'true' } }), 400, 'INVALID_INPUT');
      expect(await count()).toBe(before);
    });

    it('DELETE revokes: the key answers 401 API_KEY_REVOKED; revoking again is harmless; unknown ids 404', async () => {
      const created = expectOk(await t.call('POST', '/api/v2/apikeys', { body: { name: 'temp' } }), 201);
      const revoked = expectOk(await t.call('DELETE', `/api/v2/apikeys/${created.id}`));
      expect(revoked).toMatchObject({ id: created.id, revokedAt: expect.any(String) });
      expectError(await t.call('GET', '/api/systemusers', { key: created.key }), 401, 'API_KEY_REVOKED');
      expect(expectOk(await t.call('DELETE', `/api/v2/apikeys/${created.id}`)).revokedAt).toBe(revoked.revokedAt);
      expectError(await t.call('DELETE', `/api/v2/apikeys/${MISSING_ID}`), 404, 'API_KEY_NOT_FOUND');
    });

    it("revoking another administrator's key needs admins:write", async () => {
      const victim = await adminWithKey(t, 'Manager');
      const helpDesk = await adminWithKey(t, 'Help Desk');
      expectError(await t.call('DELETE', `/api/v2/apikeys/${victim.keyId}`, { key: helpDesk.key }), 403, 'PERMISSION_DENIED');
      expectOk(await t.call('GET', '/api/systemusers', { key: victim.key }));
      expectOk(await t.call('DELETE', `/api/v2/apikeys/${victim.keyId}`));
      expectError(await t.call('GET', '/api/systemusers', { key: victim.key }), 401, 'API_KEY_REVOKED');
    });
  });

  describe('journal', () => {
    it('since=<seq> returns only newer entries in order, with x-next-since; then nothing', async () => {
      const head = await journalHead(t);
      const u = await createUser(t);
      expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { jobTitle: 'Pilot' } }));
      const g = await createGroup(t);
      await addMember(t, g.id, 'user', u._id);
      const page = await journal(`since=${head}`);
      expect(page.entries.map((e) => [e.objectType, e.operation])).toEqual([
        ['user', 'create'],
        ['user', 'update'],
        ['user_group', 'create'],
        ['user_group', 'member_add'],
      ]);
      const seqs = page.entries.map((e) => e.seq);
      expect(seqs.every((s, i) => s > head && (i === 0 || s > seqs[i - 1]!))).toBe(true);
      expect(page.next).toBe(seqs.at(-1));
      expect(page.entries[1]).toMatchObject({
        objectId: u._id,
        changes: { jobTitle: { before: '', after: 'Pilot' } },
        actor: { type: 'admin', id: t.adminId, apiKeyId: firstKeyId },
        origin: 'api',
        at: expect.any(String),
      });
      expect(page.entries[3].changes).toEqual({ member: { before: null, after: { type: 'user', id: u._id } } });
      expect(await journal(`since=${page.next}`)).toMatchObject({ entries: [], next: page.next });
    });

    it('pages with limit and x-next-since without gaps', async () => {
      const head = await journalHead(t);
      const tag = uniq('j');
      for (let i = 0; i < 5; i++) await createUser(t, { department: tag });
      const seen: number[] = [];
      let since = head;
      for (let i = 0; i < 10; i++) {
        const page = await journal(`since=${since}&limit=2`);
        if (page.entries.length === 0) break;
        expect(page.entries.length).toBeLessThanOrEqual(2);
        seen.push(...page.entries.map((e) => e.seq));
        since = page.next;
      }
      expect(seen).toHaveLength(5);
      expect(new Set(seen).size).toBe(5);
    });

    it('filters by objectType, objectId, operation, actor and origin', async () => {
      const head = await journalHead(t);
      const u = await createUser(t);
      const g = await createGroup(t);
      expectOk(await t.call('DELETE', `/api/systemusers/${u._id}`));
      const ops = async (filter: string) => (await journal(`since=${head}&filter=${encodeURIComponent(filter)}`)).entries.map((e) => `${e.objectType}:${e.operation}`);
      expect(await ops('objectType:eq:user')).toEqual(['user:create', 'user:delete']);
      expect(await ops(`objectId:eq:${g.id}`)).toEqual(['user_group:create']);
      expect(await ops('operation:in:delete|member_add')).toEqual(['user:delete']);
      expect(await ops(`actorId:eq:${t.adminId}`)).toHaveLength(3);
      expect(await ops('origin:eq:cli')).toEqual([]);
      const both = await journal(`since=${head}&filter=objectType:eq:user&filter=operation:eq:create`);
      expect(both.entries.map((e) => e.objectId)).toEqual([u._id]);
    });

    it('a password change reads "[REDACTED]" and never the password or its hash', async () => {
      const head = await journalHead(t);
      const u = await createUser(t, { password: 'Initial-Secret-7' });
      expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: 'Changed-Secret-8' } }));
      const page = await journal(`since=${head}&filter=${encodeURIComponent(`objectId:eq:${u._id}`)}`);
      expect(page.entries.map((e) => e.operation)).toEqual(['create', 'update']);
      for (const e of page.entries) expect(e.changes.password).toEqual({ before: '[REDACTED]', after: '[REDACTED]' });
      expect(page.entries[1].changes.password_date ?? page.entries[1].changes.passwordDate).toBeDefined();
      for (const secret of ['Initial-Secret-7', 'Changed-Secret-8', '$argon2', 'password_hash', 'passwordHash']) expect(page.raw).not.toContain(secret);
    });

    it('refuses bad cursors, limits and filters with 400', async () => {
      for (const [query, reason] of [
        ['since=-1', 'INVALID_INPUT'],
        ['since=abc', 'INVALID_INPUT'],
        ['limit=0', 'INVALID_INPUT'],
        ['limit=1001', 'INVALID_INPUT'],
        ['filter=changes:eq:x', 'INVALID_FILTER'],
        ['filter=seq:gt:many', 'INVALID_FILTER'],
        ['filter=objectType:$eq:user', 'INVALID_FILTER'],
      ]) {
        expectError(await t.call('GET', `/api/v2/journal?${query}`), 400, reason);
      }
    });

    it('needs journal:read', async () => {
      const runner = await adminWithKey(t, 'Command Runner');
      expectError(await t.call('GET', '/api/v2/journal', { key: runner.key }), 403, 'PERMISSION_DENIED');
    });
  });
});

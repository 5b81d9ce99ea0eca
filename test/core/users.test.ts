import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REDACTED } from '../../src/core/journal.js';
import type { JournalEntry } from '../../src/core/model.js';
import { digestSecret } from '../../src/core/secrets.js';
import { failure, openTestCore, type TestCore } from '../support/core.js';

const P = ['FirstHorse42x', 'SecondHorse42x', 'ThirdHorse42x', 'FourthHorse42x'] as const;

describe('UserService', () => {
  let t: TestCore;
  beforeEach(async () => {
    t = await openTestCore();
    t.clock.now = new Date('2025-03-01T12:00:00.000Z');
  });
  afterEach(() => t.dispose());

  const later = () => (t.clock.now = new Date(t.clock.now.getTime() + 1000));
  const setPassword = async (id: string, password: string) => {
    later();
    return t.core.users.update(t.ctx, id, { password });
  };
  const journal = () => t.core.journal.list(t.ctx, 0, 1000);

  it('gives phone numbers and addresses ids, and keeps the ids they already have', async () => {
    const u = await t.core.users.create(t.ctx, {
      username: 'ids',
      email: 'ids@example.com',
      phoneNumbers: [{ type: 'work', number: '1' }],
      addresses: [{ type: 'home', locality: 'Oslo' }],
    });
    const phoneId = u.phoneNumbers[0]!.id;
    expect(phoneId).toMatch(/^[0-9a-f]{24}$/);
    expect(u.addresses[0]!.id).toMatch(/^[0-9a-f]{24}$/);
    const updated = await t.core.users.update(t.ctx, u.id, { phoneNumbers: [{ id: phoneId, type: 'work', number: '2' }, { type: 'mobile', number: '3' }] });
    expect(updated.phoneNumbers[0]).toEqual({ id: phoneId, type: 'work', number: '2' });
    expect(updated.phoneNumbers[1]!.id).toMatch(/^[0-9a-f]{24}$/);
    expect(updated.phoneNumbers[1]!.id).not.toBe(phoneId);
  });

  it('passwords set within the same millisecond keep their order in the history', async () => {
    // Regression: history was ordered by time alone, so same-millisecond changes came back in any order.
    await t.core.organizations.update(t.ctx, t.ctx.orgId, { passwordPolicy: { maxHistory: 2 } });
    const u = await t.core.users.create(t.ctx, { username: 'fast', email: 'fast@example.com', password: P[0] });
    await t.core.users.update(t.ctx, u.id, { password: P[1] });
    await t.core.users.update(t.ctx, u.id, { password: P[2] });
    // The last two are P[2] (current) and P[1]; P[0] is outside the window again.
    await expect(t.core.users.update(t.ctx, u.id, { password: P[1] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await t.core.users.update(t.ctx, u.id, { password: P[0] });
  });

  describe('password history', () => {
    it('refuses any of the last maxHistory passwords, the current one included', async () => {
      await t.core.organizations.update(t.ctx, t.ctx.orgId, { passwordPolicy: { maxHistory: 3 } });
      const u = await t.core.users.create(t.ctx, { username: 'ada', email: 'ada@x.test', password: P[0] });
      await setPassword(u.id, P[1]);
      await setPassword(u.id, P[2]);
      for (const reused of [P[0], P[1], P[2]]) {
        const e = await failure(setPassword(u.id, reused));
        expect(e.code).toBe('INVALID_INPUT');
        expect(e.details).toEqual([expect.objectContaining({ field: 'password', reason: 'REUSED' })]);
      }
      await setPassword(u.id, P[3]);
      // P[0] is now four passwords back, out of the window of three.
      await setPassword(u.id, P[0]);
      expect((await t.core.authentication.verify(t.ctx.orgId, 'ada', P[0], 'ldap')).ok).toBe(true);
    });

    it('self-service changes obey the same history', async () => {
      await t.core.organizations.update(t.ctx, t.ctx.orgId, { passwordPolicy: { maxHistory: 2 } });
      await t.core.users.create(t.ctx, { username: 'ada', email: 'ada@x.test', password: P[0] });
      later();
      await t.core.authentication.changePassword(t.ctx.orgId, 'ada', P[0], P[1], 'portal');
      later();
      const e = await failure(t.core.authentication.changePassword(t.ctx.orgId, 'ada', P[1], P[0], 'portal'));
      expect(e.details.map((d) => d.reason)).toEqual(['REUSED']);
      await t.core.authentication.changePassword(t.ctx.orgId, 'ada', P[1], P[2], 'portal');
    });

    it('maxHistory 0 turns the check off', async () => {
      await t.core.organizations.update(t.ctx, t.ctx.orgId, { passwordPolicy: { maxHistory: 0 } });
      const u = await t.core.users.create(t.ctx, { username: 'ada', email: 'ada@x.test', password: P[0] });
      await setPassword(u.id, P[0]);
    });

    it('the policy applies to new passwords, naming every broken rule', async () => {
      const e = await failure(t.core.users.create(t.ctx, { username: 'ada', email: 'ada@x.test', password: 'ada' }));
      expect(e.code).toBe('PASSWORD_POLICY');
      expect(e.details.map((d) => d.reason)).toEqual(['TOO_SHORT', 'NEEDS_UPPERCASE', 'NEEDS_NUMBER', 'CONTAINS_USERNAME']);
      expect(await t.core.store.read.users.findByUsername(t.ctx.orgId, 'ada')).toBeUndefined();
    });
  });

  describe('delete', () => {
    async function team() {
      const boss = await t.core.users.create(t.ctx, { username: 'boss', email: 'boss@x.test' });
      const r1 = await t.core.users.create(t.ctx, { username: 'r1', email: 'r1@x.test', manager: boss.id });
      const r2 = await t.core.users.create(t.ctx, { username: 'r2', email: 'r2@x.test', manager: boss.id });
      const heir = await t.core.users.create(t.ctx, { username: 'heir', email: 'heir@x.test' });
      const group = await t.core.groups.create(t.ctx, { name: 'Leads' });
      await t.core.groups.addMember(t.ctx, group.id, 'user', boss.id);
      const app = await t.core.applications.create(t.ctx, { name: 'wiki' });
      await t.core.associations.change(t.ctx, { type: 'user', id: boss.id }, { type: 'application', id: app.id }, 'add');
      return { boss, r1, r2, heir, group, app };
    }

    it('refuses to delete a manager unless told what to do with the reports', async () => {
      const { boss, r1 } = await team();
      const before = (await journal()).length;
      const e = await failure(t.core.users.delete(t.ctx, boss.id));
      expect({ kind: e.kind, code: e.code }).toEqual({ kind: 'conflict', code: 'USER_IS_MANAGER' });
      expect(e.message).toContain('2 user(s)');
      expect((await t.core.users.get(t.ctx, r1.id)).manager).toBe(boss.id);
      expect(await journal()).toHaveLength(before);
    });

    it('reassigns the reports, and removes memberships and associations, each journaled', async () => {
      const { boss, r1, r2, heir, group, app } = await team();
      const before = (await journal()).at(-1)!.seq;
      await t.core.users.delete(t.ctx, boss.id, { cascadeManager: heir.id });
      await failure(t.core.users.get(t.ctx, boss.id));
      expect((await t.core.users.get(t.ctx, r1.id)).manager).toBe(heir.id);
      expect((await t.core.users.get(t.ctx, r2.id)).manager).toBe(heir.id);
      expect((await t.core.groups.members(t.ctx, group.id, { limit: 10, skip: 0 })).total).toBe(0);
      expect((await t.core.associations.ofResource(t.ctx, 'application', app.id, ['user'], { limit: 10, skip: 0 })).total).toBe(0);
      const rows = await t.core.journal.list(t.ctx, before, 100);
      expect(rows.map((r) => `${r.objectType}:${r.operation}`).sort()).toEqual(
        ['association:dissociate', 'user:delete', 'user:update', 'user:update', 'user_group:member_remove'].sort(),
      );
      const updates = rows.filter((r) => r.operation === 'update');
      expect(updates.map((r) => r.changes.manager)).toEqual([
        { before: boss.id, after: heir.id },
        { before: boss.id, after: heir.id },
      ]);
    });

    it('clears the reports\' manager with cascadeManager null', async () => {
      const { boss, r1 } = await team();
      await t.core.users.delete(t.ctx, boss.id, { cascadeManager: null });
      expect((await t.core.users.get(t.ctx, r1.id)).manager).toBeNull();
    });

    it('refuses to reassign to the deleted user or to someone unknown, changing nothing', async () => {
      const { boss, r1 } = await team();
      expect((await failure(t.core.users.delete(t.ctx, boss.id, { cascadeManager: boss.id }))).code).toBe('INVALID_MANAGER');
      expect((await failure(t.core.users.delete(t.ctx, boss.id, { cascadeManager: 'ffffffffffffffffffffffff' as never }))).code).toBe('INVALID_MANAGER');
      expect((await t.core.users.get(t.ctx, r1.id)).manager).toBe(boss.id);
      expect((await t.core.users.get(t.ctx, boss.id)).id).toBe(boss.id);
    });

    it('a user who manages no one is deleted without options; an unknown user is not found', async () => {
      const { r1 } = await team();
      await t.core.users.delete(t.ctx, r1.id);
      const e = await failure(t.core.users.delete(t.ctx, r1.id));
      expect({ kind: e.kind, code: e.code }).toEqual({ kind: 'not_found', code: 'USER_NOT_FOUND' });
    });
  });

  describe('the journal', () => {
    /** Runs `work` and returns the rows it added. */
    async function rowsOf(work: () => Promise<unknown>): Promise<JournalEntry[]> {
      const before = (await journal()).at(-1)?.seq ?? 0;
      await work();
      return t.core.journal.list(t.ctx, before, 1000);
    }

    it('every mutation writes rows, and no row holds a password, a hash or a secret', async () => {
      await t.core.organizations.update(t.ctx, t.ctx.orgId, { passwordPolicy: { maxLoginAttempts: 2 } });
      const secrets: string[] = [...P, 'AdminHorse42x', 'AdminHorse43y', 'sso-token-value'];
      const all: JournalEntry[] = [];
      const step = async (name: string, work: () => Promise<unknown>) => {
        later();
        const rows = await rowsOf(work);
        expect(rows.length, name).toBeGreaterThan(0);
        all.push(...rows);
        return rows;
      };

      let userId = '';
      const created = await step('create user', async () => (userId = (await t.core.users.create(t.ctx, { username: 'ada', email: 'ada@x.test', password: P[0] })).id));
      expect(created[0]!.changes.password).toEqual({ before: REDACTED, after: REDACTED });
      const hashes = [await t.core.store.read.users.passwordHash(t.ctx.orgId, userId as never)];
      const updated = await step('set password', () => t.core.users.update(t.ctx, userId, { password: P[1], jobTitle: 'Countess' }));
      expect(updated[0]!.changes.password).toEqual({ before: REDACTED, after: REDACTED });
      expect(updated[0]!.changes.jobTitle).toEqual({ before: '', after: 'Countess' });
      hashes.push(await t.core.store.read.users.passwordHash(t.ctx.orgId, userId as never));
      await step('login failure', () => t.core.authentication.verify(t.ctx.orgId, 'ada', P[3], 'ldap'));
      await step('lock', () => t.core.authentication.verify(t.ctx.orgId, 'ada', P[3], 'radius'));
      await step('unlock', () => t.core.users.unlock(t.ctx, userId));
      const changed = await step('self-service change', () => t.core.authentication.changePassword(t.ctx.orgId, 'ada', P[1], P[2], 'portal'));
      expect(changed.at(-1)!.changes.password).toEqual({ before: REDACTED, after: REDACTED });
      hashes.push(await t.core.store.read.users.passwordHash(t.ctx.orgId, userId as never));
      await step('expire', () => t.core.users.expire(t.ctx, userId));
      await step('suspend', () => t.core.users.update(t.ctx, userId, { suspended: true }));

      let adminId = '';
      await step('create admin', async () => (adminId = (await t.core.administrators.create(t.ctx, { email: 'root@x.test', roleName: 'Administrator', password: 'AdminHorse42x' })).id));
      await step('admin password', () => t.core.administrators.update(t.ctx, adminId, { password: 'AdminHorse43y' }));
      hashes.push((await t.core.store.read.admins.findByEmail('root@x.test'))!.passwordHash!);
      let apiSecret = '';
      await step('issue key', async () => (apiSecret = (await t.core.apiKeys.issue(t.ctx, adminId as never, { name: 'k' })).secret));
      let appId = '';
      const app = await step('create app', async () => (appId = (await t.core.applications.create(t.ctx, { name: 'sso', config: { bearerToken: 'sso-token-value', url: 'https://x' } })).id));
      expect(JSON.stringify(app)).toContain(REDACTED);
      await step('update app', () => t.core.applications.update(t.ctx, appId, { config: { bearerToken: 'sso-token-value', url: 'https://y' } }));
      const group = await t.core.groups.create(t.ctx, { name: 'g' });
      await step('add member', () => t.core.groups.addMember(t.ctx, group.id, 'user', userId));
      await step('associate', () => t.core.associations.change(t.ctx, { type: 'user', id: userId }, { type: 'application', id: appId }, 'add'));
      await step('delete user', () => t.core.users.delete(t.ctx, userId));

      const text = JSON.stringify(all);
      for (const s of [...secrets, apiSecret, digestSecret(apiSecret), ...hashes.map(String)]) expect(text, s.slice(0, 12)).not.toContain(s);
      expect(text).not.toContain('$argon2');
      expect(text).not.toContain('enc:v1:');
      for (const row of all) {
        for (const [key, change] of Object.entries(row.changes)) {
          if (key === 'password') expect(change, row.operation).toEqual({ before: REDACTED, after: REDACTED });
          expect(key).not.toMatch(/hash|secret/i);
        }
      }
    });

    it('an update that changes nothing writes no row', async () => {
      const u = await t.core.users.create(t.ctx, { username: 'same', email: 'same@x.test', department: 'eng' });
      const rows = await rowsOf(() => t.core.users.update(t.ctx, u.id, { department: 'eng' }));
      expect(rows).toEqual([]);
    });
  });
});

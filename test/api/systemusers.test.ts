import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { addMember, countUsers, createGroup, createUser, detailFields, expectError, expectOk, MISSING_ID, uniq } from './helpers.js';

const STRONG = 'Correct-Horse-42';

describeEachStore('API systemusers', (kind) => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(() => t.dispose());

  const get = async (id: string) => expectOk(await t.call('GET', `/api/systemusers/${id}`));

  describe('create, read, update, delete', () => {
    it('POST answers 200 with the v1 systemuser: _id, org, defaults, no password material', async () => {
      const name = uniq('ada');
      const res = await t.call('POST', '/api/systemusers', {
        body: { username: name, email: `${name}@example.test`, firstname: 'Ada', lastname: 'Lovelace', password: STRONG, unknownField: 'ignored' },
      });
      const u = expectOk(res);
      expect(u._id).toMatch(/^[0-9a-f]{24}$/);
      expect(u.id).toBe(u._id);
      expect(u.organization).toBe(t.orgId);
      expect(u).toMatchObject({ username: name, email: `${name}@example.test`, firstname: 'Ada', lastname: 'Lovelace' });
      expect(u).toMatchObject({ state: 'ACTIVATED', suspended: false, activated: true, account_locked: false, sudo: false, password_expired: false });
      expect(u.unix_uid).toBeGreaterThanOrEqual(5000);
      expect(u.unix_guid).toBe(u.unix_uid);
      expect(u.password_date).toEqual(expect.any(String));
      expect(u).not.toHaveProperty('password');
      expect(u).not.toHaveProperty('unknownField');
      expect(res.body).not.toContain(STRONG);
      expect(res.body).not.toContain('$argon2');
      expect(await get(u._id)).toEqual(u);
    });

    it('a user created without a password is not activated; unix ids increase', async () => {
      const a = await createUser(t);
      const b = await createUser(t);
      expect(a.activated).toBe(false);
      expect(a.password_date).toBeNull();
      expect(b.unix_uid).toBeGreaterThan(a.unix_uid);
    });

    it('GET with fields= returns only those fields and the _id', async () => {
      const u = await createUser(t, { jobTitle: 'Engineer' });
      const res = expectOk(await t.call('GET', `/api/systemusers/${u._id}?fields=username%20jobTitle`));
      expect(res).toEqual({ _id: u._id, username: u.username, jobTitle: 'Engineer' });
    });

    it('GET of an unknown or malformed id answers 404 USER_NOT_FOUND', async () => {
      expectError(await t.call('GET', `/api/systemusers/${MISSING_ID}`), 404, 'USER_NOT_FOUND');
      expectError(await t.call('GET', '/api/systemusers/not-an-id'), 404, 'USER_NOT_FOUND');
    });

    it('PUT changes only the fields given and bumps updated', async () => {
      const u = await createUser(t, { firstname: 'Grace', department: 'R&D', phoneNumbers: [{ type: 'work', number: '+1 555 0100' }] });
      const res = expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { jobTitle: 'Rear Admiral', attributes: [{ name: 'team', value: 'navy' }] } }));
      expect(res).toMatchObject({ firstname: 'Grace', department: 'R&D', jobTitle: 'Rear Admiral', attributes: [{ name: 'team', value: 'navy' }] });
      expect(res.phoneNumbers).toEqual([expect.objectContaining({ type: 'work', number: '+1 555 0100' })]);
      expect(res.created).toBe(u.created);
      expect(Date.parse(res.updated)).toBeGreaterThanOrEqual(Date.parse(u.updated));
      expect(await get(u._id)).toMatchObject({ jobTitle: 'Rear Admiral', firstname: 'Grace' });
    });

    it('PUT of an unknown id answers 404 and creates nothing', async () => {
      const before = await countUsers(t);
      expectError(await t.call('PUT', `/api/systemusers/${MISSING_ID}`, { body: { firstname: 'Ghost' } }), 404, 'USER_NOT_FOUND');
      expect(await countUsers(t)).toBe(before);
    });

    it('DELETE answers the deleted user, removes it from its groups, and later reads 404', async () => {
      const u = await createUser(t);
      const g = await createGroup(t);
      await addMember(t, g.id, 'user', u._id);
      const deleted = expectOk(await t.call('DELETE', `/api/systemusers/${u._id}`));
      expect(deleted._id).toBe(u._id);
      expect(deleted.username).toBe(u.username);
      expectError(await t.call('GET', `/api/systemusers/${u._id}`), 404, 'USER_NOT_FOUND');
      const members = await t.call('GET', `/api/v2/usergroups/${g.id}/members`);
      expect(members.json()).toEqual([]);
      expect(members.headers['x-total-count']).toBe('0');
      expectError(await t.call('DELETE', `/api/systemusers/${u._id}`), 404, 'USER_NOT_FOUND');
    });
  });

  describe('Unicode', () => {
    it('keeps accented names, non-ASCII usernames and emoji as sent', async () => {
      const username = `zoë.ødegård.${uniq('')}`;
      const body = { username, email: `${uniq('zoe')}@exämple.test`, firstname: 'Zoë', lastname: 'Ødegård', displayname: '王小明', description: 'Launch 🚀 done 🎉' };
      const u = expectOk(await t.call('POST', '/api/systemusers', { body }));
      expect(u).toMatchObject(body);
      expect(await get(u._id)).toMatchObject(body);
    });

    it('finds a non-ASCII username whatever its case, and stores decomposed input composed (NFC)', async () => {
      const tail = uniq('');
      const decomposed = `Zoe\u0308${tail}`;
      const u = expectOk(await t.call('POST', '/api/systemusers', { body: { username: decomposed, email: `${tail}@example.test` } }));
      expect(u.username).toBe(`Zoë${tail}`);
      for (const variant of [`zoë${tail}`, `ZOË${tail}`, `Zoë${tail}`]) {
        const list = expectOk(await t.call('GET', `/api/systemusers?filter=${encodeURIComponent(`username:$eq:${variant}`)}`));
        expect(list.totalCount).toBe(1);
        expect(list.results[0]._id).toBe(u._id);
      }
      const dup = await t.call('POST', '/api/systemusers', { body: { username: `ZOË${tail}`, email: `other${tail}@example.test` } });
      expect(detailFields(expectError(dup, 409, 'USERNAME_TAKEN'))).toEqual(['username']);
    });

    it('refuses emoji and control characters in a username with 400 and the field named', async () => {
      const before = await countUsers(t);
      const emoji = expectError(await t.call('POST', '/api/systemusers', { body: { username: '🎉party', email: `${uniq('e')}@example.test` } }), 400, 'INVALID_INPUT');
      expect(emoji.details).toEqual([expect.objectContaining({ field: 'username', reason: 'INVALID_USERNAME' })]);
      const ctl = expectError(await t.call('POST', '/api/systemusers', { body: { username: uniq('c'), email: `${uniq('e')}@example.test`, firstname: 'a\u0007b' } }), 400, 'INVALID_INPUT');
      expect(ctl.details).toEqual([expect.objectContaining({ field: 'firstname', reason: 'CONTROL_CHARACTER' })]);
      expect(await countUsers(t)).toBe(before);
    });
  });

  describe('case-insensitive uniqueness and lookup', () => {
    it('filter=email:$eq:<email> returns exactly one match whatever the case', async () => {
      const local = uniq('Mixed.Case');
      const u = await createUser(t, { email: `${local}@Example.TEST` });
      await createUser(t, { email: `${local}x@example.test` });
      for (const variant of [`${local}@Example.TEST`, `${local.toLowerCase()}@example.test`, `${local.toUpperCase()}@EXAMPLE.TEST`]) {
        const list = expectOk(await t.call('GET', `/api/systemusers?filter=${encodeURIComponent(`email:$eq:${variant}`)}`));
        expect(list.totalCount).toBe(1);
        expect(list.results.map((r: any) => r._id)).toEqual([u._id]);
        expect(list.results[0].email).toBe(`${local}@Example.TEST`);
      }
    });

    it('a username or email differing only in case answers 409 and creates nothing', async () => {
      const u = await createUser(t);
      const before = await countUsers(t);
      const byName = expectError(await t.call('POST', '/api/systemusers', { body: { username: u.username.toUpperCase(), email: `${uniq('n')}@example.test` } }), 409, 'USERNAME_TAKEN');
      expect(byName.details).toEqual([expect.objectContaining({ field: 'username', reason: 'USERNAME_TAKEN' })]);
      const byEmail = expectError(await t.call('POST', '/api/systemusers', { body: { username: uniq('n'), email: u.email.toUpperCase() } }), 409, 'EMAIL_TAKEN');
      expect(detailFields(byEmail)).toEqual(['email']);
      expect(await countUsers(t)).toBe(before);
    });

    it("PUT onto another user's username or email in another case answers 409 and changes nothing", async () => {
      const a = await createUser(t);
      const b = await createUser(t, { firstname: 'Bee' });
      expectError(await t.call('PUT', `/api/systemusers/${b._id}`, { body: { email: a.email.toUpperCase(), firstname: 'Changed' } }), 409, 'EMAIL_TAKEN');
      expectError(await t.call('PUT', `/api/systemusers/${b._id}`, { body: { username: a.username.toUpperCase() } }), 409, 'USERNAME_TAKEN');
      expect(await get(b._id)).toMatchObject({ email: b.email, username: b.username, firstname: 'Bee' });
    });

    it('a user may change the case of their own username and email', async () => {
      const u = await createUser(t);
      const res = expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { username: u.username.toUpperCase(), email: u.email.toUpperCase() } }));
      expect(res.username).toBe(u.username.toUpperCase());
      expect(res.email).toBe(u.email.toUpperCase());
    });

    it('employeeIdentifier is unique too', async () => {
      const id = uniq('E');
      await createUser(t, { employeeIdentifier: id });
      expectError(await t.call('POST', '/api/systemusers', { body: { username: uniq('n'), email: `${uniq('n')}@example.test`, employeeIdentifier: id } }), 409, 'EMPLOYEE_IDENTIFIER_TAKEN');
    });
  });

  describe('managers', () => {
    it('DELETE of a manager answers 409 USER_IS_MANAGER and deletes nothing; cascade_manager=null clears the reports', async () => {
      const boss = await createUser(t);
      const report = await createUser(t, { manager: boss._id });
      expect(report.manager).toBe(boss._id);
      const err = expectError(await t.call('DELETE', `/api/systemusers/${boss._id}`), 409, 'USER_IS_MANAGER', 'FAILED_PRECONDITION');
      expect(err.message).toContain('cascade_manager');
      expect((await get(boss._id))._id).toBe(boss._id);
      expect((await get(report._id)).manager).toBe(boss._id);
      expectOk(await t.call('DELETE', `/api/systemusers/${boss._id}?cascade_manager=null`));
      expectError(await t.call('GET', `/api/systemusers/${boss._id}`), 404, 'USER_NOT_FOUND');
      expect(await get(report._id)).not.toHaveProperty('manager');
    });

    it('cascade_manager=<id> reassigns the reports; an unknown or self id is refused', async () => {
      const boss = await createUser(t);
      const next = await createUser(t);
      const report = await createUser(t, { manager: boss._id });
      expectError(await t.call('DELETE', `/api/systemusers/${boss._id}?cascade_manager=${MISSING_ID}`), 400, 'INVALID_MANAGER');
      expectError(await t.call('DELETE', `/api/systemusers/${boss._id}?cascade_manager=${boss._id}`), 400, 'INVALID_MANAGER');
      expect((await get(report._id)).manager).toBe(boss._id);
      expectOk(await t.call('DELETE', `/api/systemusers/${boss._id}?cascade_manager=${next._id}`));
      expect((await get(report._id)).manager).toBe(next._id);
    });

    it('a manager must be a user of the organization and not the user; null clears it', async () => {
      const u = await createUser(t);
      expectError(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { manager: MISSING_ID } }), 400, 'INVALID_MANAGER');
      expectError(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { manager: u._id } }), 400, 'INVALID_MANAGER');
      const boss = await createUser(t);
      expect(expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { manager: boss._id } })).manager).toBe(boss._id);
      expect(expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { manager: null } }))).not.toHaveProperty('manager');
    });
  });

  describe('passwords', () => {
    it('a password against the org policy answers 400 PASSWORD_POLICY with one detail per rule, and is not set', async () => {
      const u = await createUser(t);
      const err = expectError(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: 'short', firstname: 'Nope' } }), 400, 'PASSWORD_POLICY');
      expect(err.details!.map((d) => d.reason).sort()).toEqual(['NEEDS_NUMBER', 'NEEDS_UPPERCASE', 'TOO_SHORT']);
      expect(err.details!.every((d) => d.field === 'password')).toBe(true);
      expect(err.message).not.toContain('short');
      expect(await get(u._id)).toMatchObject({ activated: false, password_date: null, firstname: '' });
    });

    it('a password containing the username is refused', async () => {
      const u = await createUser(t);
      const err = expectError(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: `X9${u.username.toUpperCase()}` } }), 400, 'PASSWORD_POLICY');
      expect(err.details!.map((d) => d.reason)).toContain('CONTAINS_USERNAME');
    });

    it('POST with a weak password creates nothing', async () => {
      const before = await countUsers(t);
      expectError(await t.call('POST', '/api/systemusers', { body: { username: uniq('w'), email: `${uniq('w')}@example.test`, password: 'password' } }), 400, 'PASSWORD_POLICY');
      expect(await countUsers(t)).toBe(before);
    });

    it('sets a compliant password; reusing one of the last five answers 400 REUSED', async () => {
      const u = await createUser(t);
      const set = expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: 'First-Secret-1' } }));
      expect(set.activated).toBe(true);
      expect(set.password_date).toEqual(expect.any(String));
      expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: 'Second-Secret-2' } }));
      for (const reused of ['First-Secret-1', 'Second-Secret-2']) {
        const err = expectError(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: reused } }), 400, 'INVALID_INPUT');
        expect(err.details).toEqual([expect.objectContaining({ field: 'password', reason: 'REUSED' })]);
      }
      expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: 'Third-Secret-3' } }));
    });

    it("follows a change of the org policy (minLength 20) and its expiry", async () => {
      const org = `/api/organizations/${t.orgId}`;
      const u = await createUser(t);
      expectOk(await t.call('PUT', org, { body: { settings: { passwordPolicy: { minLength: 20, passwordExpirationInDays: 30 } } } }));
      try {
        const err = expectError(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: 'Fourteen-Ch4r' } }), 400, 'PASSWORD_POLICY');
        expect(err.details).toEqual([expect.objectContaining({ field: 'password', reason: 'TOO_SHORT', message: expect.stringContaining('20') })]);
        const ok = expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { password: 'Twenty-Characters-Ok1' } }));
        const days = (Date.parse(ok.password_expiration_date) - Date.parse(ok.password_date)) / 86_400_000;
        expect(Math.round(days)).toBe(30);
      } finally {
        expectOk(await t.call('PUT', org, { body: { settings: { passwordPolicy: { minLength: 12, enablePasswordExpirationInDays: false } } } }));
      }
    });
  });

  describe('lock, expire, activate, suspend', () => {
    it('unlock clears account_locked and answers an empty JSON string', async () => {
      const u = await createUser(t);
      const locked = expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { account_locked: true } }));
      expect(locked.account_locked).toBe(true);
      expect(locked.account_locked_date).toEqual(expect.any(String));
      expect(expectOk(await t.call('POST', `/api/systemusers/${u._id}/unlock`))).toBe('');
      expect(await get(u._id)).toMatchObject({ account_locked: false, account_locked_date: null, badLoginAttempts: 0 });
    });

    it('a bodiless action sent with a JSON content type works', async () => {
      const u = await createUser(t);
      expect(expectOk(await t.call('POST', `/api/systemusers/${u._id}/unlock`, { payload: '' }))).toBe('');
    });

    it('expire makes the password expired now', async () => {
      const u = await createUser(t, { password: STRONG });
      expect(u.password_expired).toBe(false);
      expect(expectOk(await t.call('POST', `/api/systemusers/${u._id}/expire`))).toBe('');
      const after = await get(u._id);
      expect(after.password_expired).toBe(true);
      expect(Date.parse(after.password_expiration_date)).toBeLessThanOrEqual(Date.now());
    });

    it('activate turns a STAGED user ACTIVATED; a suspended user answers 409 USER_SUSPENDED', async () => {
      const staged = await createUser(t, { state: 'STAGED' });
      expect(staged.state).toBe('STAGED');
      expect(expectOk(await t.call('POST', `/api/systemusers/${staged._id}/state/activate`))).toBe('');
      expect((await get(staged._id)).state).toBe('ACTIVATED');
      const suspended = await createUser(t, { suspended: true });
      expect(suspended).toMatchObject({ state: 'SUSPENDED', suspended: true });
      expectError(await t.call('POST', `/api/systemusers/${suspended._id}/state/activate`), 409, 'USER_SUSPENDED', 'FAILED_PRECONDITION');
      expect((await get(suspended._id)).state).toBe('SUSPENDED');
    });

    it('suspended:false returns a suspended user to ACTIVATED; a contradicting state is refused', async () => {
      const u = await createUser(t, { suspended: true });
      expect(expectOk(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { suspended: false } }))).toMatchObject({ state: 'ACTIVATED', suspended: false });
      const err = expectError(await t.call('PUT', `/api/systemusers/${u._id}`, { body: { state: 'ACTIVATED', suspended: true } }), 400, 'INVALID_INPUT');
      expect(err.details).toEqual([expect.objectContaining({ field: 'suspended', reason: 'CONTRADICTS_STATE' })]);
      expect((await get(u._id)).state).toBe('ACTIVATED');
    });

    it('unlock, expire and activate of an unknown user answer 404', async () => {
      for (const action of ['unlock', 'expire', 'state/activate']) {
        expectError(await t.call('POST', `/api/systemusers/${MISSING_ID}/${action}`), 404, 'USER_NOT_FOUND');
      }
    });
  });
});

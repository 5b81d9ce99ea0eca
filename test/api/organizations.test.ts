import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { createUser, expectError, expectOk, MISSING_ID } from './helpers.js';

describeEachStore('API organizations, directories, LDAP servers', (kind) => {
  let t: TestApi;
  let ldapId: string;
  beforeAll(async () => {
    t = await openTestApi(kind);
    ldapId = expectOk(await t.call('GET', '/api/v2/ldapservers'))[0].id;
  });
  afterAll(() => t.dispose());

  const org = () => `/api/organizations/${t.orgId}`;
  const policy = async () => expectOk(await t.call('GET', org())).settings.passwordPolicy;

  describe('organizations', () => {
    it('GET /api/organizations lists the one organization as {totalCount, results}', async () => {
      const page = expectOk(await t.call('GET', '/api/organizations'));
      expect(page.totalCount).toBe(1);
      expect(page.results).toEqual([{ _id: t.orgId, displayName: expect.any(String), logoUrl: expect.any(String) }]);
      expect(expectOk(await t.call('GET', '/api/organizations?fields=displayName')).results[0]).toEqual({ _id: t.orgId, displayName: expect.any(String) });
      expect(expectOk(await t.call('GET', '/api/organizations?skip=1'))).toEqual({ totalCount: 1, results: [] });
      expectError(await t.call('GET', '/api/organizations?filter=settings:$eq:x'), 400, 'INVALID_FILTER');
    });

    it('GET /api/organizations/{id} answers the settings with JumpCloud enable flags', async () => {
      const o = expectOk(await t.call('GET', org()));
      expect(o._id).toBe(t.orgId);
      expect(o.settings.newSystemUserStateDefaults).toEqual({ manualEntry: 'ACTIVATED', csvImport: 'ACTIVATED' });
      expect(o.settings.passwordPolicy).toMatchObject({
        enableMinLength: true,
        minLength: 12,
        needsLowercase: true,
        needsUppercase: true,
        needsNumeric: true,
        needsSymbolic: false,
        enableMaxHistory: true,
        maxHistory: 5,
        enablePasswordExpirationInDays: false,
        enableMaxLoginAttempts: true,
        maxLoginAttempts: 10,
      });
      expect(o.settings.passwordPolicy).not.toHaveProperty('passwordExpirationInDays');
    });

    it('PUT changes the name and logo', async () => {
      const before = expectOk(await t.call('GET', org()));
      try {
        const put = expectOk(await t.call('PUT', org(), { body: { displayName: '  Acme Ltd — Ærø ', logoUrl: 'https://example.test/logo.svg' } }));
        expect(put).toMatchObject({ _id: t.orgId, displayName: 'Acme Ltd — Ærø', logoUrl: 'https://example.test/logo.svg' });
        expect(expectOk(await t.call('GET', org())).displayName).toBe('Acme Ltd — Ærø');
      } finally {
        expectOk(await t.call('PUT', org(), { body: { displayName: before.displayName, logoUrl: before.logoUrl } }));
      }
    });

    it('PUT changes the password policy; enable flags set to false turn a rule off', async () => {
      try {
        const put = expectOk(await t.call('PUT', org(), { body: { settings: { passwordPolicy: { needsSymbolic: true, enableMaxHistory: false, passwordExpirationInDays: 90 } } } }));
        expect(put.settings.passwordPolicy).toMatchObject({ needsSymbolic: true, enableMaxHistory: false, enablePasswordExpirationInDays: true, passwordExpirationInDays: 90, minLength: 12 });
        expect(put.settings.passwordPolicy).not.toHaveProperty('maxHistory');
      } finally {
        expectOk(await t.call('PUT', org(), { body: { settings: { passwordPolicy: { needsSymbolic: false, maxHistory: 5, enablePasswordExpirationInDays: false } } } }));
      }
      expect(await policy()).toMatchObject({ needsSymbolic: false, enableMaxHistory: true, maxHistory: 5, enablePasswordExpirationInDays: false });
    });

    it('newSystemUserStateDefaults.manualEntry=STAGED makes new users STAGED', async () => {
      try {
        expectOk(await t.call('PUT', org(), { body: { settings: { newSystemUserStateDefaults: { manualEntry: 'STAGED' } } } }));
        expect((await createUser(t)).state).toBe('STAGED');
        expect((await createUser(t, { state: 'ACTIVATED' })).state).toBe('ACTIVATED');
      } finally {
        expectOk(await t.call('PUT', org(), { body: { settings: { newSystemUserStateDefaults: { manualEntry: 'ACTIVATED' } } } }));
      }
      expect((await createUser(t)).state).toBe('ACTIVATED');
    });

    it('refuses out-of-range and mistyped settings with 400 and the field, and changes nothing', async () => {
      const before = expectOk(await t.call('GET', org()));
      const cases: [unknown, string, string?][] = [
        [{ settings: { passwordPolicy: { minLength: 0 } } }, 'INVALID_INPUT', 'passwordPolicy.minLength'],
        [{ settings: { passwordPolicy: { maxHistory: 99 } } }, 'INVALID_INPUT', 'passwordPolicy.maxHistory'],
        [{ settings: { passwordPolicy: { minLength: 5000 } } }, 'INVALID_INPUT', 'passwordPolicy.minLength'],
        [{ settings: { passwordPolicy: { needsUppercase: 'yes' } } }, 'INVALID_INPUT'],
        [{ settings: { passwordPolicy: { minLength: 12.5 } } }, 'INVALID_INPUT'],
        [{ settings: { newSystemUserStateDefaults: { manualEntry: 'SUSPENDED' } } }, 'INVALID_INPUT', 'newSystemUserStateDefaults.manualEntry'],
        [{ displayName: '   ' }, 'INVALID_INPUT', 'displayName'],
        [{ displayName: 'x'.repeat(257) }, 'INVALID_INPUT', 'displayName'],
        [{ logoUrl: 42 }, 'INVALID_INPUT', 'logoUrl'],
      ];
      for (const [body, reason, field] of cases) {
        const err = expectError(await t.call('PUT', org(), { body }), 400, reason);
        if (field) expect(err.details?.map((d) => d.field), JSON.stringify(body)).toContain(field);
      }
      expect(expectOk(await t.call('GET', org()))).toEqual(before);
    });

    it('unknown organizations answer 404', async () => {
      expectError(await t.call('GET', `/api/organizations/${MISSING_ID}`), 404, 'ORGANIZATION_NOT_FOUND');
      expectError(await t.call('PUT', `/api/organizations/${MISSING_ID}`, { body: { displayName: 'x' } }), 404, 'ORGANIZATION_NOT_FOUND');
    });
  });

  describe('directories and LDAP servers', () => {
    it('GET /api/v2/directories answers the LDAP service; limit=1 checks the key; a skip past the end is empty', async () => {
      const res = await t.call('GET', '/api/v2/directories?limit=1');
      expect(expectOk(res)).toEqual([{ id: ldapId, name: 'Roster LDAP', type: 'ldap_server' }]);
      expect(res.headers['x-total-count']).toBe('1');
      const past = await t.call('GET', '/api/v2/directories?skip=1');
      expect(expectOk(past)).toEqual([]);
      expect(past.headers['x-total-count']).toBe('1');
      expect(expectOk(await t.call('GET', '/api/v2/directories?filter=type:eq:ldap_server&fields=type'))).toEqual([{ id: ldapId, type: 'ldap_server' }]);
      expect(expectOk(await t.call('GET', '/api/v2/directories?filter=type:eq:g_suite'))).toEqual([]);
      expectError(await t.call('GET', '/api/v2/directories?filter=config:eq:x'), 400, 'INVALID_FILTER');
    });

    it('GET /api/v2/ldapservers and /ldapservers/{id} answer the server with its actions', async () => {
      const list = expectOk(await t.call('GET', '/api/v2/ldapservers'));
      expect(list).toEqual([
        {
          id: ldapId,
          name: expect.any(String),
          userLockoutAction: expect.stringMatching(/^(disable|remove)$/),
          userPasswordExpirationAction: expect.stringMatching(/^(disable|remove)$/),
          allowPlainBind: false,
          userSearchAccess: 'self',
          bindEventSampleRate: 1,
          searchEventSampleRate: 0.01,
        },
      ]);
      expect(expectOk(await t.call('GET', `/api/v2/ldapservers/${ldapId}`))).toEqual(list[0]);
      expectError(await t.call('GET', `/api/v2/ldapservers/${MISSING_ID}`), 404, 'DIRECTORY_NOT_FOUND');
    });

    it('PATCH /api/v2/ldapservers/{id} configures the actions and refuses bad values', async () => {
      try {
        const patched = expectOk(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { userLockoutAction: 'remove' } }));
        expect(patched).toMatchObject({ id: ldapId, userLockoutAction: 'remove' });
        expect(expectOk(await t.call('GET', `/api/v2/ldapservers/${ldapId}`)).userLockoutAction).toBe('remove');
        const before = expectOk(await t.call('GET', `/api/v2/ldapservers/${ldapId}`));
        expectError(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { userLockoutAction: 'explode' } }), 400, 'INVALID_INPUT');
        expectError(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { name: '' } }), 400, 'INVALID_INPUT');
        expectError(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { name: '   ' } }), 400, 'INVALID_INPUT');
        expect(expectOk(await t.call('GET', `/api/v2/ldapservers/${ldapId}`))).toEqual(before);
        expectError(await t.call('PATCH', `/api/v2/ldapservers/${MISSING_ID}`, { body: { userLockoutAction: 'remove' } }), 404, 'DIRECTORY_NOT_FOUND');
      } finally {
        expectOk(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { userLockoutAction: 'disable' } }));
      }
    });

    it('PATCH /api/v2/ldapservers/{id} sets the LDAP service settings Roster adds, and refuses bad ones', async () => {
      const defaults = { allowPlainBind: false, userSearchAccess: 'self', bindEventSampleRate: 1, searchEventSampleRate: 0.01 };
      try {
        const patched = expectOk(
          await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { allowPlainBind: true, userSearchAccess: 'all', searchEventSampleRate: 0.5 } }),
        );
        expect(patched).toMatchObject({ allowPlainBind: true, userSearchAccess: 'all', searchEventSampleRate: 0.5, bindEventSampleRate: 1 });
        const before = expectOk(await t.call('GET', `/api/v2/ldapservers/${ldapId}`));
        expectError(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { userSearchAccess: 'everyone' } }), 400, 'INVALID_INPUT');
        expectError(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { searchEventSampleRate: 2 } }), 400, 'INVALID_INPUT');
        expectError(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: { allowPlainBind: 'yes' } }), 400, 'INVALID_INPUT');
        expect(expectOk(await t.call('GET', `/api/v2/ldapservers/${ldapId}`))).toEqual(before);
      } finally {
        expectOk(await t.call('PATCH', `/api/v2/ldapservers/${ldapId}`, { body: defaults }));
      }
    });
  });
});

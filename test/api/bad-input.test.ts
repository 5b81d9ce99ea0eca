import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { createApp, createGroup, createUser, expectError, expectOk, journalHead, uniq } from './helpers.js';

type Case = [method: string, url: string, body: unknown, field?: string];

/** Bad requests answer a clear 4xx in the error shape and change nothing: the journal does not move. */
describeEachStore('API bad input', (kind) => {
  let t: TestApi;
  let user: any;
  let group: any;
  let app: any;
  let adminId: string;
  beforeAll(async () => {
    t = await openTestApi(kind);
    user = await createUser(t, { firstname: 'Original' });
    group = await createGroup(t, { description: 'original' });
    app = await createApp(t);
    adminId = expectOk(await t.call('POST', '/api/users', { body: { email: `${uniq('a')}@acme.test`, roleName: 'Manager' } }), 201)._id;
  });
  afterAll(() => t.dispose());

  /** Runs `work`, then checks that no journal entry appeared and the fixtures read back unchanged. */
  async function changesNothing(work: () => Promise<void>) {
    const head = await journalHead(t);
    const before = await Promise.all([`/api/systemusers/${user._id}`, `/api/v2/usergroups/${group.id}`, `/api/applications/${app._id}`, `/api/users/${adminId}`, `/api/organizations/${t.orgId}`].map(async (url) => expectOk(await t.call('GET', url))));
    await work();
    expect(await journalHead(t)).toBe(head);
    const after = await Promise.all([`/api/systemusers/${user._id}`, `/api/v2/usergroups/${group.id}`, `/api/applications/${app._id}`, `/api/users/${adminId}`, `/api/organizations/${t.orgId}`].map(async (url) => expectOk(await t.call('GET', url))));
    expect(after).toEqual(before);
  }

  const writeRoutes = (): [string, string][] => [
    ['POST', '/api/systemusers'],
    ['PUT', `/api/systemusers/${user._id}`],
    ['POST', '/api/search/systemusers'],
    ['POST', '/api/users'],
    ['PUT', `/api/users/${adminId}`],
    ['POST', '/api/applications'],
    ['PUT', `/api/applications/${app._id}`],
    ['PUT', `/api/organizations/${t.orgId}`],
    ['POST', '/api/v2/usergroups'],
    ['PUT', `/api/v2/usergroups/${group.id}`],
    ['PATCH', `/api/v2/usergroups/${group.id}`],
    ['POST', `/api/v2/usergroups/${group.id}/members`],
    ['POST', `/api/v2/users/${user._id}/associations`],
    ['POST', `/api/v2/applications/${app._id}/associations`],
    ['POST', '/api/v2/apikeys'],
  ];

  describe('malformed bodies', () => {
    it('malformed or truncated JSON answers 400 MALFORMED_JSON on every write', async () => {
      await changesNothing(async () => {
        for (const [method, url] of writeRoutes()) {
          for (const payload of ['{"username": ', '{username: "x"}', "{'a': 1}", '{"a":1}}', '{"__proto__": {"admin": true}}']) {
            const res = await t.call(method, url, { payload });
            expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)}`).toBe(400);
            expectError(res, 400, 'MALFORMED_JSON');
          }
        }
      });
    });

    it('an empty body with a JSON content type is no body: 400 INVALID_INPUT where one is required', async () => {
      await changesNothing(async () => {
        for (const [method, url] of writeRoutes().filter(([, u]) => u !== '/api/search/systemusers')) {
          const res = await t.call(method, url, { payload: '' });
          expect(res.statusCode, `${method} ${url}`).toBe(400);
          expectError(res, 400, 'INVALID_INPUT');
        }
      });
    });

    it('a JSON body that is not an object answers 400 INVALID_INPUT', async () => {
      await changesNothing(async () => {
        for (const [method, url] of writeRoutes().filter(([, u]) => u !== '/api/search/systemusers')) {
          for (const payload of ['[]', '"text"', '42', 'null', 'true']) {
            const res = await t.call(method, url, { payload });
            expect(res.statusCode, `${method} ${url} ${payload}`).toBe(400);
            expectError(res, 400);
          }
        }
      });
    });

    it('a prototype-poisoning body, a non-JSON content type and an oversized body are refused', async () => {
      await changesNothing(async () => {
        const poisoned = `{"username":"${uniq('p')}","email":"p@example.test","__proto__":{"admin":true}}`;
        expectError(await t.call('POST', '/api/systemusers', { payload: poisoned }), 400);
        expectError(await t.call('POST', '/api/systemusers', { payload: 'username=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
        const huge = JSON.stringify({ username: uniq('h'), email: 'h@example.test', description: 'x'.repeat(2 * 1024 * 1024) });
        expectError(await t.call('POST', '/api/systemusers', { payload: huge }), 413, 'BODY_TOO_LARGE');
      });
    });
  });

  describe('wrong types', () => {
    it('a wrong type anywhere answers 400 INVALID_INPUT naming the field; nothing is converted', async () => {
      const cases: Case[] = [
        ['POST', '/api/systemusers', { username: uniq('t'), email: 'a@example.test', sudo: 'true' }, 'sudo'],
        ['POST', '/api/systemusers', { username: uniq('t'), email: 'a@example.test', firstname: 5 }, 'firstname'],
        ['POST', '/api/systemusers', { username: 42, email: 'a@example.test' }, 'username'],
        ['POST', '/api/systemusers', { username: uniq('t'), email: ['a@example.test'] }, 'email'],
        ['POST', '/api/systemusers', { username: uniq('t'), email: 'a@example.test', unix_uid: '5001' }, 'unix_uid'],
        ['POST', '/api/systemusers', { username: uniq('t'), email: 'a@example.test', unix_uid: 1.5 }, 'unix_uid'],
        ['POST', '/api/systemusers', { username: uniq('t'), email: 'a@example.test', phoneNumbers: { type: 'work' } }, 'phoneNumbers'],
        ['POST', '/api/systemusers', { username: uniq('t'), email: 'a@example.test', attributes: [{ name: 1, value: 'x' }] }, 'attributes.0.name'],
        ['POST', '/api/systemusers', { username: uniq('t'), email: 'a@example.test', password: 12345678901234 }, 'password'],
        ['POST', '/api/systemusers', { username: uniq('t') }, 'email'],
        ['PUT', `/api/systemusers/${user._id}`, { suspended: 'false' }, 'suspended'],
        ['PUT', `/api/systemusers/${user._id}`, { account_locked: 0 }, 'account_locked'],
        ['PUT', `/api/systemusers/${user._id}`, { department: { name: 'x' } }, 'department'],
        ['PUT', `/api/systemusers/${user._id}`, { state: 'ASLEEP' }, 'state'],
        ['PUT', `/api/systemusers/${user._id}`, { manager: 42 }, 'manager'],
        ['POST', '/api/v2/usergroups', { name: 42 }, 'name'],
        ['PATCH', `/api/v2/usergroups/${group.id}`, { attributes: [] }, 'attributes'],
        ['PATCH', `/api/v2/usergroups/${group.id}`, { description: true }, 'description'],
        ['POST', `/api/v2/usergroups/${group.id}/members`, { op: 'add', type: 'user', id: 123 }, 'id'],
        ['POST', `/api/v2/usergroups/${group.id}/members`, { op: 'add', type: 'user', id: '' }, 'id'],
        ['POST', `/api/v2/usergroups/${group.id}/members`, { type: 'user', id: user._id }, 'op'],
        ['POST', `/api/v2/users/${user._id}/associations`, { op: 'add', type: 'application', id: app._id, attributes: [] }, 'attributes'],
        ['POST', '/api/applications', { name: uniq('t'), active: 'true' }, 'active'],
        ['PUT', `/api/applications/${app._id}`, { config: 'x' }, 'config'],
        ['PUT', `/api/applications/${app._id}`, { logo: 'https://example.test/x.png' }, 'logo'],
        ['POST', '/api/users', { email: `${uniq('t')}@acme.test`, roleName: 'Manager', suspended: 'no' }, 'suspended'],
        ['PUT', `/api/users/${adminId}`, { enableMultiFactor: 1 }, 'enableMultiFactor'],
        ['PUT', `/api/organizations/${t.orgId}`, { settings: { passwordPolicy: { minLength: '12' } } }, 'settings.passwordPolicy.minLength'],
        ['PUT', `/api/organizations/${t.orgId}`, { settings: [] }, 'settings'],
        ['POST', '/api/v2/apikeys', { readOnly: 'true' }, 'readOnly'],
        ['POST', '/api/v2/apikeys', { expiresAt: 1234567890 }, 'expiresAt'],
      ];
      await changesNothing(async () => {
        for (const [method, url, body, field] of cases) {
          const err = expectError(await t.call(method, url, { body }), 400, 'INVALID_INPUT');
          expect(err.details?.map((d) => d.field), `${method} ${url} ${JSON.stringify(body)}`).toContain(field);
        }
      });
    });
  });

  describe('lengths', () => {
    it('strings over their limit answer 400 naming the field', async () => {
      const cases: Case[] = [
        ['POST', '/api/systemusers', { username: uniq('l'), email: `${uniq('l')}@example.test`, firstname: 'x'.repeat(1025) }, 'firstname'],
        ['POST', '/api/systemusers', { username: uniq('l'), email: `${uniq('l')}@example.test`, employeeIdentifier: 'e'.repeat(257) }, 'employeeIdentifier'],
        ['POST', '/api/systemusers', { username: 'u'.repeat(257), email: `${uniq('l')}@example.test` }, 'username'],
        ['POST', '/api/systemusers', { username: uniq('l'), email: `${'m'.repeat(250)}@example.test` }, 'email'],
        ['POST', '/api/systemusers', { username: uniq('l'), email: `${uniq('l')}@example.test`, description: '🎉'.repeat(1025) }, 'description'],
        ['POST', '/api/systemusers', { username: uniq('l'), email: `${uniq('l')}@example.test`, password: `Aa1${'x'.repeat(300)}` }, 'password'],
        ['PUT', `/api/systemusers/${user._id}`, { lastname: 'Ø'.repeat(1025) }, 'lastname'],
        ['PUT', `/api/systemusers/${user._id}`, { attributes: [{ name: 'n'.repeat(257), value: 'v' }] }, 'attributes.0.name'],
        ['POST', '/api/v2/usergroups', { name: 'g'.repeat(257) }, 'name'],
        ['PATCH', `/api/v2/usergroups/${group.id}`, { description: 'd'.repeat(1025) }, 'description'],
        ['POST', '/api/applications', { name: 'a'.repeat(257) }, 'name'],
        ['PUT', `/api/applications/${app._id}`, { ssoUrl: `https://${'s'.repeat(2050)}` }, 'ssoUrl'],
        ['PUT', `/api/users/${adminId}`, { firstname: 'f'.repeat(1025) }, 'firstname'],
      ];
      await changesNothing(async () => {
        for (const [method, url, body, field] of cases) {
          const res = await t.call(method, url, { body });
          const err = expectError(res, 400, 'INVALID_INPUT');
          expect(err.details?.map((d) => d.field), `${method} ${url} ${field}`).toContain(field);
        }
      });
    });

    it('strings exactly at their limit, counted in characters, are accepted', async () => {
      const u = await createUser(t, { firstname: 'x'.repeat(1024), employeeIdentifier: uniq('e').padEnd(256, 'e'), description: '🎉'.repeat(1024), lastname: 'Ø'.repeat(1024) });
      expect(u.firstname).toHaveLength(1024);
      expect(u.employeeIdentifier).toHaveLength(256);
      expect([...u.description]).toHaveLength(1024);
      expect(expectOk(await t.call('GET', `/api/systemusers/${u._id}`)).description).toBe('🎉'.repeat(1024));
    });
  });

  describe('duplicates', () => {
    it('duplicates differing only in case answer 409 and create nothing', async () => {
      const admins = async () => expectOk(await t.call('GET', '/api/users?limit=0')).totalCount;
      const adminsBefore = await admins();
      await changesNothing(async () => {
        expectError(await t.call('POST', '/api/systemusers', { body: { username: user.username.toUpperCase(), email: `${uniq('d')}@example.test` } }), 409, 'USERNAME_TAKEN');
        expectError(await t.call('POST', '/api/systemusers', { body: { username: uniq('d'), email: user.email.toUpperCase() } }), 409, 'EMAIL_TAKEN');
        expectError(await t.call('POST', '/api/v2/usergroups', { body: { name: group.name.toUpperCase() } }), 409, 'GROUP_NAME_TAKEN');
        expectError(await t.call('POST', '/api/users', { body: { email: 'ROOT@ACME.TEST', roleName: 'Manager' } }), 409, 'ADMIN_EMAIL_TAKEN');
      });
      expect(await admins()).toBe(adminsBefore);
    });
  });

  describe('queries and paths', () => {
    it('unknown filter fields, bad syntax and unknown sort fields answer 400 on every list', async () => {
      const lists = [
        ['/api/systemusers', 'v1'],
        ['/api/users', 'v1'],
        ['/api/applications', 'v1'],
        ['/api/organizations', 'v1'],
        ['/api/v2/usergroups', 'v2'],
        ['/api/v2/directories', 'v2'],
        ['/api/v2/ldapservers', 'v2'],
        [`/api/v2/usergroups/${group.id}/membership`, 'v2'],
        [`/api/v2/applications/${app._id}/users`, 'v2'],
      ] as const;
      for (const [url, dialect] of lists) {
        const op = dialect === 'v1' ? '$eq' : 'eq';
        expectError(await t.call('GET', `${url}?filter=${encodeURIComponent(`passwordHash:${op}:x`)}`), 400, 'INVALID_FILTER');
        expectError(await t.call('GET', `${url}?filter=${encodeURIComponent('no-operator-here')}`), 400, 'INVALID_FILTER');
        expectError(await t.call('GET', `${url}?filter=${encodeURIComponent(`id:${dialect === 'v1' ? 'eq' : '$eq'}:x`)}`), 400, 'INVALID_FILTER');
        expectError(await t.call('GET', `${url}?sort=-passwordHash`), 400, 'INVALID_SORT');
        expectError(await t.call('GET', `${url}?limit=101`), 400, 'INVALID_INPUT');
      }
      expectError(await t.call('GET', '/api/v2/journal?filter=changes:eq:x'), 400, 'INVALID_FILTER');
    });

    it('odd ids answer 404 or a 4xx in the error shape, never 500', async () => {
      for (const id of ['0', 'not-an-id', 'FFFFFFFFFFFFFFFFFFFFFFFF', "1' or '1'='1", '..%2F..%2Fetc', '%C3%98']) {
        for (const url of [`/api/systemusers/${id}`, `/api/v2/usergroups/${id}`, `/api/applications/${id}`, `/api/users/${id}`, `/api/v2/ldapservers/${id}`]) {
          const res = await t.call('GET', url);
          expect(res.statusCode, url).toBe(404);
          expectError(res, 404);
        }
      }
      expectError(await t.call('GET', `/api/systemusers/${'a'.repeat(300)}`), 414, 'URI_TOO_LONG');
      expectError(await t.call('GET', '/api/systemusers/%E0%A4%A'), 400, 'MALFORMED_URL');
    });

    // Regression: on PostgreSQL a NUL (U+0000) in an id, a filter or a text field failed the query: 500.
    it('a NUL character in a path, query or body answers 400 INVALID_CHARACTER and changes nothing', async () => {
      const nul = '\u0000';
      const cases: [string, string, unknown?][] = [
        ['GET', `/api/systemusers/${encodeURIComponent(`a${nul}`)}`],
        ['GET', `/api/users/${encodeURIComponent(nul)}`],
        ['DELETE', `/api/v2/apikeys/${encodeURIComponent(nul)}`],
        ['GET', `/api/systemusers?filter=${encodeURIComponent(`username:$eq:a${nul}b`)}`],
        ['GET', `/api/v2/usergroups?filter=${encodeURIComponent(`name:eq:a${nul}b`)}`],
        ['GET', `/api/systemusers?search[searchTerm]=${encodeURIComponent(`a${nul}`)}`],
        ['GET', `/api/v2/journal?filter=${encodeURIComponent(`objectType:eq:a${nul}`)}`],
        ['POST', '/api/applications', { name: `a${nul}b` }],
        ['POST', '/api/users', { email: `${uniq('n')}@acme.test`, roleName: 'Manager', firstname: `a${nul}b` }],
        ['PUT', `/api/organizations/${t.orgId}`, { displayName: `a${nul}b` }],
        ['POST', '/api/v2/apikeys', { name: `a${nul}b` }],
        ['POST', `/api/v2/users/${user._id}/associations`, { op: 'add', type: 'application', id: `a${nul}` }],
        ['PUT', `/api/systemusers/${user._id}`, { phoneNumbers: [{ type: 'work', number: '1', id: `x${nul}` }] }],
      ];
      await changesNothing(async () => {
        for (const [method, url, body] of cases) {
          const res = await t.call(method, url, body === undefined ? {} : { body });
          expect(res.statusCode, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
          expectError(res, 400, 'INVALID_CHARACTER');
        }
      });
      expectError(await t.call('GET', `/api/systemusers/${encodeURIComponent('\u0000')}`, { key: null }), 401, 'API_KEY_MISSING');
    });
  });
});

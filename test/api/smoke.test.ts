import { afterAll, beforeAll, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('api smoke', (kind) => {
  let t: TestApi;
  beforeAll(async () => { t = await openTestApi(kind); });
  afterAll(() => t.dispose());

  it('works end to end', async () => {
    let r = await t.call('POST', '/api/systemusers', { body: { username: 'jdoe', email: 'jdoe@acme.test', firstname: 'Jöhn' } });
    expect(r.statusCode, r.body).toBe(200);
    const user = r.json();
    r = await t.call('GET', '/api/systemusers?filter=email:$eq:JDOE@acme.test');
    expect(r.json().totalCount).toBe(1);
    r = await t.call('POST', '/api/v2/usergroups', { body: { name: 'eng' } });
    expect(r.statusCode, r.body).toBe(201);
    const g = r.json();
    r = await t.call('POST', `/api/v2/usergroups/${g.id}/members`, { body: { op: 'add', type: 'user', id: user._id } });
    expect(r.statusCode, r.body).toBe(204);
    r = await t.call('POST', `/api/v2/usergroups/${g.id}/members`, { body: { op: 'add', type: 'user', id: user._id } });
    expect(r.statusCode, r.body).toBe(409);
    r = await t.call('GET', `/api/v2/usergroups/${g.id}/membership`);
    expect(r.statusCode, r.body).toBe(200);
    console.log(r.body, r.headers['x-total-count']);
    r = await t.call('POST', '/api/applications', { body: { name: 'wiki', ssoUrl: 'https://wiki', config: { idpPrivateKey: { value: 'SECRET' } } } });
    expect(r.statusCode, r.body).toBe(200);
    const app = r.json();
    expect(JSON.stringify(app)).not.toContain('SECRET');
    r = await t.call('POST', `/api/v2/applications/${app._id}/associations`, { body: { op: 'add', type: 'user_group', id: g.id } });
    expect(r.statusCode, r.body).toBe(204);
    r = await t.call('GET', `/api/v2/applications/${app._id}/users`);
    console.log(r.body);
    r = await t.call('GET', `/api/v2/users/${user._id}/applications`);
    console.log(r.body);
    r = await t.call('GET', '/api/v2/journal?limit=3');
    console.log(r.statusCode, r.body.slice(0, 500));
    r = await t.call('GET', '/api/openapi.json');
    expect(r.statusCode, r.body.slice(0, 300)).toBe(200);
    r = await t.call('GET', '/api/systemusers', { key: null });
    console.log(r.statusCode, r.body);
    r = await t.call('POST', '/api/systemusers', { payload: '{bad' });
    console.log(r.statusCode, r.body);
  });
});

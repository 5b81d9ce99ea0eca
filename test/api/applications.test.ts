import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import type { OrgId } from '../../src/core/ids.js';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { createApp, expectError, expectOk, MISSING_ID, uniq } from './helpers.js';

const PEM = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7secretkeymaterial\n-----END PRIVATE KEY-----';
const CERT = '-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEbUNmfjANBgkqhkiG9w0BAQsFADBsMRAwDgYDVQQG\n-----END CERTIFICATE-----';
const TOKEN = 'tok_live_9f8e7d6c5b4a';

describeEachStore('API v1 applications', (kind) => {
  let t: TestApi;
  beforeAll(async () => {
    t = await openTestApi(kind);
  });
  afterAll(() => t.dispose());

  const ctx = () => operatorContext(t.orgId as OrgId);
  const stored = async (id: string) => t.core.applications.openConfig(await t.core.applications.get(ctx(), id));
  const journalOf = async (id: string) => {
    const res = await t.call('GET', `/api/v2/journal?filter=${encodeURIComponent(`objectId:eq:${id}`)}&limit=1000`);
    expectOk(res);
    return res;
  };
  const noSecrets = (text: string) => {
    expect(text).not.toContain('secretkeymaterial');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain('enc:v1:');
  };

  describe('CRUD and list', () => {
    it('POST answers 200 with the v1 application and its defaults', async () => {
      const name = uniq('Salesforce');
      const app = expectOk(await t.call('POST', '/api/applications', { body: { name, ssoUrl: 'https://sso.example.test/sf', color: '#202D38', logo: { url: 'https://example.test/logo.png' } } }));
      expect(app._id).toMatch(/^[0-9a-f]{24}$/);
      expect(app).toMatchObject({
        name,
        displayName: name,
        displayLabel: name,
        ssoUrl: 'https://sso.example.test/sf',
        color: '#202D38',
        logo: { url: 'https://example.test/logo.png', color: '#202D38' },
        active: true,
        beta: false,
        config: {},
        sso: {},
        organization: t.orgId,
      });
      expect(expectOk(await t.call('GET', `/api/applications/${app._id}`))).toEqual(app);
    });

    it('PUT changes only the fields given; DELETE answers the application and later reads 404', async () => {
      const app = await createApp(t, { displayLabel: 'Label', ssoUrl: 'https://a.example.test' });
      const put = expectOk(await t.call('PUT', `/api/applications/${app._id}`, { body: { displayLabel: 'New label', active: false } }));
      expect(put).toMatchObject({ name: app.name, displayLabel: 'New label', ssoUrl: 'https://a.example.test', active: false });
      expect(expectOk(await t.call('DELETE', `/api/applications/${app._id}`))._id).toBe(app._id);
      expectError(await t.call('GET', `/api/applications/${app._id}`), 404, 'APPLICATION_NOT_FOUND');
      expectError(await t.call('DELETE', `/api/applications/${app._id}`), 404, 'APPLICATION_NOT_FOUND');
      expectError(await t.call('PUT', `/api/applications/${MISSING_ID}`, { body: { displayLabel: 'x' } }), 404, 'APPLICATION_NOT_FOUND');
    });

    it('lists {totalCount, results} by name, with filters, sort, fields and a skip past the end', async () => {
      const prefix = uniq('lst');
      for (const s of ['c', 'a', 'b']) await createApp(t, { name: `${prefix}${s}`, active: s !== 'b' });
      const q = `filter=${encodeURIComponent(`name:$gte:${prefix}`)}&filter=${encodeURIComponent(`name:$lte:${prefix}z`)}`;
      const page = expectOk(await t.call('GET', `/api/applications?${q}`));
      expect(page.totalCount).toBe(3);
      expect(page.results.map((a: any) => a.name)).toEqual(['a', 'b', 'c'].map((s) => prefix + s));
      expect(expectOk(await t.call('GET', `/api/applications?${q}&sort=-name&limit=1`)).results.map((a: any) => a.name)).toEqual([`${prefix}c`]);
      expect(expectOk(await t.call('GET', `/api/applications?${q}&filter=active:$eq:false&fields=name`)).results).toEqual([{ _id: expect.any(String), name: `${prefix}b` }]);
      expect(expectOk(await t.call('GET', `/api/applications?${q}&skip=3`))).toEqual({ totalCount: 3, results: [] });
      expectError(await t.call('GET', '/api/applications?filter=secret:$eq:x'), 400, 'INVALID_FILTER');
      expectError(await t.call('GET', '/api/applications?limit=500'), 400, 'INVALID_INPUT');
    });

    it('refuses a blank name, an unknown color and wrong types, and changes nothing', async () => {
      const app = await createApp(t);
      expectError(await t.call('POST', '/api/applications', { body: { name: '   ' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('POST', '/api/applications', { body: { displayLabel: 'no name' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('PUT', `/api/applications/${app._id}`, { body: { name: '' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('PUT', `/api/applications/${app._id}`, { body: { name: '   ' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('PUT', `/api/applications/${app._id}`, { body: { color: 'chartreuse' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('PUT', `/api/applications/${app._id}`, { body: { active: 'yes' } }), 400, 'INVALID_INPUT');
      expectError(await t.call('PUT', `/api/applications/${app._id}`, { body: { config: [] } }), 400, 'INVALID_INPUT');
      expect(expectOk(await t.call('GET', `/api/applications/${app._id}`))).toEqual(app);
    });
  });

  describe('secrets', () => {
    const secretConfig = () => ({
      idpPrivateKey: { value: PEM, type: 'file' },
      idpCertificate: { value: CERT, type: 'file' },
      acsUrl: { value: 'https://sp.example.test/acs' },
      provisioning: { apiToken: TOKEN, baseUrl: 'https://sp.example.test/scim' },
    });

    it('config secrets read "[REDACTED]" in every response; other config comes back as sent', async () => {
      const created = await t.call('POST', '/api/applications', { body: { name: uniq('saml'), config: secretConfig() } });
      noSecrets(created.body);
      const app = created.json();
      expect(app.config).toEqual({
        idpPrivateKey: { value: '[REDACTED]', type: 'file' },
        idpCertificate: { value: CERT, type: 'file' },
        acsUrl: { value: 'https://sp.example.test/acs' },
        provisioning: { apiToken: '[REDACTED]', baseUrl: 'https://sp.example.test/scim' },
      });
      for (const res of [
        await t.call('GET', `/api/applications/${app._id}`),
        await t.call('GET', `/api/applications?filter=${encodeURIComponent(`name:$eq:${app.name}`)}`),
        await t.call('PUT', `/api/applications/${app._id}`, { body: { displayLabel: 'relabelled' } }),
      ]) {
        expect(res.statusCode).toBe(200);
        noSecrets(res.body);
        expect(res.body).toContain('[REDACTED]');
      }
      const stillThere = await stored(app._id);
      expect(stillThere.idpPrivateKey).toEqual({ value: PEM, type: 'file' });
      expect((stillThere.provisioning as Record<string, unknown>).apiToken).toBe(TOKEN);
      const deleted = await t.call('DELETE', `/api/applications/${app._id}`);
      expect(deleted.statusCode).toBe(200);
      noSecrets(deleted.body);
      const journal = await journalOf(app._id);
      expect(journal.json().map((e: any) => e.operation)).toEqual(['create', 'update', 'delete']);
      noSecrets(journal.body);
      expect(journal.json()[0].changes.config.after.idpPrivateKey.value).toBe('[REDACTED]');
    });

    it('sending "[REDACTED]" back on PUT keeps the stored secret; a new value replaces it', async () => {
      const app = await createApp(t, { config: secretConfig() });
      const echoed = await t.call('PUT', `/api/applications/${app._id}`, {
        body: { config: { ...app.config, idpCertificate: { value: 'NEW-CERT', type: 'file' } } },
      });
      expect(echoed.statusCode).toBe(200);
      expect(echoed.json().config.idpCertificate.value).toBe('NEW-CERT');
      let config = await stored(app._id);
      expect(config.idpPrivateKey).toEqual({ value: PEM, type: 'file' });
      expect((config.provisioning as Record<string, unknown>).apiToken).toBe(TOKEN);

      const rotated = await t.call('PUT', `/api/applications/${app._id}`, { body: { config: { ...app.config, idpPrivateKey: { value: 'ROTATED-KEY', type: 'file' } } } });
      expect(rotated.statusCode).toBe(200);
      expect(rotated.body).not.toContain('ROTATED-KEY');
      config = await stored(app._id);
      expect(config.idpPrivateKey).toEqual({ value: 'ROTATED-KEY', type: 'file' });
      const journal = await journalOf(app._id);
      noSecrets(journal.body);
      expect(journal.body).not.toContain('ROTATED-KEY');
      // Regression: a rotation changes nothing visible, and used to leave no journal entry at all.
      const entries = journal.json() as { operation: string; changes: Record<string, unknown> }[];
      expect(entries.at(-1)!.operation).toBe('update');
      expect(entries.at(-1)!.changes['config.idpPrivateKey.value']).toEqual({ before: '[REDACTED]', after: '[REDACTED]' });
      expect(entries.at(-2)!.changes['config.idpPrivateKey.value']).toBeUndefined();
    });

    it('refuses a sealed value smuggled in as a secret', async () => {
      const app = await createApp(t, { config: secretConfig() });
      const sealed = `enc:v1:abcd1234:${'A'.repeat(40)}`;
      expectError(await t.call('PUT', `/api/applications/${app._id}`, { body: { config: { idpPrivateKey: { value: sealed } } } }), 400, 'INVALID_INPUT');
      expect((await stored(app._id)).idpPrivateKey).toEqual({ value: PEM, type: 'file' });
    });
  });
});

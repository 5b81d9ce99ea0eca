/**
 * Two SAML front-ends (two `roster serve` processes, in effect) sharing one store: each has its
 * own in-process replay cache, and the store's record of request IDs refuses a request replayed
 * from one to the other.
 */
import { randomBytes } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApi } from '../../src/api/server.js';
import { createDirectoryCore, type DirectoryCore } from '../../src/core/directory.js';
import { SecretBox } from '../../src/core/secrets.js';
import { SamlApplications } from '../../src/sso/saml-apps.js';
import { registerSaml } from '../../src/sso/saml-routes.js';
import { registerSignIn } from '../../src/sso/sign-in.js';
import { describeEachStore, openTestStore, type TestStore } from '../support/stores.js';

const HOST = 'roster.test';
const BASE = `http://${HOST}`;
const SP_ENTITY_ID = 'https://sp.example.net/metadata';
const ACS_URL = 'https://sp.example.net/acs';

describeEachStore('SAML replay across processes sharing a store', (kind) => {
  let testStore: TestStore;
  let cores: [DirectoryCore, DirectoryCore];
  let fronts: [FastifyInstance, FastifyInstance];
  let appId: string;
  let orgId: string;
  let saml: SAML;

  beforeAll(async () => {
    testStore = await openTestStore(kind);
    const box = SecretBox.fromKey(randomBytes(32));
    cores = [createDirectoryCore(testStore.store, box), createDirectoryCore(testStore.store, box)];
    const first = (await cores[0].bootstrap({ orgName: 'Acme', adminEmail: 'root@acme.test' }))!;
    orgId = first.org.id;
    const one = await buildApi({ core: cores[0], version: 'test', saml: new SamlApplications(cores[0]) });
    const two = Fastify();
    fronts = [one, two];
    for (const [i, front] of fronts.entries()) {
      await registerSignIn(front, cores[i]!);
      await registerSaml(front, cores[i]!);
      await front.ready();
    }
    const res = await one.inject({
      method: 'POST',
      url: '/api/applications',
      headers: { host: HOST, 'x-api-key': first.apiKey, 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'wiki', sso: { type: 'saml' }, config: { acsUrl: { value: ACS_URL }, spEntityId: { value: SP_ENTITY_ID } } }),
    });
    expect(res.statusCode, res.body).toBe(200);
    const app = res.json<{ _id: string; config: Record<string, { value: string }> }>();
    appId = app._id;
    saml = new SAML({
      entryPoint: `${BASE}/saml/${appId}/sso`,
      issuer: SP_ENTITY_ID,
      callbackUrl: ACS_URL,
      audience: SP_ENTITY_ID,
      idpCert: app.config.idpCertificate!.value,
    });
  });
  afterAll(async () => {
    for (const front of fronts ?? []) await front.close();
    await testStore?.dispose();
  });

  const send = (front: FastifyInstance, url: string) => {
    const u = new URL(url);
    return front.inject({ method: 'GET', url: `${u.pathname}${u.search}`, headers: { host: HOST } });
  };
  const refusals = async () =>
    (await cores[0].store.read.journal.list(orgId as never, { since: 0, limit: 1000 })).filter((e) => e.operation === 'sign_in' && e.details?.error === 'REPLAYED');

  it('refuses at the second front-end a request the first accepted, and the other way round', async () => {
    for (const [from, to] of [
      [0, 1],
      [1, 0],
    ] as const) {
      const url = await saml.getAuthorizeUrlAsync('', undefined, {});
      const accepted = await send(fronts[from], url);
      expect(accepted.statusCode, accepted.body).toBe(303);
      expect(new URL(accepted.headers.location as string, BASE).pathname).toBe(`/sso/${orgId}/sign-in`);
      const replayed = await send(fronts[to], url);
      expect(replayed.statusCode).toBe(400);
      expect(replayed.body).toContain('REPLAYED');
      // And to the same front-end again (its own cache answers first).
      expect((await send(fronts[from], url)).statusCode).toBe(400);
    }
    expect(await refusals()).toHaveLength(4);
  });

  it('accepts fresh requests at either front-end', async () => {
    for (const front of fronts) expect((await send(front, await saml.getAuthorizeUrlAsync('', undefined, {}))).statusCode).toBe(303);
  });
});

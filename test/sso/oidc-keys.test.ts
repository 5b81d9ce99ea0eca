/**
 * The OIDC signing keys across processes: two provider front-ends (two `roster serve` processes,
 * in effect) over one store. A key rotated in one is in the other's JWKS within the refresh
 * interval, and both sign with it from its activation, without a restart.
 */
import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { operatorContext } from '../../src/core/context.js';
import { createDirectoryCore, type DirectoryCore } from '../../src/core/directory.js';
import { SecretBox } from '../../src/core/secrets.js';
import { registerOidc } from '../../src/sso/oidc/index.js';
import { waitFor } from '../support/test-roster.js';
import { describeEachStore, openTestStore, type TestStore } from '../support/stores.js';

const REFRESH_SECONDS = 0.5;

describeEachStore('OIDC signing keys across processes sharing a store', (kind) => {
  let testStore: TestStore;
  let cores: DirectoryCore[];
  let fronts: FastifyInstance[];

  beforeAll(async () => {
    testStore = await openTestStore(kind);
    const box = SecretBox.fromKey(randomBytes(32));
    cores = [0, 1].map(() => createDirectoryCore(testStore.store, box, undefined, { passwordCacheSeconds: 0, oidcKeyRefreshSeconds: REFRESH_SECONDS }));
    fronts = [];
    for (const core of cores) {
      const app = Fastify();
      const oidc = await registerOidc(app, core, { proxy: false });
      await app.ready();
      await oidc.start('https://roster.test');
      fronts.push(app);
    }
  });
  afterAll(async () => {
    for (const front of fronts ?? []) await front.close();
    await testStore?.dispose();
  });

  const jwks = async (front: FastifyInstance) => {
    const res = await front.inject({ method: 'GET', url: '/oidc/jwks' });
    expect(res.statusCode).toBe(200);
    return res.json<{ keys: { kid: string; d?: string }[] }>().keys;
  };
  const kids = async (front: FastifyInstance) => (await jwks(front)).map((k) => k.kid);

  it('publishes a rotated key in every process within the refresh interval, and every process signs with it from its activation', async () => {
    const [one, two] = fronts as [FastifyInstance, FastifyInstance];
    const before = await kids(one);
    expect(before).toHaveLength(1);
    expect(await kids(two)).toEqual(before);

    const org = await cores[0]!.organizations.create('Acme');
    const rotatedAt = Date.now();
    const [next] = await cores[0]!.oidc.rotateSigningKey(operatorContext(org.id));
    expect(next!.state).toBe('next');

    // The rotating process publishes it at once (the old key still first: it signs), the other within the interval.
    await waitFor(async () => ((await kids(one)).includes(next!.kid) ? true : undefined), 1_000, () => 'not published by the rotating process');
    expect(await kids(one)).toEqual([before[0], next!.kid]);
    await waitFor(async () => ((await kids(two)).includes(next!.kid) ? true : undefined), REFRESH_SECONDS * 1000 + 1_000, () => 'not published by the other process');
    const publishedAt = Date.now();
    expect(publishedAt - rotatedAt).toBeLessThan(REFRESH_SECONDS * 1000 + 1_000);
    expect(publishedAt).toBeLessThan(Date.parse(next!.activates) + 200);

    // From its activation both sign with it (the active key comes first), the old one still published.
    for (const front of [one, two]) {
      await waitFor(async () => ((await kids(front))[0] === next!.kid ? true : undefined), REFRESH_SECONDS * 1000 + 1_000, () => 'the new key does not sign');
      expect(await kids(front)).toEqual([next!.kid, before[0]]);
    }
    for (const key of [...(await jwks(one)), ...(await jwks(two))]) expect(key).not.toHaveProperty('d');
  });
});

import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import type { User } from '../../src/core/model.js';
import { ProvisioningWorker } from '../../src/integrations/scim-app/worker.js';
import { FAST_RETRY, openProvisioning, type ProvisioningFixture } from '../support/provisioning.js';
import { startScimPeer, type ScimPeer } from '../support/scim-peer.js';
import { describeEachStore } from '../support/stores.js';

describeEachStore('The provisioning worker', (kind) => {
  let peer: ScimPeer;
  let f: ProvisioningFixture;
  const workers: ProvisioningWorker[] = [];
  const users: User[] = [];
  const worker = () => {
    const w = new ProvisioningWorker(f.core.provisioning, { pollMs: 20, targetsMs: 100, retry: FAST_RETRY, failureBackoffMs: 50 });
    workers.push(w);
    w.start();
    return w;
  };
  const active = (name: string) => peer.users().find((u) => u.userName === name)?.active;

  beforeAll(async () => {
    peer = await startScimPeer();
  });
  afterAll(() => peer?.close());
  beforeEach(async () => {
    peer.reset();
    peer.setChaos(undefined);
    f = await openProvisioning(kind);
    users.length = 0;
    for (let i = 0; i < 20; i++) users.push(await f.user(`user${i}`));
    await f.associate(await f.group('Everyone', users));
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    await f?.dispose();
  });

  it('provisions an application as soon as it is enabled, and follows each change within moments', async () => {
    worker();
    await f.enable(peer);
    await peer.waitFor(() => peer.users().length === 20 && peer.groups()[0]?.members.length === 20, 10_000);
    await f.core.users.update(f.ctx, users[3]!.id, { state: 'SUSPENDED' });
    const suspended = Date.now();
    await peer.waitFor(() => active('user3') === false, 2_000);
    expect(Date.now() - suspended).toBeLessThan(2_000);
    await f.core.groups.removeMember(f.ctx, (await f.core.groups.list(f.ctx, { sort: [], page: { limit: 1, skip: 0 } })).items[0]!.id, 'user', users[5]!.id);
    await peer.waitFor(() => active('user5') === false && peer.groups()[0]!.members.length === 19, 2_000);
  });

  it('retries a failing application with backoff until it converges', async () => {
    peer.setChaos({ rate: 1, seed: 3, retryAfterSeconds: 0, methods: ['POST'], kinds: ['failed'] });
    worker();
    await f.enable(peer);
    await expect.poll(async () => (await f.core.provisioning.get(f.ctx, f.appId)).status, { timeout: 5_000 }).toBe('error');
    const failed = await f.core.provisioning.objects(f.ctx, f.appId, { failed: true, page: { limit: 100, skip: 0 } });
    // Every user, and the group.
    expect(failed.total).toBe(21);
    expect(failed.items[0]).toMatchObject({ remoteId: null, error: expect.stringMatching(/HTTP 500/), attempts: expect.any(Number) });
    expect(peer.users()).toEqual([]);
    peer.setChaos(undefined);
    await peer.waitFor(() => peer.users().length === 20, 10_000);
    await expect.poll(async () => (await f.core.provisioning.get(f.ctx, f.appId)).status, { timeout: 5_000 }).toBe('idle');
  });

  it('runs each application in one process at a time: two workers sharing the store write each account once', async () => {
    worker();
    worker();
    await f.enable(peer);
    await peer.waitFor(() => peer.users().length === 20 && peer.groups()[0]?.members.length === 20, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const posts = peer.requests.filter((r) => r.method === 'POST' && r.path === '/Users');
    expect(posts).toHaveLength(20);
    expect(peer.requests.filter((r) => r.status === 409)).toEqual([]);
  });

  it('stops writing once provisioning is disabled', async () => {
    worker();
    await f.enable(peer);
    await peer.waitFor(() => peer.users().length === 20, 10_000);
    await f.core.provisioning.configure(f.ctx, f.appId, { enabled: false });
    await new Promise((r) => setTimeout(r, 300));
    const before = peer.requests.length;
    await f.core.users.update(f.ctx, users[0]!.id, { state: 'SUSPENDED' });
    await new Promise((r) => setTimeout(r, 400));
    expect(peer.requests.length).toBe(before);
    expect(active('user0')).toBe(true);
  });
  it('reads the application\'s ServiceProviderConfig once, not for every change', async () => {
    worker();
    await f.enable(peer);
    await peer.waitFor(() => peer.sizes().users === 20 && peer.sizes().members === 20, 10_000);
    for (const i of [1, 2, 3]) {
      await f.core.users.update(f.ctx, users[i]!.id, { jobTitle: `Title ${i}` });
      await peer.waitFor(() => peer.users().find((u) => u.userName === `user${i}`)?.title === `Title ${i}`, 2_000);
    }
    // The first run reads it (and reconciles); the three changes reuse what it said.
    expect(peer.requests.filter((r) => r.path === '/ServiceProviderConfig')).toHaveLength(1);
  });
  it("does not trust what it remembers of an application once another process has run it", async () => {
    const a = worker();
    await f.enable(peer);
    await peer.waitFor(() => peer.sizes().users === 20 && peer.sizes().members === 20, 10_000);
    await a.stop();
    // Another process suspends user1 in the application while this one is stopped…
    const b = worker();
    await f.core.users.update(f.ctx, users[1]!.id, { state: 'SUSPENDED' });
    await peer.waitFor(() => active('user1') === false, 2_000);
    await b.stop();
    // …so when this one runs again, its own memory of user1 (active) is stale and must not be used.
    a.start();
    await f.core.users.update(f.ctx, users[1]!.id, { state: 'ACTIVATED' });
    await peer.waitFor(() => active('user1') === true, 2_000);
  });
});

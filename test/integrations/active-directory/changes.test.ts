import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdClient, AdError, UAC, uacOf, type AdEntry } from '../../../src/integrations/active-directory/ldap-client.js';
import { useSamba, type TestOu } from '../../support/samba.js';

/** Following AD's changes: DirSync (incremental reads with a cookie) and change notification. */

const dc = await useSamba();
const FILTER = '(|(objectClass=user)(objectClass=group))';
const ATTRIBUTES = ['sAMAccountName', 'userAccountControl', 'member', 'description'];

const byGuid = (changes: AdEntry[]) => new Map(changes.map((c) => [c.objectGuid, c]));

/** Resolves with the first value `poll` gives that is not undefined, or fails after `ms`. */
async function eventually<T>(poll: () => T | undefined, ms: number, what: string): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = poll();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP relay to the DC whose connections the test can cut, to lose a connection on purpose. */
async function relay(port: number): Promise<{ url: string; cut(): void; freeze(): void; close(): Promise<void> }> {
  const pairs = new Set<[Socket, Socket]>();
  const server: Server = createServer((inbound) => {
    const outbound = connect(port, '127.0.0.1');
    const pair: [Socket, Socket] = [inbound, outbound];
    pairs.add(pair);
    inbound.pipe(outbound).pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
      pairs.delete(pair);
    };
    inbound.on('error', end).on('close', end);
    outbound.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  const cut = () => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    url: `ldaps://127.0.0.1:${address.port}`,
    cut,
    // The network goes silent: nothing is forwarded, nothing is closed (a half-open connection).
    freeze: () => {
      for (const [a, b] of pairs) {
        a.unpipe(b);
        b.unpipe(a);
        a.pause();
        b.pause();
      }
    },
    close: async () => {
      cut();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe.skipIf(!dc)('following AD changes (Samba)', () => {
  const samba = dc!;
  let ou: TestOu;
  let client: AdClient;

  beforeAll(async () => {
    ou = await samba.createOu('changes');
    client = ou.client;
  });
  afterAll(async () => {
    await ou?.remove();
  });

  describe('dirSync', () => {
    it('reads everything first, then exactly what changed: created, disabled, deleted', async () => {
      const [kept, toDisable, toDelete] = await Promise.all(['ds-kept', 'ds-disable', 'ds-delete'].map((n) => ou.createUser(n, { password: 'DirSync-pw1' })));
      const group = await ou.createGroup('ds-group', [kept!.dn]);

      const first = await client.dirSync(ou.dn, FILTER, ATTRIBUTES, null);
      expect(first.more).toBe(false);
      expect(first.cookie.length).toBeGreaterThan(0);
      const all = byGuid(first.changes);
      expect([...all.keys()].sort()).toEqual([kept!, toDisable!, toDelete!, group].map((e) => e.objectGuid).sort());
      expect(all.get(kept!.objectGuid)?.attributes).toMatchObject({ samaccountname: ['ds-kept'], useraccountcontrol: [String(UAC.NORMAL_ACCOUNT)] });
      expect(all.get(group.objectGuid)?.attributes.member).toEqual([kept!.dn]);

      // Nothing happened: nothing in this OU comes back.
      const quiet = await client.dirSync(ou.dn, FILTER, ATTRIBUTES, first.cookie);
      expect(quiet.changes).toEqual([]);

      const created = await ou.createUser('ds-created', { password: 'DirSync-pw2' });
      await client.setEnabled(toDisable!.dn, false);
      await client.delete(toDelete!.dn);

      const next = await client.dirSync(ou.dn, FILTER, ATTRIBUTES, quiet.cookie);
      const changes = byGuid(next.changes);
      expect([...changes.keys()].sort()).toEqual([created.objectGuid, toDisable!.objectGuid, toDelete!.objectGuid].sort());
      expect(changes.get(created.objectGuid)).toMatchObject({ deleted: false, dn: created.dn, attributes: { samaccountname: ['ds-created'] } });
      const disabled = changes.get(toDisable!.objectGuid)!;
      expect(disabled.deleted).toBe(false);
      expect(uacOf(disabled.attributes.useraccountcontrol?.[0]) & UAC.ACCOUNTDISABLE).toBe(UAC.ACCOUNTDISABLE);
      // Only what changed: the name did not.
      expect(disabled.attributes.samaccountname).toBeUndefined();
      const gone = changes.get(toDelete!.objectGuid)!;
      expect(gone.deleted).toBe(true);
      expect(gone.dn).toMatch(/CN=Deleted Objects,/);
      expect(gone.attributes.lastknownparent).toEqual([ou.dn]);

      // The earlier cookie still works: the same changes again (as the objects stand now).
      const replay = await client.dirSync(ou.dn, FILTER, ATTRIBUTES, quiet.cookie);
      expect([...byGuid(replay.changes).keys()].sort()).toEqual([...changes.keys()].sort());
      expect(byGuid(replay.changes).get(toDelete!.objectGuid)?.deleted).toBe(true);

      // Membership changes come as the whole member attribute (no incremental values).
      await client.addMembers(group.dn, [created.dn]);
      const members = await client.dirSync(ou.dn, FILTER, ATTRIBUTES, next.cookie);
      expect(byGuid(members.changes).get(group.objectGuid)?.attributes.member?.sort()).toEqual([kept!.dn, created.dn].sort());
    });

    it('refuses a garbage or truncated cookie with an error, within the timeout', async () => {
      // A good cookie first, with the usual limit: the first DirSync reads the whole domain, which
      // takes seconds when other test files load the DC. The short limit is for the bad cookies.
      const { cookie } = await client.dirSync(ou.dn, FILTER, ATTRIBUTES, null, { timeoutMs: 60_000 });
      const c = await samba.connect({ timeoutMs: 3_000 });
      try {
        for (const bad of [Buffer.from('not a DirSync cookie'), cookie.subarray(0, cookie.length - 7), cookie.subarray(0, 20)]) {
          const started = Date.now();
          const e = await c.dirSync(ou.dn, FILTER, ATTRIBUTES, bad).then(
            () => undefined,
            (error: unknown) => error,
          );
          expect(e).toBeInstanceOf(AdError);
          expect(e).toMatchObject({ kind: 'bad_request', invalidCookie: true });
          expect(Date.now() - started).toBeLessThan(3_500);
        }
        // The client is still usable afterwards.
        expect((await c.dirSync(ou.dn, FILTER, ATTRIBUTES, cookie, { timeoutMs: 60_000 })).more).toBe(false);
      } finally {
        await c.close();
      }
    });

    it('runs one round at a time, on a connection with a longer limit when asked', async () => {
      const rounds = [];
      for await (const round of client.dirSyncRounds(ou.dn, FILTER, ATTRIBUTES, null, { timeoutMs: 60_000 })) rounds.push(round);
      // Samba ignores maxBytes: the whole domain comes in one round.
      expect(rounds).toHaveLength(1);
      expect(rounds[0]!.more).toBe(false);
      const one = await client.dirSync(samba.baseDn, FILTER, ['sAMAccountName'], null, { maxRounds: 1, maxBytes: 1_000 });
      expect(one.changes.length).toBeGreaterThan(rounds[0]!.changes.length);
      expect(one.changes.some((c) => c.attributes.samaccountname?.[0] === 'Administrator')).toBe(true);
    });
  });

  describe('watch', () => {
    it("hears a change made by another connection within 2 s", async () => {
      const user = await ou.createUser('w-target');
      const heard: (string | undefined)[] = [];
      const watch = await client.watch(ou.dn, (dn) => heard.push(dn));
      try {
        expect(watch.active).toBe(true);
        const other = await samba.connect();
        try {
          const started = Date.now();
          await other.modify(user.dn, [{ attribute: 'description', values: [`changed ${started}`] }]);
          await eventually(() => (heard.includes(user.dn) ? true : undefined), 2_000, 'the notification');
          console.info(`change notification arrived ${Date.now() - started} ms after the modify`);
          heard.length = 0;
          const added = await ou.createUser('w-added');
          await eventually(() => (heard.includes(added.dn) ? true : undefined), 2_000, 'the notification of an add');
        } finally {
          await other.close();
        }
      } finally {
        await watch.close();
      }
      expect(watch.active).toBe(false);
    });

    it('reports deletions too, and nothing from outside the watched subtree', async () => {
      const watched = `OU=watched,${ou.dn}`;
      const elsewhere = `OU=elsewhere,${ou.dn}`;
      await client.add(watched, { objectClass: ['top', 'organizationalUnit'] });
      await client.add(elsewhere, { objectClass: ['top', 'organizationalUnit'] });
      const inside = await ou.createUser('w-inside', { parentDn: watched });
      const outside = await ou.createUser('w-outside', { parentDn: elsewhere });
      const heard: (string | undefined)[] = [];
      const watch = await client.watch(watched, (dn) => heard.push(dn));
      try {
        await client.modify(outside.dn, [{ attribute: 'description', values: ['not watched'] }]);
        await client.modify(inside.dn, [{ attribute: 'description', values: ['watched'] }]);
        await eventually(() => (heard.includes(inside.dn) ? true : undefined), 2_000, 'the notification from inside');
        await client.delete(inside.dn);
        await eventually(() => heard.find((dn) => dn?.startsWith('CN=w-inside\\0ADEL:')), 2_000, 'the notification of the delete');
        expect(heard).not.toContain(outside.dn);
        // An explicit scope searches exactly that (here one level of the OU).
        const exact: (string | undefined)[] = [];
        const one = await client.watch(elsewhere, (dn) => exact.push(dn), { scope: 'one' });
        try {
          await client.modify(outside.dn, [{ attribute: 'description', values: ['now watched'] }]);
          await eventually(() => (exact.includes(outside.dn) ? true : undefined), 2_000, 'the one-level notification');
        } finally {
          await one.close();
        }
      } finally {
        await watch.close();
      }
    });

    it('reports a lost connection, reconnects, and says it may have missed changes', async () => {
      const proxy = await relay(636);
      const errors: AdError[] = [];
      const heard: (string | undefined)[] = [];
      const c = await AdClient.connect(samba.adminOptions({ url: proxy.url, timeoutMs: 3_000 }));
      try {
        const user = await ou.createUser('w-lost');
        const watch = await c.watch(ou.dn, (dn) => heard.push(dn), { onError: (e) => errors.push(e), reconnectDelayMs: 100 });
        proxy.cut();
        await eventually(() => errors[0], 2_000, 'the loss to be reported');
        expect(errors[0]).toMatchObject({ kind: 'transient' });
        // Back: onChange(undefined) says "read again", and notifications flow on the new connection.
        await eventually(() => (heard.includes(undefined) ? true : undefined), 5_000, 'the reconnect');
        expect(watch.reconnects).toBe(1);
        expect(watch.active).toBe(true);
        await client.modify(user.dn, [{ attribute: 'description', values: ['after the loss'] }]);
        await eventually(() => (heard.includes(user.dn) ? true : undefined), 2_000, 'a notification after reconnecting');
        // The main connection went down with the relay too; the next call reconnects.
        expect((await c.entry(user.dn, ['description']))?.attributes.description).toEqual(['after the loss']);
      } finally {
        await c.close();
        await proxy.close();
      }
    });

    it('notices a silent network with its heartbeat', async () => {
      const proxy = await relay(636);
      const errors: AdError[] = [];
      const c = await AdClient.connect(samba.adminOptions({ url: proxy.url, timeoutMs: 400 }));
      const watch = await c.watch(ou.dn, () => undefined, { onError: (e) => errors.push(e), heartbeatMs: 200, reconnectDelayMs: 50 });
      try {
        proxy.freeze();
        const started = Date.now();
        const lost = await eventually(() => errors[0], 2_000, 'the heartbeat to fail');
        expect(lost).toMatchObject({ kind: 'transient' });
        expect(lost.message).toMatch(/no answer within 400 ms/);
        expect(Date.now() - started).toBeLessThan(1_500);
        // New connections through the relay work again: the watch comes back.
        await eventually(() => (watch.reconnects === 1 ? true : undefined), 3_000, 'the reconnect');
      } finally {
        await c.close();
        await proxy.close();
      }
    });

    it('keeps trying while the DC is unreachable, reporting each failure', async () => {
      const proxy = await relay(636);
      const errors: AdError[] = [];
      const heard: (string | undefined)[] = [];
      const c = await AdClient.connect(samba.adminOptions({ url: proxy.url, timeoutMs: 1_000 }));
      const watch = await c.watch(ou.dn, (dn) => heard.push(dn), { onError: (e) => errors.push(e), reconnectDelayMs: 50 });
      try {
        await proxy.close(); // nothing listens any more
        await eventually(() => (errors.length >= 3 ? true : undefined), 3_000, 'repeated failures');
        expect(errors.slice(1).every((e) => e.kind === 'transient' && /ECONNREFUSED/.test(e.message))).toBe(true);
        expect(watch.active).toBe(false);
        expect(heard).toEqual([]);
      } finally {
        await c.close();
      }
      expect(watch.active).toBe(false);
    });
  });
});

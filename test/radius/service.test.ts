import { generate } from 'otplib';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { RadiusServer, User } from '../../src/core/model.js';
import { Attr, Code, decodePacket, encodePacket, integerValue } from '../../src/radius/packet.js';
import { RadiusListener } from '../../src/radius/server.js';
import { openTestCore, type TestCore } from '../support/core.js';
import { accountingRequest, decode, exchange, exchanges, papRequest, statusServer, text } from '../support/radius-client.js';
import { describeEachStore } from '../support/stores.js';

const SECRET = 'a-long-shared-secret-for-tests';
const PASSWORD = 'CorrectHorse42x';
const silent = { error: () => undefined, warn: () => undefined };

describeEachStore('RADIUS service over UDP', (kind) => {
  let t: TestCore;
  let listener: RadiusListener;
  let port: number;
  let acctPort: number;
  let server: RadiusServer;
  let ada: User;

  beforeEach(async () => {
    t = await openTestCore(kind);
    listener = new RadiusListener(t.core, { host: '127.0.0.1', authPort: 0, acctPort: 0, maxPending: 64, clientRate: 10_000, maxConversations: 100 }, silent);
    const ports = await listener.listen();
    port = ports.authPort!;
    acctPort = ports.acctPort!;
    server = await t.core.radiusServers.create(t.ctx, { name: 'Office WiFi', networkSourceIp: '127.0.0.1', sharedSecret: SECRET });
    ada = await t.core.users.create(t.ctx, { username: 'ada', email: 'ada@example.com', password: PASSWORD });
    await t.core.associations.change(t.ctx, { type: 'user', id: ada.id }, { type: 'radius_server', id: server.id }, 'add');
  });
  afterEach(async () => {
    await listener.close();
    await t.dispose();
  });

  const pap = async (username: string, password: string, extra = [] as { type: number; value: Buffer }[]) => decode(await exchange(port, papRequest(SECRET, username, password, extra)));
  const events = async () => (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.operation === 'radius_auth');

  it('accepts the right password, rejects a wrong one, and journals both with a reason', async () => {
    expect((await pap('ada', PASSWORD))?.code).toBe(Code.AccessAccept);
    expect((await pap('ADA', PASSWORD))?.code).toBe(Code.AccessAccept);
    expect((await pap('ada', 'wrong'))?.code).toBe(Code.AccessReject);
    await listener.close();
    const journaled = await events();
    expect(journaled.map((e) => [e.details?.result, e.details?.reason ?? null])).toEqual([
      ['accept', null],
      ['accept', null],
      ['reject', 'INVALID_CREDENTIALS'],
    ]);
    expect(journaled[0]).toMatchObject({ objectType: 'radius_server', objectId: server.id, actorId: ada.id, origin: 'radius' });
  });

  it('rejects users not associated with the server, and admits them through a nested group', async () => {
    const bob = await t.core.users.create(t.ctx, { username: 'bob', email: 'bob@example.com', password: PASSWORD });
    expect((await pap('bob', PASSWORD))?.code).toBe(Code.AccessReject);
    const outer = await t.core.groups.create(t.ctx, { name: 'Staff' });
    const inner = await t.core.groups.create(t.ctx, { name: 'Engineers' });
    await t.core.groups.addMember(t.ctx, outer.id, 'user_group', inner.id);
    await t.core.groups.addMember(t.ctx, inner.id, 'user', bob.id);
    await t.core.associations.change(t.ctx, { type: 'user_group', id: outer.id }, { type: 'radius_server', id: server.id }, 'add');
    expect((await pap('bob', PASSWORD))?.code).toBe(Code.AccessAccept);
  });

  it('rejects a suspended user at once, and a locked one even with the right password', async () => {
    await t.core.users.update(t.ctx, ada.id, { state: 'SUSPENDED' });
    expect((await pap('ada', PASSWORD))?.code).toBe(Code.AccessReject);
    await t.core.users.update(t.ctx, ada.id, { state: 'ACTIVATED' });
    await t.core.organizations.update(t.ctx, t.ctx.orgId, { passwordPolicy: { maxLoginAttempts: 2, lockoutTimeInSeconds: 300 } });
    await pap('ada', 'wrong1');
    await pap('ada', 'wrong2');
    expect((await pap('ada', PASSWORD))?.code).toBe(Code.AccessReject);
    await listener.close();
    expect((await events()).at(-1)?.details?.reason).toBe('ACCOUNT_LOCKED');
  });

  it('returns reply attributes from the user’s groups, the newest group’s VLAN winning', async () => {
    const older = await t.core.groups.create(t.ctx, {
      name: 'Guests',
      attributes: { radius: { reply: [{ name: 'Tunnel-Private-Group-Id', value: '30' }, { name: 'Tunnel-Type', value: 'VLAN' }, { name: 'Tunnel-Medium-Type', value: 'IEEE-802' }, { name: 'Class', value: 'guests' }] } },
    });
    t.clock.now = new Date(t.clock.now.getTime() + 1000);
    const newer = await t.core.groups.create(t.ctx, {
      name: 'Engineers',
      attributes: { radius: { reply: [{ name: 'Tunnel-Private-Group-Id', value: '10' }, { name: 'Tunnel-Type', value: '13' }, { name: 'Tunnel-Medium-Type', value: '6' }, { name: 'Class', value: 'engineers' }] } },
    });
    for (const g of [older, newer]) {
      await t.core.groups.addMember(t.ctx, g.id, 'user', ada.id);
      await t.core.associations.change(t.ctx, { type: 'user_group', id: g.id }, { type: 'radius_server', id: server.id }, 'add');
    }
    const reply = (await pap('ada', PASSWORD))!;
    expect(reply.code).toBe(Code.AccessAccept);
    const values = (type: number) => reply.attributes.filter((a) => a.type === type).map((a) => a.value.toString('hex'));
    expect(values(Attr.TunnelPrivateGroupId).map((h) => Buffer.from(h, 'hex').toString())).toEqual(['10']);
    expect(values(Attr.TunnelType)).toEqual(['0000000d']);
    expect(values(Attr.TunnelMediumType)).toEqual(['00000006']);
    expect(values(Attr.Class).map((h) => Buffer.from(h, 'hex').toString()).sort()).toEqual(['engineers', 'guests']);
  });

  it('refuses bad RADIUS reply attributes on a group with a clear error', async () => {
    await expect(t.core.groups.create(t.ctx, { name: 'Bad', attributes: { radius: { reply: [{ name: 'Tunnel-Type', value: 'banana' }] } } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });

  it('drops requests without a valid Message-Authenticator, with the wrong secret, or from unknown addresses', async () => {
    const good = papRequest(SECRET, 'ada', PASSWORD);
    // The same request with its Message-Authenticator removed (the first attribute).
    const packet = decodePacket(good);
    const stripped = encodePacket({ ...packet, attributes: packet.attributes.filter((a) => a.type !== Attr.MessageAuthenticator) });
    expect(await exchange(port, stripped, 500)).toBeUndefined();
    expect(await exchange(port, papRequest('not-the-shared-secret-at-all', 'ada', PASSWORD), 500)).toBeUndefined();
    await t.core.radiusServers.update(t.ctx, server.id, { networkSourceIp: '10.9.9.9' });
    await listener.service.registry.refresh();
    expect(await exchange(port, papRequest(SECRET, 'ada', PASSWORD), 500)).toBeUndefined();
    expect(listener.service.counters).toMatchObject({ badAuthenticator: 2, unknownClient: 1 });
  });

  it('answers a retransmission with the same response without authenticating again', async () => {
    const request = papRequest(SECRET, 'ada', PASSWORD);
    const [first, second] = await exchanges(port, [request, request]);
    expect(decode(first)?.code).toBe(Code.AccessAccept);
    expect(second?.equals(first!)).toBe(true);
    expect(listener.service.counters.accessRequests).toBe(1);
  });

  it('takes a TOTP code appended to the password, or asks for it with an Access-Challenge; a reused code is refused', async () => {
    await t.core.radiusServers.update(t.ctx, server.id, { mfa: 'ENABLED' });
    await listener.service.registry.refresh();
    const { secret } = await t.core.credentials.enrollTotp(t.ctx, ada.id);
    const code = (at: Date) => generate({ secret, epoch: Math.floor(at.getTime() / 1000) });
    await t.core.credentials.confirmTotp(t.ctx, ada.id, await code(t.clock.now));
    t.clock.now = new Date(t.clock.now.getTime() + 30_000);

    const appended = await code(t.clock.now);
    expect((await pap('ada', PASSWORD + appended))?.code).toBe(Code.AccessAccept);
    expect((await pap('ada', PASSWORD + appended))?.code).toBe(Code.AccessReject);

    t.clock.now = new Date(t.clock.now.getTime() + 30_000);
    const challenge = (await pap('ada', PASSWORD))!;
    expect(challenge.code).toBe(Code.AccessChallenge);
    const state = challenge.attributes.find((a) => a.type === Attr.State)!.value;
    expect((await pap('ada', '000000', [{ type: Attr.State, value: state }]))?.code).toBe(Code.AccessChallenge);
    expect((await pap('ada', await code(t.clock.now), [{ type: Attr.State, value: state }]))?.code).toBe(Code.AccessAccept);
    expect((await pap('ada', PASSWORD + '123456'))?.code).not.toBe(Code.AccessAccept);
    await listener.close();
    const reasons = (await events()).map((e) => e.details?.reason ?? e.details?.result);
    expect(reasons).toContain('TOTP_REPLAYED');
    expect(reasons).toContain('INVALID_TOTP');
  });

  it('rejects users without TOTP when the server requires MFA', async () => {
    await t.core.radiusServers.update(t.ctx, server.id, { mfa: 'REQUIRED' });
    await listener.service.registry.refresh();
    expect((await pap('ada', PASSWORD))?.code).toBe(Code.AccessReject);
  });

  it('journals accounting records before acknowledging them, and answers Status-Server', async () => {
    const request = accountingRequest(SECRET, [
      { type: Attr.AcctStatusType, value: integerValue(1) },
      text(Attr.AcctSessionId, 'session-1'),
      text(Attr.UserName, 'ada'),
      text(Attr.NasIdentifier, 'ap-1'),
    ]);
    const reply = decode(await exchange(acctPort, request));
    expect(reply?.code).toBe(Code.AccountingResponse);
    const records = (await t.core.journal.list(t.ctx, 0, 1000)).filter((e) => e.operation === 'radius_accounting');
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ actorId: ada.id, details: { statusType: 'Start', sessionId: 'session-1', nasIdentifier: 'ap-1', username: 'ada' } });
    // A tampered accounting request is not acknowledged.
    const tampered = Buffer.from(request);
    tampered.writeUInt8(tampered.readUInt8(tampered.length - 1) ^ 1, tampered.length - 1);
    expect(await exchange(acctPort, tampered, 500)).toBeUndefined();
    // Status-Server (RFC 5997) on the authentication port is answered with an Access-Accept.
    expect(decode(await exchange(port, statusServer(SECRET)))?.code).toBe(Code.AccessAccept);
  });
});

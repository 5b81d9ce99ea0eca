import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ntHash } from '../../src/core/nt-hash.js';
import { authenticatorResponse, eapMschapv2Keys, ntChallengeResponse } from '../../src/radius/mschapv2.js';
import { startRadiusRoster, type RadiusRoster } from '../support/radius-roster.js';
import { tempDir } from '../support/roster-process.js';
import { makeUserCertificates } from '../support/tls.js';
import { eapMschapv2, eapolTest, radclient, radiusToolsUnavailable, radtest, tunnelled } from '../support/radius-tools.js';

/**
 * FreeRADIUS's own client tools — radclient, radtest and eapol_test from Debian — against the
 * real `roster serve`: PAP, EAP-TTLS/PAP, PEAP-MSCHAPv2 and EAP-MSCHAPv2, authorization by
 * association, VLAN attributes per group, TOTP appended to the password, dropped requests.
 */

const required = process.env.ROSTER_REQUIRE_PEERS === '1';
const reason = radiusToolsUnavailable();
if (reason && !required) console.warn(`SKIPPING RADIUS peer tests: ${reason}`);

const SECRET = 'wifi-shared-secret-0123456789';
const PW = { alice: 'Wifi-Secret-Pw-1', bob: 'Wifi-Secret-Pw-22', carol: 'Wifi-Secret-Pw-333', dave: 'Wifi-Secret-Pw-4444' };

describe.skipIf(reason !== undefined && !required)('RADIUS with FreeRADIUS tools against roster serve', () => {
  let r: RadiusRoster;
  let serverId: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    if (reason) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
    r = await startRadiusRoster();
    // NT hashes first, so the passwords set below get one (PEAP-MSCHAPv2 needs it).
    await r.setOrgSettings({ radius: { storeNtHashes: true } });
    serverId = await r.createRadiusServer({ name: 'Office WiFi', networkSourceIp: '127.0.0.1', sharedSecret: SECRET });
    for (const [name, password] of Object.entries(PW)) ids[name] = await r.createUser({ username: name, password });
    // alice directly; carol through Engineering (VLAN 10), nested in Staff; bob not at all; dave through Guests (VLAN 30).
    await r.connect(serverId, 'user', ids.alice!);
    const vlan = (id: string) => ({
      radius: {
        reply: [
          { name: 'Tunnel-Type', value: 'VLAN' },
          { name: 'Tunnel-Medium-Type', value: 'IEEE-802' },
          { name: 'Tunnel-Private-Group-Id', value: id },
          { name: 'Filter-Id', value: `vlan-${id}` },
        ],
      },
    });
    const staff = await r.createGroup('Staff');
    const engineering = await r.createGroup('Engineering', vlan('10'));
    const guests = await r.createGroup('Guests', vlan('30'));
    await r.addMember(staff, 'user_group', engineering);
    await r.addMember(engineering, 'user', ids.carol!);
    await r.addMember(guests, 'user', ids.dave!);
    await r.connect(serverId, 'user_group', staff);
    await r.connect(serverId, 'user_group', guests);
  });

  afterAll(async () => {
    await r?.stop();
  });

  /** A request with a Message-Authenticator; PAP when a password is given. */
  const auth = (username: string, password: string | undefined, extra: Record<string, string | number> = {}, secret = SECRET) =>
    radclient({
      host: '127.0.0.1',
      port: r.authPort,
      secret,
      code: 'auth',
      attributes: [
        { 'User-Name': username, ...(password === undefined ? {} : { 'User-Password': password }), 'Message-Authenticator': '0x00', 'NAS-Identifier': 'ap-lobby', ...extra },
      ],
      retries: 1,
      timeoutSeconds: 1,
    });
  const replyCodes = (result: { replies: { code: string }[] }) => result.replies.map((x) => x.code);
  const eap = (network: string) => eapolTest({ host: '127.0.0.1', port: r.authPort, secret: SECRET, network, timeoutSeconds: 10 });
  const tunnel = (eapType: 'PEAP' | 'TTLS', phase2: 'MSCHAPV2' | 'PAP', user: string, password: string) => tunnelled(eapType, phase2, user, password, r.certs.caFile);

  it('PAP: radclient gets an Access-Accept for the right password and an Access-Reject for a wrong one', async () => {
    expect(replyCodes(await auth('alice', PW.alice))).toEqual(['Access-Accept']);
    const wrong = await auth('alice', 'not-the-password');
    expect(replyCodes(wrong)).toEqual(['Access-Reject']);
    expect(wrong.exitCode).toBe(1);
  });

  it('PAP: radtest gets an Access-Accept', async () => {
    const result = await radtest('alice', PW.alice, `127.0.0.1:${r.authPort}`, SECRET);
    expect(replyCodes(result), result.stdout + result.stderr).toEqual(['Access-Accept']);
  });

  it('rejects a user who is not associated with the RADIUS server, and journals why', async () => {
    expect(replyCodes(await auth('bob', PW.bob))).toEqual(['Access-Reject']);
    const event = await r.waitForJournal(['operation:eq:radius_auth'], (e) => e.details?.username === 'bob');
    expect(event).toMatchObject({ objectType: 'radius_server', objectId: serverId, origin: 'radius', details: { result: 'reject', reason: 'NOT_ASSOCIATED', method: 'pap', nasIdentifier: 'ap-lobby' } });
  });

  it('returns each group’s VLAN attributes: Engineering (through nested Staff) and Guests', async () => {
    const carol = (await auth('carol', PW.carol)).replies[0]!;
    expect(carol.code).toBe('Access-Accept');
    expect(carol.attributes).toMatchObject({
      'Tunnel-Type:0': ['VLAN'],
      'Tunnel-Medium-Type:0': ['IEEE-802'],
      'Tunnel-Private-Group-Id:0': ['10'],
      'Filter-Id': ['vlan-10'],
    });
    const dave = (await auth('dave', PW.dave)).replies[0]!;
    expect(dave.attributes).toMatchObject({ 'Tunnel-Private-Group-Id:0': ['30'], 'Filter-Id': ['vlan-30'] });
  });

  it('drops a request signed with the wrong shared secret, and one without a Message-Authenticator', async () => {
    const wrongSecret = await auth('alice', PW.alice, {}, 'some-other-secret-0123456789');
    expect(wrongSecret.replies).toEqual([]);
    const noAuthenticator = await radclient({
      host: '127.0.0.1',
      port: r.authPort,
      secret: SECRET,
      code: 'auth',
      attributes: [{ 'User-Name': 'alice', 'User-Password': PW.alice }],
      retries: 1,
      timeoutSeconds: 1,
    });
    expect(noAuthenticator.replies).toEqual([]);
    // The same request with one is answered, so it was the missing attribute that dropped it.
    expect(replyCodes(await auth('alice', PW.alice))).toEqual(['Access-Accept']);
  });

  it('EAP-TTLS/PAP succeeds for an associated user, with MPPE keys that match the peer’s', async () => {
    const result = await eap(tunnel('TTLS', 'PAP', 'alice', PW.alice));
    expect(result.success, result.output.slice(-3000)).toBe(true);
    expect(result.mppeOk).toBe(true);
    expect(result.replyAttributes?.['User-Name']).toEqual(['alice']);
    expect((await eap(tunnel('TTLS', 'PAP', 'alice', 'wrong-password'))).success).toBe(false);
  });

  it('EAP-TTLS with MS-CHAP-V2 inside succeeds, and fails with a wrong password', async () => {
    const good = await eap(tunnel('TTLS', 'MSCHAPV2', 'carol', PW.carol));
    expect(good.success, good.output.slice(-3000)).toBe(true);
    expect(good.mppeOk).toBe(true);
    expect((await eap(tunnel('TTLS', 'MSCHAPV2', 'carol', 'wrong-password'))).success).toBe(false);
  });

  it('PEAP-MSCHAPv2 succeeds with the right password (VLAN attributes included) and fails with a wrong one', async () => {
    const good = await eap(tunnel('PEAP', 'MSCHAPV2', 'carol', PW.carol));
    expect(good.success, good.output.slice(-3000)).toBe(true);
    expect(good.mppeOk).toBe(true);
    // eapol_test prints tagged strings as hex: "3130" is "10".
    expect(good.replyAttributes?.['Tunnel-Private-Group-Id']?.map((v) => Buffer.from(v, 'hex').toString())).toEqual(['10']);
    const bad = await eap(tunnel('PEAP', 'MSCHAPV2', 'carol', 'wrong-password'));
    expect(bad.success).toBe(false);
    expect(bad.replyCode).toBe('Access-Reject');
    const unassociated = await eap(tunnel('PEAP', 'MSCHAPV2', 'bob', PW.bob));
    expect(unassociated.success).toBe(false);
  });

  it('EAP-MSCHAPv2 on its own succeeds, with the RFC 3079 keys', async () => {
    const result = await eap(eapMschapv2('alice', PW.alice));
    expect(result.success, result.output.slice(-3000)).toBe(true);
    expect(result.mppeOk).toBe(true);
  });

  it('MS-CHAPv2 in RADIUS attributes (as VPN servers send it): MS-CHAP2-Success and the MPPE keys, or MS-CHAP-Error', async () => {
    const challenge = randomBytes(16);
    const peerChallenge = randomBytes(16);
    const ident = 7;
    const attempt = (password: string) => {
      const ntResponse = ntChallengeResponse(challenge, peerChallenge, 'alice', ntHash(password));
      const response = Buffer.concat([Buffer.from([ident, 0]), peerChallenge, Buffer.alloc(8), ntResponse]);
      const hex = (b: Buffer) => `0x${b.toString('hex')}`;
      return { ntResponse, reply: auth('alice', undefined, { 'MS-CHAP-Challenge': hex(challenge), 'MS-CHAP2-Response': hex(response) }) };
    };
    const good = attempt(PW.alice);
    const accepted = (await good.reply).replies[0]!;
    expect(accepted.code).toBe('Access-Accept');
    const success = authenticatorResponse(ntHash(PW.alice), good.ntResponse, peerChallenge, challenge, 'alice');
    expect(accepted.attributes['MS-CHAP2-Success']).toEqual([`0x${Buffer.concat([Buffer.from([ident]), Buffer.from(success)]).toString('hex')}`]);
    const keys = eapMschapv2Keys(ntHash(PW.alice), good.ntResponse);
    expect(accepted.attributes['MS-MPPE-Recv-Key']).toEqual([`0x${keys.recvKey.toString('hex')}`]);
    expect(accepted.attributes['MS-MPPE-Send-Key']).toEqual([`0x${keys.sendKey.toString('hex')}`]);
    const rejected = (await attempt('wrong-password').reply).replies[0]!;
    expect(rejected.code).toBe('Access-Reject');
    // radclient prints it as a string: the ident octet, then the error.
    expect(rejected.attributes['MS-CHAP-Error']).toEqual([expect.stringMatching(/^\x07E=691 R=0 C=[0-9A-F]{32} V=3$/)]);
  });

  it('rejects a suspended user at once, over PAP and PEAP', async () => {
    await r.suspend(ids.dave!);
    try {
      expect(replyCodes(await auth('dave', PW.dave))).toEqual(['Access-Reject']);
      expect((await eap(tunnel('PEAP', 'MSCHAPV2', 'dave', PW.dave))).success).toBe(false);
    } finally {
      await r.updateUser(ids.dave!, { state: 'ACTIVATED' });
    }
    expect(replyCodes(await auth('dave', PW.dave))).toEqual(['Access-Accept']);
  });

  it('TOTP appended to the PAP password: accepted once, refused when reused or missing', async () => {
    const enrolled = await r.must<{ secret: string }>('POST', `/api/v2/users/${ids.alice}/totp`, {}, 200, 201);
    const now = () => Math.floor(Date.now() / 1000);
    await r.must('POST', `/api/v2/users/${ids.alice}/totp/confirm`, { code: await generate({ secret: enrolled.secret, epoch: now() - 30 }) }, 200);
    await r.updateRadiusServer(serverId, { mfa: 'ENABLED' });
    // The front-end notices server changes within a second.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    try {
      const code = await generate({ secret: enrolled.secret, epoch: now() });
      expect(replyCodes(await auth('alice', PW.alice + code))).toEqual(['Access-Accept']);
      expect(replyCodes(await auth('alice', PW.alice + code))).toEqual(['Access-Reject']);
      // Without a code the server asks for one.
      expect(replyCodes(await auth('alice', PW.alice))).toEqual(['Access-Challenge']);
      // MS-CHAPv2 cannot carry a code, so a user with TOTP cannot use PEAP on this server.
      expect((await eap(tunnel('PEAP', 'MSCHAPV2', 'alice', PW.alice))).success).toBe(false);
      await r.waitForJournal(['operation:eq:radius_auth'], (e) => e.details?.username === 'alice' && e.details.reason === 'TOTP_REPLAYED');
      await r.waitForJournal(['operation:eq:radius_auth'], (e) => e.details?.username === 'alice' && e.details.reason === 'MFA_UNSUPPORTED_METHOD');
    } finally {
      await r.updateRadiusServer(serverId, { mfa: 'DISABLED' });
    }
  });

  it('EAP-TLS: a certificate from the server’s CA naming an associated user (by CN or email) gets in; others do not', async () => {
    const dir = tempDir('roster-eap-tls-');
    try {
      const users = await makeUserCertificates(dir.path, [{ cn: 'alice' }, { cn: 'Carol Example', email: 'carol@radius-e2e.test' }, { cn: 'bob' }]);
      const strangers = await makeUserCertificates(mkdtempSync(join(dir.path, 'other-')), [{ cn: 'alice' }]);
      await r.updateRadiusServer(serverId, { userCertEnabled: true, caCert: users.ca });
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const tls = (files: { certFile: string; keyFile: string }, identity: string) =>
        eap(['key_mgmt=WPA-EAP', 'eap=TLS', `identity="${identity}"`, `ca_cert="${r.certs.caFile}"`, `client_cert="${files.certFile}"`, `private_key="${files.keyFile}"`].join('\n'));
      const alice = await tls(users.users.get('alice')!, 'alice');
      expect(alice.success, alice.output.slice(-3000)).toBe(true);
      expect(alice.mppeOk).toBe(true);
      const carol = await tls(users.users.get('carol@radius-e2e.test')!, 'carol');
      expect(carol.success, carol.output.slice(-3000)).toBe(true);
      expect(carol.replyAttributes?.['User-Name']).toEqual(['carol']);
      expect((await tls(users.users.get('bob')!, 'bob')).success).toBe(false);
      expect((await tls(strangers.users.get('alice')!, 'alice')).success).toBe(false);
      await r.waitForJournal(['operation:eq:radius_auth'], (e) => e.details?.method === 'eap-tls' && e.details.reason === 'NOT_ASSOCIATED');
      await r.waitForJournal(['operation:eq:radius_auth'], (e) => e.details?.method === 'eap-tls' && e.details.reason === 'CERTIFICATE_UNTRUSTED');
    } finally {
      await r.updateRadiusServer(serverId, { userCertEnabled: false });
      dir.remove();
    }
  });

  it('journals accounting records and acknowledges them', async () => {
    const result = await radclient({
      host: '127.0.0.1',
      port: r.acctPort,
      secret: SECRET,
      code: 'acct',
      attributes: [{ 'User-Name': 'alice', 'Acct-Status-Type': 'Stop', 'Acct-Session-Id': 'sess-42', 'Acct-Session-Time': 3600, 'NAS-Identifier': 'ap-lobby' }],
    });
    expect(replyCodes(result)).toEqual(['Accounting-Response']);
    const entry = await r.waitForJournal(['operation:eq:radius_accounting'], (e) => e.details?.sessionId === 'sess-42');
    expect(entry).toMatchObject({ actor: { type: 'user', id: ids.alice }, details: { statusType: 'Stop', sessionTime: 3600, nasIdentifier: 'ap-lobby' } });
  });
});

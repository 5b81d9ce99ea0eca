import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ntHash } from '../../src/core/nt-hash.js';
import { encryptMppeKey, mppeSalts } from '../../src/radius/mppe.js';
import { authenticatorResponse, eapMschapv2Keys, ntChallengeResponse } from '../../src/radius/mschapv2.js';
import {
  eapolTest,
  freeradiusUnavailable,
  radclient,
  radiusToolsUnavailable,
  radtest,
  eapMschapv2,
  startFreeradius,
  tunnelled,
  type Freeradius,
} from '../support/radius-tools.js';

const required = process.env.ROSTER_REQUIRE_PEERS === '1';
const toolsReason = radiusToolsUnavailable();
const reason = toolsReason ?? freeradiusUnavailable();
if (reason && !required) console.warn(`SKIPPING RADIUS tool tests: ${reason}`);

const hex = (value: string): Buffer => Buffer.from(value, 'hex');
const octets = (value: Buffer): string => `0x${value.toString('hex')}`;

describe.skipIf(reason !== undefined && !required)('RADIUS test tools against a throwaway FreeRADIUS', () => {
  let server: Freeradius;

  beforeAll(async () => {
    if (reason) throw new Error(`${reason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
    server = await startFreeradius({
      users: [
        {
          name: 'alice',
          password: 'alice-pw-1',
          reply: { 'Reply-Message': 'Hello, "alice"', Class: 'engineers', 'Tunnel-Type': 'VLAN', 'Tunnel-Private-Group-Id': '42' },
        },
        { name: 'quoted', password: `it's a "pass\\word"` },
        { name: 'User', password: 'clientPass' },
      ],
    });
  });

  afterAll(async () => {
    await server?.stop();
  });

  const auth = (...attributes: Record<string, string | number>[]) =>
    radclient({ host: '127.0.0.1', port: server.authPort, secret: server.secret, code: 'auth', attributes });

  it('gets an Access-Accept with the reply attributes of the users file', async () => {
    const result = await auth({ 'User-Name': 'alice', 'User-Password': 'alice-pw-1' });
    expect(result.exitCode).toBe(0);
    expect(result.replies).toEqual([
      {
        code: 'Access-Accept',
        id: expect.any(Number),
        attributes: {
          'Reply-Message': ['Hello, "alice"'],
          Class: [octets(Buffer.from('engineers'))],
          'Tunnel-Type:0': ['VLAN'],
          'Tunnel-Private-Group-Id:0': ['42'],
        },
      },
    ]);
  });

  it('gets an Access-Reject for a wrong password, and radclient exits 1', async () => {
    const result = await auth({ 'User-Name': 'alice', 'User-Password': 'wrong' });
    expect(result.exitCode).toBe(1);
    expect(result.replies.map((reply) => reply.code)).toEqual(['Access-Reject']);
  });

  it('quotes passwords with quotes and backslashes the same way on both sides', async () => {
    const result = await auth({ 'User-Name': 'quoted', 'User-Password': `it's a "pass\\word"` }, { 'User-Name': 'quoted', 'User-Password': 'its a pass' });
    expect(result.replies.map((reply) => reply.code)).toEqual(['Access-Accept', 'Access-Reject']);
  });

  it('sends Status-Server and Accounting-Request', async () => {
    const status = await radclient({ host: '127.0.0.1', port: server.authPort, secret: server.secret, code: 'status', attributes: [{}] });
    expect(status.replies.map((reply) => reply.code)).toEqual(['Access-Accept']);
    const accounting = await radclient({
      host: '127.0.0.1',
      port: server.acctPort,
      secret: server.secret,
      code: 'acct',
      attributes: [{ 'User-Name': 'alice', 'Acct-Status-Type': 'Start', 'Acct-Session-Id': 'session-1', 'NAS-Port': 3 }],
    });
    expect(accounting.exitCode).toBe(0);
    expect(accounting.replies.map((reply) => reply.code)).toEqual(['Accounting-Response']);
  });

  it('runs radclient in parallel mode: 200 requests, 64 in flight', async () => {
    const result = await radclient({
      host: '127.0.0.1',
      port: server.authPort,
      secret: server.secret,
      code: 'auth',
      attributes: [{ 'User-Name': 'alice', 'User-Password': 'alice-pw-1' }],
      count: 200,
      parallel: 64,
    });
    expect(result.exitCode).toBe(0);
    expect(result.replies).toHaveLength(200);
    expect(result.replies.every((reply) => reply.code === 'Access-Accept')).toBe(true);
  });

  it('runs radtest with PAP, CHAP and MS-CHAP', async () => {
    for (const type of ['pap', 'chap', 'mschap'] as const) {
      const result = await radtest('alice', 'alice-pw-1', `127.0.0.1:${server.authPort}`, server.secret, { type, nasPort: 7 });
      expect(result.exitCode, `${type}: ${result.stdout}${result.stderr}`).toBe(0);
      expect(result.replies[0]?.code).toBe('Access-Accept');
      expect(result.replies[0]?.attributes['Reply-Message']).toEqual(['Hello, "alice"']);
    }
    const wrong = await radtest('alice', 'wrong', `127.0.0.1:${server.authPort}`, server.secret, { type: 'mschap' });
    expect(wrong.replies[0]?.code).toBe('Access-Reject');
  });

  const eap = (network: string) => eapolTest({ host: '127.0.0.1', port: server.authPort, secret: server.secret, network });

  it('authenticates with eapol_test over PEAP-MSCHAPv2, with matching MPPE keys', async () => {
    const result = await eap(tunnelled('PEAP', 'MSCHAPV2', 'alice', 'alice-pw-1', server.caCertPath));
    expect(result.success, result.output).toBe(true);
    expect(result.mppeOk).toBe(true);
    expect(result.replyCode).toBe('Access-Accept');
    expect(result.replyAttributes?.['User-Name']).toEqual(['anonymous']);
    expect(result.keys?.peerPmk).toEqual(result.keys?.serverRecvKey);
  });

  it('authenticates with eapol_test over TTLS/PAP, with matching MPPE keys', async () => {
    const result = await eap(tunnelled('TTLS', 'PAP', 'alice', 'alice-pw-1', server.caCertPath));
    expect(result.success, result.output).toBe(true);
    expect(result.mppeOk).toBe(true);
  });

  it('authenticates with eapol_test over EAP-MSCHAPv2: the MSK is the server Recv-Key then Send-Key', async () => {
    const result = await eap(eapMschapv2('alice', 'alice-pw-1'));
    expect(result.success, result.output).toBe(true);
    expect(result.mppeOk).toBe(true);
    const { peerPmk, serverRecvKey, serverSendKey } = result.keys ?? {};
    expect(serverRecvKey).toHaveLength(16);
    expect(peerPmk).toEqual(Buffer.concat([serverRecvKey!, serverSendKey!]));
  });

  it('fails eapol_test with a wrong password', async () => {
    const result = await eap(tunnelled('PEAP', 'MSCHAPV2', 'alice', 'wrong', server.caCertPath));
    expect(result.success).toBe(false);
    expect(result.exitCode).not.toBe(0);
    expect(result.replyCode).toBe('Access-Reject');
  });

  it('agrees with our MS-CHAPv2 on the RFC 2759 section 9.2 vector: success, authenticator response and MPPE keys', async () => {
    const authenticatorChallenge = hex('5B5D7C7D7B3F2F3E3C2C602132262628');
    const peerChallenge = hex('21402324255E262A28295F2B3A337C7E');
    const hash = ntHash('clientPass');
    const ntResponse = ntChallengeResponse(authenticatorChallenge, peerChallenge, 'User', hash);
    const ident = 0x2a;
    // RFC 2548 section 2.3.2: Ident, Flags, Peer-Challenge, 8 reserved octets, Response.
    const response = Buffer.concat([Buffer.from([ident, 0]), peerChallenge, Buffer.alloc(8), ntResponse]);
    const result = await auth({ 'User-Name': 'User', 'MS-CHAP-Challenge': octets(authenticatorChallenge), 'MS-CHAP2-Response': octets(response) });

    expect(result.replies[0]?.code).toBe('Access-Accept');
    const attributes = result.replies[0]!.attributes;
    const success = authenticatorResponse(hash, ntResponse, peerChallenge, authenticatorChallenge, 'User');
    expect(success).toBe('S=407A5589115FD0D6209F510FE9C04566932CDA56');
    expect(attributes['MS-CHAP2-Success']).toEqual([octets(Buffer.concat([Buffer.from([ident]), Buffer.from(success)]))]);
    const keys = eapMschapv2Keys(hash, ntResponse);
    expect(attributes['MS-MPPE-Recv-Key']).toEqual([octets(keys.recvKey)]);
    expect(attributes['MS-MPPE-Send-Key']).toEqual([octets(keys.sendKey)]);
  });
});

describe.skipIf(toolsReason !== undefined && !required)('radclient against our MS-MPPE key encryption', () => {
  let responder: Socket;
  const secret = Buffer.from('mppe-responder-secret');
  const sendKey = hex('8B7CDC149B993A1BA118CB153F56DCCB');
  const recvKey = hex('D5F0E9521E3EA9589645E86051C82226');

  beforeAll(async () => {
    if (toolsReason) throw new Error(`${toolsReason}; ROSTER_REQUIRE_PEERS=1 forbids skipping`);
    responder = await acceptWithMppeKeys(secret, sendKey, recvKey);
  });

  afterAll(() => {
    responder?.close();
  });

  it('decrypts the MS-MPPE-Send-Key and MS-MPPE-Recv-Key that encryptMppeKey wrote', async () => {
    const result = await radclient({
      host: '127.0.0.1',
      port: responder.address().port,
      secret: secret.toString(),
      code: 'auth',
      attributes: [{ 'User-Name': 'alice', 'User-Password': 'anything' }],
      count: 3,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.replies).toHaveLength(3);
    for (const reply of result.replies) {
      expect(reply.attributes['MS-MPPE-Send-Key']).toEqual([octets(sendKey)]);
      expect(reply.attributes['MS-MPPE-Recv-Key']).toEqual([octets(recvKey)]);
    }
  });
});

/** A UDP responder that accepts every Access-Request with the two MS-MPPE key attributes. */
async function acceptWithMppeKeys(secret: Buffer, sendKey: Buffer, recvKey: Buffer): Promise<Socket> {
  const socket = createSocket('udp4');
  socket.on('message', (request, peer) => {
    const requestAuthenticator = request.subarray(4, 20);
    const [sendSalt, recvSalt] = mppeSalts(2);
    const attributes = Buffer.concat([
      microsoftAttribute(16, encryptMppeKey(sendKey, secret, requestAuthenticator, sendSalt!)),
      microsoftAttribute(17, encryptMppeKey(recvKey, secret, requestAuthenticator, recvSalt!)),
    ]);
    const header = Buffer.from([2, request[1]!, 0, 0]);
    header.writeUInt16BE(20 + attributes.length, 2);
    // RFC 2865 section 3: MD5(Code ‖ Identifier ‖ Length ‖ Request Authenticator ‖ Attributes ‖ Secret).
    const responseAuthenticator = createHash('md5').update(header).update(requestAuthenticator).update(attributes).update(secret).digest();
    socket.send(Buffer.concat([header, responseAuthenticator, attributes]), peer.port, peer.address);
  });
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

/** A Vendor-Specific attribute of vendor 311 (RFC 2548 section 2). */
function microsoftAttribute(type: number, value: Buffer): Buffer {
  const header = Buffer.from([26, 8 + value.length, 0, 0, 0x01, 0x37, type, 2 + value.length]);
  return Buffer.concat([header, value]);
}

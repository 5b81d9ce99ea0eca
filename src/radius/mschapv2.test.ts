import { describe, expect, it } from 'vitest';
import { ntHash } from '../core/nt-hash.js';
import {
  asymmetricStartKey,
  authenticatorResponse,
  challengeHash,
  eapMschapv2Keys,
  hashNtPasswordHash,
  masterKey,
  ntChallengeResponse,
  verifyNtResponse,
} from './mschapv2.js';

const hex = (value: string): Buffer => Buffer.from(value, 'hex');

// RFC 2759 section 9.2 and RFC 3079 section 3.5.3 share these inputs.
const USERNAME = 'User';
const PASSWORD = 'clientPass';
const AUTHENTICATOR_CHALLENGE = hex('5B5D7C7D7B3F2F3E3C2C602132262628');
const PEER_CHALLENGE = hex('21402324255E262A28295F2B3A337C7E');
const PASSWORD_HASH = hex('44EBBA8D5312B8D611474411F56989AE');
const NT_RESPONSE = hex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
const MASTER_KEY = hex('FDECE3717A8C838CB388E527AE3CDD31');
// RFC 3079 section 3.5.3 computes its sample from the server's side (IsSend = IsServer = TRUE).
const SERVER_SEND_START_KEY = hex('8B7CDC149B993A1BA118CB153F56DCCB');
// Not printed in RFC 3079; FreeRADIUS returns the same MS-MPPE-Recv-Key (test/radius/tools.test.ts).
const SERVER_RECEIVE_START_KEY = hex('D5F0E9521E3EA9589645E86051C82226');

describe('MS-CHAPv2 (RFC 2759 section 9.2)', () => {
  it('hashes the password with the NT hash the core module computes', () => {
    expect(ntHash(PASSWORD)).toEqual(PASSWORD_HASH);
  });

  it('computes ChallengeHash', () => {
    expect(challengeHash(PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, USERNAME)).toEqual(hex('D02E4386BCE91226'));
  });

  it('computes the NT-Response', () => {
    expect(ntChallengeResponse(AUTHENTICATOR_CHALLENGE, PEER_CHALLENGE, USERNAME, PASSWORD_HASH)).toEqual(NT_RESPONSE);
  });

  it('computes PasswordHashHash', () => {
    expect(hashNtPasswordHash(PASSWORD_HASH)).toEqual(hex('41C00C584BD2D91C4017A2A12FA59F3F'));
  });

  it('computes the AuthenticatorResponse', () => {
    expect(authenticatorResponse(PASSWORD_HASH, NT_RESPONSE, PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, USERNAME)).toBe(
      'S=407A5589115FD0D6209F510FE9C04566932CDA56',
    );
  });

  it('accepts the RFC NT-Response', () => {
    expect(verifyNtResponse(AUTHENTICATOR_CHALLENGE, PEER_CHALLENGE, USERNAME, PASSWORD_HASH, NT_RESPONSE)).toBe(true);
  });

  it('rejects the response to a wrong password, a changed challenge and a truncated response', () => {
    const wrong = ntChallengeResponse(AUTHENTICATOR_CHALLENGE, PEER_CHALLENGE, USERNAME, ntHash('clientPass!'));
    expect(wrong).not.toEqual(NT_RESPONSE);
    expect(verifyNtResponse(AUTHENTICATOR_CHALLENGE, PEER_CHALLENGE, USERNAME, PASSWORD_HASH, wrong)).toBe(false);
    const otherChallenge = Buffer.from(AUTHENTICATOR_CHALLENGE);
    otherChallenge[0]! ^= 1;
    expect(verifyNtResponse(otherChallenge, PEER_CHALLENGE, USERNAME, PASSWORD_HASH, NT_RESPONSE)).toBe(false);
    expect(verifyNtResponse(AUTHENTICATOR_CHALLENGE, PEER_CHALLENGE, USERNAME, PASSWORD_HASH, NT_RESPONSE.subarray(0, 23))).toBe(false);
  });

  it('hashes the user name without a prepended domain, but keeps a realm suffix', () => {
    const plain = challengeHash(PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, USERNAME);
    expect(challengeHash(PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, `EXAMPLE\\${USERNAME}`)).toEqual(plain);
    expect(challengeHash(PEER_CHALLENGE, AUTHENTICATOR_CHALLENGE, `${USERNAME}@example.org`)).not.toEqual(plain);
  });

  it('refuses inputs of the wrong size', () => {
    expect(() => challengeHash(PEER_CHALLENGE.subarray(1), AUTHENTICATOR_CHALLENGE, USERNAME)).toThrow(RangeError);
    expect(() => ntChallengeResponse(AUTHENTICATOR_CHALLENGE, PEER_CHALLENGE, USERNAME, Buffer.alloc(15))).toThrow(RangeError);
  });
});

describe('MPPE keys from MS-CHAPv2 (RFC 3079 section 3.5.3)', () => {
  it('computes the MasterKey', () => {
    expect(masterKey(PASSWORD_HASH, NT_RESPONSE)).toEqual(MASTER_KEY);
  });

  it('computes the 128-bit send start key, which is the client receive key', () => {
    expect(asymmetricStartKey(MASTER_KEY, 16, true, true)).toEqual(SERVER_SEND_START_KEY);
    expect(asymmetricStartKey(MASTER_KEY, 16, false, false)).toEqual(SERVER_SEND_START_KEY);
  });

  it('computes the receive start key, which is the client send key', () => {
    expect(asymmetricStartKey(MASTER_KEY, 16, false, true)).toEqual(SERVER_RECEIVE_START_KEY);
    expect(asymmetricStartKey(MASTER_KEY, 16, true, false)).toEqual(SERVER_RECEIVE_START_KEY);
  });

  it('truncates the start key for 40- and 56-bit sessions', () => {
    expect(asymmetricStartKey(MASTER_KEY, 8, true, true)).toEqual(SERVER_SEND_START_KEY.subarray(0, 8));
  });

  it('gives the server MS-MPPE-Recv-Key the receive key and MS-MPPE-Send-Key the send key', () => {
    expect(eapMschapv2Keys(PASSWORD_HASH, NT_RESPONSE)).toEqual({
      recvKey: SERVER_RECEIVE_START_KEY,
      sendKey: SERVER_SEND_START_KEY,
    });
  });
});

import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { ActivityRecorder } from '../core/activity-recorder.js';
import type { Actor } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import type { OrgId } from '../core/ids.js';
import type { RadiusServer, User, UserGroup } from '../core/model.js';
import { foldCase } from '../core/query.js';
import { mergeReplyAttributes, parseReplyAttributes, type ReplyAttribute } from '../core/radius-reply.js';
import type { Credential, LoginResult } from '../core/services/authentication.js';
import type { DirectoryView } from '../core/services/directory-view.js';
import { ClientRegistry, plainAddress, type RadiusClient } from './clients.js';
import { EapCode, EapType, decodeEap, encodeEap, type EapPacket } from './eap/eap.js';
import { EapTlsMethod } from './eap/eap-tls.js';
import { TLS_VERSIONS } from './eap/tls-tunnel.js';
import type { AuthResult, Authenticator, EapMethod, SessionKeys } from './eap/method.js';
import { MsChapV2Method, PeapMethod } from './eap/peap.js';
import { TtlsMethod } from './eap/ttls.js';
import { failureCode, withoutDomain } from './eap/mschapv2-exchange.js';
import { encryptMppeKey, mppeSalts } from './mppe.js';
import { authenticatorResponse, eapMschapv2Keys, verifyNtResponse } from './mschapv2.js';
import {
  Attr,
  Code,
  MalformedPacket,
  MsAttr,
  VENDOR_MICROSOFT,
  attribute,
  attributes,
  decodePacket,
  decodeUserPassword,
  encodeResponse,
  integerAttribute,
  integerValue,
  splitAttribute,
  textAttribute,
  vendorAttribute,
  vendorAttributes,
  verifyAccountingRequest,
  verifyMessageAuthenticator,
  type Attribute,
  type Packet,
} from './packet.js';

export interface RadiusServiceOptions {
  /** The EAP server certificate; without it only PAP and EAP-MSCHAPv2 are offered. */
  tls?: { cert: Buffer; key: Buffer };
  /** EAP conversations and MFA challenges in progress at once; more are refused until some end. */
  maxConversations: number;
  /** How long a conversation or an MFA challenge waits for the peer's next message. */
  conversationTimeoutMs: number;
}

/** Counters for operators: what was dropped and why. */
export interface RadiusCounters {
  accessRequests: number;
  accepts: number;
  rejects: number;
  challenges: number;
  accountingRequests: number;
  unknownClient: number;
  malformed: number;
  badAuthenticator: number;
  dropped: number;
}

type Method = 'pap' | 'mschapv2' | 'eap-tls' | 'eap-ttls' | 'peap' | 'eap-mschapv2' | 'eap';

/** What a request came to, before it is encoded and journaled. */
interface Answer {
  code: number;
  attributes: Attribute[];
  /** Journaled as a radius_auth event (challenges are not journaled). */
  event?: { result: 'accept' | 'reject'; reason?: string; username?: string; user?: User; method: Method };
}

interface Request {
  client: RadiusClient;
  packet: Packet;
  address: string;
}

interface Conversation {
  orgId: OrgId;
  serverId: string;
  method: EapMethod;
  /** The user the inner authentication found, for the reply attributes and the journal. */
  found: { user?: User };
  /** The identifier the peer's next response must carry. */
  expectedId: number;
  /** Whether the method has had a response (a Nak is only allowed before). */
  started: boolean;
  busy: boolean;
  expires: number;
}

interface MfaChallenge {
  serverId: string;
  user: User;
  username: string;
  expires: number;
  attempts: number;
}

const TOTP_SUFFIX = /^([\s\S]+?)(\d{6})$/;
const MAX_CHALLENGE_ATTEMPTS = 3;
const METHOD_NAMES: Record<number, Method> = { [EapType.Tls]: 'eap-tls', [EapType.Ttls]: 'eap-ttls', [EapType.Peap]: 'peap', [EapType.MsChapV2]: 'eap-mschapv2' };

type PasswordOutcome =
  | { kind: 'accept'; user: User }
  | { kind: 'challenge'; user: User }
  | { kind: 'reject'; reason: string; user?: User };

/**
 * The RADIUS request pipeline (RFC 2865, 2866, 2869, 3579): who sent it, whether it is authentic,
 * then PAP, EAP-TTLS/PAP, PEAP-MSCHAPv2 or EAP-MSCHAPv2 against the directory, with TOTP as a
 * second factor, authorization by association with the RADIUS server, and reply attributes from
 * the user's groups. Every accept and reject is journaled; accounting records are journaled before
 * they are acknowledged.
 */
export class RadiusService {
  readonly registry: ClientRegistry;
  readonly counters: RadiusCounters = {
    accessRequests: 0,
    accepts: 0,
    rejects: 0,
    challenges: 0,
    accountingRequests: 0,
    unknownClient: 0,
    malformed: 0,
    badAuthenticator: 0,
    dropped: 0,
  };
  private readonly conversations = new Map<string, Conversation>();
  private readonly challenges = new Map<string, MfaChallenge>();
  private readonly replyCache = new WeakMap<UserGroup, ReplyAttribute[]>();
  private readonly sweeper: NodeJS.Timeout;
  /** The TLS context of PEAP and EAP-TTLS (no client certificates). */
  private readonly tunnelContext: SecureContext | undefined;


  constructor(
    private readonly core: DirectoryCore,
    private readonly activity: ActivityRecorder,
    private readonly options: RadiusServiceOptions,
  ) {
    this.registry = new ClientRegistry(core);
    this.tunnelContext = options.tls ? createSecureContext({ ...options.tls, ...TLS_VERSIONS }) : undefined;
    this.sweeper = setInterval(() => this.sweep(), Math.min(options.conversationTimeoutMs, 5000));
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const c of this.conversations.values()) c.method.close();
    this.conversations.clear();
    this.challenges.clear();
  }

  /** An Access-Request or Status-Server datagram; resolves to the response, or undefined to drop it. */
  async access(datagram: Buffer, address: string): Promise<Buffer | undefined> {
    const prepared = await this.prepare(datagram, address);
    if (!prepared) return undefined;
    const { client, packet } = prepared;
    if (packet.code === Code.StatusServer) {
      // RFC 5997: Status-Server needs a Message-Authenticator and is answered with an Access-Accept.
      if (!verifyMessageAuthenticator(datagram, packet, client.secret)) return this.drop('badAuthenticator');
      return this.respond(packet, Code.AccessAccept, [], client.secret);
    }
    if (packet.code !== Code.AccessRequest) return this.drop('malformed');
    // The BlastRADIUS hardening: every Access-Request must carry a valid Message-Authenticator.
    if (!verifyMessageAuthenticator(datagram, packet, client.secret)) return this.drop('badAuthenticator');
    this.counters.accessRequests++;
    const request: Request = { client, packet, address: plainAddress(address) };
    const answer = await this.answer(request);
    if (!answer) return this.drop('dropped');
    this.count(answer.code);
    if (answer.event) this.journalAuth(request, answer.event);
    return this.respond(packet, answer.code, answer.attributes, client.secret);
  }

  /** An Accounting-Request datagram: acknowledged only once it is in the journal (RFC 2866 §2). */
  async accounting(datagram: Buffer, address: string): Promise<Buffer | undefined> {
    const prepared = await this.prepare(datagram, address);
    if (!prepared) return undefined;
    const { client, packet } = prepared;
    if (packet.code !== Code.AccountingRequest) return this.drop('malformed');
    if (!verifyAccountingRequest(datagram, client.secret)) return this.drop('badAuthenticator');
    if (attribute(packet, Attr.MessageAuthenticator) && !verifyMessageAuthenticator(datagram, packet, client.secret)) return this.drop('badAuthenticator');
    this.counters.accountingRequests++;
    const server = client.server;
    const username = textAttribute(packet, Attr.UserName);
    const integer = (type: number) => integerAttribute(packet, type);
    const details = {
      statusType: ACCT_STATUS[integer(Attr.AcctStatusType) ?? 0] ?? integer(Attr.AcctStatusType) ?? null,
      sessionId: textAttribute(packet, Attr.AcctSessionId) ?? null,
      username: username ?? null,
      sessionTime: integer(Attr.AcctSessionTime) ?? null,
      inputOctets: integer(Attr.AcctInputOctets) ?? null,
      outputOctets: integer(Attr.AcctOutputOctets) ?? null,
      terminateCause: integer(Attr.AcctTerminateCause) ?? null,
      ...this.nasDetails(packet, plainAddress(address)),
    };
    const userId = username ? (await this.view(server))?.userIdsByName.get(foldCase(username)) : undefined;
    const actor: Actor = userId ? { type: 'user', id: userId } : { type: 'system', id: null };
    try {
      await this.activity.recordDurable(server.orgId, actor, {
        objectType: 'radius_server',
        objectId: server.id,
        operation: 'radius_accounting',
        changes: {},
        details,
      });
    } catch {
      // Not recorded, so not acknowledged: the NAS retransmits.
      return this.drop('dropped');
    }
    return this.respond(packet, Code.AccountingResponse, [], client.secret, false);
  }

  /**
   * Encodes a response, with the request's Proxy-State attributes copied unmodified and in order
   * (RFC 2865 §5.33). One that would not fit in a packet is dropped.
   */
  private respond(request: Packet, code: number, attrs: Attribute[], secret: Buffer, withMessageAuthenticator = true): Buffer | undefined {
    const proxyState = request.attributes.filter((a) => a.type === Attr.ProxyState);
    try {
      return encodeResponse(request, code, [...attrs, ...proxyState], secret, withMessageAuthenticator);
    } catch (e) {
      if (e instanceof RangeError) return this.drop('dropped');
      throw e;
    }
  }

  private async prepare(datagram: Buffer, address: string): Promise<{ client: RadiusClient; packet: Packet } | undefined> {
    const client = await this.registry.lookup(address);
    if (!client) return this.drop('unknownClient');
    try {
      return { client, packet: decodePacket(datagram) };
    } catch (e) {
      if (e instanceof MalformedPacket) return this.drop('malformed');
      throw e;
    }
  }

  private drop(counter: keyof RadiusCounters): undefined {
    this.counters[counter]++;
    return undefined;
  }

  private count(code: number): void {
    if (code === Code.AccessAccept) this.counters.accepts++;
    else if (code === Code.AccessReject) this.counters.rejects++;
    else if (code === Code.AccessChallenge) this.counters.challenges++;
  }

  private async answer(request: Request): Promise<Answer | undefined> {
    const eap = attributes(request.packet, Attr.EapMessage);
    if (eap.length > 0) return this.eap(request, Buffer.concat(eap));
    if (attribute(request.packet, Attr.UserPassword)) return this.pap(request);
    const microsoft = vendorAttributes(request.packet, VENDOR_MICROSOFT);
    const challenge = microsoft.find((a) => a.type === MsAttr.ChapChallenge)?.value;
    const response = microsoft.find((a) => a.type === MsAttr.Chap2Response)?.value;
    if (challenge && response) return this.msChapV2(request, challenge, response);
    const username = textAttribute(request.packet, Attr.UserName);
    return this.reject('AUTH_METHOD_UNSUPPORTED', 'pap', username);
  }

  // ---- PAP -----------------------------------------------------------------------------------

  private async pap(request: Request): Promise<Answer> {
    const { packet, client } = request;
    const username = textAttribute(packet, Attr.UserName);
    if (!username) return this.reject('NO_USER_NAME', 'pap');
    const password = decodeUserPassword(attribute(packet, Attr.UserPassword)!, client.secret, packet.authenticator);
    if (!password) return this.reject('MALFORMED_PASSWORD', 'pap', username);
    const text = password.toString('utf8');
    const state = attribute(packet, Attr.State);
    if (state) return this.answerChallenge(request, state, username, text);
    const outcome = await this.passwordLogin(client.server, username, text, true);
    if (outcome.kind === 'reject') return this.reject(outcome.reason, 'pap', username, outcome.user);
    if (outcome.kind === 'challenge') return this.challenge(client.server, username, outcome.user);
    return this.accept(client.server, outcome.user, 'pap', username, []);
  }

  /**
   * A password, perhaps with a 6-digit TOTP code appended, for a server that may want a second
   * factor. A user with a confirmed TOTP who appended nothing gets an Access-Challenge when
   * `canChallenge`, otherwise a reject.
   */
  private async passwordLogin(server: RadiusServer, username: string, password: string, canChallenge: boolean): Promise<PasswordOutcome> {
    const view = await this.view(server);
    if (!view) return { kind: 'reject', reason: 'SERVER_GONE' };
    if (server.mfa === 'DISABLED') return this.outcome(server, await this.login(view, username, { password }));
    const known = view.users.get(view.userIdsByName.get(foldCase(username))!);
    const hasTotp = known ? await this.core.credentials.totpConfirmed(server.orgId, known.id) : false;
    const appended = hasTotp ? TOTP_SUFFIX.exec(password) : null;
    if (appended) {
      // Try the password without the code first; a password that itself ends in six digits
      // falls through to the whole string, and only that attempt counts towards lockout.
      const split = await this.login(view, username, { password: appended[1]! }, false);
      if (split.ok || split.reason !== 'INVALID_CREDENTIALS') {
        const first = this.outcome(server, split);
        if (first.kind !== 'accept') return first;
        return this.secondFactor(server, first.user, appended[2]!);
      }
    }
    const whole = this.outcome(server, await this.login(view, username, { password }));
    if (whole.kind !== 'accept') return whole;
    if (hasTotp) return canChallenge ? { kind: 'challenge', user: whole.user } : { kind: 'reject', reason: 'MFA_CODE_REQUIRED', user: whole.user };
    if (server.mfa === 'REQUIRED' || server.mfa === 'ALWAYS') return { kind: 'reject', reason: 'MFA_NOT_ENROLLED', user: whole.user };
    return whole;
  }

  private async secondFactor(server: RadiusServer, user: User, code: string): Promise<PasswordOutcome> {
    const result = await this.core.credentials.checkTotp(server.orgId, user.id, code);
    if (result === 'ok') return { kind: 'accept', user };
    if (result === 'invalid') await this.core.authentication.recordFailure(server.orgId, user.id, 'radius');
    return { kind: 'reject', reason: result === 'replayed' ? 'TOTP_REPLAYED' : result === 'not_enrolled' ? 'MFA_NOT_ENROLLED' : 'INVALID_TOTP', user };
  }

  private challenge(server: RadiusServer, username: string, user: User): Answer {
    if (this.conversations.size + this.challenges.size >= this.options.maxConversations) return this.reject('TOO_MANY_CONVERSATIONS', 'pap', username, user);
    const state = randomBytes(16);
    this.challenges.set(state.toString('hex'), {
      serverId: server.id,
      user,
      username,
      expires: Date.now() + this.options.conversationTimeoutMs,
      attempts: 0,
    });
    return {
      code: Code.AccessChallenge,
      attributes: [
        { type: Attr.ReplyMessage, value: Buffer.from('Enter the 6-digit code from your authenticator app') },
        { type: Attr.State, value: state },
      ],
    };
  }

  /** The answer to an Access-Challenge: the User-Password is the TOTP code. */
  private async answerChallenge(request: Request, state: Buffer, username: string, code: string): Promise<Answer> {
    const server = request.client.server;
    const key = state.toString('hex');
    const pending = this.challenges.get(key);
    if (!pending || pending.serverId !== server.id || pending.expires < Date.now() || foldCase(pending.username) !== foldCase(username)) {
      return this.reject('UNKNOWN_STATE', 'pap', username);
    }
    this.challenges.delete(key);
    // The user may have been suspended, locked or disconnected since the password was checked.
    const view = await this.view(server);
    const user = view?.users.get(pending.user.id);
    if (!user) return this.reject('NOT_ASSOCIATED', 'pap', username, pending.user);
    const now = await this.core.store.read.users.findById(server.orgId, user.id);
    if (!now || now.accountLocked) return this.reject('ACCOUNT_LOCKED', 'pap', username, user);
    if (now.state !== 'ACTIVATED') return this.reject(now.state === 'SUSPENDED' ? 'SUSPENDED' : 'NOT_ACTIVATED', 'pap', username, user);
    const outcome = /^\d{6}$/.test(code) ? await this.secondFactor(server, now, code) : ({ kind: 'reject', reason: 'INVALID_TOTP', user: now } as const);
    if (outcome.kind === 'accept') return this.accept(server, now, 'pap', username, []);
    if (outcome.kind === 'reject' && outcome.reason === 'INVALID_TOTP' && pending.attempts + 1 < MAX_CHALLENGE_ATTEMPTS) {
      this.challenges.set(key, { ...pending, attempts: pending.attempts + 1, expires: Date.now() + this.options.conversationTimeoutMs });
      this.journalAuth(request, { result: 'reject', reason: 'INVALID_TOTP', username, user: now, method: 'pap' });
      return {
        code: Code.AccessChallenge,
        attributes: [
          { type: Attr.ReplyMessage, value: Buffer.from('That code is not valid; enter the current code') },
          { type: Attr.State, value: state },
        ],
      };
    }
    return this.reject(outcome.kind === 'reject' ? outcome.reason : 'INVALID_TOTP', 'pap', username, now);
  }

  // ---- MS-CHAPv2 in RADIUS attributes (VPNs: RFC 2548) ------------------------------------------

  /**
   * MS-CHAPv2 as a VPN server relays it: the NAS sends its challenge (MS-CHAP-Challenge) and the
   * peer's MS-CHAP2-Response; the answer carries MS-CHAP2-Success with the authenticator response
   * and the MPPE keys (RFC 2548 §2.3.3, §2.4; RFC 3079), or MS-CHAP-Error.
   */
  private async msChapV2(request: Request, challenge: Buffer, response: Buffer): Promise<Answer> {
    const { packet, client } = request;
    const given = textAttribute(packet, Attr.UserName);
    if (!given) return this.reject('NO_USER_NAME', 'mschapv2');
    if (challenge.length !== 16 || response.length !== 50) return this.reject('MSCHAPV2_MALFORMED', 'mschapv2', given);
    const ident = response.subarray(0, 1);
    const peerChallenge = response.subarray(2, 18);
    const ntResponse = response.subarray(26, 50);
    const username = withoutDomain(given);
    let success: string | undefined;
    let keys: SessionKeys | undefined;
    const found: { user?: User } = {};
    const result = await this.authenticator(client.server, found).ntHash(username, (ntHash) => {
      if (!verifyNtResponse(challenge, peerChallenge, username, ntHash, ntResponse)) return false;
      success = authenticatorResponse(ntHash, ntResponse, peerChallenge, challenge, username);
      keys = eapMschapv2Keys(ntHash, ntResponse);
      return true;
    });
    if (!result.ok || !found.user || success === undefined || !keys) {
      const reason = result.ok ? 'INVALID_CREDENTIALS' : result.reason;
      const error = Buffer.concat([ident, Buffer.from(`E=${failureCode(reason)} R=0 C=${randomBytes(16).toString('hex').toUpperCase()} V=3`)]);
      const answer = this.reject(reason, 'mschapv2', username, found.user);
      return { ...answer, attributes: [vendorAttribute(VENDOR_MICROSOFT, MsAttr.ChapError, error)] };
    }
    return this.accept(client.server, found.user, 'mschapv2', username, [
      vendorAttribute(VENDOR_MICROSOFT, MsAttr.Chap2Success, Buffer.concat([ident, Buffer.from(success)])),
      ...this.mppe(request, keys),
      // Encryption allowed (1), RC4 40- or 128-bit (2 | 4), as RFC 2548 §2.4.4–2.4.5 encode them.
      vendorAttribute(VENDOR_MICROSOFT, MsAttr.MppeEncryptionPolicy, integerValue(1)),
      vendorAttribute(VENDOR_MICROSOFT, MsAttr.MppeEncryptionTypes, integerValue(6)),
    ]);
  }

  // ---- EAP -----------------------------------------------------------------------------------

  private async eap(request: Request, message: Buffer): Promise<Answer | undefined> {
    const server = request.client.server;
    let eap: EapPacket;
    try {
      eap = decodeEap(message);
    } catch {
      return this.eapReject('EAP_MALFORMED', 0, 'eap');
    }
    if (eap.code !== EapCode.Response) return this.eapReject('EAP_MALFORMED', eap.identifier, 'eap');
    const state = attribute(request.packet, Attr.State);
    const nextId = (eap.identifier + 1) & 0xff;

    if (!state) {
      if (eap.type !== EapType.Identity) return this.eapReject('EAP_NO_IDENTITY', eap.identifier, 'eap');
      if (this.conversations.size + this.challenges.size >= this.options.maxConversations) return undefined;
      const view = await this.view(server);
      if (!view) return this.eapReject('SERVER_GONE', eap.identifier, 'eap');
      // Checked again with no await before the insert: starts arriving together all passed the first check.
      if (this.conversations.size + this.challenges.size >= this.options.maxConversations) return undefined;
      const found = {};
      const method = this.offer(server, found, view.org.settings.radius?.storeNtHashes === true);
      if (!method) return this.eapReject('EAP_NO_METHOD', eap.identifier, 'eap');
      const key = randomBytes(16);
      this.conversations.set(key.toString('hex'), {
        orgId: server.orgId,
        serverId: server.id,
        method,
        found,
        expectedId: nextId,
        started: false,
        busy: false,
        expires: Date.now() + this.options.conversationTimeoutMs,
      });
      return this.eapChallenge(method.start(nextId), key);
    }

    const key = state.toString('hex');
    const conversation = this.conversations.get(key);
    if (!conversation || conversation.serverId !== server.id) return this.eapReject('EAP_UNKNOWN_STATE', eap.identifier, 'eap');
    // A response to something other than our last request, or one that overtakes a request in progress.
    if (eap.identifier !== conversation.expectedId || conversation.busy) return undefined;
    const method = METHOD_NAMES[conversation.method.type] ?? 'eap';
    conversation.busy = true;
    try {
      if (eap.type === EapType.Nak) {
        const view = await this.view(server);
        const wanted = [...eap.data];
        const next = !conversation.started && view ? this.offer(server, conversation.found, view.org.settings.radius?.storeNtHashes === true, wanted) : undefined;
        if (!next) return this.endWithReject(key, 'EAP_NO_COMMON_METHOD', eap.identifier, method);
        conversation.method.close();
        conversation.method = next;
        conversation.expectedId = nextId;
        conversation.expires = Date.now() + this.options.conversationTimeoutMs;
        return this.eapChallenge(next.start(nextId), state);
      }
      conversation.started = true;
      const step = await conversation.method.handle(eap, nextId);
      if (step.kind === 'continue') {
        conversation.expectedId = nextId;
        conversation.expires = Date.now() + this.options.conversationTimeoutMs;
        return this.eapChallenge(step.request, state);
      }
      this.end(key);
      const user = conversation.found.user;
      if (step.kind === 'reject') return this.eapReject(step.reason, eap.identifier, method, step.username, user);
      if (!user) return this.eapReject('INTERNAL_ERROR', eap.identifier, method, step.username);
      const success = encodeEap({ code: EapCode.Success, identifier: eap.identifier, data: Buffer.alloc(0) });
      return this.accept(server, user, method, step.username, [
        { type: Attr.UserName, value: Buffer.from(step.username) },
        ...splitAttribute(Attr.EapMessage, success),
        ...this.mppe(request, step.keys),
      ]);
    } finally {
      conversation.busy = false;
    }
  }

  /**
   * The first method to propose, or the first of the peer's Nak list that can run here: PEAP and
   * EAP-MSCHAPv2 need the org's NT hashes, the tunnels need a server certificate.
   */
  private offer(server: RadiusServer, found: { user?: User }, ntHashes: boolean, wanted?: number[]): EapMethod | undefined {
    const auth = this.authenticator(server, found);
    const tls = this.tunnelContext;
    const available: [number, () => EapMethod][] = [];
    if (this.options.tls && server.userCertEnabled && server.caCert) {
      const credentials = { ...this.options.tls, ca: server.caCert };
      available.push([EapType.Tls, () => new EapTlsMethod(credentials, auth)]);
    }
    if (tls && ntHashes) available.push([EapType.Peap, () => new PeapMethod(tls, auth)]);
    if (tls) available.push([EapType.Ttls, () => new TtlsMethod(tls, auth)]);
    if (ntHashes) available.push([EapType.MsChapV2, () => new MsChapV2Method(auth)]);
    const pick = wanted ? wanted.map((t) => available.find(([type]) => type === t)).find((x) => x !== undefined) : available[0];
    return pick?.[1]();
  }

  /** Inner authentication for EAP methods, bound to a RADIUS server; `found` receives the user. */
  private authenticator(server: RadiusServer, found: { user?: User }): Authenticator {
    const settle = (outcome: PasswordOutcome, username: string): AuthResult => {
      found.user = outcome.user;
      if (outcome.kind === 'accept') return { ok: true, username, attributes: [] };
      return { ok: false, reason: outcome.kind === 'challenge' ? 'MFA_CODE_REQUIRED' : outcome.reason, username };
    };
    return {
      password: async (username, password) => settle(await this.passwordLogin(server, username, password, false), username),
      ntHash: async (username, check) => {
        const view = await this.view(server);
        if (!view) return settle({ kind: 'reject', reason: 'SERVER_GONE' }, username);
        const result = this.outcome(server, await this.login(view, username, { ntHash: check }));
        if (result.kind !== 'accept' || server.mfa === 'DISABLED') return settle(result, username);
        // MS-CHAPv2 has nowhere to carry a code: users who must give one cannot use it.
        const hasTotp = await this.core.credentials.totpConfirmed(server.orgId, result.user.id);
        if (hasTotp || server.mfa !== 'ENABLED') return settle({ kind: 'reject', reason: 'MFA_UNSUPPORTED_METHOD', user: result.user }, username);
        return settle(result, username);
      },
      // A certificate and its private key are a factor of their own: no TOTP code is asked for.
      certificate: async (names) => {
        const view = await this.view(server);
        if (!view) return settle({ kind: 'reject', reason: 'SERVER_GONE' }, names.commonName ?? '');
        const emails = new Set(names.emails.map(foldCase));
        const byName = names.commonName === undefined ? undefined : view.userIdsByName.get(foldCase(names.commonName));
        const byEmail = byName === undefined && emails.size > 0 ? [...view.users.values()].find((u) => emails.has(foldCase(u.email))) : undefined;
        const username = byEmail?.username ?? names.commonName ?? names.emails[0];
        if (username === undefined) return settle({ kind: 'reject', reason: 'CERTIFICATE_NAMES_NO_USER' }, '');
        return settle(this.outcome(server, await this.login(view, username, { certificate: true })), username);
      },
    };
  }

  private eapChallenge(request: EapPacket, state: Buffer): Answer {
    return { code: Code.AccessChallenge, attributes: [...splitAttribute(Attr.EapMessage, encodeEap(request)), { type: Attr.State, value: state }] };
  }

  private eapReject(reason: string, identifier: number, method: Method, username?: string, user?: User): Answer {
    const failure = encodeEap({ code: EapCode.Failure, identifier, data: Buffer.alloc(0) });
    const answer = this.reject(reason, method, username, user);
    return { ...answer, attributes: [...splitAttribute(Attr.EapMessage, failure)] };
  }

  private endWithReject(key: string, reason: string, identifier: number, method: Method): Answer {
    this.end(key);
    return this.eapReject(reason, identifier, method);
  }

  private end(key: string): void {
    this.conversations.get(key)?.method.close();
    this.conversations.delete(key);
  }

  /** MS-MPPE-Recv-Key and MS-MPPE-Send-Key, each with its own salt (RFC 2548 §2.4.2–2.4.3). */
  private mppe(request: Request, keys: SessionKeys): Attribute[] {
    const [recvSalt, sendSalt] = mppeSalts(2);
    const { secret } = request.client;
    const auth = request.packet.authenticator;
    return [
      vendorAttribute(VENDOR_MICROSOFT, MsAttr.MppeRecvKey, encryptMppeKey(keys.recvKey, secret, auth, recvSalt!)),
      vendorAttribute(VENDOR_MICROSOFT, MsAttr.MppeSendKey, encryptMppeKey(keys.sendKey, secret, auth, sendSalt!)),
    ];
  }

  private sweep(): void {
    const now = Date.now();
    for (const [key, c] of this.conversations) if (c.expires < now && !c.busy) this.end(key);
    for (const [key, c] of this.challenges) if (c.expires < now) this.challenges.delete(key);
  }

  // ---- The directory ---------------------------------------------------------------------------

  private view(server: RadiusServer): Promise<DirectoryView<RadiusServer> | undefined> {
    return this.core.radiusView.current(server.orgId, server.id);
  }

  private login(view: DirectoryView<RadiusServer>, username: string, credential: Credential, countFailure = true): Promise<LoginResult> {
    return this.core.authentication.verifyCredential(view.org.id, username, credential, 'radius', {
      admits: (user) => view.users.has(user.id),
      countFailure,
      org: view.org,
    });
  }

  /** A login result under the server's policy: an expired password is still good where the server maintains access. */
  private outcome(server: RadiusServer, result: LoginResult): PasswordOutcome {
    if (result.ok) return { kind: 'accept', user: result.user };
    if (result.reason === 'PASSWORD_EXPIRED' && result.user && server.userPasswordExpirationAction === 'MAINTAIN') return { kind: 'accept', user: result.user };
    return { kind: 'reject', reason: result.reason, ...(result.user ? { user: result.user } : {}) };
  }

  private async accept(server: RadiusServer, user: User, method: Method, username: string, extra: Attribute[]): Promise<Answer> {
    const view = await this.view(server);
    const groups = view ? [...view.groupsOf(user.id)].map((id) => view.groups.get(id)!).filter((g) => g !== undefined) : [];
    groups.sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : 1));
    const reply = mergeReplyAttributes(groups.map((g) => this.replyOf(g)));
    return {
      code: Code.AccessAccept,
      attributes: [...extra, ...reply.map(encodeReply)],
      event: { result: 'accept', username, user, method },
    };
  }

  private reject(reason: string, method: Method, username?: string, user?: User): Answer {
    return {
      code: Code.AccessReject,
      attributes: [],
      event: { result: 'reject', reason, method, ...(username !== undefined ? { username } : {}), ...(user ? { user } : {}) },
    };
  }

  private replyOf(group: UserGroup): ReplyAttribute[] {
    let cached = this.replyCache.get(group);
    if (!cached) {
      const radius = group.attributes.radius as { reply?: unknown } | undefined;
      const parsed = parseReplyAttributes(radius?.reply);
      cached = parsed.ok ? parsed.attributes : [];
      this.replyCache.set(group, cached);
    }
    return cached;
  }

  private nasDetails(packet: Packet, address: string): Record<string, unknown> {
    return {
      client: address,
      nasIdentifier: textAttribute(packet, Attr.NasIdentifier) ?? null,
      callingStationId: textAttribute(packet, Attr.CallingStationId) ?? null,
      calledStationId: textAttribute(packet, Attr.CalledStationId) ?? null,
    };
  }

  private journalAuth(request: Request, event: NonNullable<Answer['event']>): void {
    const server = request.client.server;
    const actor: Actor = event.user ? { type: 'user', id: event.user.id } : { type: 'system', id: null };
    this.activity.record(server.orgId, actor, {
      objectType: 'radius_server',
      objectId: server.id,
      operation: 'radius_auth',
      changes: {},
      details: {
        result: event.result,
        ...(event.reason ? { reason: event.reason } : {}),
        method: event.method,
        username: event.username ?? null,
        ...this.nasDetails(request.packet, request.address),
      },
    });
  }
}


const ACCT_STATUS: Record<number, string> = { 1: 'Start', 2: 'Stop', 3: 'Interim-Update', 7: 'Accounting-On', 8: 'Accounting-Off' };

/** A reply attribute as RADIUS encodes it; tagged integers keep the tag in their first octet (RFC 2868 §3). */
function encodeReply(a: ReplyAttribute): Attribute {
  if (a.kind === 'integer') {
    const value = integerValue(a.value as number);
    if (a.tag !== undefined || a.type === Attr.TunnelType || a.type === Attr.TunnelMediumType) value[0] = a.tag ?? 0;
    return { type: a.type, value };
  }
  if (a.kind === 'ipv4') return { type: a.type, value: Buffer.from((a.value as string).split('.').map(Number)) };
  const text = Buffer.from(a.value as string);
  return { type: a.type, value: a.tag !== undefined ? Buffer.concat([Buffer.from([a.tag]), text]) : text };
}

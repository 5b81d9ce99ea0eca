import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import { BerError, pduLength } from './ber.js';
import { bind } from './bind.js';
import { compare } from './compare.js';
import { toLdapResult } from './errors.js';
import { passwordModify } from './password.js';
import {
  decodeMessage,
  encodeExtendedResult,
  encodeResult,
  NOTICE_OF_DISCONNECTION_OID,
  PAGED_RESULTS_OID,
  PASSWORD_MODIFY_OID,
  ResponseTag,
  START_TLS_OID,
  WHO_AM_I_OID,
  type Message,
} from './protocol.js';
import { ResultCode, type ResultCodeValue } from './result-codes.js';
import { PagerStore, search } from './search.js';
import type { LdapService, Session } from './service.js';

export interface ConnectionLimits {
  /** Largest PDU accepted; a longer one closes the connection before it is buffered. */
  maxPdu: number;
  /** Closes a connection with no request for this long. */
  idleTimeoutMs: number;
  /** Requests read ahead of the one being served before the socket is paused. */
  maxQueued: number;
}

const SUPPORTED_CONTROLS = new Set([PAGED_RESULTS_OID]);

/**
 * One client connection: frames PDUs, answers them in order (abandon and unbind at once), and
 * upgrades to TLS on StartTLS. Any undecodable PDU ends the session with a Notice of
 * Disconnection (RFC 4511 §4.1.1).
 */
export class LdapConnection {
  private socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly queue: Message[] = [];
  private serving = false;
  private closed = false;
  private readonly abandoned = new Set<number>();
  private readonly pagers = new PagerStore();
  private inFlight: number | undefined;
  readonly session: Session;

  constructor(
    socket: Socket,
    private readonly service: LdapService,
    private readonly limits: ConnectionLimits,
    private readonly tlsContext: SecureContext | undefined,
    tls: boolean,
    private readonly log: (error: unknown) => void,
    private readonly onClose: () => void,
  ) {
    this.socket = socket;
    this.session = { principal: { kind: 'anonymous' }, tls, client: socket.remoteAddress ?? '' };
    this.attach(socket);
  }

  private attach(socket: Socket): void {
    socket.setNoDelay(true);
    socket.setTimeout(this.limits.idleTimeoutMs);
    socket.on('data', this.onData);
    socket.on('timeout', this.onTimeout);
    socket.on('error', this.onError);
    socket.on('close', this.onSocketClose);
  }

  private detach(socket: Socket): void {
    socket.off('data', this.onData);
    socket.off('timeout', this.onTimeout);
    socket.off('error', this.onError);
    socket.off('close', this.onSocketClose);
  }

  private readonly onTimeout = () => this.disconnect(ResultCode.unavailable, 'Idle timeout');
  private readonly onError = () => this.close();
  private readonly onSocketClose = () => this.close();

  private readonly chunks: Buffer[] = [];
  private chunkBytes = 0;
  /** Bytes the PDU being received needs in all, once its header has been read. */
  private needed = 0;
  private partialTimer: NodeJS.Timeout | undefined;

  private readonly onData = (chunk: Buffer) => {
    // Chunks are only joined once the PDU is complete (or its header is needed), so a request that
    // arrives a byte at a time costs linear, not quadratic, copying.
    this.chunks.push(chunk);
    this.chunkBytes += chunk.length;
    if (this.buffer.length + this.chunkBytes < this.needed) return this.armPartialTimer();
    this.buffer = Buffer.concat([this.buffer, ...this.chunks]);
    this.chunks.length = 0;
    this.chunkBytes = 0;
    this.needed = 0;
    for (;;) {
      let length: number | undefined;
      try {
        length = pduLength(this.buffer, this.limits.maxPdu);
      } catch (e) {
        if (e instanceof BerError) return this.disconnect(ResultCode.protocolError, e.message);
        throw e;
      }
      if (length === undefined || this.buffer.length < length) {
        this.needed = length ?? 0;
        return this.armPartialTimer();
      }
      const pdu = this.buffer.subarray(0, length);
      this.buffer = this.buffer.subarray(length);
      const decoded = decodeMessage(pdu);
      if (!decoded.ok) return this.disconnect(ResultCode.protocolError, `Malformed request: ${decoded.error.reason}`);
      this.accept(decoded.value);
      if (this.closed) return;
    }
  };

  /** A request must arrive whole within the idle timeout, however slowly its bytes trickle in. */
  private armPartialTimer(): void {
    const partial = this.buffer.length + this.chunkBytes > 0;
    if (!partial) {
      clearTimeout(this.partialTimer);
      this.partialTimer = undefined;
    } else if (!this.partialTimer) {
      this.partialTimer = setTimeout(() => this.disconnect(ResultCode.unavailable, 'Request not completed in time'), this.limits.idleTimeoutMs);
      this.partialTimer.unref();
    }
  }

  private accept(message: Message): void {
    const { request } = message;
    if (request.op === 'unbind') return this.close();
    if (request.op === 'abandon') {
      // RFC 4511 §4.11: no response; queued or running operations stop sending. Unknown ids are ignored.
      if (request.id === this.inFlight || this.queue.some((m) => m.id === request.id)) this.abandoned.add(request.id);
      return;
    }
    this.queue.push(message);
    if (this.queue.length >= this.limits.maxQueued) this.socket.pause();
    if (!this.serving) void this.serve();
  }

  private async serve(): Promise<void> {
    this.serving = true;
    try {
      while (this.queue.length > 0 && !this.closed) {
        const message = this.queue.shift()!;
        if (this.queue.length < this.limits.maxQueued) this.socket.resume();
        if (this.abandoned.delete(message.id)) continue;
        this.inFlight = message.id;
        await this.handle(message);
        this.abandoned.delete(message.id);
        this.inFlight = undefined;
      }
    } finally {
      this.serving = false;
    }
  }

  private corked = false;

  /**
   * Writes made in one turn of the event loop (a search's entries and its result, the answers to
   * pipelined requests) leave in one system call.
   */
  private write(bytes: Buffer): Promise<void> | void {
    if (this.closed) return;
    if (!this.corked) {
      const socket = this.socket;
      this.corked = true;
      socket.cork();
      setImmediate(() => {
        this.corked = false;
        socket.uncork();
      });
    }
    if (!this.socket.write(bytes)) {
      return new Promise((resolve) => {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.once('drain', done);
        this.socket.once('close', done);
      });
    }
  }

  private async handle(message: Message): Promise<void> {
    const { id, request, controls } = message;
    const responseTag = RESPONSE_TAGS[request.op];
    try {
      const unsupported = controls.find((c) => c.critical && !(request.op === 'search' && SUPPORTED_CONTROLS.has(c.type)));
      if (unsupported) {
        await this.write(encodeResult(id, responseTag, { code: ResultCode.unavailableCriticalExtension, message: `Control ${unsupported.type} is not supported` }));
        return;
      }
      switch (request.op) {
        case 'bind':
          this.pagers.clear();
          await bind(this.service, this.session, request);
          await this.write(encodeResult(id, ResponseTag.bind, { code: ResultCode.success }));
          return;
        case 'search': {
          const outcome = await search(this.service, this.session, this.pagers, id, request, controls, {
            sendEntry: (bytes) => this.write(bytes),
            abandoned: () => this.abandoned.has(id) || this.closed,
          });
          if (this.abandoned.has(id)) return;
          await this.write(encodeResult(id, ResponseTag.searchDone, { code: outcome.code, message: outcome.message, matchedDn: outcome.matchedDn }, outcome.controls));
          return;
        }
        case 'compare': {
          const code = await compare(this.service, this.session, request);
          await this.write(encodeResult(id, ResponseTag.compare, { code }));
          return;
        }
        case 'extended':
          await this.extended(id, request.name, request.value);
          return;
        default:
          // RFC 4511 §4.6–4.9: the directory is managed through the API.
          await this.write(
            encodeResult(id, responseTag, {
              code: ResultCode.unwillingToPerform,
              message: 'Roster manages the directory through its API; LDAP is read-only except for Password Modify',
            }),
          );
      }
    } catch (error) {
      const result = toLdapResult(error, this.log);
      if (request.op === 'extended') await this.write(encodeExtendedResult(id, { code: result.code, message: result.message, matchedDn: result.matchedDn }));
      else await this.write(encodeResult(id, responseTag, { code: result.code, message: result.message, matchedDn: result.matchedDn }));
    }
  }

  private async extended(id: number, name: string, value: Buffer | undefined): Promise<void> {
    switch (name) {
      case WHO_AM_I_OID: {
        // RFC 4532: "dn:<bound DN>", or empty for an anonymous session.
        const principal = this.session.principal;
        const authzId = principal.kind === 'user' ? `dn:${principal.dn}` : '';
        await this.write(encodeExtendedResult(id, { code: ResultCode.success }, undefined, Buffer.from(authzId, 'utf8')));
        return;
      }
      case PASSWORD_MODIFY_OID: {
        const generated = await passwordModify(this.service, this.session, value);
        await this.write(encodeExtendedResult(id, { code: ResultCode.success }, undefined, generated));
        return;
      }
      case START_TLS_OID:
        await this.startTls(id);
        return;
      default:
        await this.write(encodeExtendedResult(id, { code: ResultCode.protocolError, message: `Extended operation ${name} is not supported` }));
    }
  }

  /** RFC 4511 §4.14: answer, then the next bytes on the wire are the TLS handshake. */
  private async startTls(id: number): Promise<void> {
    const refuse = (code: ResultCodeValue, message: string) => this.write(encodeExtendedResult(id, { code, message }, START_TLS_OID));
    if (!this.tlsContext) return void (await refuse(ResultCode.unavailable, 'TLS is not configured on this server'));
    if (this.session.tls) return void (await refuse(ResultCode.operationsError, 'TLS is already established'));
    if (this.queue.length > 0 || this.buffer.length > 0 || this.chunkBytes > 0) {
      return void (await refuse(ResultCode.operationsError, 'StartTLS must be the only outstanding operation'));
    }
    const plain = this.socket;
    this.detach(plain);
    plain.pause();
    await this.write(encodeExtendedResult(id, { code: ResultCode.success }, START_TLS_OID));
    const secure = new TLSSocket(plain, { isServer: true, secureContext: this.tlsContext });
    this.socket = secure;
    this.session.tls = true;
    this.attach(secure);
    plain.resume();
  }

  /** RFC 4511 §4.4.1 Notice of Disconnection, then close. */
  private disconnect(code: ResultCodeValue, message: string): void {
    if (this.closed) return;
    this.socket.write(encodeExtendedResult(0, { code, message }, NOTICE_OF_DISCONNECTION_OID));
    this.socket.end();
    this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.buffer = Buffer.alloc(0);
    this.chunks.length = 0;
    clearTimeout(this.partialTimer);
    this.pagers.clear();
    this.socket.destroySoon();
    this.onClose();
  }
}

const RESPONSE_TAGS: Record<Message['request']['op'], number> = {
  bind: ResponseTag.bind,
  unbind: 0,
  search: ResponseTag.searchDone,
  modify: ResponseTag.modify,
  add: ResponseTag.add,
  delete: ResponseTag.delete,
  modifyDn: ResponseTag.modifyDn,
  compare: ResponseTag.compare,
  abandon: 0,
  extended: ResponseTag.extended,
};

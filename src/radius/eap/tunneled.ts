import { EapCode, type EapPacket } from './eap.js';
import type { AuthResult, EapMethod, MethodStep, SessionKeys } from './method.js';
import { TlsTunnel, type TunnelCredentials } from './tls-tunnel.js';

/** EAP-TLS style flags (RFC 5216 §3.1), shared by EAP-TTLS (RFC 5281 §9.1) and PEAP. */
const LENGTH_INCLUDED = 0x80;
const MORE_FRAGMENTS = 0x40;
const START = 0x20;
const VERSION_MASK = 0x07;

/** TLS data per EAP request: with headers and the other attributes it stays well under a 1,500-octet MTU. */
export const FRAGMENT_SIZE = 1000;
/** What a peer may send in one fragmented TLS message; TTLS and PEAP peers send far less. */
const MAX_MESSAGE = 64 * 1024;

/** What the inner phase does with the tunnel once TLS is up. */
export type InnerStep = { send: Buffer } | { done: AuthResult };

/**
 * The outer half of EAP-TTLS and PEAP: TLS records in EAP packets, fragmented and acknowledged
 * as RFC 5216 §2.1.5 describes, and the tunnel's keys once the inner method succeeds.
 */
export abstract class TunneledMethod implements EapMethod {
  /** Created at the peer's first TLS message, so a conversation that never gets there costs nothing. */
  private tunnelInstance: TlsTunnel | undefined;
  private outgoing = Buffer.alloc(0);
  private incoming: Buffer[] = [];
  private incomingLength = 0;
  private announced: number | undefined;
  private tlsPhase: 'handshake' | 'inner' = 'handshake';
  private begun = false;
  /** Length of the TLS message being sent in fragments, 0 between messages. */
  private messageTotal = 0;

  constructor(
    readonly type: number,
    private readonly credentials: TunnelCredentials,
    private readonly keyLabel: string,
  ) {}

  private get tunnel(): TlsTunnel {
    this.tunnelInstance ??= new TlsTunnel(this.credentials);
    return this.tunnelInstance;
  }

  /** The peer's certificate and its verdict, once TLS is established. */
  protected get peer(): TlsTunnel['peer'] {
    return this.tunnel.peer;
  }

  /** Called once TLS is established and the peer has acknowledged or answered the server's Finished. */
  protected abstract begin(): Promise<InnerStep | undefined>;
  /** Decrypted data from the peer. An empty buffer is a bare acknowledgement. */
  protected abstract inner(data: Buffer): Promise<InnerStep>;

  start(identifier: number): EapPacket {
    return { code: EapCode.Request, identifier, type: this.type, data: Buffer.from([START]) };
  }

  async handle(response: EapPacket, identifier: number): Promise<MethodStep> {
    if (response.type !== this.type) return { kind: 'reject', reason: 'EAP_UNEXPECTED_TYPE' };
    const data = response.data;
    if (data.length < 1) return { kind: 'reject', reason: 'EAP_MALFORMED' };
    const flags = data[0]!;
    if ((flags & VERSION_MASK) !== 0) return { kind: 'reject', reason: 'EAP_UNSUPPORTED_VERSION' };
    let body = data.subarray(1);
    if (flags & LENGTH_INCLUDED) {
      if (body.length < 4) return { kind: 'reject', reason: 'EAP_MALFORMED' };
      const total = body.readUInt32BE(0);
      if (total > MAX_MESSAGE) return { kind: 'reject', reason: 'EAP_MESSAGE_TOO_LONG' };
      if (this.incoming.length === 0) this.announced = total;
      body = body.subarray(4);
    }

    // The peer acknowledges a fragment of ours: send the next one.
    if (this.outgoing.length > 0) {
      if (body.length > 0 || flags & MORE_FRAGMENTS) return { kind: 'reject', reason: 'EAP_MALFORMED' };
      return { kind: 'continue', request: this.fragment(identifier) };
    }

    this.incomingLength += body.length;
    if (this.incomingLength > MAX_MESSAGE || (this.announced !== undefined && this.incomingLength > this.announced)) {
      return { kind: 'reject', reason: 'EAP_MESSAGE_TOO_LONG' };
    }
    this.incoming.push(body);
    if (flags & MORE_FRAGMENTS) return { kind: 'continue', request: this.request(identifier, Buffer.from([0])) };
    const message = Buffer.concat(this.incoming);
    this.incoming = [];
    this.incomingLength = 0;
    this.announced = undefined;

    await this.tunnel.receive(message);
    if (this.tunnel.error) return { kind: 'reject', reason: 'TLS_HANDSHAKE_FAILED' };
    if (this.tlsPhase === 'handshake') {
      if (!this.tunnel.isEstablished) return this.sendTls(identifier);
      // Established: the server's Finished goes out first, the inner phase starts at the next response.
      this.tlsPhase = 'inner';
      if (this.pendingTls()) return { kind: 'continue', request: this.fragment(identifier) };
    }
    const plaintext = this.tunnel.takePlaintext();
    if (!this.begun) {
      this.begun = true;
      const first = plaintext.length === 0 ? await this.begin() : undefined;
      if (first) return this.innerStep(first, identifier);
    }
    return this.innerStep(await this.inner(plaintext), identifier);
  }

  close(): void {
    this.tunnelInstance?.destroy();
  }

  /** RFC 5705 keying material of the tunnel, for inner methods that derive values from it. */
  protected keyingMaterial(length: number, label: string): Buffer {
    return this.tunnel.exportKeyingMaterial(length, label);
  }

  private pendingTls(): boolean {
    const out = this.tunnel.take();
    this.outgoing = Buffer.concat([this.outgoing, out]);
    return this.outgoing.length > 0;
  }

  private sendTls(identifier: number): MethodStep {
    this.pendingTls();
    return { kind: 'continue', request: this.fragment(identifier) };
  }

  private async innerStep(step: InnerStep, identifier: number): Promise<MethodStep> {
    if ('send' in step) {
      await this.tunnel.send(step.send);
      if (this.tunnel.error) return { kind: 'reject', reason: 'TLS_FAILED' };
      return this.sendTls(identifier);
    }
    const result = step.done;
    if (!result.ok) return { kind: 'reject', reason: result.reason, ...(result.username !== undefined ? { username: result.username } : {}) };
    return { kind: 'accept', username: result.username, attributes: result.attributes, keys: this.keys() };
  }

  /** MSK = the first 64 octets of the label's keying material; Recv-Key is its first half (RFC 5216 §2.3, RFC 5281 §8). */
  private keys(): SessionKeys {
    const msk = this.tunnel.exportKeyingMaterial(64, this.keyLabel);
    return { recvKey: msk.subarray(0, 32), sendKey: msk.subarray(32, 64) };
  }

  private fragment(identifier: number): EapPacket {
    const first = this.messageTotal === 0;
    if (first) this.messageTotal = this.outgoing.length;
    const chunk = this.outgoing.subarray(0, FRAGMENT_SIZE);
    this.outgoing = this.outgoing.subarray(chunk.length);
    const more = this.outgoing.length > 0;
    if (first && !more) {
      this.messageTotal = 0;
      return this.request(identifier, Buffer.concat([Buffer.from([0]), chunk]));
    }
    const header = Buffer.alloc(first ? 5 : 1);
    header[0] = (first ? LENGTH_INCLUDED : 0) | (more ? MORE_FRAGMENTS : 0);
    if (first) header.writeUInt32BE(this.messageTotal, 1);
    if (!more) this.messageTotal = 0;
    return this.request(identifier, Buffer.concat([header, chunk]));
  }

  private request(identifier: number, data: Buffer): EapPacket {
    return { code: EapCode.Request, identifier, type: this.type, data };
  }
}

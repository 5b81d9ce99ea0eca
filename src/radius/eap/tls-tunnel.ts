import { Duplex } from 'node:stream';
import { TLSSocket, type PeerCertificate, type SecureContext } from 'node:tls';

/**
 * A server-side TLS session driven by EAP messages instead of a socket: ciphertext from the peer
 * goes in with `receive`, and what TLS wants to send comes out of `take`. Used by EAP-TTLS and
 * PEAP, whose TLS records travel inside EAP (RFC 5281, draft-josefsson-pppext-eap-tls-eap).
 */
export class TlsTunnel {
  private readonly outgoing: Buffer[] = [];
  private readonly plaintext: Buffer[] = [];
  private readonly transport: Duplex;
  private readonly socket: TLSSocket;
  private failure: Error | undefined;
  private established = false;

  /** `requestCert`: ask the peer for a certificate (EAP-TLS); it is checked against the context's CAs. */
  constructor(context: SecureContext, requestCert = false) {
    const outgoing = this.outgoing;
    this.transport = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        outgoing.push(chunk);
        callback();
      },
    });
    // A bad client certificate does not abort the handshake here: the method reads `peer` and decides.
    this.socket = new TLSSocket(this.transport, { isServer: true, secureContext: context, requestCert, rejectUnauthorized: false });
    this.socket.on('secure', () => (this.established = true));
    this.socket.on('data', (chunk: Buffer) => this.plaintext.push(chunk));
    this.socket.on('error', (e: Error) => (this.failure ??= e));
    this.transport.on('error', () => undefined);
  }

  get isEstablished(): boolean {
    return this.established;
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** The peer's certificate once established, and whether it chains to a trusted CA (and why not). */
  get peer(): { certificate: PeerCertificate | undefined; authorized: boolean; error: string | undefined } {
    const certificate = this.socket.getPeerCertificate();
    const present = certificate && Object.keys(certificate).length > 0;
    const error = this.socket.authorizationError;
    return { certificate: present ? certificate : undefined, authorized: this.socket.authorized, error: error ? String(error) : undefined };
  }

  /** Hands TLS records from the peer to TLS and waits until it has answered them. */
  async receive(records: Buffer): Promise<void> {
    if (records.length > 0) this.transport.push(records);
    await this.settle();
  }

  /** Encrypts application data (the inner method's messages) towards the peer. */
  async send(data: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.socket.write(data, (e) => (e ? reject(e) : resolve())));
    await this.settle();
  }

  /** Ciphertext TLS produced since the last call. */
  take(): Buffer {
    const out = Buffer.concat(this.outgoing);
    this.outgoing.length = 0;
    return out;
  }

  /** Decrypted application data the peer sent since the last call. */
  takePlaintext(): Buffer {
    const out = Buffer.concat(this.plaintext);
    this.plaintext.length = 0;
    return out;
  }

  /** RFC 5705 keying material: PRF(master secret, label, client random ‖ server random) in TLS 1.2. */
  exportKeyingMaterial(length: number, label: string): Buffer {
    // No context at all (not an empty one): the two give different keys.
    const exportWithoutContext = this.socket.exportKeyingMaterial as (length: number, label: string) => Buffer;
    return exportWithoutContext.call(this.socket, length, label);
  }

  destroy(): void {
    this.socket.destroy();
    this.transport.destroy();
  }

  /**
   * TLS runs inside Node's stream machinery, a few event-loop turns away from the push: wait
   * until a turn passes with no new output, plaintext or state change.
   */
  private async settle(): Promise<void> {
    let quiet = 0;
    let last = -1;
    for (let turn = 0; turn < 200 && quiet < 3; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      const mark = this.outgoing.length * 1_000_003 + this.plaintext.length * 7 + (this.established ? 1 : 0) + (this.failure ? 2 : 0);
      quiet = mark === last ? quiet + 1 : 0;
      last = mark;
    }
  }
}

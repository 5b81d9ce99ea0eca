import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import {
  Attr,
  Code,
  decodePacket,
  encodeAccessRequest,
  encodePacket,
  encodeUserPassword,
  type Attribute,
  type Packet,
} from '../../src/radius/packet.js';

/**
 * A bare UDP exchange from one source port: sends each datagram in turn and collects each reply
 * (undefined when none came within `timeoutMs`).
 */
export function exchanges(port: number, datagrams: Buffer[], timeoutMs = 1500, host = '127.0.0.1'): Promise<(Buffer | undefined)[]> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const replies: (Buffer | undefined)[] = [];
    let timer: NodeJS.Timeout | undefined;
    const next = () => {
      if (replies.length === datagrams.length) {
        socket.close();
        return resolve(replies);
      }
      timer = setTimeout(() => {
        replies.push(undefined);
        next();
      }, timeoutMs);
      socket.send(datagrams[replies.length]!, port, host);
    };
    socket.on('message', (reply) => {
      clearTimeout(timer);
      replies.push(reply);
      next();
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
    next();
  });
}

export const exchange = async (port: number, datagram: Buffer, timeoutMs = 1500): Promise<Buffer | undefined> => (await exchanges(port, [datagram], timeoutMs))[0];

export const text = (type: number, value: string): Attribute => ({ type, value: Buffer.from(value) });

/** A PAP Access-Request with a Message-Authenticator, as a NAS sends it. */
export function papRequest(secret: string, username: string, password: string, extra: Attribute[] = [], identifier = 1): Buffer {
  const authenticator = randomBytes(16);
  const key = Buffer.from(secret);
  return encodeAccessRequest(
    identifier,
    [text(Attr.UserName, username), { type: Attr.UserPassword, value: encodeUserPassword(Buffer.from(password), key, authenticator) }, ...extra],
    key,
    authenticator,
  );
}

/** A Status-Server request (RFC 5997) with its Message-Authenticator. */
export function statusServer(secret: string, identifier = 1): Buffer {
  const out = encodePacket({
    code: Code.StatusServer,
    identifier,
    authenticator: randomBytes(16),
    attributes: [{ type: Attr.MessageAuthenticator, value: Buffer.alloc(16) }],
  });
  createHmac('md5', secret).update(out).digest().copy(out, 22);
  return out;
}

/** An Accounting-Request with its MD5 Request Authenticator (RFC 2866 §3). */
export function accountingRequest(secret: string, attrs: Attribute[], identifier = 1): Buffer {
  const out = encodePacket({ code: Code.AccountingRequest, identifier, authenticator: Buffer.alloc(16), attributes: attrs });
  createHash('md5').update(out).update(secret).digest().copy(out, 4);
  return out;
}

export const decode = (reply: Buffer | undefined): Packet | undefined => (reply ? decodePacket(reply) : undefined);

import * as net from 'node:net';
import * as tls from 'node:tls';
import {
  BindRequest,
  ExtendedRequest,
  FilterParser,
  MessageParser,
  SearchEntry,
  SearchRequest,
  StatusCodeParser,
  type Control,
} from 'ldapts';
import { FlagControl, OID } from './controls.js';
import { AdError, toAdError } from './errors.js';
import { isWithin, plainDn, withTimeout, type Target } from './connection.js';

type Request = BindRequest | ExtendedRequest | SearchRequest;
/** What ldapts's MessageParser emits: a response or a search entry. */
interface Response {
  messageId: number;
  status: number;
  errorMessage: string;
}

interface Pending {
  message: Request;
  resolve: (response: Response) => void;
  reject: (error: Error) => void;
  onEntry?: (entry: SearchEntry) => void;
  timer?: NodeJS.Timeout;
}

/**
 * One LDAP connection of its own, written with ldapts's message classes: ldapts's Client gathers a
 * search's entries until the search ends, and a change-notification search never ends, so the
 * watcher reads the entries as they come. It also learns at once when the connection drops.
 */
class NotificationConnection {
  private socket: net.Socket | tls.TLSSocket;
  private readonly parser = new MessageParser();
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  private closedWith: Error | undefined;
  private readonly closeListeners: ((error: Error) => void)[] = [];

  private constructor(
    socket: net.Socket | tls.TLSSocket,
    private readonly timeoutMs: number,
  ) {
    this.socket = socket;
    this.parser.on('message', (message) => this.dispatch(message as unknown as Response));
    this.parser.on('error', (error) => this.fail(new Error(`unreadable answer: ${error.message}`)));
    this.attach(socket);
  }

  static async open(target: Target): Promise<NotificationConnection> {
    const what = `connect to ${target.url}`;
    const socket = target.ldaps ? tls.connect(target.tls) : net.connect({ host: target.host, port: target.port });
    try {
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          socket.once(target.ldaps ? 'secureConnect' : 'connect', () => resolve());
          socket.once('error', reject);
        }),
        target.timeoutMs,
        what,
        () => socket.destroy(),
      );
    } catch (e) {
      socket.destroy();
      throw toAdError(e, what);
    }
    const connection = new NotificationConnection(socket, target.timeoutMs);
    if (target.startTls) {
      try {
        await connection.send(new ExtendedRequest({ messageId: connection.id(), oid: '1.3.6.1.4.1.1466.20037' }));
        await connection.upgrade(target);
      } catch (e) {
        connection.destroy();
        throw toAdError(e, `StartTLS with ${target.url}`);
      }
    }
    return connection;
  }

  id(): number {
    this.nextId = (this.nextId % 0x7ffffffe) + 1;
    return this.nextId;
  }

  /** Sends a request and resolves with its final response; search entries go to onEntry. */
  send(message: Request, options: { timeout?: boolean; onEntry?: (entry: SearchEntry) => void } = {}): Promise<Response> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<Response>((resolve, reject) => {
      const key = String(message.messageId);
      const pending: Pending = { message, resolve, reject, ...(options.onEntry ? { onEntry: options.onEntry } : {}) };
      if (options.timeout !== false) {
        pending.timer = setTimeout(() => this.fail(new AdError('transient', `${message.constructor.name}: no answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      }
      this.pending.set(key, pending);
      this.socket.write(message.write());
    });
  }

  /** Called once, when the connection ends for any reason (not after destroy()). */
  onClose(listener: (error: Error) => void): void {
    if (this.closedWith) listener(this.closedWith);
    else this.closeListeners.push(listener);
  }

  destroy(): void {
    this.closeListeners.length = 0;
    this.fail(new AdError('transient', 'closed'));
  }

  /** Ends the connection as lost, telling the close listeners why. */
  abort(error: Error): void {
    this.fail(error);
  }

  private attach(socket: net.Socket | tls.TLSSocket): void {
    socket.on('data', (data: Buffer) => this.parser.read(data, this.pending));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new AdError('transient', 'the directory closed the connection')));
  }

  private async upgrade(target: Target): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('error');
    plain.on('error', () => undefined);
    const secure = tls.connect({ ...target.tls, socket: plain });
    this.socket = secure;
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        secure.once('secureConnect', () => resolve());
        secure.once('error', reject);
      }),
      target.timeoutMs,
      'TLS handshake',
      () => secure.destroy(),
    );
    this.attach(secure);
  }

  private dispatch(message: Response): void {
    const key = String(message.messageId);
    const pending = this.pending.get(key);
    if (!pending) return;
    if (message instanceof SearchEntry) {
      pending.onEntry?.(message);
      return;
    }
    if (message.constructor.name === 'SearchReference') return;
    this.pending.delete(key);
    clearTimeout(pending.timer);
    if (message.status === 0) pending.resolve(message);
    else pending.reject(StatusCodeParser.parse(message as unknown as Parameters<typeof StatusCodeParser.parse>[0]));
  }

  private fail(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
    this.pending.clear();
    this.socket.destroy();
    for (const listener of this.closeListeners.splice(0)) listener(error);
  }
}

export interface WatchOptions {
  /**
   * Unless given, the watch is a subtree notification search at the root of base's naming
   * context (the one subtree search AD allows), with what lies outside base dropped here. With a
   * scope, exactly (base, scope) is searched: AD takes 'base' and 'one' anywhere, 'sub' only at a
   * naming context's root; Samba takes anything.
   */
  scope?: 'base' | 'one' | 'sub';
  /**
   * Report deletions (the tombstone, by its lastKnownParent): the Show Deleted control, which
   * Samba needs for them (AD reports deletions without it). On unless turned off or a scope is given.
   */
  deleted?: boolean;
  /** Each time the connection is lost or cannot be restored; the watcher keeps trying. */
  onError?: (error: AdError) => void;
  /** The first wait before reconnecting, doubled per failure up to 30 s (1 s unless given). */
  reconnectDelayMs?: number;
  /** A RootDSE read on the watch connection this often proves it alive (60 s unless given; 0 turns it off). */
  heartbeatMs?: number;
}

export interface AdWatch {
  /** True while the notification search is registered. */
  readonly active: boolean;
  /** How many times the connection was lost and restored. */
  readonly reconnects: number;
  close(): Promise<void>;
}

/** Whom to bind as, for each (re)connection. */
export interface WatchCredentials {
  bindDn: string;
  password: string;
}

/** The notification search, and what of its answers to report. */
export interface WatchPlan {
  base: string;
  scope: 'base' | 'one' | 'sub';
  deleted: boolean;
  /** Report only entries at or below this DN (tombstones by their lastKnownParent). */
  within?: string;
}

/** The DN to report for a notified entry, or undefined when it lies outside the plan's `within`. */
function reported(entry: SearchEntry, plan: WatchPlan): string | undefined {
  if (!plan.within) return entry.name;
  if (isWithin(entry.name, plan.within)) return entry.name;
  const value = (type: string) => entry.attributes.find((a) => a.type.toLowerCase() === type.toLowerCase())?.values[0];
  const deleted = String(value('isDeleted') ?? '').toUpperCase() === 'TRUE';
  const parent = value('lastKnownParent');
  return deleted && typeof parent === 'string' && isWithin(plainDn(parent), plan.within) ? entry.name : undefined;
}

const MAX_RECONNECT_DELAY_MS = 30_000;

/**
 * A change-notification search (LDAP_SERVER_NOTIFICATION_OID) on a connection of its own. Each
 * entry the server pushes calls onChange with its DN. When the connection drops, onError hears
 * why, the watcher reconnects with backoff, and once registered again calls onChange(undefined):
 * changes made while it was away were not seen, so the caller should read again.
 */
export async function startWatch(
  target: Target,
  credentials: WatchCredentials,
  plan: WatchPlan,
  onChange: (dn: string | undefined) => void,
  options: WatchOptions = {},
): Promise<AdWatch> {
  const base = plan.within ?? plan.base;
  let connection: NotificationConnection | undefined;
  let closed = false;
  let active = false;
  let reconnects = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let heartbeatTimer: NodeJS.Timeout | undefined;
  const heartbeatMs = options.heartbeatMs ?? 60_000;
  const firstDelay = options.reconnectDelayMs ?? 1_000;

  const register = async (): Promise<NotificationConnection> => {
    const conn = await NotificationConnection.open(target);
    try {
      await conn.send(new BindRequest({ messageId: conn.id(), dn: credentials.bindDn, password: credentials.password }));
      const controls: Control[] = [new FlagControl(OID.notification)];
      if (plan.deleted) controls.push(new FlagControl(OID.showDeleted));
      const search = new SearchRequest({
        messageId: conn.id(),
        baseDN: plan.base,
        scope: plan.scope,
        filter: FilterParser.parseString('(objectClass=*)'),
        attributes: ['objectGUID', 'isDeleted', 'lastKnownParent'],
        controls,
      });
      const onEntry = (entry: SearchEntry) => {
        const dn = closed ? undefined : reported(entry, plan);
        // Off the socket's data handler: whatever the callback does cannot upset the reading.
        if (dn !== undefined) queueMicrotask(() => onChange(dn));
      };
      const ended = conn.send(search, { timeout: false, onEntry });
      // The server answers requests on a connection in order: once a RootDSE read comes back, the
      // notification search has been accepted (a refusal would have ended it first).
      let refused: unknown;
      ended.catch((e: unknown) => (refused = e));
      await conn.send(rootDseRead(conn));
      await Promise.resolve();
      if (refused !== undefined) throw refused;
      // A notification search never ends: if it does, the watch is lost like a dropped connection.
      ended.then(
        () => conn.abort(new AdError('transient', 'the directory ended the notification search')),
        (e: Error) => conn.abort(e),
      );
      return conn;
    } catch (e) {
      conn.destroy();
      throw toAdError(e, `change notification on ${base}`);
    }
  };

  const scheduleHeartbeat = (conn: NotificationConnection) => {
    if (heartbeatMs <= 0) return;
    heartbeatTimer = setTimeout(() => {
      conn.send(rootDseRead(conn)).then(
        () => connection === conn && scheduleHeartbeat(conn),
        () => undefined, // a failed heartbeat ends the connection; onClose takes it from there
      );
    }, heartbeatMs);
    heartbeatTimer.unref();
  };

  const adopt = (conn: NotificationConnection) => {
    connection = conn;
    active = true;
    conn.onClose((error) => {
      if (connection !== conn) return;
      connection = undefined;
      active = false;
      clearTimeout(heartbeatTimer);
      if (closed) return;
      options.onError?.(toAdError(error, `change notification on ${base} lost`));
      reconnect(firstDelay);
    });
    scheduleHeartbeat(conn);
  };

  const reconnect = (delay: number) => {
    retryTimer = setTimeout(() => {
      register().then(
        (conn) => {
          if (closed) return conn.destroy();
          reconnects++;
          adopt(conn);
          queueMicrotask(() => onChange(undefined));
        },
        (error: AdError) => {
          if (closed) return;
          options.onError?.(error);
          reconnect(Math.min(delay * 2, MAX_RECONNECT_DELAY_MS));
        },
      );
    }, delay);
  };

  adopt(await register());

  return {
    get active() {
      return active;
    },
    get reconnects() {
      return reconnects;
    },
    async close() {
      closed = true;
      active = false;
      clearTimeout(retryTimer);
      clearTimeout(heartbeatTimer);
      connection?.destroy();
      connection = undefined;
    },
  };
}

function rootDseRead(conn: NotificationConnection): SearchRequest {
  return new SearchRequest({
    messageId: conn.id(),
    baseDN: '',
    scope: 'base',
    filter: FilterParser.parseString('(objectClass=*)'),
    attributes: ['currentTime'],
  });
}

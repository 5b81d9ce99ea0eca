/**
 * Bad input for the RADIUS front-end. One in-process RadiusListener (PAP, PEAP, EAP-TTLS and
 * EAP-MSCHAPv2 offered) takes, over real UDP:
 *   1. datagrams that are never authentic — random octets, broken Length fields and attributes,
 *      unknown codes, missing, wrong or doubled Message-Authenticators, wrong secrets, unknown
 *      clients — which RFC 2865 §3 wants silently discarded: no reply, and every one counted;
 *   2. authentic requests with broken content — bad User-Password lengths, no User-Name,
 *      undecodable EAP, EAP codes only a server sends, States never issued — which get a
 *      well-formed Access-Reject (with an EAP-Failure when EAP was used, RFC 3579), never an Accept.
 * Then stateful EAP abuse (category 3: 4 GiB and 100 MiB TLS messages, endless More-Fragments
 * trains, version bits, Naks, replayed identifiers, random and real ClientHellos) goes straight
 * into a RadiusService with a short conversation timeout, so that expiry can be watched. After all
 * that the listener still answers, memory is bounded, and conversations stay within the cap.
 *
 * Reproduce a run with RADIUS_FUZZ_SEED=<seed>; RADIUS_FUZZ_SCALE scales the packet counts.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createSocket, type Socket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActivityRecorder } from '../../src/core/activity-recorder.js';
import { EapCode, EapType, decodeEap } from '../../src/radius/eap/eap.js';
import { Attr, Code, attributes, decodePacket, splitAttribute, type Packet } from '../../src/radius/packet.js';
import { RadiusListener } from '../../src/radius/server.js';
import { RadiusService } from '../../src/radius/service.js';
import { openTestCore, type TestCore } from '../support/core.js';
import { papRequest, statusServer } from '../support/radius-client.js';
import {
  ACCOUNTING_LABEL,
  BROKEN_LABELS,
  Conversation,
  GARBAGE_LABELS,
  LENGTH_INCLUDED,
  MORE_FRAGMENTS,
  broken,
  eapResponse,
  expectAck,
  expectOutcome,
  expectedDrop,
  garbage,
  helloInFragments,
  replyProblem,
  seeded,
  signedAccess,
  u32,
  type Broken,
  type DropCounter,
  type Garbage,
  type Port,
  type Rng,
} from '../support/radius-fuzz.js';
import { makeTestCertificates } from '../support/tls.js';

const SEED = Number(process.env.RADIUS_FUZZ_SEED ?? 0x2865_3579) >>> 0;
const SCALE = Number(process.env.RADIUS_FUZZ_SCALE ?? 1);
const GARBAGE_COUNT = Math.round(90_000 * SCALE);
const BROKEN_COUNT = Math.round(12_000 * SCALE);
const CONVERSATION_COUNT = Math.round(2_000 * SCALE);
const SECRET = 'fuzz-shared-secret-of-a-decent-length';
const KEY = Buffer.from(SECRET);
const PASSWORD = 'Fuzz-Passw0rd!-correct-horse';
const MAX_CONVERSATIONS = 200;
/** Conversation timeouts of the services called directly (the listener's is fixed at 30 s). */
const TIMEOUT_MS = 500;
const CAP_TIMEOUT_MS = 1000;
/**
 * Datagrams sent before waiting for the listener to count them: as many as the kernel queues for
 * its socket (SO_RCVBUF is capped by net.core.rmem_max) at up to ~9 KiB each, with room to spare.
 */
const BATCH = Math.max(8, Math.min(200, Math.floor(Math.min(4 * 2 ** 20, 2 * rmemMax()) / 2 / 9216)));
const LOCALHOST = '127.0.0.1';

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (setFlagsFromString('--expose-gc'), runInNewContext('gc'));
const memory = () => {
  gc();
  gc();
  return process.memoryUsage();
};
const mb = (n: number) => `${(n / 2 ** 20).toFixed(1)} MB`;
const hex = (b: Buffer) => (b.length > 120 ? `${b.subarray(0, 120).toString('hex')}… (${b.length} octets)` : b.toString('hex'));
const nonZero = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rmemMax(): number {
  try {
    return Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8')) || 212_992;
  } catch {
    return 212_992;
  }
}

async function until(done: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; !done(); await sleep(1)) if (Date.now() > end) return false;
  return true;
}

/** A UDP socket bound to one source address that keeps every reply it gets. */
class Wire {
  readonly replies: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('message', (m) => this.replies.push(m));
  }

  static async open(address: string): Promise<Wire> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 4 * 2 ** 20 });
    await new Promise<void>((resolve, reject) => socket.once('error', reject).bind(0, address, resolve));
    return new Wire(socket);
  }

  send(bytes: Buffer, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(bytes, port, LOCALHOST, (e) => (e ? reject(e) : resolve())));
  }

  close(): void {
    this.socket.close();
  }
}

// ---- Category 3: what each kind of EAP abuse must come to ------------------------------------------

async function fragmentTrain(c: Conversation, limit: number, announced?: number): Promise<void> {
  for (let total = 0, first = true; ; first = false) {
    const size = 400 + c.r.int(2600);
    total += size;
    const out = await (first && announced !== undefined ? c.tls(LENGTH_INCLUDED | MORE_FRAGMENTS, u32(announced), c.r.bytes(size)) : c.tls(MORE_FRAGMENTS, c.r.bytes(size)));
    if (total > limit) return expectOutcome(out, 'reject');
    expectAck(c, out);
  }
}

/** Random octets where TLS records belong, half of them behind a plausible record header. */
async function randomRecords(c: Conversation): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const junk = c.r.bytes(1 + c.r.int(2000));
    if (c.r.chance(0.5)) Buffer.from([0x16, 0x03, c.r.int(4), c.r.int(256), c.r.int(256), 1]).copy(junk);
    const out = await c.tls(0, junk);
    // TLS may wait for the rest of a record (an empty request), or fail the handshake.
    expectOutcome(out, 'reject', 'challenge');
    if (out.kind === 'reject') return;
  }
}

const ABANDONED = 'abandoned after the Identity';
const UNOFFERED_TYPES = [0, 1, 2, 4, 5, 6, 13, 17, 43, 52, 254, 255];

type Scenario = (c: Conversation, r: Rng) => Promise<void>;
const SCENARIOS: Record<string, Scenario> = {
  'a TLS message announcing 4 GiB': async (c, r) => expectOutcome(await c.tls(LENGTH_INCLUDED | (r.chance(0.5) ? MORE_FRAGMENTS : 0), u32(0xffffffff), r.bytes(r.int(1000))), 'reject'),
  'a TLS message announcing 100 MiB': async (c, r) => expectOutcome(await c.tls(LENGTH_INCLUDED | MORE_FRAGMENTS, u32(100 * 2 ** 20), r.bytes(r.int(1000))), 'reject'),
  'an endless More-Fragments train': (c) => fragmentTrain(c, 64 * 1024),
  'fragments past the announced length': (c, r) => {
    const announced = 1000 + r.int(30_000);
    return fragmentTrain(c, announced, announced);
  },
  'version bits set': async (c, r) => expectOutcome(await c.tls((1 + r.int(7)) | (r.int(8) << 5)), 'reject'),
  'a Nak with no methods': async (c) => expectOutcome(await c.send(EapType.Nak, Buffer.alloc(0)), 'reject'),
  'a Nak with unknown methods only': async (c, r) => expectOutcome(await c.send(EapType.Nak, Buffer.from(Array.from({ length: 1 + r.int(8) }, () => r.pick(UNOFFERED_TYPES)))), 'reject'),
  'a Nak to EAP-TTLS, then random octets': async (c) => {
    expectOutcome(await c.send(EapType.Nak, Buffer.from([4, EapType.Ttls])), 'challenge');
    expect(c.type).toBe(EapType.Ttls);
    await randomRecords(c);
  },
  'a Nak to EAP-MSCHAPv2, then a broken response': async (c, r) => {
    expectOutcome(await c.send(EapType.Nak, Buffer.from([EapType.MsChapV2])), 'challenge');
    expect(c.type).toBe(EapType.MsChapV2);
    expectOutcome(await c.send(EapType.MsChapV2, r.bytes(r.int(120))), 'reject');
  },
  'a Nak after the method started': async (c) => {
    expectAck(c, await c.tls(0));
    expectOutcome(await c.send(EapType.Nak, Buffer.from([EapType.Ttls])), 'reject');
  },
  'a replayed or out-of-order identifier': async (c, r) => {
    const wrong = (c.id + r.pick([-1, 1, 2 + r.int(253)])) & 0xff;
    expectOutcome(await c.send(c.type, Buffer.from([0]), { id: wrong }), 'drop');
    expectOutcome(await c.tls(0x01), 'reject');
  },
  'the same response twice at once': async (c) => {
    const kinds = (await Promise.all([c.tls(0), c.tls(0)])).map((o) => o.kind).sort();
    expect(kinds).toEqual(['challenge', 'drop']);
  },
  'random octets for the ClientHello': randomRecords,
  'a real ClientHello in fragments, then a broken acknowledgement': async (c, r) => {
    await helloInFragments(c);
    const variants = [() => c.tls(0, r.bytes(1 + r.int(300))), () => c.tls(MORE_FRAGMENTS), () => c.tls(LENGTH_INCLUDED | MORE_FRAGMENTS, u32(r.int(65_536)))];
    expectOutcome(await r.pick(variants)(), 'reject');
  },
  'a real ClientHello, then random octets for the rest of the handshake': async (c) => {
    await helloInFragments(c);
    for (let out = await c.tls(0); out.eap!.data[0]! & MORE_FRAGMENTS; out = await c.tls(0)) expectOutcome(out, 'challenge');
    await randomRecords(c);
  },
  'a response of another type': async (c, r) => expectOutcome(await c.send(r.pick([1, 2, 4, 13, EapType.Ttls, EapType.MsChapV2, 254]), r.bytes(r.int(50))), 'reject'),
  'a response without type data': async (c) => expectOutcome(await c.send(c.type, Buffer.alloc(0)), 'reject'),
  'a State never issued': async (c, r) => expectOutcome(await c.send(c.type, Buffer.from([0]), { state: r.bytes(1 + r.int(253)) }), 'reject'),
  'the State of a finished conversation': async (c) => {
    expectOutcome(await c.tls(0x03), 'reject');
    expectOutcome(await c.tls(0), 'reject');
  },
  [ABANDONED]: async () => undefined,
};
const SCENARIO_LABELS = Object.keys(SCENARIOS);

// ---- The server under test -----------------------------------------------------------------------

describe('RADIUS front-end: malformed packets', () => {
  let t: TestCore;
  let certDir: string;
  let listener: RadiusListener;
  /** Called directly: the EAP storm's service, and one for watching the conversation cap. */
  let direct: RadiusService;
  let capped: RadiusService;
  let activity: ActivityRecorder;
  let ports: Record<Port, number>;
  let wire: Wire;
  let stranger: Wire;
  const logged: string[] = [];

  beforeAll(async () => {
    t = await openTestCore('sqlite');
    certDir = await mkdtemp(join(tmpdir(), 'roster-radius-fuzz-'));
    const { cert, key } = await makeTestCertificates(certDir);
    await t.core.organizations.update(t.ctx, t.ctx.orgId, { radius: { storeNtHashes: true } });
    const server = await t.core.radiusServers.create(t.ctx, { name: 'Fuzz', networkSourceIp: LOCALHOST, sharedSecret: SECRET });
    const ada = await t.core.users.create(t.ctx, { username: 'ada', email: 'ada@example.com', password: PASSWORD });
    await t.core.associations.change(t.ctx, { type: 'user', id: ada.id }, { type: 'radius_server', id: server.id }, 'add');
    const log = (o: unknown, msg?: string) => void logged.push(`${msg}: ${String((o as { err?: unknown })?.err ?? o)}`);
    const options = { host: LOCALHOST, authPort: 0, acctPort: 0, tls: { cert, key }, maxPending: 4096, clientRate: 10_000_000, maxConversations: MAX_CONVERSATIONS };
    listener = new RadiusListener(t.core, options, { error: log, warn: log });
    const listening = await listener.listen();
    ports = { auth: listening.authPort!, acct: listening.acctPort! };
    activity = new ActivityRecorder(t.core, 'radius', (e) => log({ err: e }, 'journal'), 200);
    const tls = { cert, key };
    direct = new RadiusService(t.core, activity, { tls, maxConversations: MAX_CONVERSATIONS, conversationTimeoutMs: TIMEOUT_MS });
    capped = new RadiusService(t.core, activity, { tls, maxConversations: MAX_CONVERSATIONS, conversationTimeoutMs: CAP_TIMEOUT_MS });
    [wire, stranger] = await Promise.all([Wire.open(LOCALHOST), Wire.open('127.0.0.2')]);
    console.log(`RADIUS fuzz seed: ${SEED} (RADIUS_FUZZ_SEED=${SEED} reproduces this run)`);
  });

  afterAll(async () => {
    wire?.close();
    stranger?.close();
    direct?.close();
    capped?.close();
    await listener?.close();
    await activity?.flush();
    await t?.dispose();
    if (certDir) await rm(certDir, { recursive: true, force: true });
  });

  const counters = () => listener.service.counters;
  /** The counters that moved since `base`, and by how much. */
  const changedSince = (base: Record<string, number>) => nonZero(Object.fromEntries(Object.entries(counters()).map(([k, v]) => [k, v - base[k]!])));
  const drops = () => counters().malformed + counters().badAuthenticator + counters().unknownClient + counters().dropped;
  const keys = { secret: KEY, wrongSecret: Buffer.from('a-wrong-shared-secret') };
  const conversation = (service: RadiusService, seed: number) => new Conversation(service, KEY, seeded(seed));
  /** Runs a scenario, then ends what it left open (but for the abandoned ones) so that conversations do not pile up. */
  const play = async (c: Conversation, label: string) => {
    await SCENARIOS[label]!(c, c.r);
    if (!c.ended && label !== ABANDONED) expectOutcome(await c.tls(0x01), 'reject');
  };
  const startMany = async (service: RadiusService, n: number) => {
    let answered = 0;
    for (let i = 0; i < n; i++) if (await conversation(service, SEED + i).start(EapType.Peap)) answered++;
    return answered;
  };

  /** Sends one request from 127.0.0.1 and waits for its reply. */
  const roundTrip = async (bytes: Buffer, port = ports.auth): Promise<Buffer | undefined> => {
    const before = wire.replies.length;
    await wire.send(bytes, port);
    await until(() => wire.replies.length > before, 3000);
    return wire.replies[before];
  };

  /**
   * Sends never-authentic datagrams at once (a batch the socket buffer holds) and waits until the
   * counters account for every one; returns what each counter should have grown by.
   */
  async function sendGarbage(batch: Garbage[]): Promise<Record<DropCounter, number>> {
    const due = { malformed: 0, badAuthenticator: 0, unknownClient: 0 };
    for (const g of batch) due[expectedDrop(g)]++;
    const target = drops() + batch.length;
    await Promise.all(batch.map((g) => (g.unknownSource ? stranger : wire).send(g.bytes, ports[g.port])));
    if (!(await until(() => drops() >= target))) throw new Error(`only ${batch.length - (target - drops())} of ${batch.length} datagrams were counted`);
    return due;
  }

  /** Sends a batch again one datagram at a time, to name those not counted where the RFC puts them. */
  async function pinpoint(batch: Garbage[]): Promise<string[]> {
    const found: string[] = [];
    for (const g of batch) {
      const before = { ...counters() };
      const due = await sendGarbage([g]);
      const moved = (Object.keys(before) as (keyof typeof before)[]).find((k) => counters()[k] !== before[k]);
      if (!due[moved as DropCounter]) found.push(`"${g.label}" to the ${g.port} port counted as ${moved}, not ${expectedDrop(g)}: ${hex(g.bytes)}`);
    }
    return found;
  }

  /** Sends authentic requests (at most 256, distinct identifiers) and checks each one's reply. */
  async function sendBroken(batch: Broken[]): Promise<string[]> {
    wire.replies.length = 0;
    await Promise.all(batch.map((b) => wire.send(b.bytes, ports[b.port])));
    if (!(await until(() => wire.replies.length >= batch.length, 15_000))) throw new Error(`${batch.length - wire.replies.length} requests of a batch were not answered`);
    return wire.replies.flatMap((reply) => {
      const b = batch[reply[1]!]!;
      const verdict = verdictOf(decodePacket(reply));
      const problem = replyProblem(reply, b.bytes, KEY) ?? (verdict === b.expect ? undefined : `${verdict}, not ${b.expect}`);
      return problem ? [`"${b.label}": ${problem}: ${hex(b.bytes)}`] : [];
    });
  }

  describe('one of each kind', () => {
    it.each(GARBAGE_LABELS)('silently discards: %s', async (label) => {
      const g = garbage(seeded(seedOf(label)), keys, label);
      const before = { ...counters() };
      wire.replies.length = stranger.replies.length = 0;
      await sendGarbage([g]);
      await sleep(20);
      expect([...wire.replies, ...stranger.replies]).toEqual([]);
      expect(changedSince(before)).toEqual({ [expectedDrop(g)]: 1 });
    });

    it.each(BROKEN_LABELS)('answers, never with an Access-Accept: %s', async (label) => {
      const b = broken(seeded(seedOf(label)), KEY, 7, label);
      const reply = await roundTrip(b.bytes, ports[b.port]);
      expect(reply && replyProblem(reply, b.bytes, KEY)).toBeUndefined();
      expect(verdictOf(decodePacket(reply!))).toBe(b.expect);
    });

    it.each(SCENARIO_LABELS)('EAP: %s', async (label) => {
      const c = conversation(direct, seedOf(label));
      expect(await c.start(EapType.Peap)).toBe(true);
      await play(c, label);
    });
  });

  it(`survives ${GARBAGE_COUNT + BROKEN_COUNT} malformed datagrams over UDP and ${CONVERSATION_COUNT} abusive EAP conversations`, { timeout: 180_000 }, async () => {
    await sleep(300);
    const before = memory();
    const started = Date.now();
    const r = seeded(SEED);
    const tally = (m: Map<string, number>, label: string) => m.set(label, (m.get(label) ?? 0) + 1);

    // 1. Never authentic: nothing is answered, and every datagram is counted where it belongs.
    const garbageBy = new Map<string, number>();
    const due = { malformed: 0, badAuthenticator: 0, unknownClient: 0 };
    const base1 = { ...counters() };
    const misfiled: string[] = [];
    wire.replies.length = stranger.replies.length = 0;
    for (let sent = 0; sent < GARBAGE_COUNT; sent += BATCH) {
      const batch = Array.from({ length: Math.min(BATCH, GARBAGE_COUNT - sent) }, () => garbage(r, keys));
      for (const g of batch) tally(garbageBy, g.label);
      const pre = { ...counters() };
      const batchDue = await sendGarbage(batch);
      const off = (Object.keys(batchDue) as DropCounter[]).some((k) => counters()[k] - pre[k] !== batchDue[k]);
      if (off && misfiled.length < 20) misfiled.push(...(await pinpoint(batch)));
      for (const k of Object.keys(due) as DropCounter[]) due[k] += batchDue[k];
    }
    const garbageMs = Date.now() - started;
    await sleep(50);
    expect(misfiled).toEqual([]);
    expect([...wire.replies, ...stranger.replies].map(hex)).toEqual([]);
    expect(changedSince(base1)).toEqual(nonZero(due));

    // 2. Authentic but broken: one answer each, a reject (or an accounting acknowledgement).
    // At most 256 at a time (one identifier each); accounting requests wait for the journal, so they are batched apart.
    const brokenBy = new Map<string, number>();
    const wrong: string[] = [];
    const base2 = { ...counters() };
    const pending: Record<Port, Broken[]> = { auth: [], acct: [] };
    for (let i = 0; i < BROKEN_COUNT; i++) {
      const label = r.pick(BROKEN_LABELS);
      const port = label === ACCOUNTING_LABEL ? 'acct' : 'auth';
      const batch = pending[port];
      batch.push(broken(r, KEY, batch.length, label));
      tally(brokenBy, label);
      // Accounting requests are small; the others up to 1.6 KB, so their batches follow the socket buffer.
      if (batch.length === (port === 'acct' ? 256 : Math.min(256, 2 * BATCH))) wrong.push(...(await sendBroken(batch.splice(0))));
    }
    for (const rest of Object.values(pending)) wrong.push(...(await sendBroken(rest)));
    const brokenMs = Date.now() - started - garbageMs;
    expect(wrong.slice(0, 20)).toEqual([]);
    const accounting = brokenBy.get(ACCOUNTING_LABEL) ?? 0;
    expect(changedSince(base2)).toEqual(nonZero({ accessRequests: BROKEN_COUNT - accounting, rejects: BROKEN_COUNT - accounting, accountingRequests: accounting }));

    // 3. Stateful EAP abuse, 16 peers at a time, each conversation from a seed of its own.
    const scenarioBy = new Map<string, number>();
    const failures: string[] = [];
    let next = 0;
    let requests = 0;
    let refused = 0;
    const peer = async () => {
      for (let i = next++; i < CONVERSATION_COUNT; i = next++) {
        const c = conversation(direct, (SEED ^ Math.imul(i + 1, 0x9e3779b1)) >>> 0);
        const label = c.r.pick(SCENARIO_LABELS);
        tally(scenarioBy, label);
        try {
          if (await c.start(EapType.Peap)) await play(c, label);
          else refused++;
        } catch (e) {
          failures.push(`conversation ${i} "${label}": ${(e as Error).message}`);
        }
        requests += c.requests;
      }
    };
    await Promise.all(Array.from({ length: 16 }, peer));
    const eapMs = Date.now() - started - garbageMs - brokenMs;
    expect(failures.slice(0, 20)).toEqual([]);

    // Still serving; nothing crashed or was logged; memory came back down.
    for (const request of [papRequest(SECRET, 'ada', PASSWORD), statusServer(SECRET)]) expect(decodePacket((await roundTrip(request))!).code).toBe(Code.AccessAccept);
    expect(logged).toEqual([]);
    await sleep(2 * TIMEOUT_MS + 100);
    const after = memory();
    const list = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).map(([k, v]) => `    ${String(v).padStart(6)}  ${k}`);
    console.log(
      [
        `RADIUS fuzz (seed ${SEED}): ${GARBAGE_COUNT + BROKEN_COUNT} datagrams over UDP and ${requests} EAP requests in ${CONVERSATION_COUNT} conversations (${refused} refused at the cap) in ${Date.now() - started} ms`,
        `  1. never authentic, silently discarded: ${GARBAGE_COUNT} in ${garbageMs} ms, counted ${JSON.stringify(due)}`,
        ...list(garbageBy),
        `  2. authentic but broken, answered: ${BROKEN_COUNT} in ${brokenMs} ms`,
        ...list(brokenBy),
        `  3. EAP conversations called directly: ${requests} requests in ${eapMs} ms`,
        ...list(scenarioBy),
        `  memory: rss ${mb(before.rss)} → ${mb(after.rss)}, heapUsed ${mb(before.heapUsed)} → ${mb(after.heapUsed)}, external ${mb(before.external)} → ${mb(after.external)}`,
      ].join('\n'),
    );
    expect(after.heapUsed - before.heapUsed).toBeLessThan(200 * 2 ** 20);
    expect(after.rss - before.rss).toBeLessThan(300 * 2 ** 20);
  });

  it('refuses conversation starts beyond maxConversations, and takes new ones once those expire', async () => {
    const dropped = capped.counters.dropped;
    expect(await startMany(capped, MAX_CONVERSATIONS + 50)).toBe(MAX_CONVERSATIONS);
    expect(capped.counters.dropped - dropped).toBe(50);
    await sleep(2 * CAP_TIMEOUT_MS + 100);
    expect(await startMany(capped, MAX_CONVERSATIONS + 1)).toBe(MAX_CONVERSATIONS);
  });

  it('refuses concurrent conversation starts beyond maxConversations too', async () => {
    await sleep(2 * CAP_TIMEOUT_MS + 100);
    const starts = await Promise.all(Array.from({ length: MAX_CONVERSATIONS + 50 }, (_, i) => conversation(capped, SEED - i).start(EapType.Peap)));
    expect(starts.filter(Boolean)).toHaveLength(MAX_CONVERSATIONS);
  });

  it('caps EAP conversations over UDP too, without a reply beyond the cap', async () => {
    const identity = (i: number) => signedAccess(Code.AccessRequest, i & 0xff, seeded(i).bytes(16), splitAttribute(Attr.EapMessage, eapResponse(i, EapType.Identity, Buffer.from('x'))), KEY);
    const before = { ...counters() };
    wire.replies.length = 0;
    for (let i = 0; i < MAX_CONVERSATIONS + 50; i += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, j) => wire.send(identity(i + j), ports.auth)));
      await until(() => counters().challenges + counters().dropped - before.challenges - before.dropped >= i + 50);
    }
    await sleep(20);
    expect(wire.replies.map((b) => b[0])).toEqual(Array(MAX_CONVERSATIONS).fill(Code.AccessChallenge));
    expect(changedSince(before)).toEqual({ accessRequests: MAX_CONVERSATIONS + 50, challenges: MAX_CONVERSATIONS, dropped: 50 });
  });

  it('copies Proxy-State attributes into the reply, unmodified and in order (RFC 2865 §5.33)', async () => {
    const states = [Buffer.from('proxy-one'), Buffer.from([0, 1, 2, 255])];
    const reply = decodePacket((await roundTrip(papRequest(SECRET, 'ada', PASSWORD, states.map((value) => ({ type: Attr.ProxyState, value })))))!);
    expect(reply.code).toBe(Code.AccessAccept);
    expect(attributes(reply, Attr.ProxyState)).toEqual(states);
  });
});

/** A seed per label, so that each one-of-a-kind case stays the same whatever else changes. */
function seedOf(label: string): number {
  let h = SEED;
  for (const ch of label) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return h >>> 0;
}

function verdictOf(packet: Packet): string {
  if (packet.code === Code.AccountingResponse) return 'accounting-response';
  if (packet.code !== Code.AccessReject) return `code ${packet.code}`;
  const eap = attributes(packet, Attr.EapMessage);
  if (eap.length === 0) return 'reject';
  return decodeEap(Buffer.concat(eap)).code === EapCode.Failure ? 'eap-reject' : 'reject with an EAP message other than Failure';
}

/**
 * Bad input for the LDAP listener: an in-process LdapServer over a real core takes a storm of
 * random and mutated PDUs from a pool of concurrent sockets, and must answer every one with
 * well-formed LDAP (or a Notice of Disconnection with protocolError), never crash, never log an
 * internal error, and keep its memory bounded. Two more tests hold the listener to its limits:
 * a filter nested far too deep, and a client that announces a 100 MB PDU.
 *
 * Reproduce a run with LDAP_FUZZ_SEED=<seed>; LDAP_FUZZ_INPUTS sets how many bad inputs to send.
 *
 * The generators, the response checks and the fixture are in test/support/ldap-fuzz.ts; the bugs
 * this hostile-client view turned up are pinned in fuzz-regressions.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { WHO_AM_I_OID as WHO_AM_I } from '../../src/ldap/protocol.js';
import type { LdapServer } from '../../src/ldap/server.js';
import {
  ANONYMOUS_TEMPLATES,
  BOUND_TEMPLATES,
  classify,
  Conn,
  deepFilter,
  errorsLogged,
  exchange,
  makeCase,
  MAX_PDU,
  mb,
  memory,
  openFds,
  PASSWORD,
  RESPONSE_FOR,
  Rng,
  rootDseSearch,
  searchPdu,
  SEED,
  simpleBind,
  useFixture,
  whoAmI,
  type Fixture,
  type Verdict,
  type World,
} from '../support/ldap-fuzz.js';

const TARGET_BAD_INPUTS = Number(process.env.LDAP_FUZZ_INPUTS ?? 100_000);
const STORM_BUDGET_MS = Number(process.env.LDAP_FUZZ_BUDGET_MS ?? 150_000);
const SOCKETS = 8;
const BOUND_PACE_MS = 1;

// ---------------------------------------------------------------------------------------------
// The storm
// ---------------------------------------------------------------------------------------------

interface Stats {
  cases: number;
  pdusSent: number;
  bytesSent: number;
  badInputs: number;
  byVerdict: Record<Verdict, number>;
  connections: number;
  notices: number;
  rejectedWithoutNotice: number;
  responses: number;
  boundValidMutations: number;
  /** Time spent making and classifying inputs, to tell the harness's cost from the server's. */
  generateMs: number;
  failures: string[];
}

async function anonymousWorker(rng: Rng, port: number, w: World, stats: Stats, stop: () => boolean): Promise<void> {
  let sentinel = 2_000_000_000 + rng.int(1000) * 100_000;
  while (!stop()) {
    const conn = new Conn(port);
    stats.connections++;
    try {
      await conn.connected;
    } catch (e) {
      stats.failures.push(`could not connect: ${(e as Error).message}`);
      return;
    }
    if (rng.chance(0.05)) conn.write(simpleBind(1, '', ''));
    while (!conn.closed && !stop()) {
      const t0 = performance.now();
      const c = makeCase(rng, w, ANONYMOUS_TEMPLATES);
      const { verdict, messages } = classify(c.bytes);
      stats.generateMs += performance.now() - t0;
      stats.cases++;
      stats.byVerdict[verdict]++;
      stats.bytesSent += c.bytes.length;
      stats.pdusSent += messages.length + (verdict === 'answer' ? 0 : 1);
      if (verdict !== 'answer') stats.badInputs++;
      const ids = new Map<number, number[]>([[1, [0x61]]]);
      for (const m of messages) ids.set(m.id, [...(ids.get(m.id) ?? []), ...RESPONSE_FOR[m.request.op]]);
      const before = conn.responses.length;
      const describe = () => `${verdict} case "${c.label}" (seed ${SEED}): ${c.bytes.toString('hex').slice(0, 600)}`;

      if (verdict === 'incomplete') {
        conn.write(c.bytes);
        conn.socket.resetAndDestroy();
        await conn.closedPromise;
        break;
      }
      if (verdict === 'answer') {
        sentinel++;
        conn.write(Buffer.concat([c.bytes, whoAmI(sentinel)]));
        const s = sentinel;
        const ok = await conn.until(() => conn.responses.some((r) => r.id === s), 10_000);
        if (!ok || conn.closed) {
          stats.failures.push(`${ok ? 'connection closed' : 'no answer within 10 s'} instead of answering a valid ${describe()}`);
          conn.socket.destroy();
          return;
        }
        for (const r of conn.responses.slice(before)) {
          if (r.id === s) continue;
          const allowed = ids.get(r.id);
          if (!allowed) stats.failures.push(`response with unexpected message id ${r.id} (tag 0x${r.tag.toString(16)}) to ${describe()}`);
          else if (!allowed.includes(r.tag)) stats.failures.push(`response tag 0x${r.tag.toString(16)} for message ${r.id} to ${describe()}`);
        }
      } else {
        conn.write(c.bytes);
        const ok = await conn.until(() => false, 10_000);
        if (!ok) {
          stats.failures.push(`the server kept the connection open after ${describe()}`);
          conn.socket.destroy();
          return;
        }
        if (verdict === 'reject') {
          if (conn.notices.length === 0) stats.rejectedWithoutNotice++;
          if (conn.notices.length === 0 && c.bytes.length < 16_000) stats.failures.push(`no Notice of Disconnection after ${describe()}`);
        }
      }
      if (conn.problem) {
        stats.failures.push(`${conn.problem} — after ${describe()}`);
        conn.problem = undefined;
      }
      for (const n of conn.notices) {
        if (n.code !== 2) stats.failures.push(`Notice of Disconnection with result code ${n.code} after ${describe()}`);
        if (verdict === 'answer') stats.failures.push(`unexpected Notice of Disconnection after ${describe()}`);
      }
      stats.notices += conn.notices.length;
      conn.notices = [];
      stats.responses += conn.responses.length - before;
      if (stats.failures.length > 20) return;
    }
    if (!conn.closed) {
      conn.socket.destroy();
      await conn.closedPromise;
    }
  }
}

/** One bound connection sending mutated requests that still decode: fuzzes search and compare over real entries. */
async function boundWorker(rng: Rng, port: number, f: Fixture, stats: Stats, stop: () => boolean, onBound: () => void): Promise<void> {
  const conn = new Conn(port);
  await conn.connected;
  conn.write(simpleBind(1, f.bindDn, PASSWORD));
  await conn.until(() => conn.responses.some((r) => r.id === 1), 10_000);
  const bound = conn.responses.find((r) => r.id === 1);
  if (bound?.code !== 0) {
    stats.failures.push(`the bound worker could not bind: ${JSON.stringify(bound)}`);
    return;
  }
  conn.responses.length = 0;
  onBound();
  let sentinel = 1_500_000_000;
  while (!stop() && !conn.closed) {
    // Searches over real entries cost the server more than refusals do: pace them so that the
    // storm of bad input keeps most of the event loop.
    if (process.env.LDAP_FUZZ_BOUND === '0') break;
    await new Promise((r) => setTimeout(r, BOUND_PACE_MS));
    const c = makeCase(rng, f.world, BOUND_TEMPLATES);
    const { verdict, messages } = classify(c.bytes);
    if (verdict !== 'answer' || messages.length === 0) continue;
    if (messages.some((m) => m.request.op === 'bind' || (m.request.op === 'extended' && m.request.name !== WHO_AM_I))) continue;
    sentinel++;
    stats.boundValidMutations++;
    stats.pdusSent += messages.length;
    conn.write(Buffer.concat([c.bytes, whoAmI(sentinel)]));
    const s = sentinel;
    const ok = await conn.until(() => conn.responses.some((r) => r.id === s), 15_000);
    if (!ok || conn.closed) {
      stats.failures.push(`bound connection: ${ok ? 'closed' : 'no answer within 15 s'} for "${c.label}" (seed ${SEED}): ${c.bytes.toString('hex').slice(0, 600)}`);
      return;
    }
    const who = conn.responses.find((r) => r.id === s);
    if (who?.code !== 0) stats.failures.push(`the bound session was lost after "${c.label}": WhoAmI answered ${JSON.stringify(who)}`);
    if (conn.problem) stats.failures.push(`${conn.problem} — bound, after "${c.label}"`);
    if (conn.notices.length > 0) stats.failures.push(`Notice of Disconnection on a valid request "${c.label}"`);
    stats.responses += conn.responses.length;
    conn.responses.length = 0;
    if (stats.failures.length > 20) return;
  }
  conn.socket.destroy();
}

let f: Fixture;
useFixture((opened) => (f = opened));
const allowPlainBind = (allow: boolean) => f.allowPlainBind(allow);

describe('LDAP listener: bad input', () => {
  let server: LdapServer;
  let port: number;

  beforeAll(async () => {
    ({ server, port } = await f.start());
  });

  it(
    `survives ${TARGET_BAD_INPUTS} malformed and mutated PDUs over ${SOCKETS} concurrent sockets`,
    async () => {
      console.log(`LDAP fuzz seed: ${SEED} (LDAP_FUZZ_SEED=${SEED} reproduces this run)`);
      const stats: Stats = {
        cases: 0,
        pdusSent: 0,
        bytesSent: 0,
        badInputs: 0,
        byVerdict: { answer: 0, reject: 0, incomplete: 0, closes: 0 },
        connections: 0,
        notices: 0,
        rejectedWithoutNotice: 0,
        responses: 0,
        boundValidMutations: 0,
        generateMs: 0,
        failures: [],
      };
      const before = memory();
      const fdsBefore = openFds();
      const started = Date.now();
      const stop = () => stats.badInputs >= TARGET_BAD_INPUTS || Date.now() - started > STORM_BUDGET_MS || stats.failures.length > 20;

      const root = new Rng(SEED);
      let onBound = () => undefined as void;
      const ready = new Promise<void>((resolve) => (onBound = resolve));
      const bound = boundWorker(new Rng(root.int(2 ** 32)), port, f, stats, stop, onBound);
      await Promise.race([ready, bound]);
      // Binds over plain LDAP are refused from here on, so a mutated bind never reaches argon2.
      await allowPlainBind(false);
      const workers = Array.from({ length: SOCKETS - 1 }, () => anonymousWorker(new Rng(root.int(2 ** 32)), port, f.world, stats, stop));
      let peakRss = 0;
      const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
      await Promise.all([bound, ...workers]);
      clearInterval(sampler);
      const elapsed = (Date.now() - started) / 1000;

      // The server is still there: a fresh connection binds anonymously and reads the root DSE.
      const check = await exchange(port, [simpleBind(1, '', ''), rootDseSearch(2)], 2);
      const bind = check.responses.find((r) => r.id === 1);
      const done = check.responses.find((r) => r.id === 2 && r.tag === 0x65);
      check.conn.socket.destroy();
      await allowPlainBind(true);
      await server.flushActivity();
      for (let i = 0; i < 50 && server.connectionCount > 0; i++) await new Promise((r) => setTimeout(r, 50));
      const after = memory();
      const fdsAfter = openFds();

      console.log(
        [
          `LDAP fuzz: ${stats.cases} inputs (${stats.badInputs} bad: ${stats.byVerdict.reject} rejected, ${stats.byVerdict.incomplete} incomplete, ${stats.byVerdict.closes} unbind; ${stats.byVerdict.answer} still valid after mutation, plus ${stats.boundValidMutations} on the bound connection)`,
          `  ${stats.pdusSent} PDUs, ${mb(stats.bytesSent)}, ${stats.connections} connections in ${elapsed.toFixed(1)} s: ${Math.round(stats.pdusSent / elapsed)} PDUs/s, ${Math.round(stats.badInputs / elapsed)} bad inputs/s`,
          `  ${(stats.generateMs / 1000).toFixed(1)} s of it spent making inputs; ${stats.responses} responses, ${stats.notices} Notices of Disconnection, ${stats.rejectedWithoutNotice} rejections closed before the notice could be read`,
          `  memory: rss ${mb(before.rss)} → ${mb(after.rss)} (peak ${mb(peakRss)}), heapUsed ${mb(before.heapUsed)} → ${mb(after.heapUsed)}, external ${mb(before.external)} → ${mb(after.external)}`,
          `  server log: ${f.logged.filter((l) => l.level === 'error').length} errors, ${f.logged.filter((l) => l.level === 'warn').length} warnings; open connections after: ${server.connectionCount}; file descriptors ${fdsBefore} → ${fdsAfter}`,
        ].join('\n'),
      );

      expect(stats.failures).toEqual([]);
      expect(stats.badInputs).toBeGreaterThanOrEqual(TARGET_BAD_INPUTS);
      expect(bind?.code).toBe(0);
      expect(check.entries.map((e) => e.dn)).toEqual(['']);
      expect(done?.code).toBe(0);
      expect(errorsLogged(f)).toEqual([]);
      expect(server.connectionCount).toBe(0);
      expect(fdsAfter).toBeLessThanOrEqual(fdsBefore + 4);
      expect(after.rss - before.rss).toBeLessThan(150 * 1024 * 1024);
      expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
    },
    240_000,
  );

  it('refuses a filter nested 10,000 deep with a Notice of Disconnection, and keeps serving', async () => {
    const pdu = searchPdu(7, deepFilter(new Rng(SEED ^ 0x5a5a), 10_000));
    expect(pdu.length).toBeLessThan(MAX_PDU);
    const conn = new Conn(port);
    await conn.connected;
    conn.write(pdu);
    expect(await conn.until(() => false, 5000)).toBe(true);
    expect(conn.problem).toBeUndefined();
    expect(conn.notices.map((n) => n.code)).toEqual([2]);
    expect(conn.responses).toEqual([]);
    const check = await exchange(port, [rootDseSearch(1)], 1);
    expect(check.responses.find((r) => r.tag === 0x65)?.code).toBe(0);
    check.conn.socket.destroy();
    expect(errorsLogged(f)).toEqual([]);
  });

  it('closes a client that announces a 100 MB PDU and streams it slowly, without buffering it', async () => {
    const before = memory();
    const results: { variant: string; written: number; ms: number; notice: number | undefined }[] = [];
    const variants: [string, Buffer[]][] = [
      ['100 MB announced at once', [Buffer.from([0x30, 0x84, 0x05, 0xf5, 0xe1, 0x00])]],
      ['100 MB announced byte by byte', [0x30, 0x84, 0x05, 0xf5, 0xe1, 0x00].map((b) => Buffer.from([b]))],
      ['4 GB announced', [Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff])]],
      ['64 KiB + 5 bytes announced', [Buffer.from([0x30, 0x83, 0x01, 0x00, 0x00])]],
    ];
    for (const [variant, header] of variants) {
      const conn = new Conn(port);
      await conn.connected;
      const started = Date.now();
      let written = 0;
      for (const part of header) {
        conn.write(part);
        written += part.length;
        await new Promise((r) => setTimeout(r, 20));
      }
      // Then the "body", 1 KiB every 5 ms, until the server hangs up (or 3 s).
      while (!conn.closed && Date.now() - started < 3000) {
        conn.write(Buffer.alloc(1024, 0x04));
        written += 1024;
        await new Promise((r) => setTimeout(r, 5));
      }
      results.push({ variant, written, ms: Date.now() - started, notice: conn.notices[0]?.code });
      conn.socket.destroy();
    }
    const after = memory();
    console.log(`slow 100 MB clients: ${results.map((r) => `${r.variant}: closed after ${r.ms} ms, ${r.written} bytes written, notice ${r.notice}`).join('; ')}; rss ${mb(before.rss)} → ${mb(after.rss)}, heapUsed ${mb(before.heapUsed)} → ${mb(after.heapUsed)}`);
    for (const r of results) {
      expect(r.ms, r.variant).toBeLessThan(1500);
      expect(r.written, r.variant).toBeLessThan(MAX_PDU + 64 * 1024);
      expect(r.notice === undefined || r.notice === 2, r.variant).toBe(true);
    }
    expect(after.rss - before.rss).toBeLessThan(32 * 1024 * 1024);
    expect(errorsLogged(f)).toEqual([]);
  });
});

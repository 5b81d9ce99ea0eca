import { expect, it } from 'vitest';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, useTestStore } from '../support/stores.js';

const T0 = '2024-01-01T00:00:00.000Z';
const T1 = '2024-01-01T00:05:00.000Z';
const T2 = '2024-01-01T00:11:00.000Z';
const T3 = '2024-01-01T00:20:00.000Z';

describeEachStore('store: SAML replay records', (kind) => {
  let store: KyselyStore;
  useTestStore(kind, (s) => (store = s));

  it('records an ID once per issuer until it expires, then lets it be recorded again', async () => {
    const replay = store.read.samlReplay;
    expect(await replay.checkAndRecord('https://sp.example/a', 'id-1', T2, T0)).toBe(true);
    expect(await replay.checkAndRecord('https://sp.example/a', 'id-1', T2, T1)).toBe(false);
    // Another issuer's request with the same ID is another request.
    expect(await replay.checkAndRecord('https://sp.example/b', 'id-1', T2, T1)).toBe(true);
    // At its expiry the record may be overwritten (with the new expiry, so it is a replay again after).
    expect(await replay.checkAndRecord('https://sp.example/a', 'id-1', T3, T2)).toBe(true);
    expect(await replay.checkAndRecord('https://sp.example/a', 'id-1', T3, T2)).toBe(false);
  });

  it('lets exactly one of many concurrent records of the same ID through', async () => {
    const replay = store.read.samlReplay;
    const results = await Promise.all(Array.from({ length: 16 }, () => replay.checkAndRecord('https://sp.example/race', 'id-race', T2, T0)));
    expect(results.filter(Boolean)).toHaveLength(1);
    // Inside a transaction too (the path other work may take), with an expired record to replace.
    const later = await Promise.all(Array.from({ length: 8 }, () => store.transaction((tx) => tx.samlReplay.checkAndRecord('https://sp.example/race', 'id-race', T3, T2))));
    expect(later.filter(Boolean)).toHaveLength(1);
  });

  it('prunes records that expired before the given time, and only those', async () => {
    const replay = store.read.samlReplay;
    await replay.checkAndRecord('https://sp.example/p', 'old', T1, T0);
    await replay.checkAndRecord('https://sp.example/p', 'new', T3, T0);
    expect(await replay.prune(T2)).toBeGreaterThanOrEqual(1);
    expect(await replay.checkAndRecord('https://sp.example/p', 'new', T3, T2)).toBe(false);
    // The pruned one is gone: recording it again succeeds even with a `now` before its old expiry.
    expect(await replay.checkAndRecord('https://sp.example/p', 'old', T3, T0)).toBe(true);
  });
});

import { describe, expect, it } from 'vitest';
import { Pacer } from './pacer.js';

describe('Pacer', () => {
  it('lets a burst through at once, then one call per interval, in order', async () => {
    let now = 0;
    const waits: number[] = [];
    const pacer = new Pacer(600, 3, () => now, async (ms) => {
      waits.push(ms);
      now += ms;
    });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 6 }, (_, i) => pacer.take().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    // 600 a minute is one per 100 ms: three at once, then three more 100 ms apart.
    expect(now).toBe(300);
    expect(waits).toEqual([100, 100, 100]);
  });

  it('refills while idle, never above the burst', async () => {
    let now = 0;
    const pacer = new Pacer(60, 2, () => now, async (ms) => void (now += ms));
    await pacer.take();
    await pacer.take();
    now += 60_000;
    await pacer.take();
    await pacer.take();
    expect(now).toBe(60_000);
    await pacer.take();
    expect(now).toBe(61_000);
  });
});

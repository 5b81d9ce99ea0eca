import { describe, expect, it } from 'vitest';
import { retryingVanishedSchema } from '../../src/store/migrate.js';

describe('migrations beside schemas that others drop', () => {
  it('asks again when a schema vanished during the check (3F000), and gives up after five tries', async () => {
    let calls = 0;
    const vanished = Object.assign(new Error('schema "roster_test_x" does not exist'), { code: '3F000' });
    expect(await retryingVanishedSchema(async () => (++calls < 3 ? Promise.reject(vanished) : 'migrated'))).toBe('migrated');
    expect(calls).toBe(3);
    calls = 0;
    await expect(retryingVanishedSchema(async () => (++calls, Promise.reject(vanished)))).rejects.toThrow(/does not exist/);
    expect(calls).toBe(5);
  });

  it('does not retry other errors', async () => {
    let calls = 0;
    await expect(retryingVanishedSchema(async () => (++calls, Promise.reject(Object.assign(new Error('duplicate'), { code: '23505' }))))).rejects.toThrow('duplicate');
    expect(calls).toBe(1);
  });
});

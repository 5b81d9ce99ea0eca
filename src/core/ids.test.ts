import { expect, it } from 'vitest';
import { isWellFormedId, newId } from './ids.js';

it('ids are 24 hex characters', () => {
  expect(isWellFormedId(newId())).toBe(true);
  expect(isWellFormedId('ABCDEF0123456789abcdef01')).toBe(false);
  expect(isWellFormedId('0123')).toBe(false);
});

it('ids made by one process sort in the order they were made', () => {
  // Regression: a random part before the counter scrambled ids made within the same second.
  const ids = Array.from({ length: 5000 }, () => newId());
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(ids).size).toBe(ids.length);
});

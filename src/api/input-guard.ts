import type { FastifyRequest } from 'fastify';
import { invalid } from '../core/errors.js';

/** Deep enough for every field stored outside a JSON column; deeper values are stored as JSON text. */
const MAX_DEPTH = 16;

function hasNul(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  // A raw body (a CSV file): one scan of its bytes, not an entry per byte.
  if (Buffer.isBuffer(value)) return value.includes(0);
  if (value === null || typeof value !== 'object' || depth >= MAX_DEPTH) return false;
  return Object.entries(value).some(([key, v]) => key.includes('\u0000') || hasNul(v, depth + 1));
}

/**
 * preValidation hook: PostgreSQL text cannot hold U+0000 (the query fails, a 500), and no directory
 * value needs it, so a NUL in a path parameter, the query string or the body is refused up front.
 */
export async function rejectNulCharacters(request: FastifyRequest): Promise<void> {
  if (hasNul(request.params) || hasNul(request.query) || hasNul(request.body)) {
    throw invalid('INVALID_CHARACTER', 'The request contains a NUL character (U+0000), which no value may hold');
  }
}

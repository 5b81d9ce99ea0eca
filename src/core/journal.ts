import type { AttributeChange } from './model.js';

export const REDACTED = '[REDACTED]';

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

const isEmpty = (v: unknown) =>
  v === null ||
  v === undefined ||
  v === '' ||
  v === false ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && Object.keys(v).length === 0);

/**
 * Attribute-level before → after for a journal row. `null` on one side means the object did not
 * exist (create, delete); then empty values ('', false, [], {}) are left out, as they carry
 * nothing but the defaults. Bookkeeping
 * fields never count as changes.
 */
export function changesBetween(
  before: object | null,
  after: object | null,
  ignore: readonly string[] = ['updated', 'orgId'],
): Record<string, AttributeChange> {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  const out: Record<string, AttributeChange> = {};
  for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) {
    if (ignore.includes(key)) continue;
    const from = before === null ? null : (b[key] ?? null);
    const to = after === null ? null : (a[key] ?? null);
    if ((before === null || after === null) && isEmpty(from) && isEmpty(to)) continue;
    if (!same(from, to)) out[key] = { before: from, after: to };
  }
  return out;
}

export const secretChange = (): AttributeChange => ({ before: REDACTED, after: REDACTED });

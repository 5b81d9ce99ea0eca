/** SCIM bodies as JSON, read the way RFC 7643 §2.1 wants: attribute names without regard to case. */
export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The key of `name` in `o`, matched without regard to case; `name` itself when absent. */
export const keyIn = (o: Json, name: string): string => Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;

/**
 * `o[name]`, the name matched without regard to case among `o`'s own keys (so `constructor` finds
 * nothing of Object.prototype); undefined when absent or when `o` is not an object.
 */
export function field(o: unknown, name: string): unknown {
  if (!isObject(o)) return undefined;
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const key of Object.keys(o)) if (key.toLowerCase() === lower) return o[key];
  return undefined;
}

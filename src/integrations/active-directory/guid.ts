/**
 * AD's binary identifiers. objectGUID is a Windows GUID: its first three fields are stored
 * little-endian, so the bytes 2c 70 f3 26 f4 6f e8 49 … read as 26f3702c-6ff4-49e8-…; objectSid is
 * a binary SID ([MS-DTYP] 2.4.2.2).
 */

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/** A 16-byte objectGUID as the canonical lowercase UUID string. */
export function guidToString(bytes: Buffer | Uint8Array): string {
  if (bytes.length !== 16) throw new Error(`an objectGUID has 16 bytes, not ${bytes.length}`);
  const hex = (indexes: number[]) => indexes.map((i) => bytes[i]!.toString(16).padStart(2, '0')).join('');
  return `${hex([3, 2, 1, 0])}-${hex([5, 4])}-${hex([7, 6])}-${hex([8, 9])}-${hex([10, 11, 12, 13, 14, 15])}`;
}

/** The 16 bytes AD stores for a UUID string (the inverse of guidToString). */
export function guidToBytes(uuid: string): Buffer {
  if (!isUuid(uuid)) throw new Error(`not a GUID: ${JSON.stringify(uuid)}`);
  const b = Buffer.from(uuid.replace(/-/g, ''), 'hex');
  return Buffer.from([b[3]!, b[2]!, b[1]!, b[0]!, b[5]!, b[4]!, b[7]!, b[6]!, ...b.subarray(8)]);
}

/** Bytes as an escaped filter value, every byte `\hh` (RFC 4515). */
export const bytesFilterValue = (bytes: Buffer): string => [...bytes].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');

/** The value to put in `(objectGUID=…)` for a UUID string: its AD bytes, escaped. */
export const guidFilterValue = (uuid: string): string => bytesFilterValue(guidToBytes(uuid));

/** A binary SID as its string form, S-1-5-21-…. */
export function sidToString(bytes: Buffer): string {
  if (bytes.length < 8 || bytes[0] !== 1) throw new Error('not a binary SID');
  const count = bytes[1]!;
  if (bytes.length !== 8 + 4 * count) throw new Error('not a binary SID (length)');
  const authority = bytes.readUIntBE(2, 6);
  const subs = Array.from({ length: count }, (_, i) => bytes.readUInt32LE(8 + 4 * i));
  return ['S', 1, authority, ...subs].join('-');
}

/** A SID string as AD's bytes (the inverse of sidToString). */
export function sidToBytes(sid: string): Buffer {
  const m = /^S-1-(\d+)((?:-\d+)*)$/i.exec(sid.trim());
  if (!m) throw new Error(`not a SID: ${JSON.stringify(sid)}`);
  const subs = m[2] ? m[2].slice(1).split('-').map(Number) : [];
  const out = Buffer.alloc(8 + 4 * subs.length);
  out[0] = 1;
  out[1] = subs.length;
  out.writeUIntBE(Number(m[1]), 2, 6);
  subs.forEach((sub, i) => out.writeUInt32LE(sub, 8 + 4 * i));
  return out;
}

/** The relative identifier: the last sub-authority of a SID string. */
export const ridOf = (sid: string): number => Number(sid.slice(sid.lastIndexOf('-') + 1));

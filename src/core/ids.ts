import { randomBytes } from 'node:crypto';

declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type OrgId = Brand<string, 'OrgId'>;
export type UserId = Brand<string, 'UserId'>;
export type GroupId = Brand<string, 'GroupId'>;
export type AdminId = Brand<string, 'AdminId'>;
export type ApiKeyId = Brand<string, 'ApiKeyId'>;
export type ApplicationId = Brand<string, 'ApplicationId'>;
export type DirectoryId = Brand<string, 'DirectoryId'>;

let counter = randomBytes(3).readUIntBE(0, 3);

/**
 * 24 hex characters, the shape of the ids JumpCloud clients already handle: 4 bytes of seconds,
 * 5 random bytes, a 3-byte counter. Ids sort roughly by creation time, which keeps `after=<id>`
 * cursors and the default sort order meaningful.
 */
export function newId<T extends string>(): T {
  const buf = Buffer.alloc(12);
  buf.writeUInt32BE(Math.floor(Date.now() / 1000), 0);
  randomBytes(5).copy(buf, 4);
  counter = (counter + 1) % 0xffffff;
  buf.writeUIntBE(counter, 9, 3);
  return buf.toString('hex') as T;
}

const ID_PATTERN = /^[0-9a-f]{24}$/;
export const isWellFormedId = (value: string): boolean => ID_PATTERN.test(value);

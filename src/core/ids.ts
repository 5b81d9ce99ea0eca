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
export type RadiusServerId = Brand<string, 'RadiusServerId'>;
export type ScimTokenId = Brand<string, 'ScimTokenId'>;
export type AgentId = Brand<string, 'AgentId'>;
export type SyncRunId = Brand<string, 'SyncRunId'>;

const processPart = randomBytes(5);
// Starts in the lower half so a process does not wrap the counter within its first second.
let counter = randomBytes(3).readUIntBE(0, 3) >> 1;

/**
 * 24 hex characters, the shape of the ids JumpCloud clients already handle (MongoDB ObjectIds):
 * 4 bytes of seconds, 5 random bytes fixed per process, a 3-byte counter. Ids sort by creation
 * time across processes to the second, and exactly within one process.
 */
export function newId<T extends string>(): T {
  const buf = Buffer.alloc(12);
  buf.writeUInt32BE(Math.floor(Date.now() / 1000), 0);
  processPart.copy(buf, 4);
  counter = (counter + 1) % 0x1000000;
  buf.writeUIntBE(counter, 9, 3);
  return buf.toString('hex') as T;
}

const ID_PATTERN = /^[0-9a-f]{24}$/;
export const isWellFormedId = (value: string): boolean => ID_PATTERN.test(value);

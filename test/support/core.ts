import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { operatorContext, type Context } from '../../src/core/context.js';
import { createDirectoryCore, type CoreOptions, type DirectoryCore } from '../../src/core/directory.js';
import { DirectoryError } from '../../src/core/errors.js';
import { permissionsFor, type RoleName } from '../../src/core/roles.js';
import { SecretBox } from '../../src/core/secrets.js';
import { openTestStore, type StoreKind, type TestStore } from './stores.js';

export interface TestCore {
  core: DirectoryCore;
  ctx: Context;
  testStore: TestStore;
  clock: { now: Date };
  dispose(): Promise<void>;
}

/** A core over a fresh store with one organization and an operator context for it. */
export async function openTestCore(kind: StoreKind = 'sqlite', options: CoreOptions = { passwordCacheSeconds: 0 }): Promise<TestCore> {
  const testStore = await openTestStore(kind);
  const clock = { now: new Date() };
  const core = createDirectoryCore(testStore.store, SecretBox.fromKey(randomBytes(32)), () => clock.now, options);
  const org = await core.organizations.create('Test Org');
  return { core, ctx: operatorContext(org.id), testStore, clock, dispose: () => testStore.dispose() };
}

/** The core error `promise` rejects with; fails the test when it resolves or throws anything else. */
export async function failure(promise: Promise<unknown>): Promise<DirectoryError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DirectoryError);
  return e as DirectoryError;
}

/** `ctx` as an administrator with this role (and, when `readOnly`, a read-only API key). */
export const asRole = (ctx: Context, role: RoleName, readOnly = false): Context => ({
  ...ctx,
  actor: { type: 'admin', id: 'ffffffffffffffffffffffff' },
  role,
  permissions: permissionsFor(role, readOnly),
  readOnlyKey: readOnly,
});

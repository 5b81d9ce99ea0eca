import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { buildApi, type Api } from '../../src/api/server.js';
import { createDirectoryCore, type DirectoryCore } from '../../src/core/directory.js';
import { SecretBox } from '../../src/core/secrets.js';
import { openTestStore, type StoreKind, type TestStore } from './stores.js';
import { SamlApplications } from '../../src/sso/saml-apps.js';

export interface Call {
  body?: unknown;
  /** Raw payload, sent as is (for malformed JSON). */
  payload?: string;
  key?: string | null;
  orgId?: string;
  headers?: Record<string, string>;
}

export interface TestApi {
  app: Api;
  core: DirectoryCore;
  testStore: TestStore;
  key: string;
  orgId: string;
  adminId: string;
  call(method: string, url: string, call?: Call): Promise<LightMyRequestResponse & { json<T = any>(): T }>;
  dispose(): Promise<void>;
}

/** The HTTP API over a fresh store, first-run bootstrapped: one org, one admin, one key. */
export async function openTestApi(kind: StoreKind = 'sqlite'): Promise<TestApi> {
  const testStore = await openTestStore(kind);
  const core = createDirectoryCore(testStore.store, SecretBox.fromKey(randomBytes(32)));
  const first = await core.bootstrap({ orgName: 'Acme', adminEmail: 'root@acme.test' });
  if (!first) throw new Error('bootstrap did not run on an empty store');
  const app = await buildApi({ core, version: 'test', saml: new SamlApplications(core) });
  await app.ready();
  const api: TestApi = {
    app,
    core,
    testStore,
    key: first.apiKey,
    orgId: first.org.id,
    adminId: first.admin.id,
    async call(method, url, call = {}) {
      const headers: Record<string, string> = { ...call.headers };
      const key = call.key === undefined ? api.key : call.key;
      if (key !== null) headers['x-api-key'] = key;
      if (call.orgId) headers['x-org-id'] = call.orgId;
      let payload: string | undefined = call.payload;
      if (call.body !== undefined) {
        payload = JSON.stringify(call.body);
      }
      if (payload !== undefined) headers['content-type'] ??= 'application/json';
      return app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
    },
    async dispose() {
      await app.close();
      await testStore.dispose();
    },
  };
  return api;
}

import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { buildApi, type Api } from '../../src/api/server.js';
import { operatorContext, type Context } from '../../src/core/context.js';
import { createDirectoryCore, type DirectoryCore } from '../../src/core/directory.js';
import { SecretBox } from '../../src/core/secrets.js';
import { canonicalScimUrl, registerScim, type ScimOptions } from '../../src/scim/routes.js';
import { openTestStore, type StoreKind } from './stores.js';

export interface TestScim {
  core: DirectoryCore;
  app: Api;
  /** An operator of the org the source belongs to. */
  ctx: Context;
  sourceId: string;
  /** A bearer token of the source. */
  token: string;
  /** GET with the source's token (or another bearer, or none when null). */
  get(url: string, bearer?: string | null): Promise<LightMyRequestResponse>;
  dispose(): Promise<void>;
}

/** The API with the SCIM front-end over a fresh store, an org, and a SCIM source with a token. */
export async function openTestScim(kind: StoreKind, options: ScimOptions & { clock?: () => Date } = {}): Promise<TestScim> {
  const { clock, ...scimOptions } = options;
  const store = await openTestStore(kind);
  // A frozen clock makes every change land in the same millisecond.
  const core = createDirectoryCore(store.store, SecretBox.fromKey(randomBytes(32)), clock);
  const org = await core.organizations.create('Acme');
  const ctx = operatorContext(org.id);
  const source = await core.scimSources.create(ctx, { name: 'Entra ID' });
  const token = (await core.scimSources.issueToken(ctx, source.id, {})).secret;
  const app = await buildApi({ core, version: 'test', rewriteUrl: canonicalScimUrl });
  await registerScim(app, core, scimOptions);
  await app.ready();
  return {
    core,
    app,
    ctx,
    sourceId: source.id,
    token,
    get: (url, bearer = token) => app.inject({ method: 'GET', url, headers: bearer === null ? {} : { authorization: `Bearer ${bearer}` } }),
    async dispose() {
      await app.close();
      await store.dispose();
    },
  };
}

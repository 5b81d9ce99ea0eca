/**
 * Roster's own API description (/api/openapi.json): a valid OpenAPI 3 document, checked with the
 * same validator as the JumpCloud contract (openapi-backend), that lists every route under /api.
 */
import { OpenAPIBackend, type Document } from 'openapi-backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { normalizePath, registeredRoutes } from './spec.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

let t: TestApi;
let doc: Record<string, any>;

beforeAll(async () => {
  t = await openTestApi();
  const res = await t.call('GET', '/api/openapi.json');
  expect(res.statusCode, res.body.slice(0, 300)).toBe(200);
  expect(String(res.headers['content-type'])).toMatch(/^application\/json\b/);
  doc = res.json();
});

afterAll(async () => {
  await t?.dispose();
});

/** Strict init validates the document against the OpenAPI 3 schema and resolves every $ref, throwing on failure. */
async function strictlyLoaded(definition: unknown): Promise<OpenAPIBackend> {
  const api = new OpenAPIBackend({ definition: structuredClone(definition) as Document, strict: true, quick: false });
  await api.init();
  return api;
}

describe("Roster's OpenAPI document", () => {
  it('is a valid OpenAPI 3 document whose $refs all resolve', async () => {
    expect(doc.openapi).toMatch(/^3\.\d+\.\d+$/);
    const api = await strictlyLoaded(doc);
    expect(() => api.validateDefinition()).not.toThrow();
    expect(api.getOperations().length).toBeGreaterThan(40);
  });

  it('fails validation when broken (the check can fail)', async () => {
    const { info: _info, ...noInfo } = doc;
    await expect(strictlyLoaded(noInfo)).rejects.toThrow(/info/);
    const danglingRef = structuredClone(doc);
    danglingRef.paths['/api/systemusers'].get.responses['200'] = { description: 'x', content: { 'application/json': { schema: { $ref: '#/components/schemas/NoSuchSchema' } } } };
    await expect(strictlyLoaded(danglingRef)).rejects.toThrow();
  });

  it('lists every route the server registered under /api', () => {
    const documented = new Set<string>();
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      for (const method of METHODS) if (item[method]) documented.add(`${method.toUpperCase()} ${normalizePath(path)}`);
    }
    const routes = registeredRoutes(t.app, '/api/').filter((r) => r.path !== '/api/openapi.json');
    expect(routes.length).toBeGreaterThan(40);
    expect(routes.map((r) => `${r.method} ${r.path}`).filter((route) => !documented.has(route))).toEqual([]);
  });
});

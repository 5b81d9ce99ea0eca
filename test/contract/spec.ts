/**
 * Contract-test helpers: JumpCloud's OpenAPI documents loaded once per file with openapi-backend,
 * response validation per (method, path, status), and the list of routes a Fastify app registered.
 */
import { fileURLToPath } from 'node:url';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { FastifyInstance } from 'fastify';
import { OpenAPIBackend, ValidationContext, type Operation } from 'openapi-backend';
import { expect } from 'vitest';

export type SpecName = 'v1' | 'v2';

/** Each spec's file and the prefix its `servers` entry puts before every path. */
export const SPECS: Record<SpecName, { file: string; prefix: string }> = {
  v1: { file: fileURLToPath(new URL('../../specs/jumpcloud/v1.yaml', import.meta.url)), prefix: '/api' },
  v2: { file: fileURLToPath(new URL('../../specs/jumpcloud/v2.yaml', import.meta.url)), prefix: '/api/v2' },
};

/** RFC 3339 date-time, the only string format (besides int32, which openapi-backend knows) these schemas use. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

export interface LoadedSpec {
  name: SpecName;
  api: OpenAPIBackend;
  /** Operations by `METHOD path`, path as written in the spec (without the server prefix). */
  operations: Map<string, Operation>;
}

const cache = new Map<SpecName, Promise<LoadedSpec>>();

/**
 * Parses, dereferences and indexes a spec once per test file. `quick` compiles a validator only for
 * the operations asked about (v2 has ~390), `strict` turns a broken $ref into a failure.
 */
export function loadSpec(name: SpecName): Promise<LoadedSpec> {
  let loading = cache.get(name);
  if (!loading) {
    loading = (async () => {
      const api = new OpenAPIBackend({
        definition: SPECS[name].file,
        strict: true,
        quick: true,
        validate: true,
        ajvOpts: { allErrors: true },
        customizeAjv: (ajv) => ajv.addFormat('date-time', { type: 'string', validate: (s: string) => DATE_TIME.test(s) && !Number.isNaN(Date.parse(s)) }),
      });
      await api.init();
      if (!String(api.definition?.openapi).startsWith('3.0')) throw new Error(`${name}: not an OpenAPI 3.0 document`);
      const operations = new Map<string, Operation>();
      for (const op of api.getOperations()) operations.set(`${op.method.toUpperCase()} ${op.path}`, op);
      return { name, api, operations };
    })();
    cache.set(name, loading);
  }
  return loading;
}

export function operationOf(spec: LoadedSpec, method: string, path: string): Operation {
  const op = spec.operations.get(`${method.toUpperCase()} ${path}`);
  if (!op) throw new Error(`JumpCloud ${spec.name} spec has no operation ${method.toUpperCase()} ${path}`);
  if (!op.operationId) throw new Error(`${method} ${path} has no operationId`);
  return op;
}

interface ResponseObject {
  content?: Record<string, { schema?: object }>;
}

/** The response key the spec documents for a status (exact, then 4XX, then default), or undefined. */
export function documentedKey(op: Operation, status: number): string | undefined {
  const responses = (op.responses ?? {}) as Record<string, ResponseObject>;
  return [String(status), `${Math.floor(status / 100)}XX`, 'default'].find((k) => k in responses);
}

/** The 2xx statuses the spec gives for an operation. */
export function successStatuses(op: Operation): string[] {
  return Object.keys(op.responses ?? {}).filter((k) => /^2(\d\d|XX)$/.test(k));
}

const valueAt = (body: unknown, pointer: string): unknown =>
  pointer
    .split('/')
    .slice(1)
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), body);

/** Ajv errors, one line each, with the offending value so a failure says what Roster sent. */
export function describeErrors(errors: readonly ErrorObject[] | null | undefined, body: unknown): string[] {
  return (errors ?? []).map((e) => {
    const value = JSON.stringify(valueAt(body, e.instancePath)) ?? 'undefined';
    return `${e.instancePath || '(root)'} ${e.message ?? e.keyword} ${JSON.stringify(e.params)} — got ${value.length > 200 ? `${value.slice(0, 200)}…` : value}`;
  });
}

export interface HttpResponse {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
}

/**
 * Asserts the response has `status`, that the spec documents that status for the operation, and
 * that the body matches the schema the spec gives for it. Returns the parsed body.
 */
export function expectSpecResponse(spec: LoadedSpec, method: string, path: string, status: number, res: HttpResponse): unknown {
  const op = operationOf(spec, method, path);
  expect(res.statusCode, `${method} ${path}: ${res.body.slice(0, 500)}`).toBe(status);
  const key = documentedKey(op, status);
  expect(key, `${spec.name} spec documents no ${status} (nor ${Math.floor(status / 100)}XX, default) for ${method} ${path}`).toBeDefined();
  const label = `${method} ${SPECS[spec.name].prefix}${path} → ${status}`;
  const content = (op.responses as Record<string, ResponseObject>)[key!]!.content ?? {};
  if (Object.keys(content).length === 0) {
    if (status === 204) expect(res.body, `${label} must have no body`).toBe('');
    return undefined;
  }
  const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
  expect(Object.keys(content), `${label}: content-type ${mediaType} is not one the spec gives`).toContain(mediaType);
  if (mediaType !== 'application/json') {
    const textSchema = content[mediaType]!.schema;
    if (textSchema) expectMatchesSchema(spec, textSchema, res.body, `${label} (${mediaType})`);
    return res.body;
  }
  const body: unknown = JSON.parse(res.body);
  // Guard against a silent pass: openapi-backend skips validation when it finds no validator.
  const validators = spec.api.validator.getStatusBasedResponseValidatorForOperation(op.operationId!);
  expect(typeof validators?.[key!], `no response validator compiled for ${op.operationId} ${key}`).toBe('function');
  const result = spec.api.validateResponse(body, op.operationId!, status);
  failOnErrors(describeErrors(result.errors, body), `${label} does not match ${spec.name} ${op.operationId} response ${key}`);
  return body;
}

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * Validates a body against a schema from the (dereferenced) spec, with the same Ajv setup as
 * response validation: for text bodies, and for endpoints Roster serves that the spec names
 * without an operation.
 */
export function expectMatchesSchema(spec: LoadedSpec, schema: object, body: unknown, label: string): void {
  let validate = compiled.get(schema);
  if (!validate) {
    validate = spec.api.validator.getAjv(ValidationContext.Response).compile(schema);
    compiled.set(schema, validate);
  }
  validate(body);
  failOnErrors(describeErrors(validate.errors, body), label);
}

/** Fails with every schema error in the message, so the report names the fields. */
function failOnErrors(errors: string[], label: string): void {
  if (errors.length > 0) expect.fail(`${label}:\n  ${errors.join('\n  ')}`);
}

/** A component schema of the dereferenced spec. */
export function componentSchema(spec: LoadedSpec, name: string): object {
  const schema = (spec.api.definition.components?.schemas as Record<string, object> | undefined)?.[name];
  if (!schema) throw new Error(`JumpCloud ${spec.name} spec has no components.schemas.${name}`);
  return schema;
}

export interface RegisteredRoute {
  method: string;
  /** Full path with parameters as `{}`, e.g. /api/v2/usergroups/{}/members. */
  path: string;
}

/** Parameters in either spelling (`:id`, `:id|:group_id`, `{id}`) become `{}`. */
export const normalizePath = (path: string): string => path.replace(/:[A-Za-z0-9_]+(?:\|:[A-Za-z0-9_]+)*/g, '{}').replace(/\{[^}]*\}/g, '{}');

/**
 * Every route the app registered, read from `printRoutes()` (Fastify has no route list API) and
 * checked back with `hasRoute`, so a misread tree fails instead of hiding a route. HEAD is left out:
 * Fastify adds it to every GET.
 */
export function registeredRoutes(app: Pick<FastifyInstance, 'printRoutes' | 'hasRoute'>, under: string): RegisteredRoute[] {
  const stack: string[] = [];
  const routes: RegisteredRoute[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) {
      if (line.trim() !== '') throw new Error(`unreadable printRoutes line: ${JSON.stringify(line)}`);
      continue;
    }
    const depth = m[1]!.length / 4;
    stack.length = depth;
    const full = (depth > 0 ? stack[depth - 1]! : '') + m[2]!;
    stack.push(full);
    if (!full.startsWith(under)) continue;
    for (const method of (m[3] ?? '').split(', ').filter((x) => x !== '' && x !== 'HEAD')) {
      const url = full.replace(/:[A-Za-z0-9_]+(?:\|:[A-Za-z0-9_]+)*/g, ':p');
      if (!app.hasRoute({ method: method as 'GET', url })) throw new Error(`printRoutes lists ${method} ${full}, but hasRoute denies it`);
      routes.push({ method, path: normalizePath(full) });
    }
  }
  return routes;
}

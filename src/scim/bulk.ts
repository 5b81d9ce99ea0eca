import { scimError, ScimFailure, scimInvalid, translateError, type ScimError } from './errors.js';
import { field, isObject, type Json } from './json.js';
import { DEFAULT_PROJECTION } from './projection.js';
import { createResource, deleteResource, GROUPS, patchResource, replaceResource, USERS, type ResourceKind, type ScimCall, type ScimResult } from './resources.js';
import { SCIM_LIMITS } from './schemas.js';

export const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

const METHODS = ['POST', 'PUT', 'PATCH', 'DELETE'] as const;
type Method = (typeof METHODS)[number];

/** RFC 7644 §3.7.2: `"bulkId:qwerty"` in a value stands for the id of the resource the operation with that bulkId creates. */
const BULK_REFERENCE = /^bulkId:(.+)$/;

interface Operation {
  method?: Method;
  /** The method as sent, for the response. */
  methodText?: string;
  bulkId?: string;
  version?: string;
  path?: string;
  data?: unknown;
  /** The bulkIds the path and data refer to. */
  refs: Set<string>;
  /** Why the operation cannot run, found when the request was read. */
  invalid?: Error;
}

/** RFC 7644 §3.7.3: one operation's outcome; `response` holds the error of a failed one. */
export interface BulkOperationResult {
  method?: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: ScimError;
}

export interface BulkResponse {
  schemas: [typeof BULK_RESPONSE];
  Operations: BulkOperationResult[];
}

/** The call every operation runs with: the request's source and base URL; no projection or If-Match of its own. */
export type BulkCall = Omit<ScimCall, 'projection' | 'ifMatch' | 'ifNoneMatch'>;

function referencesIn(value: unknown, into: Set<string>, depth = 0): Set<string> {
  if (depth > 64) return into;
  if (typeof value === 'string') {
    const match = BULK_REFERENCE.exec(value);
    if (match) into.add(match[1]!);
  } else if (Array.isArray(value)) for (const v of value) referencesIn(v, into, depth + 1);
  else if (isObject(value)) for (const v of Object.values(value)) referencesIn(v, into, depth + 1);
  return into;
}

function readOperation(raw: unknown): Operation {
  const op: Operation = { refs: new Set() };
  if (!isObject(raw)) return { ...op, invalid: scimInvalid('invalidSyntax', 'Each operation must be an object') };
  const method = field(raw, 'method');
  if (typeof method === 'string') op.methodText = method.toUpperCase();
  const bulkId = field(raw, 'bulkId');
  if (typeof bulkId === 'string' && bulkId !== '') op.bulkId = bulkId;
  if (!METHODS.includes(op.methodText as Method)) return { ...op, invalid: scimInvalid('invalidValue', 'method must be POST, PUT, PATCH or DELETE') };
  op.method = op.methodText as Method;
  if (bulkId !== undefined && bulkId !== null && (typeof bulkId !== 'string' || bulkId === '')) return { ...op, invalid: scimInvalid('invalidValue', 'bulkId must be a non-empty string') };
  // RFC 7644 §3.7.2: "REQUIRED when method is POST".
  if (op.method === 'POST' && op.bulkId === undefined) return { ...op, invalid: scimInvalid('invalidValue', 'A POST operation needs a bulkId') };
  const version = field(raw, 'version');
  if (version !== undefined && version !== null && typeof version !== 'string') return { ...op, invalid: scimInvalid('invalidValue', 'version must be an entity tag') };
  if (typeof version === 'string') op.version = version;
  const path = field(raw, 'path');
  if (typeof path !== 'string') return { ...op, invalid: scimInvalid('invalidValue', 'path must be a string such as /Users or /Groups/{id}') };
  op.path = path;
  const data = field(raw, 'data');
  if (op.method !== 'DELETE' && data === undefined) return { ...op, invalid: scimInvalid('invalidSyntax', `A ${op.method} operation needs data`) };
  op.data = data;
  referencesIn(path.split('/').at(-1), op.refs);
  referencesIn(data, op.refs);
  return op;
}

function readRequest(body: unknown): { operations: Operation[]; failOnErrors?: number } {
  if (!isObject(body)) throw scimInvalid('invalidSyntax', `The body must be a BulkRequest (${BULK_REQUEST})`);
  const schemas = field(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === BULK_REQUEST.toLowerCase())) {
    throw scimInvalid('invalidSyntax', `schemas must include ${BULK_REQUEST}`);
  }
  const raw = field(body, 'Operations');
  if (!Array.isArray(raw) || raw.length === 0) throw scimInvalid('invalidSyntax', 'Operations must be a non-empty list');
  // RFC 7644 §3.7.4: 413, the limit named in the detail.
  if (raw.length > SCIM_LIMITS.maxOperations) throw new ScimFailure(413, `The number of operations exceeds the maxOperations (${SCIM_LIMITS.maxOperations}).`);
  const failOnErrors = field(body, 'failOnErrors');
  if (failOnErrors !== undefined && failOnErrors !== null && !(Number.isSafeInteger(failOnErrors) && (failOnErrors as number) >= 1)) {
    throw scimInvalid('invalidValue', 'failOnErrors must be an integer of 1 or more');
  }
  const operations = raw.map(readOperation);
  const seen = new Set<string>();
  for (const op of operations) {
    if (op.bulkId === undefined || op.method !== 'POST') continue;
    if (seen.has(op.bulkId)) throw scimInvalid('invalidValue', `bulkId ${op.bulkId} names more than one operation`);
    seen.add(op.bulkId);
  }
  return { operations, ...(typeof failOnErrors === 'number' ? { failOnErrors } : {}) };
}

const RESOURCE_PATH = /^\/?(Users|Groups)(?:\/([^/?#]+))?\/?$/i;

/** An operation's path: a resource type's endpoint, and the resource's id after it. */
function target(op: Operation): { kind: ResourceKind; id?: string } {
  const match = RESOURCE_PATH.exec(op.path ?? '');
  if (!match) throw scimInvalid('invalidValue', `path ${op.path} is not /Users, /Groups or one of their resources`);
  const kind = match[1]!.toLowerCase() === 'users' ? USERS : GROUPS;
  let id: string | undefined;
  try {
    id = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
  } catch {
    throw scimInvalid('invalidValue', `path ${op.path} is not a valid URL path`);
  }
  if (op.method === 'POST' && id !== undefined) throw scimInvalid('invalidValue', `A POST operation goes to /${kind.endpoint}, not to one resource`);
  if (op.method !== 'POST' && id === undefined) throw scimInvalid('invalidValue', `A ${op.method} operation needs the path of one resource, /${kind.endpoint}/{id}`);
  return { kind, ...(id !== undefined ? { id } : {}) };
}

interface Created {
  id: string;
  kind: ResourceKind;
}

/**
 * `value` with each `"bulkId:…"` replaced by the id the operation created. A member or other
 * reference whose `value` names a created Group, and that says no type, gets `"type": "Group"`.
 */
function resolve(value: unknown, created: ReadonlyMap<string, Created>): unknown {
  if (typeof value === 'string') {
    const match = BULK_REFERENCE.exec(value);
    return match ? (created.get(match[1]!)?.id ?? value) : value;
  }
  if (Array.isArray(value)) return value.map((v) => resolve(v, created));
  if (!isObject(value)) return value;
  const out: Json = {};
  for (const [k, v] of Object.entries(value)) out[k] = resolve(v, created);
  const reference = typeof field(value, 'value') === 'string' ? BULK_REFERENCE.exec(field(value, 'value') as string) : null;
  if (reference && created.get(reference[1]!)?.kind === GROUPS && field(value, 'type') === undefined) out.type = 'Group';
  return out;
}

async function run(call: BulkCall, op: Operation, created: ReadonlyMap<string, Created>): Promise<{ result: ScimResult; kind: ResourceKind }> {
  const { kind, id: written } = target(op);
  const id = written === undefined ? undefined : (resolve(written, created) as string);
  const data = resolve(op.data, created);
  const c: ScimCall = { ...call, projection: DEFAULT_PROJECTION, ...(op.version !== undefined ? { ifMatch: op.version } : {}) };
  switch (op.method!) {
    case 'POST':
      return { result: await createResource(c, kind, data), kind };
    case 'PUT':
      return { result: await replaceResource(c, kind, id!, data), kind };
    case 'PATCH':
      return { result: await patchResource(c, kind, id!, data), kind };
    case 'DELETE':
      return { result: await deleteResource(c, kind, id!), kind };
  }
}

/**
 * POST /Bulk (RFC 7644 §3.7). Each operation goes through the same handler as its own request
 * would, so it is applied whole or not at all; the request as a whole is not atomic. Operations
 * run in request order, except that one referring to a bulkId (`"bulkId:qwerty"` in its data or
 * path) waits until the operation with that bulkId has created its resource, so forward references
 * resolve. A reference to an operation that failed fails (409); to a bulkId no POST in the request
 * has, 400 invalidValue; references that wait on each other in a circle are not untangled: the
 * first operation of the circle fails with 409 (§3.7.1 allows that), and those waiting on it then
 * fail as well. Processing stops once failOnErrors operations have failed.
 */
export async function runBulk(call: BulkCall, body: unknown, onUnexpected: (error: unknown) => void): Promise<BulkResponse> {
  const { operations, failOnErrors } = readRequest(body);
  const defined = new Set(operations.flatMap((op) => (op.method === 'POST' && op.bulkId !== undefined ? [op.bulkId] : [])));
  const created = new Map<string, Created>();
  const failed = new Set<string>();
  const results: BulkOperationResult[] = [];
  let errors = 0;

  const record = (op: Operation, outcome: { status: number; location?: string; version?: string; response?: ScimError }) => {
    results.push({
      ...(op.methodText !== undefined ? { method: op.methodText } : {}),
      ...(op.bulkId !== undefined ? { bulkId: op.bulkId } : {}),
      ...(outcome.version !== undefined ? { version: outcome.version } : {}),
      ...(outcome.location !== undefined ? { location: outcome.location } : {}),
      status: String(outcome.status),
      ...(outcome.response ? { response: outcome.response } : {}),
    });
    if (outcome.status >= 400) {
      errors++;
      if (op.bulkId !== undefined) failed.add(op.bulkId);
    }
  };
  const fail = (op: Operation, error: unknown) => {
    const known = translateError(error);
    if (!known) onUnexpected(error);
    const { status, body } = known ?? { status: 500, body: scimError(500, 'Internal error') };
    record(op, { status, response: body });
  };
  const stopped = () => failOnErrors !== undefined && errors >= failOnErrors;

  let pending = operations;
  while (pending.length > 0 && !stopped()) {
    const waiting: Operation[] = [];
    let progressed = false;
    for (const op of pending) {
      if (stopped()) break;
      const unresolved = [...op.refs].filter((ref) => !created.has(ref));
      const unknown = unresolved.find((ref) => !defined.has(ref));
      const lost = unresolved.find((ref) => failed.has(ref));
      if (op.invalid || unknown !== undefined || lost !== undefined) {
        progressed = true;
        if (op.invalid) fail(op, op.invalid);
        else if (unknown !== undefined) fail(op, scimInvalid('invalidValue', `bulkId:${unknown} names no POST operation of this request`));
        else fail(op, new ScimFailure(409, `bulkId:${lost} cannot be resolved: its operation failed`));
        continue;
      }
      if (unresolved.length > 0) {
        waiting.push(op);
        continue;
      }
      progressed = true;
      try {
        const { result, kind } = await run(call, op, created);
        if (op.method === 'POST' && op.bulkId !== undefined && result.id !== undefined) created.set(op.bulkId, { id: result.id, kind });
        record(op, { status: result.status, ...(result.location !== undefined ? { location: result.location } : {}), ...(result.etag !== undefined ? { version: result.etag } : {}) });
      } catch (e) {
        fail(op, e);
      }
    }
    if (!progressed && waiting.length > 0) {
      // Nothing could run: what waits, waits in a circle. Breaking it at a POST lets the rest fail as lost.
      const first = waiting.find((op) => op.bulkId !== undefined) ?? waiting[0]!;
      fail(first, new ScimFailure(409, `Circular reference: the operations this one refers to wait, directly or through others, on ${first.bulkId !== undefined ? `bulkId:${first.bulkId}` : 'it'}`));
      pending = waiting.filter((op) => op !== first);
    } else pending = waiting;
  }
  return { schemas: [BULK_RESPONSE], Operations: results };
}

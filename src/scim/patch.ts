import { scimInvalid } from './errors.js';
import { evaluate, parsePath, type AttributePath } from './filter.js';
import { isObject, keyIn, type Json } from './json.js';
import { attributeDefinition, SCHEMA_URNS } from './schemas.js';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const fail = scimInvalid;

/** The object an attribute lives in: the resource, or its extension object for a URN-qualified path. */
function container(resource: Json, path: AttributePath, create: boolean): Json | undefined {
  if (!path.schema || path.schema.toLowerCase() === SCHEMA_URNS.user.toLowerCase() || path.schema.toLowerCase() === SCHEMA_URNS.group.toLowerCase()) return resource;
  const key = keyIn(resource, path.schema);
  if (!isObject(resource[key])) {
    if (!create) return undefined;
    resource[key] = {};
  }
  return resource[key] as Json;
}

function checkWritable(resourceType: string, path: AttributePath): void {
  const full = `${path.schema ? `${path.schema}:` : ''}${path.name}${path.subAttribute ? `.${path.subAttribute}` : ''}`;
  const definition = attributeDefinition(resourceType, full);
  if (!definition) throw fail('invalidPath', `${full} is not an attribute Roster keeps`);
  if (definition.mutability === 'readOnly') throw fail('mutability', `${full} is read-only`);
}

/** add and replace of a value at a plain attribute path (`title`, `name.givenName`, `urn:…:department`). */
function setAttribute(resource: Json, path: AttributePath, value: unknown, op: 'add' | 'replace'): void {
  const target = container(resource, path, true)!;
  const key = keyIn(target, path.name);
  if (path.subAttribute === undefined) {
    if (op === 'add' && Array.isArray(target[key]) && Array.isArray(value)) target[key] = [...(target[key] as unknown[]), ...value];
    else if (op === 'add' && isObject(target[key]) && isObject(value)) target[key] = { ...(target[key] as Json), ...value };
    else target[key] = value;
    return;
  }
  if (!isObject(target[key])) target[key] = {};
  const inner = target[key] as Json;
  inner[keyIn(inner, path.subAttribute)] = value;
}

function removeAttribute(resource: Json, path: AttributePath): void {
  const target = container(resource, path, false);
  if (!target) return;
  const key = keyIn(target, path.name);
  if (path.subAttribute === undefined) delete target[key];
  else if (isObject(target[key])) delete (target[key] as Json)[keyIn(target[key] as Json, path.subAttribute)];
}

/**
 * Applies a SCIM PATCH request (RFC 7644 §3.5.2) to a resource in its SCIM form, returning the new
 * form; the caller stores it with replace semantics. Takes the variants Entra ID and Okta send:
 * `op` in any case, operations without a path whose value is an object of attributes, and value
 * filters in paths (`emails[type eq "work"].value`, `members[value eq "…"]`). Errors carry the
 * RFC's scimType: invalidSyntax, invalidPath, noTarget, mutability.
 */
export function applyPatch(resourceType: 'User' | 'Group', current: Json, body: unknown): Json {
  if (!isObject(body)) throw fail('invalidSyntax', 'The body must be a PatchOp message');
  const schemasValue = body[keyIn(body, 'schemas')];
  if (!Array.isArray(schemasValue) || !schemasValue.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP.toLowerCase())) {
    throw fail('invalidSyntax', `schemas must include ${PATCH_OP}`);
  }
  const operations = body[keyIn(body, 'Operations')];
  if (!Array.isArray(operations) || operations.length === 0) throw fail('invalidSyntax', 'Operations must be a non-empty list');
  const resource = structuredClone(current);
  for (const operation of operations) {
    if (!isObject(operation)) throw fail('invalidSyntax', 'Each operation must be an object');
    const op = String(operation[keyIn(operation, 'op')] ?? '').toLowerCase();
    if (op !== 'add' && op !== 'replace' && op !== 'remove') throw fail('invalidSyntax', `Unknown operation "${String(operation[keyIn(operation, 'op')])}"`);
    const pathText = operation[keyIn(operation, 'path')];
    const value = operation[keyIn(operation, 'value')];
    if (pathText === undefined || pathText === null || pathText === '') {
      if (op === 'remove') throw fail('noTarget', 'remove needs a path');
      if (!isObject(value)) throw fail('invalidValue', `${op} without a path needs an object of attributes`);
      for (const [name, v] of Object.entries(value)) applyOne(resourceType, resource, op, name, v);
      continue;
    }
    if (typeof pathText !== 'string') throw fail('invalidPath', 'path must be a string');
    if (op !== 'remove' && value === undefined) throw fail('invalidValue', `${op} needs a value`);
    applyOne(resourceType, resource, op, pathText, value);
  }
  return resource;
}

function applyOne(resourceType: string, resource: Json, op: 'add' | 'replace' | 'remove', pathText: string, value: unknown): void {
  const parsed = parsePath(pathText);
  if (!parsed.ok) throw fail('invalidPath', parsed.error);
  const path = parsed.value;
  if (path.kind === 'attribute') {
    // A URN on its own names the whole extension: its value is an object of extension attributes.
    if (path.path.schema === undefined && /^urn:/i.test(path.path.name) && isObject(value)) {
      for (const [name, v] of Object.entries(value)) applyOne(resourceType, resource, op, `${pathText}:${name}`, v);
      return;
    }
    checkWritable(resourceType, path.path);
    if (op === 'remove') removeAttribute(resource, path.path);
    else setAttribute(resource, path.path, value, op);
    return;
  }
  // A value path: the elements of a multi-valued attribute that match the filter.
  checkWritable(resourceType, { ...path.path, ...(path.subAttribute !== undefined ? { subAttribute: path.subAttribute } : {}) });
  const target = container(resource, path.path, op !== 'remove');
  if (!target) return;
  const key = keyIn(target, path.path.name);
  const elements = Array.isArray(target[key]) ? (target[key] as unknown[]) : [];
  const matches = (e: unknown) => isObject(e) && evaluate(path.filter, e);
  if (op === 'remove') {
    target[key] = path.subAttribute === undefined ? elements.filter((e) => !matches(e)) : elements.map((e) => (matches(e) ? without(e as Json, path.subAttribute!) : e));
    return;
  }
  const hits = elements.filter(matches);
  if (hits.length === 0) {
    // Entra ID replaces emails[type eq "work"].value on a user without one: the element is made.
    const made = { ...equalities(path.filter), ...(path.subAttribute !== undefined ? { [path.subAttribute]: value } : isObject(value) ? value : {}) };
    target[key] = [...elements, made];
    return;
  }
  for (const hit of hits as Json[]) {
    if (path.subAttribute !== undefined) hit[keyIn(hit, path.subAttribute)] = value;
    else if (isObject(value)) Object.assign(hit, value);
  }
}

const without = (o: Json, key: string): Json => {
  const copy = { ...o };
  delete copy[keyIn(copy, key)];
  return copy;
};

/** The `attr eq value` conditions of a value filter, as the attributes of an element it would match. */
function equalities(filter: Parameters<typeof evaluate>[0]): Json {
  if (filter.kind === 'compare' && filter.op === 'eq') return { [filter.path.name]: filter.value };
  if (filter.kind === 'and') return Object.assign({}, ...filter.filters.map(equalities));
  return {};
}

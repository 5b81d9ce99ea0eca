import { scimInvalid } from './errors.js';
import { evaluate, parsePath, type AttributePath } from './filter.js';
import { field, isObject, keyIn, type Json } from './json.js';
import { attributeDefinition, SCHEMA_URNS, type AttributeDefinition } from './schemas.js';

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

/** The writable attribute a path names: 400 invalidPath for one Roster does not keep, mutability for a read-only one. */
function checkWritable(resourceType: string, path: AttributePath): AttributeDefinition {
  const full = `${path.schema ? `${path.schema}:` : ''}${path.name}${path.subAttribute ? `.${path.subAttribute}` : ''}`;
  const definition = attributeDefinition(resourceType, full);
  if (!definition) throw fail('invalidPath', `${full} is not an attribute Roster keeps`);
  if (definition.mutability === 'readOnly') throw fail('mutability', `${full} is read-only`);
  return definition;
}

/** Whether the attribute itself (not the sub-attribute the path may name) is multi-valued. */
const isMultiValued = (resourceType: string, path: AttributePath) =>
  attributeDefinition(resourceType, `${path.schema ? `${path.schema}:` : ''}${path.name}`)?.multiValued === true;

/**
 * add and replace of a value at a plain attribute path (`title`, `name.givenName`, `urn:…:department`).
 * RFC 7644 §3.5.2.1: add appends to a multi-valued attribute (one value or a list) and merges into
 * a complex one; a sub-attribute of a multi-valued attribute (`emails.type`) is set in every value.
 */
function setAttribute(resource: Json, path: AttributePath, value: unknown, op: 'add' | 'replace', multiValued: boolean): void {
  const target = container(resource, path, true)!;
  const key = keyIn(target, path.name);
  const existing = target[key];
  if (path.subAttribute === undefined) {
    if (op === 'add' && multiValued && Array.isArray(existing)) target[key] = [...existing, ...(Array.isArray(value) ? value : [value])];
    else if (op === 'add' && multiValued && existing === undefined && value !== null && !Array.isArray(value)) target[key] = [value];
    else if (op === 'add' && isObject(existing) && isObject(value)) target[key] = { ...existing, ...value };
    else target[key] = value;
    return;
  }
  const sub = path.subAttribute;
  if (multiValued) {
    const elements = Array.isArray(existing) ? existing : [];
    target[key] = elements.length === 0 ? [{ [sub]: value }] : elements.map((e) => (isObject(e) ? { ...without(e, sub), [keyIn(e, sub)]: value } : e));
    return;
  }
  if (!isObject(existing)) target[key] = {};
  const inner = target[key] as Json;
  inner[keyIn(inner, sub)] = value;
}

function removeAttribute(resource: Json, path: AttributePath): void {
  const target = container(resource, path, false);
  if (!target) return;
  const key = keyIn(target, path.name);
  const existing = target[key];
  if (path.subAttribute === undefined) delete target[key];
  else if (Array.isArray(existing)) target[key] = existing.map((e) => (isObject(e) ? without(e, path.subAttribute!) : e));
  else if (isObject(existing)) delete existing[keyIn(existing, path.subAttribute)];
}

/** Removes the values of a multi-valued attribute that `value` lists, compared by their `value` sub-attribute. */
function removeValues(resource: Json, path: AttributePath, value: unknown): void {
  const target = container(resource, path, false);
  if (!target) return;
  const key = keyIn(target, path.name);
  const existing = target[key];
  if (!Array.isArray(existing)) return;
  const valueOf = (v: unknown) => (isObject(v) ? field(v, 'value') : v);
  const gone = new Set((Array.isArray(value) ? value : [value]).map(valueOf).filter((v) => v !== undefined && v !== null).map(String));
  target[key] = existing.filter((e) => {
    const v = valueOf(e);
    return v === undefined || v === null || !gone.has(String(v));
  });
}

/** The extension URN a path names on its own (`urn:…:enterprise:2.0:User` reads as attribute User of schema `urn:…:2.0`). */
function wholeExtension(path: AttributePath): string | undefined {
  if (path.subAttribute !== undefined) return undefined;
  const full = path.schema === undefined ? path.name : `${path.schema}:${path.name}`;
  return full.toLowerCase() === SCHEMA_URNS.enterpriseUser.toLowerCase() ? SCHEMA_URNS.enterpriseUser : undefined;
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
    const extension = resourceType === 'User' ? wholeExtension(path.path) : undefined;
    if (extension !== undefined) {
      if (op === 'remove') delete resource[keyIn(resource, extension)];
      else if (!isObject(value)) throw fail('invalidValue', `${op} of ${extension} needs an object of its attributes`);
      else for (const [name, v] of Object.entries(value)) applyOne(resourceType, resource, op, `${extension}:${name}`, v);
      return;
    }
    checkWritable(resourceType, path.path);
    const multiValued = isMultiValued(resourceType, path.path);
    // Entra ID removes members as {op: remove, path: members, value: [{value: id}]}: those values go, not all.
    if (op === 'remove' && multiValued && path.path.subAttribute === undefined && value !== undefined && value !== null) removeValues(resource, path.path, value);
    else if (op === 'remove') removeAttribute(resource, path.path);
    else setAttribute(resource, path.path, value, op, multiValued);
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

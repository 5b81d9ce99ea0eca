import { scimInvalid } from './errors.js';
import { parsePath, type AttributePath } from './filter.js';
import { isObject, type Json } from './json.js';
import { attributeDefinition, SCHEMA_URNS, type AttributeDefinition, type ResourceTypeName } from './schemas.js';

/**
 * Which attributes a response carries (RFC 7644 §3.4.2.5, §3.9): the default set, only the ones
 * named in `attributes`, or the default set less the ones named in `excludedAttributes`. Names are
 * kept as given and resolved per resource type when applied, so one projection serves a search
 * across Users and Groups.
 */
export type Projection = { mode: 'default' } | { mode: 'include' | 'exclude'; paths: AttributePath[] };

export const DEFAULT_PROJECTION: Projection = { mode: 'default' };

const EXTENSIONS: Record<ResourceTypeName, readonly string[]> = { User: [SCHEMA_URNS.enterpriseUser], Group: [] };
const CORE: Record<ResourceTypeName, string> = { User: SCHEMA_URNS.user, Group: SCHEMA_URNS.group };

/** `attributes` or `excludedAttributes`: a comma-separated query parameter, or a search request's list of strings. */
function attributeNames(value: unknown, parameter: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  const names: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') throw scimInvalid('invalidValue', `${parameter} must be a list of attribute names`);
    for (const name of item.split(',')) if (name.trim() !== '') names.push(name.trim());
  }
  return names;
}

function parseNames(value: unknown, parameter: string): AttributePath[] {
  return attributeNames(value, parameter).map((name) => {
    const parsed = parsePath(name);
    if (!parsed.ok || parsed.value.kind !== 'attribute') {
      throw scimInvalid('invalidValue', `${parameter}: '${name}' is not an attribute name such as userName, name.givenName or ${SCHEMA_URNS.enterpriseUser}:department`);
    }
    return parsed.value.path;
  });
}

/**
 * The projection that `attributes` and `excludedAttributes` ask for. They are mutually exclusive
 * (RFC 7644 §3.9): both at once is 400 invalidValue. Names of attributes a resource type does not
 * have are ignored when it is applied.
 */
export function parseProjection(attributes: unknown, excludedAttributes: unknown): Projection {
  const include = attributes === undefined || attributes === null ? [] : parseNames(attributes, 'attributes');
  const exclude = excludedAttributes === undefined || excludedAttributes === null ? [] : parseNames(excludedAttributes, 'excludedAttributes');
  if (include.length > 0 && exclude.length > 0) throw scimInvalid('invalidValue', 'attributes and excludedAttributes are mutually exclusive; send one of them');
  if (include.length > 0) return { mode: 'include', paths: include };
  if (exclude.length > 0) return { mode: 'exclude', paths: exclude };
  return DEFAULT_PROJECTION;
}

/** A name resolved against one resource type: the top-level key it lives under (lowercase), then the attribute and sub-attribute. */
interface Selector {
  /** A core attribute's name, or an extension's URN. */
  key: string;
  /** Inside an extension: the attribute; undefined for the whole extension. */
  attribute?: string;
  sub?: string;
}

/** The full path text of an attribute path, for attributeDefinition. */
export const pathText = (path: AttributePath) => `${path.schema !== undefined ? `${path.schema}:` : ''}${path.name}${path.subAttribute !== undefined ? `.${path.subAttribute}` : ''}`;

/** The attribute a path names in a resource type's schemas (the core one and its extensions); undefined when it has none. */
export function definitionIn(type: ResourceTypeName, path: AttributePath): AttributeDefinition | undefined {
  const schema = path.schema?.toLowerCase();
  // Another resource type's core schema: `urn:…:core:2.0:Group:displayName` is no attribute of a User.
  if (schema !== undefined && schema.startsWith('urn:ietf:params:scim:schemas:core:') && schema !== CORE[type].toLowerCase()) return undefined;
  return attributeDefinition(type, pathText(path));
}

function select(type: ResourceTypeName, path: AttributePath): Selector | undefined {
  if (!definitionIn(type, path)) return undefined;
  const name = path.name.toLowerCase();
  const sub = path.subAttribute?.toLowerCase();
  const schema = path.schema?.toLowerCase();
  if (schema === undefined || schema === CORE[type].toLowerCase()) return { key: name, ...(sub !== undefined ? { sub } : {}) };
  const extension = EXTENSIONS[type].find((urn) => urn.toLowerCase() === schema || urn.toLowerCase() === `${schema}:${name}`);
  if (!extension) return undefined;
  if (extension.toLowerCase() === `${schema}:${name}`) return { key: extension.toLowerCase() };
  return { key: extension.toLowerCase(), attribute: name, ...(sub !== undefined ? { sub } : {}) };
}

const selectors = (type: ResourceTypeName, paths: AttributePath[]) => paths.flatMap((p) => select(type, p) ?? []);

const returnedOf = (type: ResourceTypeName, key: string) => attributeDefinition(type, key)?.returned;

/**
 * Whether a response under this projection shows the top-level attribute `name` of the type at all:
 * front-ends skip loading what it leaves out (a group's members).
 */
export function shows(projection: Projection, type: ResourceTypeName, name: string): boolean {
  const key = name.toLowerCase();
  const returned = returnedOf(type, key);
  if (returned === 'always') return true;
  if (returned === 'never') return false;
  const found = projection.mode === 'default' ? [] : selectors(type, projection.paths).filter((s) => s.key === key);
  if (projection.mode === 'include') return found.length > 0;
  if (projection.mode === 'exclude') return !found.some((s) => s.sub === undefined && s.attribute === undefined);
  return returned !== 'request';
}

/** `value` with only the named sub-attributes, in each element of a list; undefined when nothing is left. */
function pick(value: unknown, subs: ReadonlySet<string>): unknown {
  const one = (v: unknown) => {
    if (!isObject(v)) return undefined;
    const kept = Object.fromEntries(Object.entries(v).filter(([k]) => subs.has(k.toLowerCase())));
    return Object.keys(kept).length > 0 ? kept : undefined;
  };
  if (!Array.isArray(value)) return one(value);
  const kept = value.map(one).filter((v) => v !== undefined);
  return kept.length > 0 ? kept : undefined;
}

/** `value` without the named sub-attributes; undefined when nothing is left. */
function drop(value: unknown, subs: ReadonlySet<string>): unknown {
  const one = (v: unknown) => {
    if (!isObject(v)) return v;
    const kept = Object.fromEntries(Object.entries(v).filter(([k]) => !subs.has(k.toLowerCase())));
    return Object.keys(kept).length > 0 ? kept : undefined;
  };
  if (!Array.isArray(value)) return one(value);
  const kept = value.map(one).filter((v) => v !== undefined);
  return kept.length > 0 ? kept : undefined;
}

/** Applies the selectors that concern one object (the resource, or an extension's object) to it. */
function narrow(object: Json, found: Selector[], mode: 'include' | 'exclude', inExtension: boolean): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(object)) {
    const lower = key.toLowerCase();
    const mine = found.filter((s) => (inExtension ? s.attribute : s.key) === lower);
    const whole = mine.some((s) => s.sub === undefined);
    const subs = new Set(mine.flatMap((s) => (s.sub !== undefined ? [s.sub] : [])));
    let kept: unknown;
    if (mode === 'include') kept = whole ? value : subs.size > 0 ? pick(value, subs) : undefined;
    else kept = whole ? undefined : subs.size > 0 ? drop(value, subs) : value;
    if (kept !== undefined) out[key] = kept;
  }
  return out;
}

/**
 * The resource (its full SCIM form) as the projection shows it. `schemas` and the attributes
 * returned "always" (`id`) are always there, "never" ones (`password`) never; `meta` is returned
 * "default" (RFC 7643 §3.1), so `attributes` must name it or one of its sub-attributes to get it.
 */
export function project(resource: Json, type: ResourceTypeName, projection: Projection): Json {
  if (projection.mode === 'default') return resource;
  const found = selectors(type, projection.paths);
  const extensions = new Set(EXTENSIONS[type].map((urn) => urn.toLowerCase()));
  const out: Json = {};
  for (const [key, value] of Object.entries(resource)) {
    const lower = key.toLowerCase();
    const returned = returnedOf(type, lower);
    if (lower === 'schemas' || returned === 'always') {
      out[key] = value;
      continue;
    }
    if (returned === 'never') continue;
    let kept: unknown;
    if (extensions.has(lower)) {
      const mine = found.filter((s) => s.key === lower);
      const whole = mine.some((s) => s.attribute === undefined);
      const inner = mine.filter((s) => s.attribute !== undefined);
      if (projection.mode === 'include') kept = whole ? value : inner.length > 0 && isObject(value) ? narrow(value, inner, 'include', true) : undefined;
      else kept = whole ? undefined : inner.length > 0 && isObject(value) ? narrow(value, inner, 'exclude', true) : value;
      if (isObject(kept) && Object.keys(kept).length === 0) kept = undefined;
    } else {
      kept = narrow({ [key]: value }, found.filter((s) => s.attribute === undefined && s.key === lower), projection.mode, false)[key];
    }
    if (kept !== undefined) out[key] = kept;
  }
  return out;
}

import { scimInvalid } from './errors.js';
import { isObject, type Json } from './json.js';
import { attributeDefinition, SCHEMA_URNS, type AttributeDefinition, type ResourceTypeName } from './schemas.js';

const fail = (detail: string) => scimInvalid('invalidValue', detail);

const BOOLEAN_TEXT = /^(true|false)$/i;

/** One value (an element, for a multi-valued attribute) against the attribute's type. */
function checkSingle(definition: AttributeDefinition, value: unknown, where: string): void {
  switch (definition.type) {
    case 'string':
    case 'reference':
    case 'dateTime':
    case 'binary':
      if (typeof value !== 'string') throw fail(`${where} must be a string`);
      return;
    case 'boolean':
      // Entra ID sends "True" and "False".
      if (typeof value !== 'boolean' && !(typeof value === 'string' && BOOLEAN_TEXT.test(value))) throw fail(`${where} must be true or false`);
      return;
    case 'integer':
      if (!Number.isInteger(value)) throw fail(`${where} must be an integer`);
      return;
    case 'decimal':
      if (typeof value !== 'number') throw fail(`${where} must be a number`);
      return;
    case 'complex': {
      // A reference to another resource by its id alone, as Entra ID sends the enterprise manager.
      if (typeof value === 'string' && !definition.multiValued && definition.subAttributes?.some((s) => s.name === 'value')) return;
      if (!isObject(value)) throw fail(`${where} must be an object`);
      for (const [key, v] of Object.entries(value)) {
        const sub = definition.subAttributes?.find((s) => s.name.toLowerCase() === key.toLowerCase());
        if (sub && sub.mutability !== 'readOnly') checkValue(sub, v, `${where}.${sub.name}`);
      }
    }
  }
}

function checkValue(definition: AttributeDefinition, value: unknown, where: string): void {
  // RFC 7643 §2.5: null is "unassigned", which a client may send to clear a value.
  if (value === null) return;
  if (!definition.multiValued) return checkSingle(definition, value, where);
  if (!Array.isArray(value)) throw fail(`${where} must be a list`);
  for (const element of value) checkSingle(definition, element, where);
}

/**
 * Checks a User or Group body (POST, PUT, or the result of a PATCH) against the types of the
 * attributes Roster keeps (RFC 7643 §2.3): 400 invalidValue for `userName: 5`, `emails: "x"`,
 * `active: {}`. Attributes Roster does not keep and readOnly ones are not looked at: they are
 * ignored (RFC 7644 §3.3, §3.5.1).
 */
export function checkTypes(type: ResourceTypeName, body: Json): void {
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas') {
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) throw fail('schemas must be a list of schema URIs');
      continue;
    }
    if (type === 'User' && lower === SCHEMA_URNS.enterpriseUser.toLowerCase()) {
      if (value === null) continue;
      if (!isObject(value)) throw fail(`${key} must be an object of enterprise User attributes`);
      for (const [name, v] of Object.entries(value)) {
        const definition = attributeDefinition(SCHEMA_URNS.enterpriseUser, name);
        if (definition && definition.mutability !== 'readOnly' && !name.includes('.')) checkValue(definition, v, name);
      }
      continue;
    }
    // Dotted and URN-qualified keys are no attribute names in a body; the readers ignore them.
    if (key.includes('.') || key.includes(':')) continue;
    const definition = attributeDefinition(type, key);
    if (definition && definition.mutability !== 'readOnly') checkValue(definition, value, definition.name);
  }
}

import { BerError, BerReader, Tag } from './ber.js';
import { parseDn } from './dn.js';
import {
  INTEGER,
  approximateForm,
  compareNormalized,
  normalizeForRule,
  normalizeForSubstrings,
  substringsMatch,
  type SubstringAssertion,
} from './matching.js';
import { attributeType, BIT_AND_RULE, BIT_OR_RULE, equalityRule, IN_CHAIN_RULE, type AttributeTypeDef, type EqualityRule } from './schema.js';

/** RFC 4511 §4.5.1.7 search filters. */
export type LdapFilter =
  | { type: 'and' | 'or'; filters: LdapFilter[] }
  | { type: 'not'; filter: LdapFilter }
  | { type: 'equal' | 'ge' | 'le' | 'approx'; attribute: string; value: string }
  | { type: 'substrings'; attribute: string; initial?: string; any: string[]; final?: string }
  | { type: 'present'; attribute: string }
  | { type: 'extensible'; rule?: string; attribute?: string; value: string; dnAttributes: boolean };

const MAX_DEPTH = 64;
const MAX_NODES = 2048;

/** Decodes a Filter element; throws BerError on malformed input. */
export function readFilter(reader: BerReader): LdapFilter {
  const budget = { nodes: 0 };
  return readNode(reader, 0, budget);
}

function readNode(reader: BerReader, depth: number, budget: { nodes: number }): LdapFilter {
  if (depth > MAX_DEPTH) throw new BerError('filter nested too deeply');
  if (++budget.nodes > MAX_NODES) throw new BerError('filter has too many components');
  const tag = reader.peekTag();
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      const { body } = reader.element();
      const filters: LdapFilter[] = [];
      while (!body.done) filters.push(readNode(body, depth + 1, budget));
      return { type: tag === 0xa0 ? 'and' : 'or', filters };
    }
    case 0xa2: {
      const { body } = reader.element();
      const filter = readNode(body, depth + 1, budget);
      body.finish();
      return { type: 'not', filter };
    }
    case 0xa3:
    case 0xa5:
    case 0xa6:
    case 0xa8: {
      const { body } = reader.element();
      const attribute = body.string();
      const value = body.string();
      body.finish();
      const type = tag === 0xa3 ? 'equal' : tag === 0xa5 ? 'ge' : tag === 0xa6 ? 'le' : 'approx';
      return { type, attribute, value };
    }
    case 0xa4: {
      const { body } = reader.element();
      const attribute = body.string();
      const { body: parts } = body.element(Tag.Sequence);
      body.finish();
      const result: LdapFilter = { type: 'substrings', attribute, any: [] };
      let count = 0;
      while (!parts.done) {
        const partTag = parts.peekTag();
        const value = parts.string(partTag);
        count++;
        if (partTag === 0x80) {
          // RFC 4511: at most one initial, and it comes first.
          if (count !== 1) throw new BerError('substring initial must come first');
          result.initial = value;
        } else if (partTag === 0x81) {
          if (result.final !== undefined) throw new BerError('substring any after final');
          result.any.push(value);
        } else if (partTag === 0x82) {
          if (result.final !== undefined) throw new BerError('two substring finals');
          result.final = value;
        } else {
          throw new BerError('bad substring choice');
        }
      }
      if (count === 0) throw new BerError('empty substring filter');
      return result;
    }
    case 0x87:
      return { type: 'present', attribute: reader.string(0x87) };
    case 0xa9: {
      const { body } = reader.element();
      const result: LdapFilter = { type: 'extensible', value: '', dnAttributes: false };
      if (body.peekTag() === 0x81) result.rule = body.string(0x81);
      if (body.peekTag() === 0x82) result.attribute = body.string(0x82);
      result.value = body.string(0x83);
      if (body.peekTag() === 0x84) result.dnAttributes = body.boolean(0x84);
      body.finish();
      if (result.rule === undefined && result.attribute === undefined) throw new BerError('extensible match needs a rule or a type');
      return result;
    }
    default:
      throw new BerError(`unknown filter choice 0x${(tag ?? 0).toString(16)}`);
  }
}

/** RFC 4515 string form, for logs and the journal. */
export function filterToString(filter: LdapFilter): string {
  const esc = (v: string) => v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  switch (filter.type) {
    case 'and':
      return `(&${filter.filters.map(filterToString).join('')})`;
    case 'or':
      return `(|${filter.filters.map(filterToString).join('')})`;
    case 'not':
      return `(!${filterToString(filter.filter)})`;
    case 'equal':
      return `(${filter.attribute}=${esc(filter.value)})`;
    case 'ge':
      return `(${filter.attribute}>=${esc(filter.value)})`;
    case 'le':
      return `(${filter.attribute}<=${esc(filter.value)})`;
    case 'approx':
      return `(${filter.attribute}~=${esc(filter.value)})`;
    case 'present':
      return `(${filter.attribute}=*)`;
    case 'substrings':
      return `(${filter.attribute}=${esc(filter.initial ?? '')}*${filter.any.map((a) => `${esc(a)}*`).join('')}${esc(filter.final ?? '')})`;
    case 'extensible':
      return `(${filter.attribute ?? ''}${filter.dnAttributes ? ':dn' : ''}${filter.rule ? `:${filter.rule}` : ''}:=${esc(filter.value)})`;
  }
}

/** What the evaluator needs from an entry. */
export interface FilterTarget {
  /** Raw values of an attribute (canonical lower-case name), or undefined when absent. */
  values(name: string): readonly string[] | undefined;
  /** Values normalized for the attribute's equality rule, cached by the entry. */
  normalized(def: AttributeTypeDef): readonly string[] | undefined;
  /** Every attribute/value pair of the entry's DN (lower-case canonical types), for `:dn:` matches. */
  dnValues(): readonly { type: string; value: string }[];
  /** Canonical lower-case names of the attributes the entry has. */
  attributeNames(): Iterable<string>;
  /** In-chain matching: whether `dn` (normalized) is reached from this entry through `attribute`. */
  chain(attribute: 'member' | 'memberOf', dn: string): boolean;
}

/** Three-valued result (RFC 4511 §4.5.1.7): true, false or undefined. */
export type Truth = boolean | undefined;

export function evaluate(filter: LdapFilter, target: FilterTarget): Truth {
  switch (filter.type) {
    case 'and': {
      let result: Truth = true;
      for (const f of filter.filters) {
        const r = evaluate(f, target);
        if (r === false) return false;
        if (r === undefined) result = undefined;
      }
      return result;
    }
    case 'or': {
      let result: Truth = false;
      for (const f of filter.filters) {
        const r = evaluate(f, target);
        if (r === true) return true;
        if (r === undefined) result = undefined;
      }
      return result;
    }
    case 'not': {
      const r = evaluate(filter.filter, target);
      return r === undefined ? undefined : !r;
    }
    case 'present': {
      const def = attributeType(filter.attribute);
      if (!def || hasOptions(filter.attribute)) return false;
      if (def.name === 'objectClass') return true;
      return (target.values(def.name.toLowerCase())?.length ?? 0) > 0;
    }
    case 'equal':
      return compareAssertion(filter.attribute, filter.value, target, (a, values) => values.includes(a));
    case 'ge':
    case 'le': {
      const sign = filter.type === 'ge' ? 1 : -1;
      return compareAssertion(
        filter.attribute,
        filter.value,
        target,
        (a, values, def) => values.some((v) => sign * compareNormalized(def.equality, v, a) >= 0),
        true,
      );
    }
    case 'approx': {
      const def = attributeType(filter.attribute);
      if (!def || def.name === 'userPassword') return undefined;
      if (hasOptions(filter.attribute)) return false;
      const textual = def.equality.startsWith('case');
      if (!textual) return evaluate({ type: 'equal', attribute: filter.attribute, value: filter.value }, target);
      const values = target.values(def.name.toLowerCase());
      if (!values) return false;
      const wanted = approximateForm(filter.value);
      return values.some((v) => approximateForm(v) === wanted);
    }
    case 'substrings': {
      const def = attributeType(filter.attribute);
      if (!def || !def.substrings || def.name === 'userPassword') return undefined;
      if (hasOptions(filter.attribute)) return false;
      const values = target.values(def.name.toLowerCase());
      if (!values) return false;
      const prep = (v: string) => normalizeForSubstrings(def.equality, v);
      const assertion: SubstringAssertion = {
        initial: filter.initial === undefined ? undefined : prep(filter.initial),
        any: filter.any.map(prep),
        final: filter.final === undefined ? undefined : prep(filter.final),
      };
      return values.some((v) => substringsMatch(prep(v).trim(), trimAssertion(assertion)));
    }
    case 'extensible':
      return extensible(filter, target);
  }
}

/** A matching rule applies to the attributes whose syntax it is defined for (RFC 4517 §4.2). */
function ruleApplies(rule: EqualityRule, def: AttributeTypeDef | undefined): boolean {
  if (!def) return false;
  if (rule === def.equality) return true;
  const text = (r: EqualityRule) => r === 'caseIgnoreMatch' || r === 'caseExactMatch';
  const ia5 = (r: EqualityRule) => r === 'caseIgnoreIA5Match' || r === 'caseExactIA5Match';
  return (text(rule) && text(def.equality)) || (ia5(rule) && ia5(def.equality));
}

function hasOptions(description: string): boolean {
  return description.includes(';');
}

/** Leading and trailing insignificant spaces do not count at the ends of the value. */
function trimAssertion(a: SubstringAssertion): SubstringAssertion {
  return { initial: a.initial?.trimStart(), any: a.any, final: a.final?.trimEnd() };
}

function compareAssertion(
  attribute: string,
  raw: string,
  target: FilterTarget,
  test: (assertion: string, values: readonly string[], def: AttributeTypeDef) => boolean,
  needsOrdering = false,
): Truth {
  const def = attributeType(attribute);
  if (!def || def.name === 'userPassword') return undefined;
  if (needsOrdering && !def.ordering) return undefined;
  if (hasOptions(attribute)) return false;
  const assertion = normalizeForRule(def.equality, raw);
  if (assertion === undefined) return undefined;
  const values = target.normalized(def);
  if (!values || values.length === 0) return false;
  return test(assertion, values, def);
}

function extensible(filter: Extract<LdapFilter, { type: 'extensible' }>, target: FilterTarget): Truth {
  const def = filter.attribute ? attributeType(filter.attribute) : undefined;
  if (filter.attribute && (!def || def.name === 'userPassword')) return undefined;
  if (filter.rule === IN_CHAIN_RULE) {
    if (!def || (def.name !== 'member' && def.name !== 'memberOf')) return undefined;
    const dn = parseDn(filter.value);
    if (!dn.ok) return undefined;
    return target.chain(def.name, dn.value.normalized);
  }
  if (filter.rule === BIT_AND_RULE || filter.rule === BIT_OR_RULE) {
    // Masks beyond 64 bits cannot match stored values and would only cost time.
    if (!def || def.equality !== 'integerMatch' || !INTEGER.test(filter.value) || filter.value.length > 20) return undefined;
    const mask = BigInt(filter.value);
    const values = target.values(def.name.toLowerCase()) ?? [];
    return values.some((v) => {
      const n = BigInt(v) & mask;
      return filter.rule === BIT_AND_RULE ? n === mask : n !== 0n;
    });
  }
  const rule = filter.rule ? equalityRule(filter.rule) : def?.equality;
  if (!rule) return undefined;
  const assertion = normalizeForRule(rule, filter.value);
  if (assertion === undefined) return undefined;
  const matches = (value: string) => normalizeForRule(rule, value) === assertion;
  if (def && (target.values(def.name.toLowerCase()) ?? []).some(matches)) return true;
  if (!def) {
    // RFC 4511 §4.5.1.7.7: with no type, every attribute the rule applies to is tested.
    for (const name of target.attributeNames()) {
      const attr = attributeType(name);
      if (attr && attr.name !== 'userPassword' && ruleApplies(rule, attr) && (target.values(name) ?? []).some(matches)) return true;
    }
  }
  if (filter.dnAttributes) {
    const type = def?.name.toLowerCase();
    return target.dnValues().some((ava) => {
      if (type ? ava.type !== type : !ruleApplies(rule, attributeType(ava.type))) return false;
      return matches(ava.value);
    });
  }
  return false;
}

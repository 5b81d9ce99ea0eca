import {
  AndFilter,
  ApproximateFilter,
  EqualityFilter,
  ExtensibleFilter,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
  type Filter,
} from 'ldapts';
import { AdError } from './errors.js';

/**
 * RFC 4515 filter strings as ldapts filters, escapes read as bytes. ldapts's own parser turns
 * `\hh` into the character U+00hh and sends it UTF-8 encoded, so `(objectGUID=\9d\d0…)` and even
 * `(cn=Jos\c3\a9)` would reach the server as other bytes. Here an escaped value is bytes: sent as
 * they are in equality matches, read as UTF-8 elsewhere.
 */

const utf8 = new TextDecoder('utf8', { fatal: true, ignoreBOM: true });

class Parser {
  private i = 0;

  constructor(private readonly text: string) {}

  parse(): Filter {
    const trimmed = this.text.trim();
    const s = trimmed.startsWith('(') ? trimmed : `(${trimmed})`;
    const f = this.component(s);
    if (this.i !== s.length) this.fail(`unexpected ${JSON.stringify(s.slice(this.i))}`);
    return f;
  }

  private fail(why: string): never {
    throw new AdError('bad_request', `invalid LDAP filter ${JSON.stringify(this.text)}: ${why}`);
  }

  private component(s: string): Filter {
    if (s[this.i] !== '(') this.fail(`expected "(" at ${this.i}`);
    this.i++;
    let result: Filter;
    const c = s[this.i];
    if (c === '&' || c === '|') {
      this.i++;
      const filters: Filter[] = [];
      while (s[this.i] === '(') filters.push(this.component(s));
      result = c === '&' ? new AndFilter({ filters }) : new OrFilter({ filters });
    } else if (c === '!') {
      this.i++;
      result = new NotFilter({ filter: this.component(s) });
    } else {
      const end = s.indexOf(')', this.i);
      if (end < 0) this.fail('missing ")"');
      result = item(s.slice(this.i, end), (why) => this.fail(why));
      this.i = end;
    }
    if (s[this.i] !== ')') this.fail(`expected ")" at ${this.i}`);
    this.i++;
    return result;
  }
}

/** A value's bytes: `\hh` escapes as bytes, the rest as UTF-8. */
function bytesOf(value: string, fail: (why: string) => never): Buffer {
  const parts: Buffer[] = [];
  let literal = '';
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\') {
      const hex = value.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) fail(`bad escape \\${hex}`);
      parts.push(Buffer.from(literal, 'utf8'), Buffer.from([Number.parseInt(hex, 16)]));
      literal = '';
      i += 2;
    } else if (ch === '(' || ch === '\0') {
      fail(`unescaped ${JSON.stringify(ch)} in a value`);
    } else {
      literal += ch;
    }
  }
  parts.push(Buffer.from(literal, 'utf8'));
  return Buffer.concat(parts);
}

function textOf(value: string, fail: (why: string) => never): string {
  try {
    return utf8.decode(bytesOf(value, fail));
  } catch (e) {
    if (e instanceof AdError) throw e;
    return fail('binary values work in equality matches only');
  }
}

function item(s: string, fail: (why: string) => never): Filter {
  const m = /^([A-Za-z0-9][A-Za-z0-9.;-]*)?(:dn)?(?::([A-Za-z0-9.-]+))?:=([\s\S]*)$/i.exec(s);
  if (m && (m[1] || m[3]) && s.includes(':=')) {
    return new ExtensibleFilter({
      ...(m[1] ? { matchType: m[1] } : {}),
      ...(m[3] ? { rule: m[3] } : {}),
      dnAttributes: m[2] !== undefined,
      value: textOf(m[4]!, fail),
    });
  }
  const simple = /^([A-Za-z0-9][A-Za-z0-9.;-]*)(~=|>=|<=|=)([\s\S]*)$/.exec(s);
  if (!simple) fail(`cannot read ${JSON.stringify(s)}`);
  const [, attribute, op, value] = simple as unknown as [string, string, string, string];
  if (op === '~=') return new ApproximateFilter({ attribute, value: textOf(value, fail) });
  if (op === '>=') return new GreaterThanEqualsFilter({ attribute, value: textOf(value, fail) });
  if (op === '<=') return new LessThanEqualsFilter({ attribute, value: textOf(value, fail) });
  if (value === '*') return new PresenceFilter({ attribute });
  if (value.includes('*')) {
    const pieces = value.split('*').map((p) => textOf(p, fail));
    const initial = pieces.shift()!;
    const final = pieces.pop()!;
    return new SubstringFilter({ attribute, initial, any: pieces.filter((p) => p !== ''), final });
  }
  const bytes = bytesOf(value, fail);
  try {
    return new EqualityFilter({ attribute, value: utf8.decode(bytes) });
  } catch {
    return new EqualityFilter({ attribute, value: bytes });
  }
}

/** An RFC 4515 filter string (outer parentheses optional) as an ldapts Filter, escapes as bytes. */
export const parseFilter = (text: string): Filter => new Parser(text).parse();

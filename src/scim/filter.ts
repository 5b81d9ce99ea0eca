import { parseError, parsed, type Parsed } from '../core/errors.js';
import { foldCase, parseTimestamp } from '../core/query.js';
import { field, isObject } from './json.js';

/** What parseFilter and parsePath return; the server answers an error with 400 `invalidFilter`. */
export type ParseResult<T> = Parsed<T>;

export const MAX_FILTER_LENGTH = 8192;
export const MAX_FILTER_DEPTH = 50;

export type CompareOperator = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
export type CompareValue = string | number | boolean | null;

/** RFC 7644 `attrPath = [URI ":"] ATTRNAME *1subAttr`, names as written; compare them case-insensitively. */
export interface AttributePath {
  /** The schema URI, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`. */
  schema?: string;
  name: string;
  subAttribute?: string;
}

type Expression<Leaf> =
  | { kind: 'compare'; path: AttributePath; op: CompareOperator; value: CompareValue }
  | { kind: 'present'; path: AttributePath }
  | { kind: 'and' | 'or'; filters: Expression<Leaf>[] }
  | { kind: 'not'; filter: Expression<Leaf> }
  | Leaf;

/** The filter inside `attr[...]`: its paths are bare sub-attribute names of `attr`, and it holds no `[...]` of its own. */
export type ValueFilter = Expression<never>;

/** `emails[type eq "work"]`: true when one value of the multi-valued attribute satisfies the inner filter. */
export interface ValuePathFilter {
  kind: 'valuePath';
  path: AttributePath;
  filter: ValueFilter;
}

/** RFC 7644 §3.4.2.2 filter; `and` and `or` hold two or more operands in source order. */
export type Filter = Expression<ValuePathFilter>;

/** RFC 7644 §3.5.2 PATCH path: `PATH = attrPath / valuePath [subAttr]`. */
export type Path =
  | { kind: 'attribute'; path: AttributePath }
  | { kind: 'valuePath'; path: AttributePath; filter: ValueFilter; subAttribute?: string };

export interface EvaluateOptions {
  /** Whether string comparisons on this attribute are case-exact; asked with the lowercased full path (`id`, `emails.value`). */
  caseExact?: (attributePath: string) => boolean;
}

const COMPARE_OPERATORS: ReadonlySet<string> = new Set<CompareOperator>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const ORDERING: ReadonlySet<string> = new Set<CompareOperator>(['gt', 'ge', 'lt', 'le']);
const OPERATOR_LIST = 'eq, ne, co, sw, ew, gt, ge, lt, le or pr';
// RFC 7643 §2.1 nameChar has "$" (for `$ref`); RFC 7644 Figure 1 forgot it.
const ATTRNAME = /^(?:\$ref|[A-Za-z][A-Za-z0-9_$-]*)$/;
const SCHEMA_URI = /^[A-Za-z][A-Za-z0-9+.-]*:./;
const CORE_SCHEMA_PREFIX = 'urn:ietf:params:scim:schemas:core:';
// RFC 8259 §7: no raw control characters, only the listed escapes.
const JSON_STRING = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"$/;
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;
const NUMBER_RUN = /[0-9eE+.-]*/y;
const WORD_START = /[A-Za-z$]/;
const WORD_RUN = /[A-Za-z0-9_$.:-]*/y;
const XSD_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?$/;
// Lenient values (see readBareValue): a run up to white space, a bracket or a quote.
const BARE_RUN = /[^ \t\r\n()[\]"\u0000-\u001f\u007f]*/y;
const LETTER = /^\p{L}/u;
const BARE_DATE = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?)?$/;

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

/** `bare`: a comparison value written without quotes, read as a string (see readBareValue). */
type TokenType = 'word' | 'string' | 'number' | 'bare' | '(' | ')' | '[' | ']' | '.' | 'end';

interface Token {
  type: TokenType;
  text: string;
  value?: string | number;
  /** 1-based position of the token's first character. */
  at: number;
}

/**
 * Thrown inside the parser only; parseFilter and parsePath turn it into `{ ok: false }`. Not an
 * Error: capturing a stack trace for every refused filter tripled the cost of refusing one.
 */
class SyntaxFailure {
  constructor(readonly message: string) {}
}

function fail(message: string): never {
  throw new SyntaxFailure(message);
}

function show(token: Token): string {
  if (token.type === 'end') return 'the end';
  const text = token.text.length > 40 ? `${token.text.slice(0, 40)}…` : token.text;
  return token.type === 'string' ? text : `'${text}'`;
}

const wordLike = (token: Token) => token.type === 'word' || token.type === 'string' || token.type === 'number' || token.type === 'bare';

function stringEnd(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

const jsonString = (raw: string): string | undefined => (JSON_STRING.test(raw) ? (JSON.parse(raw) as string) : undefined);

/** The end of the run of `run`'s characters that starts at `from`. */
function runEnd(run: RegExp, text: string, from: number): number {
  run.lastIndex = from;
  run.test(text);
  return run.lastIndex;
}

function readToken(text: string, start: number): Token {
  const c = text[start]!;
  const at = start + 1;
  if (c === '(' || c === ')' || c === '[' || c === ']' || c === '.') return { type: c, text: c, at };
  let end = start + 1;
  if (c === '"') {
    end = stringEnd(text, start);
    if (end < 0) fail(`unterminated string starting at position ${at}`);
    const raw = text.slice(start, end + 1);
    const value = jsonString(raw);
    if (value === undefined) fail(`invalid string at position ${at}: escape with \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX, and no raw control characters`);
    return { type: 'string', text: raw, value, at };
  }
  if (c === '-' || (c >= '0' && c <= '9')) {
    end = runEnd(NUMBER_RUN, text, end);
    const raw = text.slice(start, end);
    const value = Number(raw);
    if (!JSON_NUMBER.test(raw)) fail(`invalid number '${raw}' at position ${at}`);
    if (!Number.isFinite(value)) fail(`number '${raw}' at position ${at} is out of range`);
    return { type: 'number', text: raw, value, at };
  }
  if (WORD_START.test(c)) {
    end = runEnd(WORD_RUN, text, end);
    return { type: 'word', text: text.slice(start, end), at };
  }
  return fail(`unexpected character ${JSON.stringify(c)} at position ${at}`);
}

/** Whether the next token is the value of a comparison: it follows `attrPath compareOp`. */
function atValue(tokens: readonly Token[]): boolean {
  const [path, op] = [tokens.at(-2), tokens.at(-1)];
  return path?.type === 'word' && op?.type === 'word' && COMPARE_OPERATORS.has(op.text.toLowerCase());
}

/**
 * A comparison value without quotes, which RFC 7644 does not allow but Microsoft Entra ID sends
 * (`userName sw O`, `name.familyName eq Employee`, `meta.created gt 2015-10-10T14:38:21-07:00`):
 * taken as a string where it cannot be anything else. It runs to white space, a bracket or a
 * quote, and starts with a letter (`true`, `false` and `null` stay keywords) or is an xsd:date or
 * xsd:dateTime. Anything else (`01`, `+1`, `'x'`, `@x`) is read as RFC 7644 says, so a malformed
 * number or a stray character is still an error.
 */
function readBareValue(text: string, start: number): Token | undefined {
  const raw = text.slice(start, runEnd(BARE_RUN, text, start));
  const at = start + 1;
  if (LETTER.test(raw)) {
    if (['true', 'false', 'null'].includes(raw.toLowerCase())) return { type: 'word', text: raw, at };
    return { type: 'bare', text: raw, value: raw, at };
  }
  return BARE_DATE.test(raw) ? { type: 'bare', text: raw, value: raw, at } : undefined;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let spaced = true;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      i++;
      spaced = true;
      continue;
    }
    const token = (atValue(tokens) ? readBareValue(text, i) : undefined) ?? readToken(text, i);
    const previous = tokens.at(-1);
    // The ABNF puts SP between a path, its operator, its value and the next and/or.
    if (!spaced && previous && wordLike(previous) && wordLike(token)) fail(`missing space before ${show(token)} at position ${token.at}`);
    tokens.push(token);
    i = token.at - 1 + token.text.length;
    spaced = false;
  }
  tokens.push({ type: 'end', text: '', at: text.length + 1 });
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent, bounded by MAX_FILTER_DEPTH
// ---------------------------------------------------------------------------------------------

const isKeyword = (token: Token, keyword: string) => token.type === 'word' && token.text.toLowerCase() === keyword;

function isValueToken(token: Token): boolean {
  if (token.type === 'string' || token.type === 'number') return true;
  return token.type === 'word' && ['true', 'false', 'null'].includes(token.text.toLowerCase());
}

function toAttributePath(token: Token): AttributePath {
  const text = token.text;
  const colon = text.lastIndexOf(':');
  const schema = colon < 0 ? undefined : text.slice(0, colon);
  if (schema !== undefined && !SCHEMA_URI.test(schema)) fail(`'${schema}' at position ${token.at} is not a schema URI`);
  const names = text.slice(colon + 1).split('.');
  if (names.length > 2) fail(`'${text}' at position ${token.at} has too many parts: a path is name or name.subAttribute, after an optional schema URI`);
  for (const name of names) {
    if (!ATTRNAME.test(name)) fail(`'${text}' at position ${token.at} is not an attribute path: a name starts with a letter, then letters, digits, '-', '_' or '$'`);
  }
  const [name, subAttribute] = names as [string, string | undefined];
  return { ...(schema === undefined ? {} : { schema }), name, ...(subAttribute === undefined ? {} : { subAttribute }) };
}

class Parser {
  private index = 0;
  private depth = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly what: 'filter' | 'path',
  ) {}

  private peek(ahead = 0): Token {
    return this.tokens[Math.min(this.index + ahead, this.tokens.length - 1)]!;
  }

  private next(): Token {
    const token = this.peek();
    if (token.type !== 'end') this.index++;
    return token;
  }

  /** `scope` is the attribute whose `[...]` we are in. */
  or(scope?: AttributePath): Filter {
    return this.chain('or', () => this.and(scope));
  }

  // RFC 7644 §3.4.2.2: "not" binds tighter than "and", which binds tighter than "or".
  private and(scope?: AttributePath): Filter {
    return this.chain('and', () => this.unary(scope));
  }

  private chain(keyword: 'and' | 'or', operand: () => Filter): Filter {
    const filters = [operand()];
    while (isKeyword(this.peek(), keyword)) {
      this.index++;
      filters.push(operand());
    }
    return filters.length === 1 ? filters[0]! : { kind: keyword, filters };
  }

  private unary(scope?: AttributePath): Filter {
    const token = this.peek();
    if (token.type === '(') return this.enclosed(scope, ')');
    // Figure 1 has no SP in `"not" "("`, its own examples do (errata 7319): take both.
    if (isKeyword(token, 'not') && this.peek(1).type === '(') {
      this.index++;
      return { kind: 'not', filter: this.enclosed(scope, ')') };
    }
    if (token.type === 'word') return this.attributeExpression(scope);
    if (token.type === 'end') return fail(`the ${this.what} ends where an attribute path, '(' or 'not (' is expected (position ${token.at})`);
    return fail(`expected an attribute path, '(' or 'not (' at position ${token.at}, found ${show(token)}`);
  }

  /** `(...)`, or the `[...]` of a value path with `scope` its attribute: one level deeper. */
  private enclosed(scope: AttributePath | undefined, close: ')' | ']'): Filter {
    const open = this.next();
    if (++this.depth > MAX_FILTER_DEPTH) fail(`nested more than ${MAX_FILTER_DEPTH} levels deep at position ${open.at}`);
    const inner = this.or(scope);
    const end = this.next();
    if (end.type !== close) {
      if (end.type === 'end') fail(`missing '${close}' to close the '${open.text}' at position ${open.at}`);
      fail(`expected 'and', 'or' or '${close}' (closing the '${open.text}' at position ${open.at}) at position ${end.at}, found ${show(end)}`);
    }
    this.depth--;
    return inner;
  }

  /** `attr[...]` applies to a multi-valued attribute; RFC 7643 §2.3.8 gives sub-attributes no sub-attributes. */
  private valueFilter(path: AttributePath, scope?: AttributePath): ValueFilter {
    const open = this.peek();
    if (scope) fail(`value filters do not nest: '[' at position ${open.at} is inside ${scope.name}[...]`);
    if (path.subAttribute !== undefined) fail(`'[' at position ${open.at} follows the sub-attribute ${path.name}.${path.subAttribute}; a value filter follows a multi-valued attribute`);
    // Inside the brackets attributeExpression refuses another '[': no valuePath in the result.
    return this.enclosed(path, ']') as ValueFilter;
  }

  private attributePath(token: Token, scope?: AttributePath): AttributePath {
    if (token.type !== 'word') fail(`expected an attribute path at position ${token.at}, found ${show(token)}`);
    const path = toAttributePath(token);
    if (scope && (path.schema !== undefined || path.subAttribute !== undefined)) {
      fail(`inside ${scope.name}[...] name a sub-attribute of ${scope.name} such as 'value', not '${token.text}' (position ${token.at})`);
    }
    return path;
  }

  private attributeExpression(scope?: AttributePath): Filter {
    const name = this.next();
    const path = this.attributePath(name, scope);
    const token = this.peek();
    if (token.type === '[') {
      const filter = this.valueFilter(path, scope);
      const dot = this.peek();
      if (dot.type === '.') {
        fail(`'].' at position ${dot.at - 1}: a sub-attribute after the brackets belongs to PATCH paths, not filters; put it inside, e.g. emails[type eq "work" and value co "@example.com"]`);
      }
      return { kind: 'valuePath', path, filter };
    }
    if (token.type === 'end') fail(`missing operator after '${name.text}' at the end of the ${this.what}; expected ${OPERATOR_LIST}`);
    if (token.type !== 'word') fail(`expected an operator (${OPERATOR_LIST}) after '${name.text}' at position ${token.at}, found ${show(token)}`);
    const op = token.text.toLowerCase();
    this.index++;
    if (op === 'pr') {
      const after = this.peek();
      if (isValueToken(after)) fail(`'pr' takes no value, found ${show(after)} at position ${after.at}`);
      return { kind: 'present', path };
    }
    if (!COMPARE_OPERATORS.has(op)) fail(`unknown operator '${token.text}' at position ${token.at}; expected ${OPERATOR_LIST}`);
    const value = this.compareValue(token);
    // RFC 7644 §3.4.2.2: gt, ge, lt and le on booleans SHALL fail with invalidFilter.
    if (typeof value === 'boolean' && ORDERING.has(op)) fail(`'${op}' cannot order booleans (position ${token.at})`);
    return { kind: 'compare', path, op: op as CompareOperator, value };
  }

  private compareValue(operator: Token): CompareValue {
    const token = this.next();
    if (token.type === 'string' || token.type === 'number' || token.type === 'bare') return token.value!;
    if (token.type === 'word') {
      const word = token.text.toLowerCase();
      if (word === 'true') return true;
      if (word === 'false') return false;
      if (word === 'null') return null;
      fail(`the value ${show(token)} at position ${token.at} must be quoted: "${token.text}"`);
    }
    if (token.type === 'end') fail(`missing value after '${operator.text}' at the end of the ${this.what}`);
    return fail(`expected a value ("string", number, true, false or null) after '${operator.text}' at position ${token.at}, found ${show(token)}`);
  }

  expectEnd(): void {
    const token = this.peek();
    if (token.type === 'end') return;
    if (token.type === ')' || token.type === ']') fail(`unexpected '${token.type}' at position ${token.at}: nothing to close`);
    fail(`unexpected ${show(token)} at position ${token.at}; expected ${this.what === 'filter' ? "'and', 'or' or " : ''}the end of the ${this.what}`);
  }

  patchPath(): Path {
    const name = this.next();
    const path = this.attributePath(name);
    const open = this.peek();
    if (open.type !== '[') {
      this.expectEnd();
      return { kind: 'attribute', path };
    }
    const filter = this.valueFilter(path);
    if (this.peek().type !== '.') {
      this.expectEnd();
      return { kind: 'valuePath', path, filter };
    }
    this.index++;
    const sub = this.next();
    if (sub.type !== 'word' || !ATTRNAME.test(sub.text)) fail(`expected a sub-attribute name after '].' at position ${sub.at}, found ${show(sub)}`);
    this.expectEnd();
    return { kind: 'valuePath', path, filter, subAttribute: sub.text };
  }
}

function run<T>(text: string, what: 'filter' | 'path', body: (parser: Parser) => T): ParseResult<T> {
  // The text may come straight from a JSON body (`/.search`, PATCH operations).
  if (typeof text !== 'string') return parseError(`the ${what} must be a string`);
  if (text.length > MAX_FILTER_LENGTH) return parseError(`the ${what} is ${text.length} characters long; the limit is ${MAX_FILTER_LENGTH}`);
  if (text.trim() === '') return parseError(`the ${what} is empty`);
  try {
    return parsed(body(new Parser(tokenize(text), what)));
  } catch (e) {
    if (e instanceof SyntaxFailure) return parseError(`invalid ${what}: ${e.message}`);
    throw e;
  }
}

/** Parses a `filter` query parameter or `/.search` filter (RFC 7644 §3.4.2.2, Figure 1). */
export function parseFilter(text: string): ParseResult<Filter> {
  return run(text, 'filter', (parser) => {
    const filter = parser.or();
    parser.expectEnd();
    return filter;
  });
}

/** Parses a PATCH operation's `path` (RFC 7644 §3.5.2, Figure 7). */
export function parsePath(text: string): ParseResult<Path> {
  return run(text, 'path', (parser) => parser.patchPath());
}

// ---------------------------------------------------------------------------------------------
// Attribute paths
// ---------------------------------------------------------------------------------------------

const isCoreSchema = (schema: string) => schema.toLowerCase().startsWith(CORE_SCHEMA_PREFIX);

/**
 * The lowercased full path: `name.familyname`, `emails.value` (with `parent` 'emails' for a path
 * inside `emails[...]`), `urn:…:enterprise:2.0:user:employeenumber`. A core schema URI is dropped:
 * it names a top-level attribute.
 */
export function pathKey(path: AttributePath, parent?: string): string {
  const name = path.subAttribute === undefined ? path.name : `${path.name}.${path.subAttribute}`;
  const qualified = path.schema === undefined || isCoreSchema(path.schema) ? name : `${path.schema}:${name}`;
  return (parent === undefined ? qualified : `${parent}.${qualified}`).toLowerCase();
}

/** Every attribute the filter compares, as pathKey gives it, once each, in order of appearance. */
export function attributePaths(filter: Filter): string[] {
  const paths = new Set<string>();
  const visit = (node: Filter, parent?: string): void => {
    switch (node.kind) {
      case 'and':
      case 'or':
        for (const f of node.filters) visit(f, parent);
        return;
      case 'not':
        return visit(node.filter, parent);
      case 'valuePath':
        return visit(node.filter, pathKey(node.path));
      default:
        paths.add(pathKey(node.path, parent));
    }
  };
  visit(filter);
  return [...paths];
}

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

const values = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]).filter((v) => v !== null && v !== undefined);

/** The attribute's values, an array's elements one by one, unassigned and null ones left out. */
function lookup(target: unknown, path: AttributePath): unknown[] {
  // `urn:…:enterprise:2.0:User` alone reads as attribute "User" of schema `urn:…:2.0`: it is the extension.
  if (path.schema !== undefined && path.subAttribute === undefined) {
    const extension = field(target, `${path.schema}:${path.name}`);
    if (extension !== undefined) return values(extension);
  }
  const holder = path.schema === undefined || isCoreSchema(path.schema) ? target : field(target, path.schema);
  const found = values(field(holder, path.name));
  if (path.subAttribute === undefined) return found;
  return found.flatMap((v) => values(field(v, path.subAttribute!)));
}

/** RFC 7644 §3.4.2.2 `pr`: a non-empty value, or a complex value with a non-empty node. */
function isPresent(value: unknown, depth = 0): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (depth > 8) return true;
  if (Array.isArray(value)) return value.some((v) => isPresent(v, depth + 1));
  if (isObject(value)) return Object.values(value).some((v) => isPresent(v, depth + 1));
  return true;
}

function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // UTF-16 puts U+E000–U+FFFF after the surrogates; code point order puts them before.
    const rank = (c: number) => (c >= 0xe000 ? c - 0x800 : c >= 0xd800 ? c + 0x2000 : c);
    return rank(x) - rank(y);
  }
  return a.length - b.length;
}

function instant(text: string): number | undefined {
  if (!XSD_DATE_TIME.test(text)) return undefined;
  const iso = parseTimestamp(text);
  return iso.ok ? Date.parse(iso.value) : undefined;
}

function compareStrings(a: string, b: string, caseExact: boolean): number {
  const [x, y] = [instant(a), instant(b)];
  if (x !== undefined && y !== undefined) return x - y;
  return caseExact ? compareCodePoints(a, b) : compareCodePoints(foldCase(a), foldCase(b));
}

const ORDER_TESTS: Record<string, (order: number) => boolean> = {
  eq: (c) => c === 0,
  ne: (c) => c !== 0,
  gt: (c) => c > 0,
  ge: (c) => c >= 0,
  lt: (c) => c < 0,
  le: (c) => c <= 0,
};

/** One attribute value against the operator; values of different JSON types are never identical. */
function matches(op: CompareOperator, actual: unknown, expected: string | number | boolean, caseExact: boolean): boolean {
  if (typeof actual === 'string' && typeof expected === 'string') {
    if (op === 'co' || op === 'sw' || op === 'ew') {
      const [a, e] = caseExact ? [actual, expected] : [foldCase(actual), foldCase(expected)];
      return op === 'co' ? a.includes(e) : op === 'sw' ? a.startsWith(e) : a.endsWith(e);
    }
    return ORDER_TESTS[op]!(compareStrings(actual, expected, caseExact));
  }
  if (typeof actual === 'number' && typeof expected === 'number') {
    const test = ORDER_TESTS[op];
    return test !== undefined && test(actual < expected ? -1 : actual > expected ? 1 : 0);
  }
  if (typeof actual === 'boolean' && typeof expected === 'boolean') return op === 'eq' ? actual === expected : op === 'ne' && actual !== expected;
  return op === 'ne';
}

type CaseExact = (key: string) => boolean;

function compare(node: Extract<Filter, { kind: 'compare' }>, found: unknown[], key: string, caseExact: CaseExact): boolean {
  const { op, value } = node;
  // RFC 7643 §2.5: unassigned and null are the same state, so `eq null` is `not pr`.
  if (value === null) {
    if (op === 'eq') return !found.some((v) => isPresent(v));
    return op === 'ne' && found.some((v) => isPresent(v));
  }
  // An unassigned attribute is null, which is not identical to any value.
  if (found.length === 0) return op === 'ne';
  // A complex value compares by its `value` sub-attribute (RFC 7644's `emails co "example.com"`).
  return found.some((v) =>
    isObject(v) ? matches(op, field(v, 'value'), value, caseExact(`${key}.value`)) : matches(op, v, value, caseExact(key)),
  );
}

function test(node: Filter, target: unknown, parent: string | undefined, caseExact: CaseExact): boolean {
  switch (node.kind) {
    case 'and':
      return node.filters.every((f) => test(f, target, parent, caseExact));
    case 'or':
      return node.filters.some((f) => test(f, target, parent, caseExact));
    case 'not':
      return !test(node.filter, target, parent, caseExact);
    case 'present':
      return lookup(target, node.path).some((v) => isPresent(v));
    case 'compare':
      return compare(node, lookup(target, node.path), pathKey(node.path, parent), caseExact);
    case 'valuePath': {
      const key = pathKey(node.path);
      // A simple multi-valued attribute's elements stand for their own `value`.
      return lookup(target, node.path).some((v) => test(node.filter, isObject(v) ? v : { value: v }, key, caseExact));
    }
  }
}

/**
 * Whether a resource (its SCIM JSON form) matches (RFC 7644 §3.4.2.2). Names are case-insensitive
 * at every level; a multi-valued attribute matches when any value does, `ne` included; strings
 * compare case-insensitively unless options.caseExact says otherwise, and order by code point;
 * two xsd:dateTime strings compare chronologically (no zone is UTC); numbers numerically;
 * values of different JSON types are never identical. Where the RFC leaves room: an unassigned
 * attribute is null (RFC 7643 §2.5), so `ne "x"` matches it, `eq null` is `not pr`, and
 * `ne null` is `pr`.
 */
export function evaluate(filter: Filter, resource: Record<string, unknown>, options: EvaluateOptions = {}): boolean {
  const known = new Map<string, boolean>();
  const caseExact = (key: string) => {
    let exact = known.get(key);
    if (exact === undefined) known.set(key, (exact = options.caseExact?.(key) ?? false));
    return exact;
  };
  return test(filter, resource, undefined, caseExact);
}

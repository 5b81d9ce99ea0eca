/**
 * Bad input for the SCIM filter and PATCH path parsers: random token soup and mutations of valid
 * filters. Neither parser may throw, every refusal names a position, the whole run stays inside a
 * time budget, and whatever parses evaluates against a sample User and Group without throwing,
 * the same inside parentheses, and the opposite inside `not (...)`.
 *
 * Reproduce a run with SCIM_FUZZ_SEED=<seed>; SCIM_FUZZ_INPUTS sets how many inputs to try.
 */
import { describe, expect, it } from 'vitest';
import { attributePaths, evaluate, MAX_FILTER_LENGTH, parseFilter, parsePath, pathKey, type Filter, type Path } from './filter.js';
import { XorShift } from '../../test/support/random.js';

const SEED = Number(process.env.SCIM_FUZZ_SEED ?? 0x5c1f7e57) >>> 0;
const INPUTS = Number(process.env.SCIM_FUZZ_INPUTS ?? 120_000);
const BUDGET_MS = Number(process.env.SCIM_FUZZ_BUDGET_MS ?? 6_000);
const SLOWEST_INPUT_MS = 10;

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

/** Filters and paths as provisioning clients send them, to mutate. */
const VALID = [
  'userName eq "alice@contoso.com"',
  'externalId eq "00u1abcd2EFGH3ijk4x7"',
  'id eq "2819c223-7f76-453a-919d-413861904646"',
  'displayName sw "Eng" and members pr',
  'NAME.givenName co "Al" or name.familyName ew "son"',
  'meta.created ge "2024-01-01T00:00:00Z" and meta.lastModified lt "2024-06-30T23:59:59.999+02:00"',
  'title pr and not (userType eq "Contractor")',
  `schemas eq "${ENTERPRISE}" and ${ENTERPRISE}:employeeNumber ne null`,
  `${ENTERPRISE}:manager.value eq "26118915"`,
  'urn:ietf:params:scim:schemas:core:2.0:User:active eq true',
  'emails[type eq "work" and primary eq true] or emails.value co "@contoso.com"',
  'phoneNumbers[type eq "mobile" or (type eq "work" and not (value sw "+1"))]',
  'loginCount ge 1.5e1 and loginCount lt -3 or loginCount eq 0',
  'displayName eq "caf\\u00e9 \\"quoted\\" \\\\ \\n"',
  'members[value eq "2819c223-7f76-453a-919d-413861904646"]',
  'emails[type eq "work"].value',
  'addresses[type eq "work"].streetAddress',
  `${ENTERPRISE}:manager`,
  'members[$ref pr]',
  'name.familyName',
];

const TOKENS = [
  'userName', 'USERNAME', 'emails', 'emails.value', 'name.familyName', 'meta.lastModified', 'members', 'value', 'type',
  '$ref', `${ENTERPRISE}:manager.value`, 'urn:ietf:params:scim:schemas:core:2.0:User:title', 'a.b.c', 'urn:', 'x:y',
  'eq', 'NE', 'co', 'sw', 'ew', 'pr', 'gt', 'Ge', 'lt', 'le', 'eqq', 'and', 'OR', 'not', 'Not', 'and', 'or',
  '"x"', '"work"', '""', '"\\u00e9"', '"\\"', '"\\q"', '"abc', '"2011-05-13T04:42:34Z"', '"\\uD800"',
  '0', '42', '-1.5', '1e3', '01', '1e999', '-', '.5', 'true', 'false', 'null', 'TRUE',
  '(', ')', '(', ')', '[', ']', '.', ':', ',', '=', '\'', '\\', '\u0000', '😀', '\uD800', 'é',
];

const SEPARATORS = ['', ' ', ' ', ' ', ' ', '  ', '\t', '\n'];

function soup(random: XorShift): string {
  const n = 1 + random.int(30);
  let text = '';
  for (let i = 0; i < n; i++) text += random.pick(TOKENS) + random.pick(SEPARATORS);
  return text;
}

function randomChar(random: XorShift): string {
  if (random.chance(0.5)) return random.pick(['(', ')', '[', ']', '"', '\\', ' ', '.', ':', '$', '-', '_', 'e', '0', '\uDC00', '\u0001']);
  return String.fromCharCode(random.int(0x3000));
}

function mutate(text: string, random: XorShift): string {
  const at = random.int(text.length + 1);
  const end = Math.min(text.length, at + 1 + random.int(12));
  switch (random.int(11)) {
    case 0:
      return text.slice(0, at) + text.slice(end);
    case 1:
      return text.slice(0, at) + randomChar(random) + text.slice(at);
    case 2:
      return text.slice(0, at) + randomChar(random) + text.slice(at + 1);
    case 3:
      return text.slice(0, at) + random.pick(TOKENS) + random.pick(SEPARATORS) + text.slice(at);
    case 4:
      return text.slice(0, end) + text.slice(at, end) + text.slice(end);
    case 5:
      return text.slice(0, at);
    case 6:
      return `${random.pick(['(', 'not (', 'NOT(', 'emails['])}${text}${random.pick([')', ')', ']', ''])}`;
    case 7:
      return `${text} ${random.pick(['and', 'or', 'AND'])} ${random.pick(VALID)}`;
    case 8: {
      const depth = 40 + random.int(20);
      return `${'('.repeat(depth)}${text}${')'.repeat(depth)}`;
    }
    case 9:
      return random.chance(0.1) ? text.repeat(Math.ceil((MAX_FILTER_LENGTH + 1) / Math.max(1, text.length))) : text.toUpperCase();
    default:
      return text.slice(0, at) + text.slice(at, end).split('').reverse().join('') + text.slice(end);
  }
}

function input(random: XorShift): string {
  if (random.chance(0.3)) return soup(random);
  let text = random.pick(VALID);
  const mutations = 1 + random.int(4);
  for (let i = 0; i < mutations; i++) text = mutate(text, random);
  return text;
}

const USER = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  id: '2819c223-7f76-453a-919d-413861904646',
  userName: 'bjensen',
  name: { familyName: "O'Malley", givenName: 'Barbara' },
  title: 'Tour Guide',
  userType: 'Employee',
  active: true,
  loginCount: 17,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  ims: [{ value: 'aim', type: 'aim' }],
  [ENTERPRISE]: { employeeNumber: '701984', manager: { value: '26118915', displayName: 'John Smith' } },
  meta: { resourceType: 'User', lastModified: '2011-05-13T04:42:34Z' },
};

const GROUP = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  id: 'e9e30dba',
  displayName: 'Tour Guides',
  members: [{ value: '2819c223-7f76-453a-919d-413861904646', $ref: 'https://example.com/v2/Users/2819c223', display: 'Babs' }, 'odd'],
};

const caseExact = { caseExact: (path: string) => path === 'id' || path.endsWith('.value') };
const WITH_POSITION = /position \d+|at the end|is empty|characters long/;

interface Run {
  inputs: number;
  filters: number;
  paths: number;
  errors: Set<string>;
  /** The slowest inputs as first timed, slowest first. */
  slowest: { ms: number; text: string }[];
  failures: string[];
}

const SLOW_CANDIDATES = 10;

function noteTime(run: Run, text: string, ms: number): void {
  if (run.slowest.length === SLOW_CANDIDATES && ms <= run.slowest.at(-1)!.ms) return;
  run.slowest.push({ ms, text });
  run.slowest.sort((a, b) => b.ms - a.ms);
  run.slowest.length = Math.min(run.slowest.length, SLOW_CANDIDATES);
}

/** A first timing can catch a GC pause or a JIT tier-up: the best of three runs is the input's own cost. */
function retime(text: string): number {
  const scratch: Run = { inputs: 0, filters: 0, paths: 0, errors: new Set(), slowest: [], failures: [] };
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const before = performance.now();
    check(text, scratch);
    best = Math.min(best, performance.now() - before);
  }
  return best;
}

/** An error message without its positions and quoted input, cut short: what kind of refusal it is. */
const kind = (error: string) =>
  error
    .slice(0, 200)
    .replace(/^invalid \w+: |'[^']*'|"(?:[^"\\]|\\.)*"|\d+/g, '…')
    .slice(0, 40);

function checkParsedFilter(text: string, filter: Filter, run: Run): void {
  const wrapped = parseFilter(`(${text})`);
  const negated = parseFilter(`not (${text})`);
  for (const resource of [USER, GROUP]) {
    const plain = evaluate(filter, resource);
    const exact = evaluate(filter, resource, caseExact);
    if (typeof plain !== 'boolean') run.failures.push(`evaluate gave ${String(plain)} for ${JSON.stringify(text)}`);
    if (wrapped.ok && evaluate(wrapped.value, resource, caseExact) !== exact) run.failures.push(`(…) changed the outcome of ${JSON.stringify(text)}`);
    if (negated.ok && evaluate(negated.value, resource, caseExact) === exact) run.failures.push(`not (…) kept the outcome of ${JSON.stringify(text)}`);
  }
  for (const path of attributePaths(filter)) {
    if (path !== path.toLowerCase()) run.failures.push(`attributePaths gave ${path} for ${JSON.stringify(text)}`);
  }
}

function check(text: string, run: Run): void {
  for (const [what, parse] of [['filter', parseFilter], ['path', parsePath]] as const) {
    let result: ReturnType<typeof parse>;
    try {
      result = parse(text);
    } catch (e) {
      run.failures.push(`parse${what} threw ${String(e)} on ${JSON.stringify(text)} (seed ${SEED})`);
      continue;
    }
    if (!result.ok) {
      if (typeof result.error !== 'string' || !WITH_POSITION.test(result.error)) run.failures.push(`parse${what} error without a position: ${JSON.stringify(result.error)} for ${JSON.stringify(text)}`);
      else run.errors.add(kind(result.error));
      continue;
    }
    try {
      if (what === 'path') {
        run.paths++;
        pathKey((result.value as Path).path);
      } else {
        run.filters++;
        checkParsedFilter(text, result.value as Filter, run);
      }
    } catch (e) {
      run.failures.push(`evaluating the ${what} ${JSON.stringify(text)} threw ${String(e)} (seed ${SEED})`);
    }
  }
}

describe('SCIM filter fuzz', () => {
  it(`${INPUTS} random and mutated inputs: no throw, positions in errors, within ${BUDGET_MS} ms`, () => {
    console.log(`SCIM filter fuzz seed: ${SEED} (SCIM_FUZZ_SEED=${SEED} reproduces this run)`);
    const random = new XorShift(SEED);
    const run: Run = { inputs: 0, filters: 0, paths: 0, errors: new Set(), slowest: [], failures: [] };
    const started = performance.now();
    for (let i = 0; i < INPUTS; i++) {
      const text = input(random);
      const before = performance.now();
      check(text, run);
      noteTime(run, text, performance.now() - before);
      run.inputs++;
    }
    const elapsed = performance.now() - started;
    const slowest = run.slowest.map(({ text }) => ({ ms: retime(text), text })).sort((a, b) => b.ms - a.ms)[0]!;
    console.log(
      `SCIM filter fuzz: ${run.inputs} inputs in ${Math.round(elapsed)} ms; ${run.filters} parsed as filters, ${run.paths} as paths; ` +
        `${run.errors.size} kinds of error; slowest ${slowest.ms.toFixed(2)} ms (${JSON.stringify(slowest.text.slice(0, 80))})`,
    );
    expect(run.failures.slice(0, 10)).toEqual([]);
    expect(elapsed).toBeLessThan(BUDGET_MS);
    expect(slowest.ms).toBeLessThan(SLOWEST_INPUT_MS);
    // The generators reach both sides: a share of inputs parse, and refusals come in many kinds.
    expect(run.filters).toBeGreaterThan(INPUTS / 50);
    expect(run.paths).toBeGreaterThan(INPUTS / 500);
    expect(run.errors.size).toBeGreaterThan(30);
  });
});

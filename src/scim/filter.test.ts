import { describe, expect, it } from 'vitest';
import {
  attributePaths,
  evaluate,
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  parseFilter,
  parsePath,
  pathKey,
  type AttributePath,
  type Filter,
  type Path,
  type ValueFilter,
} from './filter.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ROSTER = 'urn:example:params:scim:schemas:extension:roster:2.0:User';
const BJENSEN_ID = '2819c223-7f76-453a-919d-413861904646';
const MANDY_ID = '902c246b-6245-4190-8e05-00816be7344a';

const path = (name: string, subAttribute?: string, schema?: string): AttributePath => ({
  ...(schema === undefined ? {} : { schema }),
  name,
  ...(subAttribute === undefined ? {} : { subAttribute }),
});
const eq = (name: string, value: string | number | boolean | null): ValueFilter => ({ kind: 'compare', path: path(name), op: 'eq', value });
const pr = (name: string): ValueFilter => ({ kind: 'present', path: path(name) });

function filter(text: string): Filter {
  const r = parseFilter(text);
  if (!r.ok) throw new Error(`${text}: ${r.error}`);
  return r.value;
}

function patchPath(text: string): Path {
  const r = parsePath(text);
  if (!r.ok) throw new Error(`${text}: ${r.error}`);
  return r.value;
}

function filterError(text: string): string {
  const r = parseFilter(text);
  if (r.ok) throw new Error(`${text} parsed: ${JSON.stringify(r.value)}`);
  return r.error;
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

describe('parseFilter: RFC 7644 §3.4.2.2', () => {
  // The example filters of RFC 7644 §3.4.2.2, in its order.
  it.each([
    'userName eq "bjensen"',
    `name.familyName co "O'Malley"`,
    'userName sw "J"',
    'urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"',
    'title pr',
    'meta.lastModified gt "2011-05-13T04:42:34Z"',
    'meta.lastModified ge "2011-05-13T04:42:34Z"',
    'meta.lastModified lt "2011-05-13T04:42:34Z"',
    'meta.lastModified le "2011-05-13T04:42:34Z"',
    'title pr and userType eq "Employee"',
    'title pr or userType eq "Intern"',
    'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
    'userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")',
    'userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")',
    'userType eq "Employee" and (emails.type eq "work")',
    'userType eq "Employee" and emails[type eq "work" and value co "@example.com"]',
    'emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]',
  ])('parses the RFC example %s', (text) => {
    expect(parseFilter(text).ok).toBe(true);
  });

  it('builds the tree of an RFC example', () => {
    expect(filter('userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")')).toEqual({
      kind: 'and',
      filters: [
        { kind: 'compare', path: path('userType'), op: 'ne', value: 'Employee' },
        {
          kind: 'not',
          filter: {
            kind: 'or',
            filters: [
              { kind: 'compare', path: path('emails'), op: 'co', value: 'example.com' },
              { kind: 'compare', path: path('emails', 'value'), op: 'co', value: 'example.org' },
            ],
          },
        },
      ],
    });
  });

  it('and binds tighter than or; parentheses and not group', () => {
    expect(filter('a pr or b pr and c pr')).toEqual({ kind: 'or', filters: [pr('a'), { kind: 'and', filters: [pr('b'), pr('c')] }] });
    expect(filter('a pr and b pr or c pr')).toEqual({ kind: 'or', filters: [{ kind: 'and', filters: [pr('a'), pr('b')] }, pr('c')] });
    expect(filter('a pr and (b pr or c pr)')).toEqual({ kind: 'and', filters: [pr('a'), { kind: 'or', filters: [pr('b'), pr('c')] }] });
    expect(filter('not (a pr) and b pr')).toEqual({ kind: 'and', filters: [{ kind: 'not', filter: pr('a') }, pr('b')] });
    expect(filter('a pr or b pr or c pr')).toEqual({ kind: 'or', filters: [pr('a'), pr('b'), pr('c')] });
    expect(filter('((a pr))')).toEqual(pr('a'));
    expect(filter('not(a pr)')).toEqual({ kind: 'not', filter: pr('a') });
  });

  it('operators and logical keywords are case-insensitive; attribute names keep their spelling', () => {
    expect(filter('userName EQ "x"')).toEqual(eq('userName', 'x'));
    expect(filter('USERNAME Eq "x"')).toEqual(eq('USERNAME', 'x'));
    expect(filter('a PR AND b Pr OR NOT (c pR)')).toEqual({
      kind: 'or',
      filters: [{ kind: 'and', filters: [pr('a'), pr('b')] }, { kind: 'not', filter: pr('c') }],
    });
    for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']) {
      expect(filter(`a ${op.toUpperCase()} "x"`)).toMatchObject({ kind: 'compare', op });
    }
  });

  it('keywords are only keywords where the grammar puts them', () => {
    expect(filter('and eq "x"')).toEqual(eq('and', 'x'));
    expect(filter('not pr')).toEqual(pr('not'));
    expect(filter('a pr and or pr')).toEqual({ kind: 'and', filters: [pr('a'), pr('or')] });
  });

  it('value filters', () => {
    expect(filter('emails[type eq "work" and value co "@example.com"]')).toEqual({
      kind: 'valuePath',
      path: path('emails'),
      filter: {
        kind: 'and',
        filters: [eq('type', 'work'), { kind: 'compare', path: path('value'), op: 'co', value: '@example.com' }],
      },
    });
    // RFC 7644 errata 7322: parentheses and not inside the brackets.
    expect(filter('emails[type eq "work" or (type eq "home" and not (value ew "@example.com"))]').kind).toBe('valuePath');
    expect(filter('members[$ref pr]')).toEqual({ kind: 'valuePath', path: path('members'), filter: pr('$ref') });
  });

  it('fully qualified paths split at the last colon: the schema URI keeps its dots', () => {
    expect(filter(`${ENTERPRISE}:employeeNumber eq "701984"`)).toEqual({
      kind: 'compare',
      path: path('employeeNumber', undefined, ENTERPRISE),
      op: 'eq',
      value: '701984',
    });
    expect(filter(`${ENTERPRISE}:manager.value eq "x"`)).toMatchObject({ path: path('manager', 'value', ENTERPRISE) });
    expect(filter(`${CORE_USER}:name.familyName pr`)).toEqual({ kind: 'present', path: path('name', 'familyName', CORE_USER) });
    expect(filter(`${ENTERPRISE}:manager[value eq "x"]`)).toMatchObject({ kind: 'valuePath', path: path('manager', undefined, ENTERPRISE) });
  });

  it('string values are JSON strings', () => {
    expect(filter('a eq "say \\"hi\\""')).toEqual(eq('a', 'say "hi"'));
    expect(filter('a eq "back\\\\slash \\/ \\b\\f\\n\\r\\t"')).toEqual(eq('a', 'back\\slash / \b\f\n\r\t'));
    expect(filter('a eq "caf\\u00e9 \\uD83D\\uDE00"')).toEqual(eq('a', 'café 😀'));
    expect(filter('a eq "café ) and ( [ ] pr"')).toEqual(eq('a', 'café ) and ( [ ] pr'));
    expect(filter('a eq ""')).toEqual(eq('a', ''));
  });

  it('numbers, booleans and null', () => {
    expect(filter('a eq 42')).toEqual(eq('a', 42));
    expect(filter('a gt -1.5')).toMatchObject({ op: 'gt', value: -1.5 });
    expect(filter('a eq 1e3')).toEqual(eq('a', 1000));
    expect(filter('a eq 2.5E-1')).toEqual(eq('a', 0.25));
    expect(filter('a eq 0')).toEqual(eq('a', 0));
    expect(filter('a eq true')).toEqual(eq('a', true));
    expect(filter('a ne false')).toMatchObject({ op: 'ne', value: false });
    expect(filter('a eq null')).toEqual(eq('a', null));
    expect(filter('a eq TRUE')).toEqual(eq('a', true));
    expect(filter('a eq "true"')).toEqual(eq('a', 'true'));
  });

  // Microsoft Entra ID, and Microsoft's SCIM conformance collection, send these values unquoted.
  it('takes a value without quotes as a string where it can be nothing else', () => {
    expect(filter('userName sw O')).toEqual({ kind: 'compare', path: path('userName'), op: 'sw', value: 'O' });
    expect(filter('name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)')).toEqual({
      kind: 'and',
      filters: [
        { kind: 'compare', path: path('name', 'FamilyName'), op: 'eq', value: 'Employee' },
        {
          kind: 'or',
          filters: [
            { kind: 'compare', path: path('emails', 'Value'), op: 'co', value: 'example.com' },
            { kind: 'compare', path: path('emails', 'Value'), op: 'co', value: 'example.org' },
          ],
        },
      ],
    });
    expect(filter('meta.Created gt 2015-10-10T14:38:21.8617979-07:00')).toMatchObject({ op: 'gt', value: '2015-10-10T14:38:21.8617979-07:00' });
    expect(filter('meta.created ge 2015-10-10')).toMatchObject({ value: '2015-10-10' });
    expect(filter("userName eq o'malley@example.com")).toEqual(eq('userName', "o'malley@example.com"));
    expect(filter('displayName eq Zoë')).toEqual(eq('displayName', 'Zoë'));
    expect(filter('emails[type eq work]')).toEqual({ kind: 'valuePath', path: path('emails'), filter: eq('type', 'work') });
    expect(filter('(userName eq x)')).toEqual(eq('userName', 'x'));
    // Only after `attribute operator`: keywords and operators keep their place elsewhere.
    expect(filter('and eq or')).toEqual(eq('and', 'or'));
    expect(filter('a eq b and c pr')).toEqual({ kind: 'and', filters: [eq('a', 'b'), pr('c')] });
    // Booleans, null and numbers mean what they meant; quoted values are strings as before.
    expect(filter('active eq True')).toEqual(eq('active', true));
    expect(filter('a eq null')).toEqual(eq('a', null));
    expect(filter('a eq 42')).toEqual(eq('a', 42));
    expect(filter('a eq truex')).toEqual(eq('a', 'truex'));
    expect(patchPath('emails[type eq work].value')).toEqual({ kind: 'valuePath', path: path('emails'), filter: eq('type', 'work'), subAttribute: 'value' });
  });

  it('tolerates extra whitespace, tabs and newlines between tokens', () => {
    expect(filter('  userName \t eq\n"x"  ')).toEqual(eq('userName', 'x'));
    expect(filter('( a pr )')).toEqual(pr('a'));
  });

  it.each([
    ['', 'the filter is empty'],
    ['   ', 'the filter is empty'],
    ['(userName eq "x"', "missing ')' to close the '(' at position 1"],
    ['((a pr) or b pr', "missing ')' to close the '(' at position 1"],
    ['userName eq "x")', "unexpected ')' at position 16: nothing to close"],
    ['(a pr b pr)', "expected 'and', 'or' or ')' (closing the '(' at position 1) at position 7, found 'b'"],
    ['emails[type eq "work"', "missing ']' to close the '[' at position 7"],
    ['emails[type eq "work")', "expected 'and', 'or' or ']' (closing the '[' at position 7) at position 22, found ')'"],
    ['userName eqq "x"', "unknown operator 'eqq' at position 10; expected eq, ne, co, sw, ew, gt, ge, lt, le or pr"],
    ['userName = "x"', 'unexpected character "=" at position 10'],
    ['userName "x"', "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le or pr) after 'userName' at position 10, found \"x\""],
    ['userName', "missing operator after 'userName' at the end of the filter"],
    ['userName eq', "missing value after 'eq' at the end of the filter"],
    ['userName eq )', "expected a value (\"string\", number, true, false or null) after 'eq' at position 13, found ')'"],
    ['userName eq bjensen"x"', 'missing space before "x" at position 20'],
    ['userName eq bjensen smith', "unexpected 'smith' at position 21; expected 'and', 'or' or the end of the filter"],
    ['userName eq @bjensen', 'unexpected character "@" at position 13'],
    ['meta.created gt 2015-10-10T14:38', "invalid number '2015-10-10' at position 17"],
    ['meta.created gt 2015-1-10', "invalid number '2015-1-10' at position 17"],
    ["userName eq 'bjensen'", 'unexpected character "\'" at position 13'],
    ['userName eq "x" garbage', "unexpected 'garbage' at position 17; expected 'and', 'or' or the end of the filter"],
    ['userName eq "x" "y"', 'unexpected "y" at position 17'],
    ['userName eq "x" and', "the filter ends where an attribute path, '(' or 'not (' is expected (position 20)"],
    ['and', "missing operator after 'and'"],
    ['title pr "x"', `'pr' takes no value, found "x" at position 10`],
    ['title pr 5', "'pr' takes no value, found '5' at position 10"],
    ['title pr null', "'pr' takes no value, found 'null' at position 10"],
    ['userName eq "x', 'unterminated string starting at position 13'],
    ['userName eq "x\\"', 'unterminated string starting at position 13'],
    ['userName eq "\\x"', 'invalid string at position 13'],
    ['userName eq "\\u12"', 'invalid string at position 13'],
    ['userName eq "a\nb"', 'invalid string at position 13'],
    ['a eq 01', "invalid number '01' at position 6"],
    ['a eq 1.', "invalid number '1.' at position 6"],
    ['a eq .5', "expected a value (\"string\", number, true, false or null) after 'eq' at position 6, found '.'"],
    ['a eq +1', 'unexpected character "+" at position 6'],
    ['a eq --1', "invalid number '--1' at position 6"],
    ['a eq 1e999', "number '1e999' at position 6 is out of range"],
    ['a eq"x"', 'missing space before "x" at position 5'],
    ['a eq "x"and b pr', "missing space before 'and' at position 9"],
    ['active gt true', "'gt' cannot order booleans (position 8)"],
    ['active le false', "'le' cannot order booleans (position 8)"],
    ['not a pr', "unknown operator 'a' at position 5"],
    ['()', "expected an attribute path, '(' or 'not (' at position 2, found ')'"],
    ['emails[]', "expected an attribute path, '(' or 'not (' at position 8, found ']'"],
    ['emails[type eq "work"].value eq "x"', "'].' at position 22: a sub-attribute after the brackets belongs to PATCH paths, not filters"],
    ['emails[type[value eq "x"]]', "value filters do not nest: '[' at position 12 is inside emails[...]"],
    ['emails[emails.type eq "work"]', "inside emails[...] name a sub-attribute of emails such as 'value', not 'emails.type' (position 8)"],
    [`emails[${ENTERPRISE}:x pr]`, 'inside emails[...] name a sub-attribute'],
    ['name.givenName[value eq "x"]', "'[' at position 15 follows the sub-attribute name.givenName"],
    ['a.b.c eq "x"', "'a.b.c' at position 1 has too many parts"],
    ['1abc eq "x"', "missing space before 'abc' at position 2"],
    ['a- eq "x" and _b eq "y"', 'unexpected character "_" at position 15'],
    ['name. eq "x"', "'name.' at position 1 is not an attribute path"],
    ['foo:bar eq "x"', "'foo' at position 1 is not a schema URI"],
    [`${ENTERPRISE}: eq "x"`, 'is not an attribute path'],
  ])('refuses %j: %s', (text, message) => {
    const error = filterError(text);
    expect(error).toContain(message);
    if (text.trim() !== '') expect(error).toMatch(/^invalid filter: .*(position \d+|at the end)/s);
  });

  it(`refuses nesting deeper than ${MAX_FILTER_DEPTH} levels, without overflowing the stack`, () => {
    const nested = (depth: number, open: string, close: string) => `${open.repeat(depth)}a pr${close.repeat(depth)}`;
    expect(parseFilter(nested(MAX_FILTER_DEPTH, '(', ')')).ok).toBe(true);
    expect(parseFilter(nested(MAX_FILTER_DEPTH, 'not (', ')')).ok).toBe(true);
    expect(filterError(nested(MAX_FILTER_DEPTH + 1, '(', ')'))).toBe(`invalid filter: nested more than ${MAX_FILTER_DEPTH} levels deep at position ${MAX_FILTER_DEPTH + 1}`);
    expect(filterError(nested(1300, 'not (', ')'))).toContain(`nested more than ${MAX_FILTER_DEPTH} levels deep`);
    expect(filterError(`emails[${nested(MAX_FILTER_DEPTH, '(', ')')}]`)).toContain('nested more than');
    expect(filterError('('.repeat(MAX_FILTER_LENGTH))).toContain('nested more than');
  });

  it(`refuses filters longer than ${MAX_FILTER_LENGTH} characters before reading them`, () => {
    const longest = `a eq "${'x'.repeat(MAX_FILTER_LENGTH - 7)}"`;
    expect(longest).toHaveLength(MAX_FILTER_LENGTH);
    expect(parseFilter(longest).ok).toBe(true);
    expect(filterError(`${longest} `)).toBe(`the filter is ${MAX_FILTER_LENGTH + 1} characters long; the limit is ${MAX_FILTER_LENGTH}`);
    expect(parsePath('a'.repeat(MAX_FILTER_LENGTH + 1))).toEqual({ ok: false, error: `the path is ${MAX_FILTER_LENGTH + 1} characters long; the limit is ${MAX_FILTER_LENGTH}` });
  });

  it('refuses what is not a string, as a JSON body may hold', () => {
    expect(parseFilter(42 as unknown as string)).toEqual({ ok: false, error: 'the filter must be a string' });
    expect(parsePath(null as unknown as string)).toEqual({ ok: false, error: 'the path must be a string' });
  });

  it('a long flat chain of and/or stays one flat node', () => {
    const text = Array.from({ length: 600 }, (_, i) => `a${i} pr`).join(' and ');
    const f = filter(text);
    expect(f.kind === 'and' && f.filters.length).toBe(600);
  });
});

describe('parsePath: RFC 7644 §3.5.2', () => {
  it.each<[string, Path]>([
    ['userName', { kind: 'attribute', path: path('userName') }],
    ['name.familyName', { kind: 'attribute', path: path('name', 'familyName') }],
    ['members', { kind: 'attribute', path: path('members') }],
    ['members[value eq "2819c223"]', { kind: 'valuePath', path: path('members'), filter: eq('value', '2819c223') }],
    ['emails[type eq "work"].value', { kind: 'valuePath', path: path('emails'), filter: eq('type', 'work'), subAttribute: 'value' }],
    // Microsoft Entra ID's provisioning sends address updates in this form.
    ['addresses[type eq "work"].streetAddress', { kind: 'valuePath', path: path('addresses'), filter: eq('type', 'work'), subAttribute: 'streetAddress' }],
    [`${ENTERPRISE}:manager`, { kind: 'attribute', path: path('manager', undefined, ENTERPRISE) }],
    [`${ENTERPRISE}:manager.value`, { kind: 'attribute', path: path('manager', 'value', ENTERPRISE) }],
    [`${CORE_USER}:userName`, { kind: 'attribute', path: path('userName', undefined, CORE_USER) }],
    [
      'emails[type eq "work" AND primary EQ true].Value',
      {
        kind: 'valuePath',
        path: path('emails'),
        filter: { kind: 'and', filters: [eq('type', 'work'), eq('primary', true)] },
        subAttribute: 'Value',
      },
    ],
  ])('%s', (text, expected) => {
    expect(patchPath(text)).toEqual(expected);
  });

  it.each([
    ['', 'the path is empty'],
    ['"userName"', 'invalid path: expected an attribute path at position 1, found "userName"'],
    ['userName extra', "invalid path: unexpected 'extra' at position 10; expected the end of the path"],
    ['userName eq "x"', "invalid path: unexpected 'eq' at position 10"],
    ['members[value eq "x"', "invalid path: missing ']' to close the '[' at position 8"],
    ['members[value eq "x"]]', "invalid path: unexpected ']' at position 22: nothing to close"],
    ['emails[type eq "work"].', "invalid path: expected a sub-attribute name after '].' at position 24, found the end"],
    ['emails[type eq "work"].value.x', "invalid path: expected a sub-attribute name after '].' at position 24, found 'value.x'"],
    ['emails[type eq "work"]value', "invalid path: unexpected 'value' at position 23; expected the end of the path"],
    ['emails[type eq "work"][value pr]', "invalid path: unexpected '[' at position 23"],
    ['name.givenName[value eq "x"]', "invalid path: '[' at position 15 follows the sub-attribute name.givenName"],
    ['emails[type eq work', "invalid path: missing ']' to close the '[' at position 7"],
    ['emails[type eq wo"rk"]', 'invalid path: missing space before "rk" at position 18'],
    ['emails[type eq', "invalid path: missing value after 'eq' at the end of the path"],
    ['emails[type', "invalid path: missing operator after 'type' at the end of the path"],
  ])('refuses %j', (text, message) => {
    const r = parsePath(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(message);
  });
});

describe('attributePaths and pathKey', () => {
  it('lists every compared attribute once, lowercased and fully qualified', () => {
    expect(
      attributePaths(
        filter(
          `userName eq "x" and (NAME.familyName co "y" or not (Emails[Type eq "work" and value pr])) or emails.type eq "home" or userName pr or ${ENTERPRISE}:Manager.Value eq "m" or ${CORE_USER}:title pr`,
        ),
      ),
    ).toEqual(['username', 'name.familyname', 'emails.type', 'emails.value', `${ENTERPRISE.toLowerCase()}:manager.value`, 'title']);
  });

  it('keys paths as the caseExact option is asked', () => {
    expect(pathKey(path('userName'))).toBe('username');
    expect(pathKey(path('Value'), 'emails')).toBe('emails.value');
    expect(pathKey(path('employeeNumber', undefined, ENTERPRISE))).toBe(`${ENTERPRISE.toLowerCase()}:employeenumber`);
    expect(pathKey(path('userName', undefined, CORE_USER))).toBe('username');
  });
});

// ---------------------------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------------------------

const USER = {
  schemas: [CORE_USER, ENTERPRISE, ROSTER],
  id: BJENSEN_ID,
  externalId: 'BJ-701984',
  userName: 'bjensen@example.com',
  name: { formatted: 'Ms. Barbara J Jensen, III', familyName: "O'Malley", givenName: 'Barbara' },
  displayName: 'Babs Jensen',
  nickName: '',
  title: 'Tour Guide',
  userType: 'Employee',
  active: true,
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  ims: [{ value: 'someaimhandle', type: 'aim' }],
  phoneNumbers: [],
  x509Certificates: [{}],
  addresses: [{ type: 'work', streetAddress: '100 Universal City Plaza', locality: 'Hollywood', postalCode: '91608' }],
  [ENTERPRISE]: {
    employeeNumber: '701984',
    costCenter: '4130',
    manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d', displayName: 'John Smith' },
  },
  [ROSTER]: { loginCount: 42, badges: [3, 7] },
  meta: {
    resourceType: 'User',
    created: '2010-01-23T04:56:22Z',
    lastModified: '2011-05-13T04:42:34Z',
    version: 'W/"3694e05e9dff591"',
  },
};

const GROUP = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
  id: 'e9e30dba-f08f-4109-8486-d5c6a331660a',
  displayName: 'Tour Guides',
  members: [
    { value: BJENSEN_ID, $ref: `https://example.com/v2/Users/${BJENSEN_ID}`, display: 'Babs Jensen', type: 'User' },
    { value: MANDY_ID, display: 'Mandy Pepperidge', type: 'User' },
  ],
  meta: { resourceType: 'Group', created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34.5+02:00' },
};

const CASE_EXACT = new Set(['id', 'externalid', 'members.value', 'meta.version']);
const options = { caseExact: (attributePath: string) => CASE_EXACT.has(attributePath) };
const matchesUser = (text: string) => evaluate(filter(text), USER, options);
const matchesGroup = (text: string) => evaluate(filter(text), GROUP, options);

describe('evaluate against a User', () => {
  it.each<[string, boolean]>([
    // Case-insensitive names, case-insensitive userName, case-exact id and externalId.
    ['userName eq "bjensen@example.com"', true],
    ['USERNAME Eq "BJensen@Example.COM"', true],
    ['userName eq "bjensen"', false],
    [`id eq "${BJENSEN_ID}"`, true],
    [`id eq "${BJENSEN_ID.toUpperCase()}"`, false],
    ['externalId eq "BJ-701984"', true],
    ['externalId eq "bj-701984"', false],
    ['externalId sw "bj"', false],
    ['externalId gt "bj"', false],
    ['userName gt "BJ"', true],
    ['NAME.FAMILYNAME eq "o\'malley"', true],
    // co, sw, ew.
    [`name.familyName co "O'Malley"`, true],
    ['userName sw "J"', false],
    ['userName sw "B"', true],
    ['userName ew "@EXAMPLE.com"', true],
    ['displayName co "JENS"', true],
    ['displayName co ""', true],
    [`${CORE_USER}:userName sw "bjen"`, true],
    // Lexical ordering, folded unless caseExact.
    ['title gt "Tour"', true],
    ['title gt "tour guide"', false],
    ['title ge "TOUR GUIDE"', true],
    ['title le "TOUR GUIDE"', true],
    ['title lt "u"', true],
    // Dates compare chronologically, across zones and fractions.
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', false],
    ['meta.lastModified ge "2011-05-13T04:42:34Z"', true],
    ['meta.lastModified lt "2011-05-13T04:42:34Z"', false],
    ['meta.lastModified le "2011-05-13T04:42:34Z"', true],
    ['meta.lastModified eq "2011-05-13T06:42:34+02:00"', true],
    ['meta.lastModified eq "2011-05-13T04:42:34.000Z"', true],
    ['meta.lastModified lt "2011-05-13T04:42:34.001Z"', true],
    ['meta.lastModified gt "2011-05-13T05:00:00+01:00"', true],
    ['meta.created lt "2011-01-01T00:00:00Z"', true],
    ['meta.version eq "w/\\"3694e05e9dff591\\""', false],
    // pr: not null, not "", not [], not a complex value with nothing in it.
    ['title pr', true],
    ['name pr', true],
    ['emails pr', true],
    ['nickName pr', false],
    ['phoneNumbers pr', false],
    ['x509Certificates pr', false],
    ['noSuchAttribute pr', false],
    ['constructor pr', false],
    ['toString eq "x"', false],
    // The RFC examples.
    ['title pr and userType eq "Employee"', true],
    ['title pr or userType eq "Intern"', true],
    ['userType eq "Intern" or title eq "Manager"', false],
    [`schemas eq "${ENTERPRISE}"`, true],
    ['schemas eq "urn:ietf:params:scim:schemas:core:2.0:Group"', false],
    ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', true],
    ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', false],
    ['userType eq "Employee" and (emails.type eq "work")', true],
    ['userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', true],
    ['emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]', true],
    // Any value of a multi-valued attribute; a value filter holds to one value.
    ['emails.value ew "jensen.org"', true],
    ['emails.type eq "home" and emails.value co "@example.com"', true],
    ['emails[type eq "home" and value co "@example.com"]', false],
    ['emails[type eq "home" and value co "@JENSEN.org"]', true],
    ['emails[primary eq true]', true],
    ['emails[type eq "home" and primary eq true]', false],
    ['emails[not (type eq "work")]', true],
    ['EMAILS[TYPE eq "WORK"]', true],
    ['emails co "@jensen.ORG"', true],
    ['addresses[type eq "work" and postalCode sw "916"]', true],
    ['phoneNumbers[type eq "work"]', false],
    // ne: any value differs; an unassigned attribute is null, which differs from every value.
    ['emails.type ne "work"', true],
    ['not (emails.type eq "work")', false],
    ['userType ne "Employee"', false],
    ['userType ne "employee"', false],
    ['noSuchAttribute ne "x"', true],
    ['noSuchAttribute eq "x"', false],
    ['noSuchAttribute gt "x"', false],
    ['noSuchAttribute co ""', false],
    // null is unassigned: eq null is not pr, ne null is pr.
    ['noSuchAttribute eq null', true],
    ['noSuchAttribute ne null', false],
    ['nickName eq null', true],
    ['phoneNumbers eq null', true],
    ['title eq null', false],
    ['title ne null', true],
    ['title co null', false],
    ['title gt null', false],
    // Booleans by value; values of another JSON type are never identical.
    ['active eq true', true],
    ['active eq false', false],
    ['active ne false', true],
    ['active ne true', false],
    ['active eq "true"', false],
    ['active ne "true"', true],
    ['active co "t"', false],
    // Extension attributes under their schema URN, names case-insensitive there too.
    [`${ENTERPRISE}:employeeNumber eq "701984"`, true],
    [`${ENTERPRISE.toUpperCase()}:EMPLOYEENUMBER eq "701984"`, true],
    ['employeeNumber eq "701984"', false],
    [`${CORE_USER}:employeeNumber eq "701984"`, false],
    [`${ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true],
    [`${ENTERPRISE}:manager.displayName sw "john"`, true],
    [`${ENTERPRISE}:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true],
    [`${ENTERPRISE}:costCenter gt "4000"`, true],
    [`${ENTERPRISE}:costCenter gt 4000`, false],
    [`${ENTERPRISE}:userName pr`, false],
    // The URN alone reads as attribute "User" of schema "urn:…:2.0"; it names the whole extension.
    [`${ENTERPRISE} pr`, true],
    [`${ENTERPRISE.toLowerCase()} pr`, true],
    [`urn:ietf:params:scim:schemas:extension:other:2.0:User:employeeNumber pr`, false],
    // Numbers numerically, including multi-valued ones.
    [`${ROSTER}:loginCount gt 41`, true],
    [`${ROSTER}:loginCount ge 42`, true],
    [`${ROSTER}:loginCount lt 42`, false],
    [`${ROSTER}:loginCount le 4.2e1`, true],
    [`${ROSTER}:loginCount eq 42.0`, true],
    [`${ROSTER}:loginCount gt 100`, false],
    [`${ROSTER}:loginCount eq "42"`, false],
    [`${ROSTER}:loginCount co 4`, false],
    [`${ROSTER}:badges eq 7`, true],
    [`${ROSTER}:badges gt 7`, false],
    [`${ROSTER}:badges[value lt 4]`, true],
    [`${ROSTER}:badges[value gt 10]`, false],
    // Precedence shows in the outcome: (true or false) and false vs true or (false and false).
    ['title pr or userType eq "Intern" and active eq false', true],
    ['(title pr or userType eq "Intern") and active eq false', false],
    ['not (title pr) or active eq true', true],
  ])('%s → %s', (text, expected) => {
    expect(matchesUser(text)).toBe(expected);
  });

  it('asks caseExact with the lowercased full path, once per comparison', () => {
    const asked: string[] = [];
    const record = { caseExact: (p: string) => (asked.push(p), false) };
    evaluate(filter(`ID eq "z" or emails co "z" or Emails[Type eq "z"] or name.givenName sw "z" or ${ENTERPRISE}:Manager.Value eq "z"`), USER, record);
    expect(asked).toEqual(['id', 'emails.value', 'emails.type', 'name.givenname', `${ENTERPRISE.toLowerCase()}:manager.value`]);
  });

  it('compares case-insensitively when no caseExact option is given', () => {
    expect(evaluate(filter(`id eq "${BJENSEN_ID.toUpperCase()}"`), USER)).toBe(true);
    expect(evaluate(filter('externalId eq "bj-701984"'), USER, {})).toBe(true);
  });

  it('folds case as the core does: ß matches SS, composed matches decomposed', () => {
    const resource = { displayName: 'Straße Café' };
    expect(evaluate(filter('displayName eq "STRASSE CAFE\u0301"'), resource)).toBe(true);
    expect(evaluate(filter('displayName sw "strasse"'), resource)).toBe(true);
  });

  it('orders strings by code point, not by UTF-16 unit', () => {
    const resource = { displayName: '\uFF21' }; // FULLWIDTH A: U+FF21 sorts before U+1F600
    expect(evaluate(filter('displayName lt "\\uD83D\\uDE00"'), resource, { caseExact: () => true })).toBe(true);
    expect(evaluate(filter('displayName gt "\\uD83D\\uDE00"'), resource, { caseExact: () => true })).toBe(false);
  });

  it('a date-time and a non-date string compare as text', () => {
    expect(matchesUser('meta.lastModified gt "2011"')).toBe(true);
    expect(matchesUser('meta.lastModified sw "2011-05"')).toBe(true);
  });
});

describe('evaluate against a Group', () => {
  it.each<[string, boolean]>([
    [`members[value eq "${BJENSEN_ID}"]`, true],
    [`members[value eq "${BJENSEN_ID.toUpperCase()}"]`, false],
    [`members.value eq "${MANDY_ID}"`, true],
    [`members eq "${MANDY_ID}"`, true],
    [`members eq "${MANDY_ID.toUpperCase()}"`, false],
    ['members.display co "babs"', true],
    ['members[display sw "mandy" and type eq "user"]', true],
    ['members[type eq "Group"]', false],
    ['members[$ref pr]', true],
    ['members[$ref pr and display sw "Mandy"]', false],
    ['members pr', true],
    ['not (members pr)', false],
    ['displayName eq "tour guides"', true],
    ['displayName eq "Tour"', false],
    ['meta.lastModified gt "2011-05-13T02:42:34Z"', true],
    ['meta.lastModified eq "2011-05-13T02:42:34.500Z"', true],
    ['meta.lastModified lt "2011-05-13T02:42:34.4999Z"', false],
    ['userName pr', false],
    [`${ENTERPRISE} pr`, false],
    ['schemas eq "urn:ietf:params:scim:schemas:core:2.0:group"', true],
  ])('%s → %s', (text, expected) => {
    expect(matchesGroup(text)).toBe(expected);
  });
});

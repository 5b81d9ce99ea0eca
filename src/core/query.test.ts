import { describe, expect, it } from 'vitest';
import { USER_FIELDS } from './fields.js';
import { and, checkFilter, checkSort, coerceValue, foldCase, parseTimestamp, type FieldSpec, type Filter } from './query.js';

describe('parseTimestamp', () => {
  it.each([
    ['2024-03-01', '2024-03-01T00:00:00.000Z'],
    ['  2024-03-01 ', '2024-03-01T00:00:00.000Z'],
    ['2024-03-01T12:30', '2024-03-01T12:30:00.000Z'],
    ['2024-03-01T12:30:15', '2024-03-01T12:30:15.000Z'],
    ['2024-03-01 12:30:15Z', '2024-03-01T12:30:15.000Z'],
    ['2024-03-01T12:30:15+02:00', '2024-03-01T10:30:15.000Z'],
    ['2024-03-01T12:30:15+0200', '2024-03-01T10:30:15.000Z'],
    ['2024-03-01T12:30:15-05:30', '2024-03-01T18:00:15.000Z'],
    ['2024-03-01T01:00:00+03:00', '2024-02-29T22:00:00.000Z'],
    ['2024-03-01T00:00:00.5Z', '2024-03-01T00:00:00.500Z'],
    ['2024-03-01T12:30:15.123456789Z', '2024-03-01T12:30:15.123Z'],
    ['2024-02-29', '2024-02-29T00:00:00.000Z'],
  ])('%s is %s', (raw, iso) => {
    expect(parseTimestamp(raw)).toEqual({ ok: true, value: iso });
  });

  it('regression: a day past the end of its month is refused, not rolled over by Date.parse', () => {
    expect(parseTimestamp('2024-02-30').ok).toBe(false);
    expect(parseTimestamp('2023-02-29T10:00:00Z').ok).toBe(false);
    expect(parseTimestamp('2024-06-31T00:00:00+02:00').ok).toBe(false);
    expect(parseTimestamp('2024-06-30T23:00:00-02:00')).toEqual({ ok: true, value: '2024-07-01T01:00:00.000Z' });
  });

  it('a value with no zone is UTC, whatever the local zone', () => {
    const withZone = parseTimestamp('2024-07-01T08:00:00Z');
    expect(parseTimestamp('2024-07-01T08:00:00')).toEqual(withZone);
    expect(parseTimestamp('2024-07-01 08:00')).toEqual(withZone);
  });

  it.each([
    'yesterday',
    '',
    '2024-3-1',
    '01/03/2024',
    '2024-03-01T12',
    '2024-03-01T12:30:15 +02:00',
    '2024-03-01T12:30:15+2',
    '2024-13-01',
    '2024-00-10',
    '2024-03-32',
    '2024-02-30',
    '2023-02-29',
    '2024-04-31',
    '2024-03-01T25:00:00Z',
    '2024-03-01T12:61:00Z',
    '1709290800',
  ])('refuses %j', (raw) => {
    const r = parseTimestamp(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain(JSON.stringify(raw).slice(1, -1));
  });
});

describe('coerceValue', () => {
  const spec = (type: FieldSpec['type'], values?: string[]): FieldSpec => ({ type, ...(values ? { values } : {}) });

  it('integers from numbers and text', () => {
    expect(coerceValue('n', spec('integer'), 42)).toEqual({ ok: true, value: 42 });
    expect(coerceValue('n', spec('integer'), '-17')).toEqual({ ok: true, value: -17 });
    expect(coerceValue('n', spec('integer'), '007')).toEqual({ ok: true, value: 7 });
    for (const bad of ['4.2', 4.2, 'x', '', '1e3', '1234567890123456', true]) {
      const r = coerceValue('n', spec('integer'), bad);
      expect(r.ok, String(bad)).toBe(false);
      if (!r.ok) expect(r.error).toContain('n takes an integer');
    }
  });

  it('booleans from booleans and the words true and false only', () => {
    expect(coerceValue('b', spec('boolean'), true)).toEqual({ ok: true, value: true });
    expect(coerceValue('b', spec('boolean'), 'false')).toEqual({ ok: true, value: false });
    for (const bad of ['TRUE', 'yes', '1', 1, '']) expect(coerceValue('b', spec('boolean'), bad).ok, String(bad)).toBe(false);
  });

  it('dates to canonical ISO', () => {
    expect(coerceValue('d', spec('date'), '2024-01-02T03:04:05+01:00')).toEqual({ ok: true, value: '2024-01-02T02:04:05.000Z' });
    expect(coerceValue('d', spec('date'), 'soon').ok).toBe(false);
  });

  it('enums against their values', () => {
    const states = spec('enum', ['STAGED', 'ACTIVATED']);
    expect(coerceValue('state', states, 'STAGED')).toEqual({ ok: true, value: 'STAGED' });
    const r = coerceValue('state', states, 'staged');
    expect(r).toEqual({ ok: false, error: 'state takes one of STAGED, ACTIVATED, not "staged"' });
  });

  it('strings as text, null as null', () => {
    expect(coerceValue('s', spec('string'), 12)).toEqual({ ok: true, value: '12' });
    expect(coerceValue('s', spec('ci'), 'MiXeD')).toEqual({ ok: true, value: 'MiXeD' });
    expect(coerceValue('n', spec('integer'), null)).toEqual({ ok: true, value: null });
  });
});

describe('checkFilter', () => {
  const check = (f: Filter) => checkFilter(f, USER_FIELDS);
  const errorOf = (f: Filter) => {
    const r = check(f);
    if (r.ok) throw new Error('expected an error');
    return r.error;
  };

  it('coerces values throughout a nested tree', () => {
    const r = check({
      kind: 'and',
      filters: [
        { kind: 'compare', field: 'unixUid', op: 'gt', value: '5000' },
        { kind: 'or', filters: [{ kind: 'compare', field: 'sudo', op: 'eq', value: 'true' }, { kind: 'in', field: 'unixGuid', values: ['1', 2] }] },
        { kind: 'not', filter: { kind: 'between', field: 'created', low: '2024-01-01', high: '2024-02-01T00:00:00+01:00' } },
      ],
    });
    expect(r).toEqual({
      ok: true,
      value: {
        kind: 'and',
        filters: [
          { kind: 'compare', field: 'unixUid', op: 'gt', value: 5000 },
          { kind: 'or', filters: [{ kind: 'compare', field: 'sudo', op: 'eq', value: true }, { kind: 'in', field: 'unixGuid', values: [1, 2] }] },
          { kind: 'not', filter: { kind: 'between', field: 'created', low: '2024-01-01T00:00:00.000Z', high: '2024-01-31T23:00:00.000Z' } },
        ],
      },
    });
  });

  it('refuses unknown fields, wherever they are', () => {
    expect(errorOf({ kind: 'compare', field: 'password', op: 'eq', value: 'x' })).toBe('cannot filter on unknown field "password"');
    expect(errorOf({ kind: 'or', filters: [{ kind: 'compare', field: 'username', op: 'eq', value: 'a' }, { kind: 'text', field: 'hash', op: 'contains', value: 'x' }] })).toContain('"hash"');
    expect(errorOf({ kind: 'not', filter: { kind: 'in', field: 'nope', values: [] } })).toContain('"nope"');
  });

  it('refuses values of the wrong type, in every condition kind', () => {
    expect(errorOf({ kind: 'compare', field: 'unixUid', op: 'eq', value: 'abc' })).toContain('unixUid takes an integer');
    expect(errorOf({ kind: 'in', field: 'sudo', values: [true, 'maybe'] })).toContain('sudo takes true or false');
    expect(errorOf({ kind: 'between', field: 'created', low: '2024-01-01', high: 'later' })).toContain('later');
    expect(errorOf({ kind: 'between', field: 'unixUid', low: 'x', high: 2 })).toContain('unixUid takes an integer');
    expect(errorOf({ kind: 'compare', field: 'state', op: 'eq', value: 'DELETED' })).toContain('state takes one of');
  });

  it('booleans compare with eq and ne only', () => {
    expect(errorOf({ kind: 'compare', field: 'suspended', op: 'gt', value: true })).toBe('suspended is true or false; compare it with eq or ne');
    expect(check({ kind: 'compare', field: 'suspended', op: 'ne', value: 'false' }).ok).toBe(true);
  });

  it('text search only on text-like fields', () => {
    expect(check({ kind: 'text', field: 'username', op: 'contains', value: 'a%' }).ok).toBe(true);
    expect(check({ kind: 'text', field: 'state', op: 'startsWith', value: 'ACT' }).ok).toBe(true);
    expect(errorOf({ kind: 'text', field: 'unixUid', op: 'contains', value: '5' })).toBe('unixUid does not support text search');
    expect(errorOf({ kind: 'text', field: 'created', op: 'startsWith', value: '2024' })).toContain('does not support text search');
    expect(errorOf({ kind: 'text', field: 'sudo', op: 'endsWith', value: 'e' })).toContain('does not support text search');
  });

  it('checkSort refuses unknown and unsortable fields', () => {
    expect(checkSort([{ field: 'username', descending: true }], USER_FIELDS)).toEqual({ ok: true, value: [{ field: 'username', descending: true }] });
    expect(checkSort([{ field: 'nope', descending: false }], USER_FIELDS)).toEqual({ ok: false, error: 'cannot sort on unknown field "nope"' });
    expect(checkSort([{ field: 'x', descending: false }], { x: { type: 'string', sortable: false } })).toEqual({ ok: false, error: 'cannot sort on "x"' });
  });

  it('and() drops absent parts and unwraps a single one', () => {
    const a: Filter = { kind: 'compare', field: 'username', op: 'eq', value: 'a' };
    expect(and()).toBeUndefined();
    expect(and(undefined, a, undefined)).toBe(a);
    expect(and(a, a)).toEqual({ kind: 'and', filters: [a, a] });
  });
});

describe('foldCase', () => {
  it.each([
    ['ADA', 'ada'],
    ['ÄDA', 'äda'],
    ['A\u0308DA', 'äda'],
    ['straße', 'strasse'],
    ['STRASSE', 'strasse'],
    ['ǅemal', 'ǆemal'],
    ['ΣΊΣΥΦΟΣ', 'σίσυφος'],
    ['σίσυφοσ', 'σίσυφος'],
    ['ﬁle', 'file'],
  ])('%s folds to %s', (input, folded) => {
    expect(foldCase(input)).toBe(folded);
  });

  it('is idempotent and maps equal-looking forms to one key', () => {
    for (const s of ['Straße', 'ÄDA', 'İstanbul', 'ǅ', 'Ω']) expect(foldCase(foldCase(s))).toBe(foldCase(s));
    expect(foldCase('Ada.Lovelace@Example.COM')).toBe(foldCase('ada.lovelace@example.com'));
  });

  it('keeps distinct letters distinct', () => {
    expect(foldCase('ada')).not.toBe(foldCase('adä'));
    expect(foldCase('o')).not.toBe(foldCase('ø'));
  });
});

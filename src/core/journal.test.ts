import { describe, expect, it } from 'vitest';
import { changesBetween, REDACTED, secretChange } from './journal.js';

describe('changesBetween', () => {
  it('an update lists only changed attributes, before → after', () => {
    const before = { id: '1', name: 'Eng', description: '', tags: ['a'], settings: { x: 1 } };
    const after = { id: '1', name: 'Engineering', description: '', tags: ['a', 'b'], settings: { x: 1 } };
    expect(changesBetween(before, after)).toEqual({
      name: { before: 'Eng', after: 'Engineering' },
      tags: { before: ['a'], after: ['a', 'b'] },
    });
  });

  it('nothing changed is an empty record', () => {
    const o = { a: 1, b: { c: [1, 2] } };
    expect(changesBetween(o, structuredClone(o))).toEqual({});
  });

  it('compares nested values deeply', () => {
    expect(changesBetween({ s: { a: { b: 1 } } }, { s: { a: { b: 2 } } })).toEqual({ s: { before: { a: { b: 1 } }, after: { a: { b: 2 } } } });
  });

  it('ignores updated and orgId by default, and the given keys otherwise', () => {
    const before = { name: 'a', updated: 't1', orgId: 'o1' };
    const after = { name: 'a', updated: 't2', orgId: 'o2' };
    expect(changesBetween(before, after)).toEqual({});
    expect(changesBetween(before, after, ['name'])).toEqual({ updated: { before: 't1', after: 't2' }, orgId: { before: 'o1', after: 'o2' } });
  });

  it('a value appearing or disappearing on update counts, undefined reads as null', () => {
    expect(changesBetween({ a: 1 } as object, { b: 2 } as object)).toEqual({ a: { before: 1, after: null }, b: { before: null, after: 2 } });
    expect(changesBetween({ a: undefined } as object, { a: null } as object)).toEqual({});
    expect(changesBetween({ a: '' }, { a: null } as object)).toEqual({ a: { before: '', after: null } });
  });

  it('create: every attribute that is not a default (empty or false), from null', () => {
    const user = { username: 'ada', email: 'a@x', manager: null, phones: [], attributes: {}, description: '', sudo: false, admin: true, uid: 0, updated: 't' };
    expect(changesBetween(null, user)).toEqual({
      username: { before: null, after: 'ada' },
      email: { before: null, after: 'a@x' },
      admin: { before: null, after: true },
      uid: { before: null, after: 0 },
    });
  });

  it('delete: every non-empty attribute, to null', () => {
    expect(changesBetween({ name: 'Eng', description: '', members: [] }, null)).toEqual({ name: { before: 'Eng', after: null } });
  });

  it('nothing to nothing is nothing', () => {
    expect(changesBetween(null, null)).toEqual({});
  });
});

describe('secretChange', () => {
  it('redacts both sides', () => {
    expect(secretChange()).toEqual({ before: REDACTED, after: REDACTED });
  });
});

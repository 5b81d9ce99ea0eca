import { describe, expect, it } from 'vitest';
import { digestOf, patchOperations } from './payload.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('outbound SCIM payloads', () => {
  it('digests the same attributes in any key order alike, and different values differently', () => {
    expect(digestOf({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(digestOf({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(digestOf({ a: [1, 2] })).not.toBe(digestOf({ a: [2, 1] }));
    expect(digestOf({ a: null })).not.toBe(digestOf({ a: 'null' }));
  });

  it('turns one payload into the next with replace and remove operations, extension attributes by full path', () => {
    const before = { schemas: ['s'], userName: 'ada', title: 'Engineer', active: true, emails: [{ value: 'a@x' }], [ENTERPRISE]: { department: 'R&D', costCenter: '1' } };
    const after = { schemas: ['s', 'e'], userName: 'ada', active: false, emails: [{ value: 'b@x' }], roles: [{ value: 'admin' }], [ENTERPRISE]: { department: 'Ops', costCenter: '1' } };
    expect(patchOperations(before, after)).toEqual([
      { op: 'remove', path: 'title' },
      { op: 'replace', path: 'active', value: false },
      { op: 'replace', path: 'emails', value: [{ value: 'b@x' }] },
      { op: 'replace', path: `${ENTERPRISE}:department`, value: 'Ops' },
      { op: 'replace', path: 'roles', value: [{ value: 'admin' }] },
    ]);
    expect(patchOperations(after, after)).toEqual([]);
    // From nothing (an account taken over): every attribute is written.
    expect(patchOperations({}, { userName: 'ada', [ENTERPRISE]: { department: 'R&D' } })).toEqual([
      { op: 'replace', path: 'userName', value: 'ada' },
      { op: 'replace', path: ENTERPRISE, value: { department: 'R&D' } },
    ]);
  });
});

import { describe, expect, it } from 'vitest';
import { parseFilter, type Filter } from './filter.js';
import { parseProjection, project, shows } from './projection.js';
import { restrictFilter } from './search.js';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const user = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
  id: 'u1',
  userName: 'ada',
  name: { givenName: 'Ada', familyName: 'Lovelace' },
  emails: [
    { value: 'ada@example.com', type: 'work', primary: true },
    { value: 'ada@home.example', type: 'other' },
  ],
  password: 'never shown',
  [ENTERPRISE]: { department: 'R&D', manager: { value: 'u2', $ref: '/Users/u2' } },
  meta: { resourceType: 'User', version: 'W/"3"' },
};

const shown = (attributes?: string, excluded?: string) => project(user, 'User', parseProjection(attributes, excluded));

describe('SCIM projection (RFC 7644 §3.4.2.5)', () => {
  it('keeps what attributes names, with schemas and id, and never a returned-never attribute', () => {
    expect(shown('userName,password')).toEqual({ schemas: user.schemas, id: 'u1', userName: 'ada' });
    expect(shown('EMAILS.TYPE,name.familyName')).toEqual({ schemas: user.schemas, id: 'u1', name: { familyName: 'Lovelace' }, emails: [{ type: 'work' }, { type: 'other' }] });
    expect(shown(`${ENTERPRISE}:manager.value,meta.version`)).toEqual({ schemas: user.schemas, id: 'u1', [ENTERPRISE]: { manager: { value: 'u2' } }, meta: { version: 'W/"3"' } });
    expect(shown('urn:ietf:params:scim:schemas:core:2.0:User:userName,urn:ietf:params:scim:schemas:core:2.0:Group:displayName')).toEqual({ schemas: user.schemas, id: 'u1', userName: 'ada' });
  });

  it('leaves out what excludedAttributes names, and what is left empty', () => {
    const rest = shown(undefined, `emails.value,emails.type,emails.primary,${ENTERPRISE}:department,${ENTERPRISE}:manager,id,meta`);
    expect(rest).toEqual({ schemas: user.schemas, id: 'u1', userName: 'ada', name: user.name });
    expect(shown(undefined, ENTERPRISE)[ENTERPRISE]).toBeUndefined();
    expect(project(user, 'User', parseProjection(undefined, undefined))).toBe(user);
  });

  it('says whether an attribute is shown at all, so front-ends skip loading it', () => {
    expect(shows(parseProjection(undefined, 'members'), 'Group', 'members')).toBe(false);
    expect(shows(parseProjection(undefined, 'members.display'), 'Group', 'members')).toBe(true);
    expect(shows(parseProjection('displayName', undefined), 'Group', 'members')).toBe(false);
    expect(shows(parseProjection('members.value', undefined), 'Group', 'members')).toBe(true);
    expect(shows(parseProjection('displayName', undefined), 'Group', 'id')).toBe(true);
    expect(shows(parseProjection(undefined, undefined), 'Group', 'members')).toBe(true);
  });

  it('refuses both lists at once and names that are not attribute names', () => {
    expect(() => parseProjection('userName', 'title')).toThrow(/mutually exclusive/);
    expect(() => parseProjection('emails[type eq "work"]', undefined)).toThrow(/not an attribute name/);
    expect(() => parseProjection([5], undefined)).toThrow(/list of attribute names/);
  });
});

describe('a filter restricted to one resource type (RFC 7644 §3.4.3)', () => {
  const restrict = (text: string, type: 'User' | 'Group') => {
    const parsed = parseFilter(text);
    if (!parsed.ok) throw new Error(parsed.error);
    return restrictFilter(parsed.value, type);
  };
  const filter = (text: string): Filter => {
    const parsed = parseFilter(text);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  };

  it('treats an attribute the type does not have as unassigned', () => {
    expect(restrict('userName eq "ada"', 'Group')).toBe(false);
    expect(restrict('userName ne "ada"', 'Group')).toBe(true);
    expect(restrict('userName eq null', 'Group')).toBe(true);
    expect(restrict('userName pr', 'Group')).toBe(false);
    expect(restrict('emails[type eq "work"]', 'Group')).toBe(false);
    expect(restrict('members pr', 'User')).toBe(false);
  });

  it('folds and, or and not around the constants, keeping what the type has', () => {
    expect(restrict('userName eq "ada" or displayName eq "Ops"', 'Group')).toEqual(filter('displayName eq "Ops"'));
    expect(restrict('userName eq "ada" and displayName eq "Ops"', 'Group')).toBe(false);
    expect(restrict('not (userName pr) and displayName pr', 'Group')).toEqual(filter('displayName pr'));
    expect(restrict('not (userName pr)', 'Group')).toBe(true);
    expect(restrict('userName eq "ada" or displayName eq "Ops"', 'User')).toEqual(filter('userName eq "ada" or displayName eq "Ops"'));
  });
});

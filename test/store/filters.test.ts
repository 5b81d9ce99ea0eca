import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_FIELDS } from '../../src/core/fields.js';
import type { OrgId } from '../../src/core/ids.js';
import type { User } from '../../src/core/model.js';
import { checkFilter, type Filter, type ListQuery, type SortKey } from '../../src/core/query.js';
import type { KyselyStore } from '../../src/store/index.js';
import { describeEachStore, openTestStore, type TestStore } from '../support/stores.js';
import { makeUser, newOrg } from './fixtures.js';

const eq = (field: string, value: string | number | boolean | null): Filter => ({ kind: 'compare', field, op: 'eq', value });
const text = (field: string, op: 'contains' | 'startsWith' | 'endsWith', value: string): Filter => ({ kind: 'text', field, op, value });

describeEachStore('store: filters, sorting and paging', (kind) => {
  let t: TestStore;
  let store: KyselyStore;
  let orgId: OrgId;
  let users: User[];
  const byName = (name: string) => users.find((u) => u.username === name)!;

  beforeAll(async () => {
    t = await openTestStore(kind);
    store = t.store;
    const org = await newOrg(store);
    orgId = org.id;
    users = [
      makeUser(orgId, {
        username: 'alice', lastname: 'Archer', department: 'eng', jobTitle: '50%_off', unixUid: 5001, sudo: true,
        employeeIdentifier: 'E1', created: '2024-01-01T00:00:00.000Z', passwordExpirationDate: '2024-06-01T00:00:00.000Z',
      }),
      makeUser(orgId, {
        username: 'bob', lastname: 'Baker', department: 'eng', jobTitle: '50 percent off', unixUid: 5002, state: 'SUSPENDED',
        employeeIdentifier: 'E2', created: '2024-02-01T00:00:00.000Z', passwordExpirationDate: '2024-07-01T00:00:00.000Z',
      }),
      makeUser(orgId, { username: 'ÄDA', lastname: 'École', department: 'sales', jobTitle: 'axb', unixUid: 5003, state: 'STAGED', created: '2024-03-01T00:00:00.000Z' }),
      makeUser(orgId, {
        username: 'carol', lastname: 'carter', department: 'sales', jobTitle: 'a_b', unixUid: 5004, accountLocked: true,
        created: '2024-04-01T10:00:00.000Z',
      }),
      makeUser(orgId, { username: 'dave', department: '', jobTitle: '100%', unixUid: 5005, sudo: true, created: '2024-05-01T00:00:00.000Z' }),
      makeUser(orgId, { username: 'Straße', department: 'ops', jobTitle: 'back\\slash', unixUid: 5006, created: '2024-06-01T00:00:00.000Z' }),
    ];
    users[3]!.manager = users[0]!.id;
    const hashes = new Map([users[0]!, users[1]!, users[4]!].map((u) => [u.id, 'hash']));
    await store.transaction((tx) => tx.users.insert(users, hashes));
    // Another org's user matches every filter below and must never show up.
    const other = await newOrg(store);
    await store.transaction((tx) => tx.users.insert([makeUser(other.id, { username: 'alice', jobTitle: '50%_off', department: 'eng', sudo: true })]));
  });
  afterAll(() => t.dispose());

  /** Usernames matching a filter, after the core's own checking and coercion, as front-ends do it. */
  async function match(filter: Filter): Promise<string[]> {
    const checked = checkFilter(filter, USER_FIELDS);
    if (!checked.ok) throw new Error(checked.error);
    const page = await store.read.users.list(orgId, { filter: checked.value, sort: [], page: { limit: 100, skip: 0 } });
    expect(page.total).toBe(page.items.length);
    return page.items.map((u) => u.username).sort();
  }

  describe('comparisons', () => {
    it.each([
      ['eq', 5003, ['ÄDA']],
      ['ne', 5003, ['Straße', 'alice', 'bob', 'carol', 'dave']],
      ['gt', 5004, ['Straße', 'dave']],
      ['ge', 5004, ['Straße', 'carol', 'dave']],
      ['lt', 5002, ['alice']],
      ['le', 5002, ['alice', 'bob']],
    ] as const)('unixUid %s %s', async (op, value, expected) => {
      expect(await match({ kind: 'compare', field: 'unixUid', op, value })).toEqual(expected);
    });

    it('integers given as text are coerced', async () => {
      expect(await match({ kind: 'compare', field: 'unixUid', op: 'eq', value: '5005' })).toEqual(['dave']);
    });

    it('case-insensitive fields compare folded, with Unicode case folding', async () => {
      expect(await match(eq('username', 'ALICE'))).toEqual(['alice']);
      expect(await match(eq('username', 'äda'))).toEqual(['ÄDA']);
      expect(await match(eq('username', 'STRASSE'))).toEqual(['Straße']);
      expect(await match(eq('email', byName('bob').email.toUpperCase()))).toEqual(['bob']);
      expect(await match({ kind: 'compare', field: 'username', op: 'ne', value: 'ALICE' })).not.toContain('alice');
    });

    it('plain text fields compare exactly', async () => {
      expect(await match(eq('department', 'eng'))).toEqual(['alice', 'bob']);
      expect(await match(eq('department', 'ENG'))).toEqual([]);
      expect(await match(eq('department', ''))).toEqual(['dave']);
    });

    it('empty and null on nullable columns', async () => {
      expect(await match(eq('employeeIdentifier', ''))).toEqual(['Straße', 'carol', 'dave', 'ÄDA']);
      expect(await match({ kind: 'compare', field: 'employeeIdentifier', op: 'ne', value: '' })).toEqual(['alice', 'bob']);
      expect(await match(eq('manager', byName('alice').id))).toEqual(['carol']);
      expect(await match(eq('manager', null))).toHaveLength(5);
    });

    it('regression: ne and not match rows where the value is absent (NULL used to drop them)', async () => {
      const noE1 = ['Straße', 'bob', 'carol', 'dave', 'ÄDA'];
      expect(await match({ kind: 'compare', field: 'employeeIdentifier', op: 'ne', value: 'E1' })).toEqual(noE1);
      expect(await match({ kind: 'not', filter: eq('employeeIdentifier', 'E1') })).toEqual(noE1);
      expect(await match({ kind: 'not', filter: { kind: 'in', field: 'employeeIdentifier', values: ['E1', 'E2'] } })).toEqual(
        ['Straße', 'carol', 'dave', 'ÄDA'],
      );
      expect(await match({ kind: 'not', filter: { kind: 'compare', field: 'employeeIdentifier', op: 'ne', value: 'E1' } })).toEqual(['alice']);
    });

    it('in, with coercion and case folding', async () => {
      expect(await match({ kind: 'in', field: 'department', values: ['eng', 'ops'] })).toEqual(['Straße', 'alice', 'bob']);
      expect(await match({ kind: 'in', field: 'username', values: ['BOB', 'CAROL', 'nobody'] })).toEqual(['bob', 'carol']);
      expect(await match({ kind: 'in', field: 'unixUid', values: ['5001', 5006] })).toEqual(['Straße', 'alice']);
      expect(await match({ kind: 'in', field: 'state', values: [] })).toEqual([]);
    });

    it('between is inclusive at both ends', async () => {
      expect(await match({ kind: 'between', field: 'unixUid', low: 5002, high: 5004 })).toEqual(['bob', 'carol', 'ÄDA']);
    });
  });

  describe('text search', () => {
    it('contains, startsWith and endsWith ignore case', async () => {
      expect(await match(text('lastname', 'contains', 'ARCH'))).toEqual(['alice']);
      expect(await match(text('lastname', 'startsWith', 'CAR'))).toEqual(['carol']);
      expect(await match(text('lastname', 'endsWith', 'KER'))).toEqual(['bob']);
      expect(await match(text('username', 'startsWith', 'stras'))).toEqual(['Straße']);
      expect(await match(text('username', 'contains', 'äd'))).toEqual(['ÄDA']);
    });

    it('regression: non-ASCII letters match either case on plain text fields (SQLite lower() folded ASCII only)', async () => {
      expect(await match(text('lastname', 'startsWith', 'éco'))).toEqual(['ÄDA']);
      expect(await match(text('lastname', 'contains', 'ÉCOLE'))).toEqual(['ÄDA']);
    });

    it('% and _ in the value are literal characters', async () => {
      expect(await match(text('jobTitle', 'contains', '%'))).toEqual(['alice', 'dave']);
      expect(await match(text('jobTitle', 'startsWith', '50%'))).toEqual(['alice']);
      expect(await match(text('jobTitle', 'endsWith', '%'))).toEqual(['dave']);
      expect(await match(text('jobTitle', 'contains', '_'))).toEqual(['alice', 'carol']);
      expect(await match(text('jobTitle', 'contains', 'A_B'))).toEqual(['carol']);
      expect(await match(text('jobTitle', 'contains', '%_'))).toEqual(['alice']);
      expect(await match(text('jobTitle', 'contains', '\\'))).toEqual(['Straße']);
      expect(await match(text('jobTitle', 'contains', 'k\\s'))).toEqual(['Straße']);
    });
  });

  describe('booleans, virtual fields and dates', () => {
    it('booleans, including from text', async () => {
      expect(await match(eq('sudo', true))).toEqual(['alice', 'dave']);
      expect(await match(eq('sudo', 'false'))).toEqual(['Straße', 'bob', 'carol', 'ÄDA']);
      expect(await match({ kind: 'compare', field: 'sudo', op: 'ne', value: true })).toEqual(['Straße', 'bob', 'carol', 'ÄDA']);
      expect(await match(eq('accountLocked', true))).toEqual(['carol']);
    });

    it('suspended and activated are derived from state and password', async () => {
      expect(await match(eq('suspended', true))).toEqual(['bob']);
      expect(await match(eq('suspended', false))).toEqual(['Straße', 'alice', 'carol', 'dave', 'ÄDA']);
      expect(await match({ kind: 'compare', field: 'suspended', op: 'ne', value: true })).toEqual(['Straße', 'alice', 'carol', 'dave', 'ÄDA']);
      expect(await match(eq('activated', true))).toEqual(['alice', 'bob', 'dave']);
      expect(await match(eq('activated', false))).toEqual(['Straße', 'carol', 'ÄDA']);
      expect(await match({ kind: 'not', filter: eq('activated', true) })).toEqual(['Straße', 'carol', 'ÄDA']);
      expect(await match(eq('state', 'STAGED'))).toEqual(['ÄDA']);
    });

    it('dates compare as instants whatever the zone or precision of the value', async () => {
      expect(await match({ kind: 'compare', field: 'created', op: 'gt', value: '2024-03-01' })).toEqual(['Straße', 'carol', 'dave']);
      expect(await match({ kind: 'compare', field: 'created', op: 'ge', value: '2024-03-01' })).toEqual(['Straße', 'carol', 'dave', 'ÄDA']);
      expect(await match(eq('created', '2024-04-01T12:00:00+02:00'))).toEqual(['carol']);
      expect(await match({ kind: 'between', field: 'created', low: '2024-01-15', high: '2024-04-01T10:00:00Z' })).toEqual(['bob', 'carol', 'ÄDA']);
      expect(await match({ kind: 'compare', field: 'passwordExpirationDate', op: 'lt', value: '2024-06-15T00:00:00Z' })).toEqual(['alice']);
    });
  });

  describe('and, or, not', () => {
    it('combine and nest', async () => {
      const eng = eq('department', 'eng');
      const sudo = eq('sudo', true);
      expect(await match({ kind: 'and', filters: [eng, sudo] })).toEqual(['alice']);
      expect(await match({ kind: 'or', filters: [eng, sudo] })).toEqual(['alice', 'bob', 'dave']);
      expect(await match({ kind: 'not', filter: { kind: 'or', filters: [eng, sudo] } })).toEqual(['Straße', 'carol', 'ÄDA']);
      expect(await match({ kind: 'and', filters: [{ kind: 'or', filters: [eng, eq('department', 'sales')] }, { kind: 'not', filter: eq('suspended', true) }] })).toEqual(
        ['alice', 'carol', 'ÄDA'],
      );
      expect(await match({ kind: 'not', filter: { kind: 'not', filter: eng } })).toEqual(['alice', 'bob']);
    });

    it('empty and is everything, empty or is nothing', async () => {
      expect(await match({ kind: 'and', filters: [] })).toHaveLength(6);
      expect(await match({ kind: 'or', filters: [] })).toEqual([]);
    });
  });

  describe('sorting and paging', () => {
    const list = (query: Partial<ListQuery>) => store.read.users.list(orgId, { sort: [], page: { limit: 100, skip: 0 }, ...query });
    const idOrder = () => [...users].sort((a, b) => (a.id < b.id ? -1 : 1));
    const sortedBy = (keys: SortKey[]) =>
      [...users]
        .sort((a, b) => {
          for (const k of keys) {
            const av = String(a[k.field as keyof User]);
            const bv = String(b[k.field as keyof User]);
            if (av !== bv) return (av < bv ? -1 : 1) * (k.descending ? -1 : 1);
          }
          return a.id < b.id ? -1 : 1;
        })
        .map((u) => u.id);

    it('defaults to id order', async () => {
      expect((await list({})).items.map((u) => u.id)).toEqual(idOrder().map((u) => u.id));
    });

    it('sorts on a field with the id as tiebreak, ascending and descending', async () => {
      for (const descending of [false, true]) {
        const sort = [{ field: 'department', descending }];
        expect((await list({ sort })).items.map((u) => u.id)).toEqual(sortedBy(sort));
      }
      const two = [{ field: 'department', descending: true }, { field: 'unixUid', descending: true }];
      expect((await list({ sort: two })).items.map((u) => u.username)).toEqual(['carol', 'ÄDA', 'Straße', 'bob', 'alice', 'dave']);
    });

    it('sorts case-insensitive fields on the folded value', async () => {
      const names = (await list({ sort: [{ field: 'username', descending: false }] })).items.map((u) => u.username);
      expect(names).toEqual(['alice', 'bob', 'carol', 'dave', 'Straße', 'ÄDA']);
    });

    it('limit and skip page through the sorted rows; total ignores them', async () => {
      const sort = [{ field: 'unixUid', descending: false }];
      const pages = [];
      for (let skip = 0; skip < 6; skip += 4) pages.push(await list({ sort, page: { limit: 4, skip } }));
      expect(pages.map((p) => p.total)).toEqual([6, 6]);
      expect(pages.flatMap((p) => p.items.map((u) => u.unixUid))).toEqual([5001, 5002, 5003, 5004, 5005, 5006]);
      expect((await list({ page: { limit: 0, skip: 0 } })).items).toEqual([]);
      expect(await list({ page: { limit: 10, skip: 10 } })).toEqual({ total: 6, items: [] });
    });

    it('an after cursor continues in id order, with filter and limit', async () => {
      const ids = idOrder().map((u) => u.id);
      const page = await list({ page: { limit: 2, skip: 0, after: ids[1] } });
      expect(page.items.map((u) => u.id)).toEqual(ids.slice(2, 4));
      let cursor: string | undefined;
      const seen: string[] = [];
      for (;;) {
        const next = await list({ page: { limit: 4, skip: 0, ...(cursor ? { after: cursor } : {}) }, filter: { kind: 'compare', field: 'unixUid', op: 'gt', value: 0 } });
        if (next.items.length === 0) break;
        seen.push(...next.items.map((u) => u.id));
        cursor = next.items.at(-1)!.id;
      }
      expect(seen).toEqual(ids);
    });
  });
});

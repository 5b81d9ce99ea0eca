import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestApi, type TestApi } from '../support/api.js';
import { describeEachStore } from '../support/stores.js';
import { createUser, expectError, expectOk, uniq } from './helpers.js';

/** v1 list behaviour, on /api/systemusers: paging, sort, fields, filters, search, the keyset cursor. */
describeEachStore('API v1 lists', (kind) => {
  const N = 25;
  const UID = 200_000;
  let t: TestApi;
  let tag: string;
  let users: any[];
  const two = (i: number) => String(i).padStart(2, '0');
  const q = (filter: string) => `filter=${encodeURIComponent(filter)}`;
  const list = async (query: string) => expectOk(await t.call('GET', `/api/systemusers?${q(`department:$eq:${tag}`)}&${query}`));
  const ids = (page: { results: any[] }) => page.results.map((u) => u._id);

  beforeAll(async () => {
    t = await openTestApi(kind);
    tag = uniq('dept');
    users = [];
    for (let i = 0; i < N; i++) {
      users.push(
        await createUser(t, {
          department: tag,
          jobTitle: `n${two(i)}`,
          firstname: `f${two(i % 5)}`,
          lastname: `l${two(N - i)}`,
          unix_uid: UID + i,
          sudo: i % 5 === 0,
          ...(i === 7 ? { suspended: true } : {}),
        }),
      );
    }
  });
  afterAll(() => t.dispose());

  const byId = () => users.map((u) => u._id).sort();

  describe('paging', () => {
    it('answers {totalCount, results} with 10 results by default, in id order', async () => {
      const page = await list('');
      expect(Object.keys(page).sort()).toEqual(['results', 'totalCount']);
      expect(page.totalCount).toBe(N);
      expect(ids(page)).toEqual(byId().slice(0, 10));
    });

    it('accepts limit up to 100 and refuses 101, negative and non-integer limits', async () => {
      expect((await list('limit=100')).results).toHaveLength(N);
      expect((await list('limit=3')).results).toHaveLength(3);
      expect((await list('limit=0')).results).toEqual([]);
      for (const bad of ['limit=101', 'limit=-1', 'limit=abc', 'limit=1.5', 'skip=-1']) {
        const err = expectError(await t.call('GET', `/api/systemusers?${bad}`), 400, 'INVALID_INPUT');
        expect(err.details![0]!.field).toBe(bad.split('=')[0]);
      }
    });

    it('a skip past the end answers an empty list with the right total', async () => {
      for (const skip of [N, N + 1, 10_000]) {
        const page = await list(`skip=${skip}`);
        expect(page).toEqual({ totalCount: N, results: [] });
      }
    });

    it('skip pages cover every object exactly once', async () => {
      const seen: string[] = [];
      for (let skip = 0; skip < N; skip += 7) seen.push(...ids(await list(`limit=7&skip=${skip}`)));
      expect(seen).toEqual(byId());
    });

    it("pages like the connector: skip without limit until an empty page", async () => {
      const seen: string[] = [];
      const sizes: number[] = [];
      for (let skip = 0; ; ) {
        const page = await list(`skip=${skip}`);
        sizes.push(page.results.length);
        if (page.results.length === 0) break;
        seen.push(...ids(page));
        skip += page.results.length;
      }
      expect(sizes).toEqual([10, 10, 5, 0]);
      expect(seen).toEqual(byId());
    });
  });

  describe('sort and fields', () => {
    it('sort=-field sorts descending, field ascending', async () => {
      expect(ids(await list('sort=-unix_uid&limit=100'))).toEqual([...users].reverse().map((u) => u._id));
      expect((await list('sort=lastname&limit=3')).results.map((u: any) => u.lastname)).toEqual(['l01', 'l02', 'l03']);
      expect((await list('sort=-jobTitle&limit=2')).results.map((u: any) => u.jobTitle)).toEqual([`n${two(N - 1)}`, `n${two(N - 2)}`]);
    });

    it('sorts on several keys, space or comma separated', async () => {
      const expected = [...users]
        .sort((a, b) => (a.firstname === b.firstname ? b.unix_uid - a.unix_uid : a.firstname < b.firstname ? -1 : 1))
        .map((u) => u._id);
      expect(ids(await list(`sort=${encodeURIComponent('firstname -unix_uid')}&limit=100`))).toEqual(expected);
      expect(ids(await list(`sort=${encodeURIComponent('firstname,-unix_uid')}&limit=100`))).toEqual(expected);
    });

    it('sort on an unknown field answers 400 INVALID_SORT', async () => {
      expectError(await t.call('GET', '/api/systemusers?sort=-shoeSize'), 400, 'INVALID_SORT');
    });

    it('fields= keeps only the named fields and _id', async () => {
      for (const fields of ['username%20email', 'username,email']) {
        const page = await list(`fields=${fields}&limit=3`);
        expect(page.totalCount).toBe(N);
        for (const u of page.results) expect(Object.keys(u).sort()).toEqual(['_id', 'email', 'username']);
        expect(page.results[0].username).toBe(users.find((x) => x._id === page.results[0]._id).username);
      }
    });
  });

  describe('v1 filters', () => {
    it('compares with $eq $ne $gt $gte $lt $lte', async () => {
      const cases: [string, number[]][] = [
        [`unix_uid:$eq:${UID + 3}`, [3]],
        [`unix_uid:$gt:${UID + 21}`, [22, 23, 24]],
        [`unix_uid:$gte:${UID + 21}`, [21, 22, 23, 24]],
        [`unix_uid:$lt:${UID + 2}`, [0, 1]],
        [`unix_uid:$lte:${UID + 2}`, [0, 1, 2]],
        [`jobTitle:$gt:n22`, [23, 24]],
      ];
      for (const [filter, expected] of cases) {
        const page = await list(`${q(filter)}&limit=100`);
        expect(page.totalCount, filter).toBe(expected.length);
        expect(ids(page), filter).toEqual(expected.map((i) => users[i]._id).sort());
      }
      const ne = await list(`${q('jobTitle:$ne:n04')}&limit=100`);
      expect(ne.totalCount).toBe(N - 1);
      expect(ids(ne)).not.toContain(users[4]._id);
    });

    it('filters booleans, the virtual suspended flag and state', async () => {
      expect(ids(await list(`${q('sudo:$eq:true')}&limit=100`))).toEqual([0, 5, 10, 15, 20].map((i) => users[i]._id).sort());
      expect(ids(await list(`${q('suspended:$eq:true')}`))).toEqual([users[7]._id]);
      expect(ids(await list(`${q('state:$eq:SUSPENDED')}`))).toEqual([users[7]._id]);
      expect((await list(`${q('suspended:$eq:false')}`)).totalCount).toBe(N - 1);
    });

    it('filters dates', async () => {
      const created = users[0].created;
      expect((await list(q(`created:$gte:${created}`))).totalCount).toBe(N);
      expect((await list(q('created:$lt:2000-01-01'))).totalCount).toBe(0);
    });

    it('ANDs repeated filters and filter[n]; ORs filter[or][n]', async () => {
      const and = expectOk(await t.call('GET', `/api/systemusers?filter[0]=${encodeURIComponent(`department:$eq:${tag}`)}&filter[1]=${encodeURIComponent('firstname:$eq:f01')}&limit=100`));
      expect(ids(and)).toEqual([1, 6, 11, 16, 21].map((i) => users[i]._id).sort());
      const both = await list(`${q('firstname:$eq:f01')}&${q('unix_uid:$lt:' + (UID + 10))}`);
      expect(ids(both)).toEqual([users[1]._id, users[6]._id].sort());
      const or = await list(`filter[or][0]=${encodeURIComponent('jobTitle:$eq:n02')}&filter[or][1]=${encodeURIComponent('jobTitle:$eq:n13')}`);
      expect(ids(or)).toEqual([users[2]._id, users[13]._id].sort());
      expect(or.totalCount).toBe(2);
    });

    it('a value may contain colons', async () => {
      const u = await createUser(t, { department: tag + 'c', description: 'a:b:c' });
      const page = expectOk(await t.call('GET', `/api/systemusers?${q('description:$eq:a:b:c')}`));
      expect(ids(page)).toEqual([u._id]);
    });

    it('bad filter syntax, operators, fields and values answer 400 INVALID_FILTER', async () => {
      for (const filter of ['department', 'department:eq:x', 'department:$like:x', 'shoeSize:$eq:42', 'unix_uid:$eq:abc', 'sudo:$gt:true', 'state:$eq:ASLEEP', 'created:$gt:yesterday']) {
        expectError(await t.call('GET', `/api/systemusers?${q(filter)}`), 400, 'INVALID_FILTER');
      }
      expectError(await t.call('GET', '/api/systemusers?filter[foo]=x'), 400, 'INVALID_FILTER');
    });
  });

  describe('search', () => {
    it('GET search[searchTerm] matches substrings of the named fields, case-insensitively', async () => {
      const page = await list(`search[searchTerm]=N1&search[fields]=jobTitle&limit=100`);
      expect(page.totalCount).toBe(10);
      expect(page.results.every((u: any) => u.jobTitle.startsWith('n1'))).toBe(true);
      const bracketed = await list(`search[searchTerm]=n2&search[fields][]=jobTitle&limit=100`);
      expect(bracketed.totalCount).toBe(5);
      expectError(await t.call('GET', '/api/systemusers?search[searchTerm]=n2&search[fields]=shoeSize'), 400, 'INVALID_FILTER');
    });

    it('treats % and _ in a search term literally', async () => {
      const special = await createUser(t, { department: tag + 's', description: '100%_done' });
      await createUser(t, { department: tag + 's', description: '1000 done' });
      const hits = expectOk(await t.call('GET', `/api/systemusers?search[searchTerm]=${encodeURIComponent('0%_')}&search[fields]=description`));
      expect(ids(hits)).toEqual([special._id]);
    });

    // Bug: on SQLite, text search lowercases with SQLite's ASCII-only lower() (src/store/filter-sql.ts),
    // so a stored "Ødegård" is never found by any spelling of it; PostgreSQL finds it.
    it('search on non-ASCII text ignores case (Ødegård ~ ødegård)', async () => {
      const u = await createUser(t, { department: tag + 'u', lastname: 'Ødegård', firstname: 'Zoë' });
      for (const term of ['ødegård', 'ØDEGÅRD', 'Ødeg', 'ZOË']) {
        const page = expectOk(await t.call('GET', `/api/systemusers?search[searchTerm]=${encodeURIComponent(term)}&search[fields]=lastname,firstname`));
        expect(ids(page), term).toEqual([u._id]);
      }
    });

    it('POST /api/search/systemusers: filter lists, and/or, searchFilter, fields, paging', async () => {
      const post = async (body: unknown, query = '') => expectOk(await t.call('POST', `/api/search/systemusers${query}`, { body }));
      expect(ids(await post({ filter: [{ department: tag }, { jobTitle: 'n03' }] }))).toEqual([users[3]._id]);
      const or = await post({ filter: { and: [{ department: tag }, { or: [{ jobTitle: 'n03' }, { jobTitle: 'n04' }] }] } });
      expect(ids(or)).toEqual([users[3]._id, users[4]._id].sort());
      const search = await post({ filter: [{ department: tag }], searchFilter: { searchTerm: 'n2', fields: ['jobTitle'] }, fields: 'jobTitle' }, '?limit=2&skip=1');
      expect(search.totalCount).toBe(5);
      const n2 = users.filter((u) => u.jobTitle.startsWith('n2')).sort((a, b) => (a._id < b._id ? -1 : 1));
      expect(search.results.map((u: any) => u.jobTitle)).toEqual(n2.slice(1, 3).map((u) => u.jobTitle));
      expect(Object.keys(search.results[0]).sort()).toEqual(['_id', 'jobTitle']);
      const viaQuery = await post({ searchFilter: { searchTerm: 'n1', fields: ['jobTitle'] } }, `?${q(`department:$eq:${tag}`)}&limit=100`);
      expect(viaQuery.totalCount).toBe(10);
      expectError(await t.call('POST', '/api/search/systemusers', { body: { filter: [{ shoeSize: 42 }] } }), 400, 'INVALID_FILTER');
      expectError(await t.call('POST', '/api/search/systemusers', { body: { searchFilter: { searchTerm: 'x', fields: ['shoeSize'] } } }), 400, 'INVALID_FILTER');
      expectError(await t.call('POST', '/api/search/systemusers', { body: { filter: ['department'] } }), 400, 'INVALID_FILTER');
    });
  });

  describe('keyset cursor after=<id>', () => {
    it('pages in id order while users are inserted between pages: no duplicates, no gaps', async () => {
      const own = uniq('cursor');
      const initial: string[] = [];
      for (let i = 0; i < 12; i++) initial.push((await createUser(t, { department: own })).id);
      initial.sort();
      const seen: string[] = [];
      let after: string | undefined;
      for (let pages = 0; pages < 50; pages++) {
        const page = expectOk(await t.call('GET', `/api/systemusers?${q(`department:$eq:${own}`)}&limit=4${after ? `&after=${after}` : ''}`));
        if (page.results.length === 0) break;
        const pageIds = ids(page);
        expect(pageIds).toEqual([...pageIds].sort());
        if (after) expect(pageIds.every((id: string) => id > after!)).toBe(true);
        seen.push(...pageIds);
        after = pageIds.at(-1);
        await createUser(t, { department: own });
        await createUser(t, { department: own });
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen.filter((id) => initial.includes(id))).toEqual(initial);
    });

    it('refuses a malformed cursor, after with skip, and after with sort', async () => {
      expectError(await t.call('GET', '/api/systemusers?after=nope'), 400, 'INVALID_CURSOR');
      expectError(await t.call('GET', `/api/systemusers?after=${users[0]._id}&skip=2`), 400, 'INVALID_CURSOR');
      expectError(await t.call('GET', `/api/systemusers?after=${users[0]._id}&sort=-username`), 400, 'INVALID_CURSOR');
    });
  });
});

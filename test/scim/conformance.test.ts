/**
 * Microsoft's SCIM conformance collection (the requests Entra ID's provisioning makes; vendored,
 * unchanged, in conformance/) run with newman against the real `roster serve`. Every assertion
 * the collection makes must pass, except the deviations below, each documented with its reason in
 * docs/scim.md (Conformance): one of them starting to pass fails this test as much as a
 * regression does, so the list and the documentation stay true.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyFrom, ROOT, startRoster, tempDir, type RosterProcess } from '../support/roster-process.js';

const COLLECTION = join(ROOT, 'test', 'scim', 'conformance', 'microsoft-scim-tests.postman_collection.json');
const TOTAL = 108;

/**
 * The assertions Roster fails on purpose, as `folder › request › assertion` (a request name the
 * folder repeats gets its occurrence: `(2)`), with the reason. The same list, worded for readers,
 * is in docs/scim.md.
 */
const DEVIATIONS: Record<string, string> = {
  // name.formatted
  'User tests › Get user2 Check replace › Name is updated':
    'Roster keeps no free-form full name: name.formatted is composed from the given, middle and family names',
  // One email address per user: required, a valid address, unique in the organization.
  'Group tests › Create user 4 for group 2 › Status code is 201': 'its email testing@bob2.com is the email of "UserName333": 409 uniqueness',
  'Group tests › Delete user id4 › Status code is 204': 'user 4 was never created (email taken)',
  'ComplexAttribute tests › create user1 › Status code is 201': 'its email "emailName357" is not an email address: 400 invalidValue',
  'ComplexAttribute tests › Get user attributes › Body contians User1 email': 'user1 was never created (not an email address)',
  'ComplexAttribute tests › Delete User1 › Status code is 204': 'user1 was never created (not an email address)',
  'User tests with garbage › Post emp2 › Status code is 201': 'its email anna33@gmail.com is the email of "emp1": 409 uniqueness',
  'User tests with garbage › Post emp3 › Status code is 201': 'its email anna33@gmail.com is the email of "emp1": 409 uniqueness',
  'User tests with garbage › Post enterprise user › Status code is 201': 'its email anna33@gmail.com is the email of "emp1": 409 uniqueness',
  'User tests with garbage › Paginate › Total results': 'expects 5 users; 2 exist (emp2, emp3 and enterprise share an email)',
  'User tests with garbage › get user attributes › Total results': 'expects 5 users; 2 exist (emails taken)',
  'User tests with garbage › filter eq and (val or val) › Total results': 'expects 4 users named Employee; 1 exists (emails taken)',
  'User tests with garbage › filter greater than › Total results': 'expects 5 users; 2 exist (emails taken)',
  'Teardown garbage › Delete user3 emp2 › Status code is 204': 'emp2 was never created (email taken)',
  'Teardown garbage › Delete user4 emp3 › Status code is 204': 'emp3 was never created (email taken)',
  'Teardown garbage › Delete enterprise user › Status code is 204': 'the enterprise user was never created (email taken)',
  // Group members
  'Group tests › Get group by id (1) › Body contians user':
    "expects the text \"new User\" the PATCH sent as the member's displayName; a member's display is the member's own name (readOnly), and user 4 was never created",
  'Group tests with garbage › Group patch add member › Status code is 204': 'a member must be an object with a value (RFC 7643 §4.2); the bare string "string id 1" is 400 invalidValue',
  'Group tests with garbage › Group patch add member2 › Status code is 204': 'a member must be an object with a value (RFC 7643 §4.2); the bare string "string id 2" is 400 invalidValue',
  // PATCH of a user
  'User tests with garbage › Patch user omalley new username › Status code is 204':
    'a user PATCH answers 200 with the user (RFC 7644 §3.5.2 allows 200 or 204; Entra ID takes either)',
  'User tests with garbage › patch user omalley active with boolean › Status code is 204':
    'a user PATCH answers 200 with the user (RFC 7644 §3.5.2 allows 200 or 204; Entra ID takes either)',
  // attributes=
  'ComplexAttribute tests › Get user attributes › Status code is 200':
    'attributes=emails[type eq "work"]: attributes takes attribute names (RFC 7644 §3.4.2.5), a value filter is 400 invalidValue',
  'ComplexAttribute tests › Get user via attributes filter › Status code is 200':
    'attributes=emails[value eq "emailName357"]: attributes takes attribute names (RFC 7644 §3.4.2.5), a value filter is 400 invalidValue',
};

interface Newman {
  run(
    options: { collection: unknown; envVar: { key: string; value: string }[]; reporters: string[]; timeoutRequest: number },
    callback: (error: Error | null, summary: NewmanSummary) => void,
  ): void;
}

interface NewmanItem {
  name: string;
  parent(): NewmanItem | undefined;
}

interface NewmanSummary {
  run: {
    executions: { item: NewmanItem; assertions?: { assertion: string; error?: { message: string } }[]; response?: { code: number; stream?: Buffer } }[];
  };
}

interface Outcome {
  key: string;
  passed: boolean;
  /** What the server answered, for the failure message. */
  answer: string;
}

/** The folders an item is in, outermost first, without the collection itself. */
function foldersOf(item: NewmanItem): string[] {
  const names: string[] = [];
  for (let group = item.parent(); group?.parent(); group = group.parent()) names.unshift(group.name);
  return names;
}

async function runCollection(port: string): Promise<Outcome[]> {
  const newman = createRequire(import.meta.url)('newman') as Newman;
  const summary = await new Promise<NewmanSummary>((resolve, reject) =>
    newman.run(
      {
        collection: JSON.parse(readFileSync(COLLECTION, 'utf8')),
        envVar: [
          { key: 'Protocol', value: 'http' },
          { key: 'Server', value: '127.0.0.1' },
          { key: 'Port', value: `:${port}` },
          { key: 'Api', value: 'scim/v2' },
        ],
        reporters: [],
        timeoutRequest: 10_000,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    ),
  );
  const seen = new Map<string, number>();
  const repeats = new Map<string, number>();
  for (const e of summary.run.executions) {
    const request = [...foldersOf(e.item), e.item.name].join(' › ');
    repeats.set(request, (repeats.get(request) ?? 0) + 1);
  }
  return summary.run.executions.flatMap((e) => {
    const request = [...foldersOf(e.item), e.item.name].join(' › ');
    const n = (seen.get(request) ?? 0) + 1;
    seen.set(request, n);
    const name = (repeats.get(request) ?? 1) > 1 ? `${request} (${n})` : request;
    const answer = `${e.response?.code ?? 'no answer'} ${(e.response?.stream?.toString() ?? '').slice(0, 300)}`;
    return (e.assertions ?? []).map((a) => ({ key: `${name} › ${a.assertion}`, passed: !a.error, answer }));
  });
}

describe('Microsoft SCIM conformance collection against roster serve', () => {
  const dir = tempDir('roster-scim-conformance-');
  let server: RosterProcess | undefined;
  let outcomes: Outcome[] = [];

  beforeAll(async () => {
    // First run: the printed API key creates a SCIM source and its token.
    server = await startRoster({ ROSTER_DATA_DIR: dir.path, ROSTER_ADMIN_EMAIL: 'admin@conformance.test', ROSTER_ORG_NAME: 'Conformance' });
    const key = apiKeyFrom(server.stdout())!;
    const api = async (path: string, body: unknown) => {
      const res = await fetch(`${server!.url}${path}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (res.status >= 300) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as Record<string, unknown>;
    };
    const source = await api('/api/v2/scimsources', { name: 'Conformance' });
    const { token } = await api(`/api/v2/scimsources/${String(source.id)}/tokens`, { name: 'newman' });
    await server.stop();
    // The collection fetches its bearer token from GET /scim/v2/Token, served only in this mode.
    server = await startRoster({ ROSTER_DATA_DIR: dir.path, ROSTER_SCIM_TEST_TOKEN: String(token) });
    outcomes = await runCollection(new URL(server.url).port);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    dir.remove();
  });

  it(`makes all ${TOTAL} assertions`, () => {
    expect(outcomes).toHaveLength(TOTAL);
    expect(new Set(outcomes.map((o) => o.key)).size).toBe(TOTAL);
  });

  it('fails only the documented deviations (a regression shows here)', () => {
    const unexpected = outcomes.filter((o) => !o.passed && !(o.key in DEVIATIONS)).map((o) => `${o.key}\n    ${o.answer}`);
    expect(unexpected).toEqual([]);
  });

  it('fails every documented deviation (one that starts to pass shows here: take it out of the list and the docs)', () => {
    const failed = new Set(outcomes.filter((o) => !o.passed).map((o) => o.key));
    expect(Object.keys(DEVIATIONS).filter((key) => !failed.has(key))).toEqual([]);
  });

  it(`passes ${TOTAL - Object.keys(DEVIATIONS).length} of ${TOTAL}, as docs/scim.md says`, () => {
    const passed = outcomes.filter((o) => o.passed).length;
    expect(passed).toBe(TOTAL - Object.keys(DEVIATIONS).length);
    const docs = readFileSync(join(ROOT, 'docs', 'scim.md'), 'utf8');
    expect(docs).toContain(`${passed} of the collection's ${TOTAL} assertions pass`);
    for (const key of Object.keys(DEVIATIONS)) expect(docs, key).toContain(key.split(' › ').slice(1).join(' › '));
  });
});

import { Fragment, useCallback, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, qs } from '../../../shared/api';
import { Alert, Badge, Button, ErrorAlert, Field, PageHeader, SelectField, Spinner, TextField, Time } from '../../../shared/ui';
import { groupsByIds, userLabel, usersByIds } from '../../lookups';
import { useSession } from '../../session';
import { CopyButton, EmptyState, showValue } from '../resources/common';
import { adminName, type Administrator, type JournalEntry } from './types';

const PAGE = 50;
/** The journal answers at most this many entries per request. */
const MAX_PAGE = 1000;

const OBJECT_TYPES: Record<string, string> = {
  user: 'User',
  user_group: 'User group',
  application: 'Application',
  radius_server: 'RADIUS server',
  directory: 'Directory',
  association: 'Access (association)',
  administrator: 'Administrator',
  api_key: 'API key',
  organization: 'Organization',
  scim_token: 'SCIM token',
  directory_agent: 'Directory agent',
};

const OPERATIONS: Record<string, string> = {
  create: 'Created',
  update: 'Updated',
  delete: 'Deleted',
  member_add: 'Member added',
  member_remove: 'Member removed',
  associate: 'Access granted',
  dissociate: 'Access removed',
  password_set: 'Password set',
  login_failed: 'Login failed',
  lock: 'Locked',
  unlock: 'Unlocked',
  mfa_enroll: 'Second factor enrolled',
  mfa_reset: 'Second factor reset',
  sign_in: 'Sign-in',
  sign_out: 'Sign-out',
  ldap_bind: 'LDAP bind',
  ldap_search: 'LDAP search',
  radius_auth: 'RADIUS sign-in',
  radius_accounting: 'RADIUS accounting',
  provisioning_run: 'Provisioning run',
  sync_run: 'Directory sync run',
  sync_conflict: 'Sync conflict',
};

const ACTOR_TYPES: Record<string, string> = { admin: 'Administrator', user: 'User', operator: 'Operator (command line)', system: 'Roster itself' };
const ORIGINS = ['api', 'portal', 'cli', 'system', 'sso', 'ldap', 'radius'];
const FILTER_KEYS = ['from', 'to', 'objectType', 'operation', 'origin', 'actorType', 'actorId', 'objectId'] as const;
type Filters = Record<(typeof FILTER_KEYS)[number], string>;

const DESTRUCTIVE = new Set(['delete', 'dissociate', 'member_remove', 'lock', 'mfa_reset', 'login_failed', 'sync_conflict']);

const filtersOf = (params: URLSearchParams): Filters => Object.fromEntries(FILTER_KEYS.map((k) => [k, params.get(k) ?? ''])) as Filters;

/** A `datetime-local` value (the viewer's time zone) as milliseconds. */
const localMs = (value: string) => (value ? new Date(value).getTime() : NaN);
const toLocalInput = (ms: number) => {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
};
const iso = (ms: number) => new Date(ms).toISOString();

/** The v2 filters the journal takes, from the page's filters (without the time range). */
function apiFilters(f: Filters): string[] {
  const out: string[] = [];
  if (f.objectType) out.push(`objectType:eq:${f.objectType}`);
  if (f.operation) out.push(`operation:eq:${f.operation}`);
  if (f.origin) out.push(`origin:eq:${f.origin}`);
  if (f.actorType) out.push(`actorType:eq:${f.actorType}`);
  if (f.actorId.trim()) out.push(`actorId:eq:${f.actorId.trim()}`);
  if (f.objectId.trim()) out.push(`objectId:eq:${f.objectId.trim()}`);
  return out;
}

const journal = (filters: string[], since: number, limit: number, signal: AbortSignal) => api.get<JournalEntry[]>(`/api/v2/journal${qs({ since, limit, filter: filters })}`, { signal });

/**
 * Newest-first paging over the journal, which answers in sequence order from a cursor: the time
 * range is read backwards in windows of `at` (each read whole, so no entry is skipped or shown
 * twice), widening while they are sparse and narrowing when one holds more than a request returns.
 */
class NewestFirst {
  private buffer: JournalEntry[] = [];
  private width = 3_600_000;
  private prepared = false;
  done = false;

  constructor(
    private readonly filters: string[],
    /** Exclusive upper bound in ms, or null for "now and later". */
    private upper: number | null,
    /** Inclusive lower bound in ms, or null until the oldest matching entry is known. */
    private lower: number | null,
  ) {}

  get hasMore() {
    return !this.done || this.buffer.length > 0;
  }

  private async range(start: number, end: number | null, shrinkable: boolean, signal: AbortSignal): Promise<JournalEntry[] | 'too-many'> {
    const filters = [...this.filters, `at:ge:${iso(start)}`, ...(end !== null ? [`at:lt:${iso(end)}`] : [])];
    const out = await journal(filters, 0, MAX_PAGE, signal);
    if (out.length < MAX_PAGE) return out;
    if (shrinkable) return 'too-many';
    // More than a request holds within a millisecond or so (a bulk import): read it all in order.
    for (;;) {
      const more = await journal(filters, out[out.length - 1]!.seq, MAX_PAGE, signal);
      out.push(...more);
      if (more.length < MAX_PAGE) return out;
    }
  }

  async next(n: number, signal: AbortSignal): Promise<JournalEntry[]> {
    if (!this.prepared) {
      this.prepared = true;
      if (this.lower === null) {
        // The oldest matching entry bounds the search, so an empty result costs one request.
        const [oldest] = await journal([...this.filters, ...(this.upper !== null ? [`at:lt:${iso(this.upper)}`] : [])], 0, 1, signal);
        if (!oldest) this.done = true;
        else this.lower = Date.parse(oldest.at);
      }
    }
    while (this.buffer.length < n && !this.done) {
      const top = this.upper ?? Date.now();
      const lower = this.lower ?? 0;
      const start = Math.max(lower, top - this.width);
      const got = await this.range(start, this.upper, this.width > 1000 && start > lower, signal);
      if (got === 'too-many') {
        this.width = Math.max(1000, Math.floor(this.width / 4));
        continue;
      }
      this.buffer.push(...got.reverse());
      this.upper = start;
      if (start <= lower) this.done = true;
      if (got.length < n) this.width *= 4;
      else if (got.length > 4 * n) this.width = Math.max(1000, Math.floor(this.width / 2));
    }
    return this.buffer.splice(0, n);
  }
}

interface Names {
  [key: string]: { label: string; to?: string };
}

const nameFromChanges = (e: JournalEntry): string | undefined => {
  for (const key of ['displayLabel', 'name', 'displayName', 'username', 'email']) {
    const c = e.changes?.[key];
    const v = c?.after ?? c?.before;
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
};

/** What a role needs to open an object's page. */
const READ_PERMISSION: Record<string, string> = {
  user: 'users:read',
  user_group: 'groups:read',
  application: 'applications:read',
  radius_server: 'radius:read',
  administrator: 'admins:read',
  organization: 'organization:read',
};

/** Where an event came from, when it says (a sign-in's ip, a RADIUS or LDAP client). */
const addressOf = (e: JournalEntry): string | undefined => {
  for (const key of ['ip', 'client', 'clientAddress', 'remoteAddress']) {
    const v = e.details?.[key];
    if (typeof v === 'string' && v) return v;
  }
  return undefined;
};

const pathFor = (type: string, id: string): string | undefined =>
  ({ user: `/admin/users/${id}`, user_group: `/admin/groups/${id}`, application: `/admin/applications/${id}`, radius_server: `/admin/radius/${id}`, administrator: `/admin/administrators/${id}`, organization: '/admin/settings' })[type];

/** Names of the objects and actors of entries, with what the role may read; what it cannot stays an id. */
async function resolveNames(entries: JournalEntry[], known: Names, can: (p: string) => boolean): Promise<Names> {
  const want = (type: string) => [...new Set(entries.flatMap((e) => [...(e.objectType === type ? [e.objectId] : []), ...((type === 'administrator' ? e.actor.type === 'admin' : e.actor.type === type) && e.actor.id ? [e.actor.id] : [])]))].filter((id) => !known[`${type}:${id}`]);
  const out: Names = {};
  const tasks: Promise<void>[] = [];
  const users = want('user');
  if (users.length > 0 && can('users:read'))
    tasks.push(usersByIds(users).then((m) => m.forEach((u, id) => (out[`user:${id}`] = { label: userLabel(u, id), to: `/admin/users/${id}` }))));
  const groups = want('user_group');
  if (groups.length > 0 && can('groups:read')) tasks.push(groupsByIds(groups).then((m) => m.forEach((g, id) => (out[`user_group:${id}`] = { label: g.name, to: `/admin/groups/${id}` }))));
  const v1 = (type: string, permission: string, path: string, label: (o: Record<string, unknown>) => string, ids: string[]) => {
    if (ids.length === 0 || !can(permission)) return;
    const params = Object.fromEntries(ids.slice(0, 100).map((id, n) => [`filter[or][${n}]`, `_id:$eq:${id}`]));
    tasks.push(
      api.get<{ results: Record<string, unknown>[] }>(`${path}${qs({ ...params, limit: Math.min(ids.length, 100) })}`).then((r) => {
        for (const o of r.results) out[`${type}:${String(o._id)}`] = { label: label(o), to: pathFor(type, String(o._id)) };
      }),
    );
  };
  v1('administrator', 'admins:read', '/api/users', (o) => adminName(o as unknown as Administrator), want('administrator'));
  v1('application', 'applications:read', '/api/applications', (o) => String(o.displayLabel || o.name), want('application'));
  v1('radius_server', 'radius:read', '/api/radiusservers', (o) => String(o.name), want('radius_server'));
  await Promise.all(tasks.map((t) => t.catch(() => undefined)));
  return out;
}

/** The audit log: the change journal, newest first, with filters and each entry's changes. */
export function AuditLog() {
  const session = useSession();
  const [params, setParams] = useSearchParams();
  const applied = filtersOf(params);
  const key = FILTER_KEYS.map((k) => applied[k]).join('\u0000');
  const [form, setForm] = useState<Filters>(applied);
  const [entries, setEntries] = useState<JournalEntry[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [hasMore, setHasMore] = useState(false);
  const [names, setNames] = useState<Names>({});
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [rangeError, setRangeError] = useState<string>();
  const pager = useRef<NewestFirst | null>(null);
  const controller = useRef<AbortController | null>(null);
  const namesRef = useRef<Names>({});
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  const more = useCallback(
    async (reset: boolean) => {
      controller.current?.abort();
      const c = new AbortController();
      controller.current = c;
      if (reset) {
        const from = localMs(applied.from);
        const to = localMs(applied.to);
        pager.current = new NewestFirst(apiFilters(applied), Number.isNaN(to) ? null : to + 60_000, Number.isNaN(from) ? null : from);
        setEntries([]);
        setOpen(new Set());
      }
      setBusy(true);
      setError(undefined);
      try {
        const page = await pager.current!.next(PAGE, c.signal);
        if (c.signal.aborted) return;
        setEntries((old) => (reset ? page : [...old, ...page]));
        setHasMore(pager.current!.hasMore);
        const found = await resolveNames(page, namesRef.current, session.can);
        const fromChanges: Names = {};
        // Deleted objects keep the name their other entries carry (a create, a rename, the delete).
        for (const e of page) {
          const k = `${e.objectType}:${e.objectId}`;
          const n = nameFromChanges(e);
          if (n && !found[k] && !namesRef.current[k]?.to) fromChanges[k] = { label: n };
        }
        for (const o of session.organizations) fromChanges[`organization:${o.id}`] = { label: o.displayName, ...(o.id === session.organization ? { to: '/admin/settings' } : {}) };
        namesRef.current = { ...namesRef.current, ...fromChanges, ...found };
        if (!c.signal.aborted) setNames(namesRef.current);
      } catch (e) {
        if (!c.signal.aborted) setError(e);
      } finally {
        if (!c.signal.aborted) setBusy(false);
      }
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [key],
  );

  useEffect(() => {
    setForm(filtersOf(params));
    void more(true);
    return () => controller.current?.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  const apply = (f: Filters) => {
    const from = localMs(f.from);
    const to = localMs(f.to);
    if (!Number.isNaN(from) && !Number.isNaN(to) && from > to) {
      setRangeError('The start is after the end.');
      return;
    }
    setRangeError(undefined);
    const next = new URLSearchParams();
    for (const k of FILTER_KEYS) if (f[k].trim()) next.set(k, f[k].trim());
    setParams(next);
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    apply(form);
  };
  const set = (k: keyof Filters) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  const last = (hours: number) => apply({ ...form, from: toLocalInput(Date.now() - hours * 3_600_000), to: '' });
  const only = (patch: Partial<Filters>) => apply({ ...applied, ...patch });

  const nameOf = (type: string, id: string | null, fallback?: string): ReactNode => {
    if (!id) return fallback ?? '—';
    const n = names[`${type}:${id}`];
    const label = n?.label ?? fallback ?? id;
    const to = n?.to ?? (n || !session.can(READ_PERMISSION[type] ?? '') ? undefined : pathFor(type, id));
    return to ? <Link to={to}>{label}</Link> : label;
  };
  const actorOf = (e: JournalEntry): ReactNode => {
    if (e.actor.type === 'admin') return <>Administrator {nameOf('administrator', e.actor.id)}</>;
    if (e.actor.type === 'user') return <>User {nameOf('user', e.actor.id, typeof e.details?.username === 'string' ? e.details.username : undefined)}</>;
    return ACTOR_TYPES[e.actor.type] ?? e.actor.type;
  };

  const filtered = FILTER_KEYS.some((k) => applied[k]);
  return (
    <>
      <PageHeader title="Audit log" description="Every change to the directory and every sign-in, newest first: who did what, from where, with the values before and after. Secrets always read [REDACTED]." />
      <form className="card" onSubmit={submit} aria-labelledby="audit-filters" noValidate>
        <h2 id="audit-filters" className="visually-hidden">
          Filters
        </h2>
        <div className="rs-audit-filters">
          <TextField label="From" type="datetime-local" hint={`Your time zone (${zone})`} value={form.from} onChange={set('from')} error={rangeError} />
          <TextField label="To" type="datetime-local" hint="Empty: until now" value={form.to} onChange={set('to')} />
          <SelectField label="Object type" options={[{ value: '', label: 'Any' }, ...Object.entries(OBJECT_TYPES).map(([value, label]) => ({ value, label }))]} value={form.objectType} onChange={set('objectType')} />
          <SelectField label="Operation" options={[{ value: '', label: 'Any' }, ...Object.entries(OPERATIONS).map(([value, label]) => ({ value, label }))]} value={form.operation} onChange={set('operation')} />
          <SelectField label="Actor type" options={[{ value: '', label: 'Any' }, ...Object.entries(ACTOR_TYPES).map(([value, label]) => ({ value, label }))]} value={form.actorType} onChange={set('actorType')} />
          <TextField label="Actor id" hint="An administrator's or user's id" value={form.actorId} onChange={set('actorId')} spellCheck={false} />
          <TextField label="Object id" value={form.objectId} onChange={set('objectId')} spellCheck={false} />
          <Field label="Origin" hint="api, portal, sso, ldap, radius, scim:…, sync:…">
            {(p) => (
              <>
                <input className="input" list="audit-origins" value={form.origin} onChange={set('origin')} spellCheck={false} {...p} />
                <datalist id="audit-origins">
                  {ORIGINS.map((o) => (
                    <option key={o} value={o} />
                  ))}
                </datalist>
              </>
            )}
          </Field>
        </div>
        <div className="form-actions">
          <Button type="submit" variant="primary">
            Apply filters
          </Button>
          <Button onClick={() => last(1)}>Last hour</Button>
          <Button onClick={() => last(24)}>Last 24 hours</Button>
          <Button onClick={() => last(24 * 7)}>Last 7 days</Button>
          {filtered && (
            <Button variant="ghost" onClick={() => setParams(new URLSearchParams())}>
              Clear filters
            </Button>
          )}
          <Button variant="ghost" onClick={() => void more(true)}>
            Refresh
          </Button>
        </div>
      </form>
      <ErrorAlert error={error} />
      {entries.length === 0 && busy && <Spinner label="Reading the audit log…" />}
      {entries.length === 0 && !busy && !error && (
        <EmptyState title={filtered ? 'No entries match these filters' : 'The audit log is empty'}>{filtered ? 'Widen the time range or clear a filter.' : 'Changes appear here as soon as they are made.'}</EmptyState>
      )}
      {entries.length > 0 && (
        <div className="table-wrap">
          <table className="table" aria-busy={busy || undefined}>
            <caption className="visually-hidden">Audit log entries, newest first</caption>
            <thead>
              <tr>
                <th scope="col">
                  <span className="visually-hidden">Details</span>
                </th>
                <th scope="col">Time</th>
                <th scope="col">What</th>
                <th scope="col">Object</th>
                <th scope="col">By</th>
                <th scope="col">Origin</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((e) => {
                const expanded = open.has(e.seq);
                const result = typeof e.details?.result === 'string' ? e.details.result : undefined;
                return (
                  <Fragment key={e.seq}>
                    <tr className="rs-audit-row">
                      <td>
                        <Button
                          variant="ghost"
                          className="rs-expand"
                          aria-expanded={expanded}
                          aria-controls={`audit-${e.seq}`}
                          aria-label={`${expanded ? 'Hide' : 'Show'} details of entry ${e.seq}`}
                          onClick={() => {
                            const next = new Set(open);
                            if (expanded) next.delete(e.seq);
                            else next.add(e.seq);
                            setOpen(next);
                          }}
                        >
                          {expanded ? '▾' : '▸'}
                        </Button>
                      </td>
                      <td className="rs-nowrap">
                        <Time iso={e.at} />
                      </td>
                      <td>
                        <span className="rs-inline">
                          <Badge kind={DESTRUCTIVE.has(e.operation) ? 'warn' : 'neutral'}>{OPERATIONS[e.operation] ?? e.operation}</Badge>
                          {result && <Badge kind={/^(accept|success|ok|succeeded)/i.test(result) ? 'good' : 'bad'}>{result}</Badge>}
                        </span>
                      </td>
                      <td>
                        <span className="muted rs-small">{OBJECT_TYPES[e.objectType] ?? e.objectType}</span>
                        <div>{nameOf(e.objectType, e.objectId, nameFromChanges(e))}</div>
                      </td>
                      <td>
                        {actorOf(e)}
                        {e.actor.apiKeyId && <div className="muted rs-small">with an API key</div>}
                        {addressOf(e) && <div className="muted rs-small">from {addressOf(e)}</div>}
                      </td>
                      <td>
                        <code>{e.origin}</code>
                      </td>
                    </tr>
                    {expanded && (
                      <tr className="rs-audit-details" id={`audit-${e.seq}`}>
                        <td colSpan={6}>
                          <EntryDetails entry={e} onOnly={only} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {entries.length > 0 && (
        <div className="rs-load-more">
          <span className="muted" aria-live="polite">
            {entries.length.toLocaleString()} entr{entries.length === 1 ? 'y' : 'ies'} shown{hasMore ? '' : ': that is all'}
          </span>
          {hasMore && (
            <Button busy={busy} onClick={() => void more(false)}>
              Load older entries
            </Button>
          )}
        </div>
      )}
      {!session.can('users:read') && <Alert kind="info">Your role cannot read users, so they are shown by id.</Alert>}
    </>
  );
}

const isPlain = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Changes as rows of leaves: a nested object that changed (an organization's settings) shows
 * only the values that differ, each under its dotted path.
 */
function changeRows(changes: JournalEntry['changes']): [string, unknown, unknown][] {
  const rows: [string, unknown, unknown][] = [];
  const walk = (path: string, before: unknown, after: unknown) => {
    if ((isPlain(before) || before == null) && (isPlain(after) || after == null) && (isPlain(before) || isPlain(after))) {
      const b = isPlain(before) ? before : {};
      const a = isPlain(after) ? after : {};
      for (const key of new Set([...Object.keys(b), ...Object.keys(a)])) walk(`${path}.${key}`, b[key], a[key]);
      return;
    }
    if (JSON.stringify(before) === JSON.stringify(after) && before !== undefined) return;
    rows.push([path, before, after]);
  };
  for (const [attr, c] of Object.entries(changes ?? {})) walk(attr, c?.before, c?.after);
  return rows;
}

function EntryDetails({ entry, onOnly }: { entry: JournalEntry; onOnly: (f: Partial<Filters>) => void }) {
  const changes = changeRows(entry.changes);
  const details = Object.entries(entry.details ?? {});
  return (
    <div>
      {changes.length > 0 && (
        <table className="rs-changes">
          <caption className="visually-hidden">Changes</caption>
          <thead>
            <tr>
              <th scope="col">Attribute</th>
              <th scope="col">Before</th>
              <th scope="col">After</th>
            </tr>
          </thead>
          <tbody>
            {changes.map(([attr, before, after]) => (
              <tr key={attr}>
                <th scope="row">
                  <code>{attr}</code>
                </th>
                <td className={before !== undefined && before !== null ? 'rs-before' : undefined}>
                  <pre>{showValue(before)}</pre>
                </td>
                <td className={after !== undefined && after !== null ? 'rs-after' : undefined}>
                  <pre>{showValue(after)}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {details.length > 0 && (
        <table className="rs-changes">
          <caption className="visually-hidden">Details</caption>
          <tbody>
            {details.map(([k, v]) => (
              <tr key={k}>
                <th scope="row">
                  <code>{k}</code>
                </th>
                <td>
                  <pre>{showValue(v)}</pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <dl className="properties rs-small">
        <div className="property">
          <dt>Entry</dt>
          <dd>#{entry.seq}</dd>
        </div>
        <div className="property">
          <dt>Object id</dt>
          <dd className="rs-inline">
            <code>{entry.objectId}</code> <CopyButton value={entry.objectId} what="object id" />
          </dd>
        </div>
        <div className="property">
          <dt>Actor</dt>
          <dd>
            {entry.actor.type}
            {entry.actor.id && (
              <>
                {' '}
                <code>{entry.actor.id}</code>
              </>
            )}
          </dd>
        </div>
        {entry.actor.apiKeyId && (
          <div className="property">
            <dt>API key id</dt>
            <dd>
              <code>{entry.actor.apiKeyId}</code>
            </dd>
          </div>
        )}
      </dl>
      <div className="form-actions">
        <Button variant="ghost" onClick={() => onOnly({ objectId: entry.objectId, objectType: entry.objectType })}>
          Only this object
        </Button>
        {entry.actor.id && (
          <Button variant="ghost" onClick={() => onOnly({ actorId: entry.actor.id!, actorType: entry.actor.type })}>
            Only this actor
          </Button>
        )}
      </div>
    </div>
  );
}

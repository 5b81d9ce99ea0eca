import type { ComponentType, ReactNode } from 'react';
import { useParams, useSearchParams } from 'react-router';
import { api, ApiError, qs } from '../../../shared/api';
import { Button, useAsync, useCopy, type Async } from '../../../shared/ui';

/**
 * Helpers shared by the Applications, RADIUS and Security pages: per-field API errors, v1 lists
 * with a client-side search, copyable read-only values, the tab kept in the address, and detail
 * pages keyed by their object.
 */

/** The API's message for one field of a failed write (its `details`), matched by name or dotted suffix. */
export function fieldError(error: unknown, ...names: string[]): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  const messages = error.details
    .filter((d) => d.field && names.some((n) => d.field === n || d.field!.endsWith(`.${n}`) || n.endsWith(`.${d.field}`)))
    .map((d) => d.message);
  return messages.length > 0 ? [...new Set(messages)].join('; ') : undefined;
}

/** A v1 list answer. */
export interface V1Page<T> {
  totalCount: number;
  results: T[];
}

/** Every object of a v1 list (100 at a time), up to `max`: for lists too short to need server search. */
export async function v1All<T>(path: string, params: Record<string, string | number | undefined>, signal: AbortSignal, max = 2000): Promise<T[]> {
  const out: T[] = [];
  for (let skip = 0; skip < max; skip += 100) {
    const page = await api.get<V1Page<T>>(`${path}${qs({ ...params, limit: 100, skip })}`, { signal });
    out.push(...page.results);
    if (page.results.length < 100 || out.length >= page.totalCount) break;
  }
  return out;
}

/**
 * A v1 list, paged by the server; with a search term (which v1 lists of this kind cannot filter on
 * by substring) the whole list is read and searched here, then paged the same way.
 */
export function useV1List<T>(
  path: string,
  {
    search,
    skip,
    limit,
    sort,
    fields,
    filter,
    matches,
    tick = 0,
  }: { search: string; skip: number; limit: number; sort?: string; fields?: string; filter?: string; matches: (item: T, term: string) => boolean; tick?: number },
): Async<{ items: T[]; total: number }> {
  return useAsync(
    async (signal) => {
      const term = search.trim().toLowerCase();
      if (!term) {
        const page = await api.get<V1Page<T>>(`${path}${qs({ limit, skip, sort, fields, filter })}`, { signal });
        return { items: page.results, total: page.totalCount };
      }
      const all = (await v1All<T>(path, { sort, fields, filter }, signal)).filter((item) => matches(item, term));
      return { items: all.slice(skip, skip + limit), total: all.length };
    },
    [path, search, skip, limit, sort, fields, filter, tick],
  );
}

/** Whether any of the texts contains the (lower-case) term. */
export const contains = (term: string, ...texts: (string | undefined | null)[]) => texts.some((t) => (t ?? '').toLowerCase().includes(term));

/** Copies text to the clipboard; says so for a moment. */
export function CopyButton({ value, label = 'Copy', what }: { value: string; label?: string; what?: string }) {
  const { copied, copy } = useCopy(value, 2000);
  return (
    <Button variant="ghost" className="rs-copy" aria-label={what ? `${label} ${what}` : undefined} onClick={copy}>
      {copied ? 'Copied' : label}
    </Button>
  );
}

/** An object's id with a copy button, for a page's properties. */
export function CopyableId({ id, what }: { id: string; what: string }) {
  return (
    <span className="rs-inline">
      <code>{id}</code> <CopyButton value={id} what={what} />
    </span>
  );
}

/** A value the administrator copies into another system (a URL, an id, a certificate): labelled, selectable, with a copy button. */
export function CopyField({ label, value, multiline = false, hint }: { label: string; value: string; multiline?: boolean; hint?: ReactNode }) {
  return (
    <div className="rs-copy-field">
      <span className="rs-copy-label">{label}</span>
      <div className="rs-copy-row">
        {multiline ? <pre className="rs-copy-value rs-copy-pre" tabIndex={0} aria-label={label}>{value}</pre> : <code className="rs-copy-value">{value}</code>}
        <CopyButton value={value} what={label} />
      </div>
      {hint && <p className="field-hint">{hint}</p>}
    </div>
  );
}

/** The current tab, kept in the address (`?tab=`) so that a reload or a link returns to it. */
export function useTab(ids: string[], fallback: string): [string, (id: string) => void] {
  const [params, setParams] = useSearchParams();
  const requested = params.get('tab') ?? '';
  const current = ids.includes(requested) ? requested : fallback;
  const set = (id: string) =>
    setParams(
      (p) => {
        const next = new URLSearchParams(p);
        if (id === fallback) next.delete('tab');
        else next.set('tab', id);
        return next;
      },
      { replace: true },
    );
  return [current, set];
}

/** A detail page keyed by the route's :id, so that another object's page starts afresh (its forms hold the state of the one they were opened for). */
export function KeyedById({ page: Page }: { page: ComponentType }) {
  const { id } = useParams();
  return <Page key={id} />;
}

/** Lines of a textarea as a list: trimmed, without empty lines. */
export const lines = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);

/** A random secret of URL-safe characters (shared secrets, initial passwords). */
export function randomSecret(length = 32): string {
  const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** A password that satisfies Roster's default policies: letters of both cases, digits, a symbol. */
export function randomPassword(): string {
  const core = randomSecret(18);
  return `${core.slice(0, 6)}-${core.slice(6, 12)}-${core.slice(12)}A7a`;
}

/** A friendly empty state: what the page is for and how to start. */
export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="rs-empty">
      <h2>{title}</h2>
      {children && <p className="muted">{children}</p>}
      {action}
    </div>
  );
}

/** A JSON-ish value as short text for tables and change lists. */
export function showValue(value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (typeof value === 'string') return value === '' ? '""' : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value, null, 2);
}

/** Downloads text as a file (a certificate), built in the browser: nothing is fetched. */
export function downloadText(filename: string, text: string, type = 'application/x-pem-file') {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

import { useEffect, useState } from 'react';
import { useSearchParams } from 'react-router';
import { Field, useDebounced } from '../../shared/ui';

/**
 * The state of a list page: its search term and how many rows the pager skips.
 *
 * `useListParams` keeps them in the URL (`?q=`, `?skip=` and any other parameter given to `set`),
 * so that the view can be shared and reloaded; `useListSearch` keeps them in the page.
 */

/**
 * A list kept in the URL: `typed` is the search box, and once it stops changing for `ms`, the
 * trimmed term goes to `?q=` and the pager back to the first page. `set` changes parameters
 * (an empty string or 0 removes one).
 */
export function useListParams(ms = 300) {
  const [params, setParams] = useSearchParams();
  const term = params.get('q') ?? '';
  const skip = Number(params.get('skip') ?? 0) || 0;
  const [typed, setTyped] = useState(term);
  const debounced = useDebounced(typed.trim(), ms);

  const set = (changes: Record<string, string | number>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === '' || v === 0) next.delete(k);
      else next.set(k, String(v));
    }
    setParams(next, { replace: true });
  };
  useEffect(() => {
    if (debounced !== term) set({ q: debounced, skip: 0 });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);

  return { params, term, skip, typed, setTyped, set, setSkip: (s: number) => set({ skip: s }) };
}

/**
 * A list kept in the page: typing goes back to the first page at once, and the list follows the
 * `term`, the search box's text once it stops changing.
 */
export function useListSearch() {
  const [search, setSearchText] = useState('');
  const [skip, setSkip] = useState(0);
  const term = useDebounced(search);
  const setSearch = (text: string) => {
    setSearchText(text);
    setSkip(0);
  };
  return { search, setSearch, term, skip, setSkip };
}

/** A list's search box: a labelled search input. */
export function SearchField({ label, hint, placeholder, value, onChange }: { label: string; hint?: string; placeholder?: string; value: string; onChange: (text: string) => void }) {
  return (
    <Field label={label} hint={hint}>
      {(p) => <input className="input" type="search" value={value} onChange={(e) => onChange(e.target.value)} placeholder={placeholder} {...p} />}
    </Field>
  );
}

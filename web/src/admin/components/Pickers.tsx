import { useState, type FormEvent } from 'react';
import { api, qs } from '../../shared/api';
import { Button, ErrorAlert, Field, useAction, useAsync, useDebounced } from '../../shared/ui';
import { userLabel, type SystemUser, type UserGroup } from '../lookups';

/**
 * Finds a user by name, username or email (the API's substring search) and hands the chosen one
 * to `onPick`; the button says what picking does ("Add", "Connect").
 */
export function UserPicker({ label = 'Find a user', action, onPick, exclude = [] }: { label?: string; action: string; onPick: (user: SystemUser) => Promise<void>; exclude?: string[] }) {
  const [term, setTerm] = useState('');
  const [chosen, setChosen] = useState('');
  const debounced = useDebounced(term.trim());
  const found = useAsync(
    (signal) =>
      debounced
        ? api
            .get<{ results: SystemUser[] }>(
              `/api/systemusers${qs({ 'search[searchTerm]': debounced, 'search[fields][]': ['username', 'email', 'firstname', 'lastname'], limit: 10, sort: 'username', fields: 'username email firstname lastname displayname' })}`,
              { signal },
            )
            .then((r) => r.results.filter((u) => !exclude.includes(u._id)))
        : Promise.resolve([] as SystemUser[]),
    [debounced, exclude.join(',')],
  );
  const options = found.data ?? [];
  const { run: pick, busy, error } = useAction(async (user: SystemUser) => {
    await onPick(user);
    setTerm('');
    setChosen('');
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const user = options.find((u) => u._id === chosen) ?? (options.length === 1 ? options[0] : undefined);
    if (user) void pick(user);
  };
  return (
    <form className="toolbar" onSubmit={submit}>
      <Field label={label} hint="Name, username or email">
        {(p) => <input className="input" type="search" value={term} onChange={(e) => setTerm(e.target.value)} {...p} />}
      </Field>
      <Field label="User">
        {(p) => (
          <select className="input" value={chosen} onChange={(e) => setChosen(e.target.value)} disabled={options.length === 0} {...p}>
            <option value="">{debounced ? (found.loading ? 'Searching…' : `${options.length} found`) : 'Type to search'}</option>
            {options.map((u) => (
              <option key={u._id} value={u._id}>
                {userLabel(u, u._id)} ({u.username})
              </option>
            ))}
          </select>
        )}
      </Field>
      <Button type="submit" variant="primary" busy={busy} disabled={!chosen && options.length !== 1}>
        {action}
      </Button>
      <ErrorAlert error={error} />
    </form>
  );
}

/** Picks a user group by name (the API's substring filter). */
export function GroupPicker({ label = 'Find a group', action, onPick, exclude = [] }: { label?: string; action: string; onPick: (group: UserGroup) => Promise<void>; exclude?: string[] }) {
  const [term, setTerm] = useState('');
  const [chosen, setChosen] = useState('');
  const debounced = useDebounced(term.trim());
  const found = useAsync(
    (signal) => api.get<UserGroup[]>(`/api/v2/usergroups${qs({ filter: debounced ? `name:search:${debounced}` : undefined, limit: 20, sort: 'name' })}`, { signal }).then((gs) => gs.filter((g) => !exclude.includes(g.id))),
    [debounced, exclude.join(',')],
  );
  const options = found.data ?? [];
  const { run: pick, busy, error } = useAction(async (group: UserGroup) => {
    await onPick(group);
    setChosen('');
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const group = options.find((g) => g.id === chosen);
    if (group) void pick(group);
  };
  return (
    <form className="toolbar" onSubmit={submit}>
      <Field label={label}>{(p) => <input className="input" type="search" value={term} onChange={(e) => setTerm(e.target.value)} {...p} />}</Field>
      <Field label="Group">
        {(p) => (
          <select className="input" value={chosen} onChange={(e) => setChosen(e.target.value)} {...p}>
            <option value="">{found.loading ? 'Loading…' : `${options.length} groups`}</option>
            {options.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Button type="submit" variant="primary" busy={busy} disabled={!chosen}>
        {action}
      </Button>
      <ErrorAlert error={error} />
    </form>
  );
}

import { type ComponentPropsWithRef, useCallback, useEffect, useId, useRef, useState, type ButtonHTMLAttributes, type InputHTMLAttributes, type KeyboardEvent, type ReactNode, type SelectHTMLAttributes } from 'react';
import { messageOf } from './api';

/** The state of one asynchronous load: what it gave, what went wrong, and a way to run it again. */
export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
  setData: (data: T) => void;
}

/**
 * Runs `load` now and whenever `deps` change; a newer run's answer replaces an older one's, and
 * an answer that arrives after the component is gone is dropped.
 */
export function useAsync<T>(load: (signal: AbortSignal) => Promise<T>, deps: readonly unknown[]): Async<T> {
  const [data, setData] = useState<T>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const controller = new AbortController();
    setLoading(true);
    setError(undefined);
    load(controller.signal).then(
      (value) => {
        if (controller.signal.aborted) return;
        setData(value);
        setLoading(false);
      },
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => controller.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload, setData };
}

/** Runs an action (a save, a delete), keeping its busy state and its error for the form to show. */
export function useAction<A extends unknown[], R>(action: (...args: A) => Promise<R>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const run = useCallback(
    async (...args: A): Promise<R | undefined> => {
      setBusy(true);
      setError(undefined);
      try {
        return await action(...args);
      } catch (e) {
        setError(e);
        return undefined;
      } finally {
        setBusy(false);
      }
    },
    [action],
  );
  return { run, busy, error, clearError: () => setError(undefined) };
}

/** Keeps a value from changing more often than every `ms` (search boxes). */
export function useDebounced<T>(value: T, ms = 250): T {
  const [current, setCurrent] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setCurrent(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return current;
}

export function PageHeader({ title, description, actions, back }: { title: ReactNode; description?: ReactNode; actions?: ReactNode; back?: ReactNode }) {
  useEffect(() => {
    if (typeof title === 'string') document.title = `${title} · Roster`;
  }, [title]);
  return (
    <header className="page-header">
      {back && <div className="page-back">{back}</div>}
      <div className="page-header-row">
        <div>
          <h1 tabIndex={-1} id="page-title">
            {title}
          </h1>
          {description && <p className="page-description">{description}</p>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
    </header>
  );
}

type ButtonProps = ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'secondary' | 'danger' | 'ghost'; busy?: boolean };

export function Button({ variant = 'secondary', busy = false, className, children, disabled, type, ...rest }: ButtonProps) {
  return (
    <button type={type ?? 'button'} className={`btn btn-${variant}${className ? ` ${className}` : ''}`} disabled={disabled || busy} aria-busy={busy || undefined} {...rest}>
      {busy && <span className="spinner spinner-small" aria-hidden="true" />}
      {children}
    </button>
  );
}

/** A labelled form control with its hint and its error, tied to it for screen readers. */
export function Field({ label, hint, error, children }: { label: ReactNode; hint?: ReactNode; error?: string | undefined; children: (props: { id: string; 'aria-describedby'?: string; 'aria-invalid'?: boolean }) => ReactNode }) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(describedBy ? { 'aria-describedby': describedBy } : {}), ...(error ? { 'aria-invalid': true } : {}) })}
      {hint && (
        <p className="field-hint" id={hintId}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  );
}

export function TextField({ label, hint, error, ...input }: ComponentPropsWithRef<'input'> & { label: ReactNode; hint?: ReactNode; error?: string | undefined }) {
  return <Field label={label} hint={hint} error={error}>{(p) => <input className="input" {...input} {...p} />}</Field>;
}

export function SelectField({ label, hint, error, options, ...select }: SelectHTMLAttributes<HTMLSelectElement> & { label: ReactNode; hint?: ReactNode; error?: string | undefined; options: { value: string; label: string }[] }) {
  return (
    <Field label={label} hint={hint} error={error}>
      {(p) => (
        <select className="input" {...select} {...p}>
          {options.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function Checkbox({ label, hint, ...input }: InputHTMLAttributes<HTMLInputElement> & { label: ReactNode; hint?: ReactNode }) {
  const id = useId();
  return (
    <div className="checkbox">
      <input type="checkbox" id={id} {...input} {...(hint ? { 'aria-describedby': `${id}-hint` } : {})} />
      <label htmlFor={id}>{label}</label>
      {hint && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
    </div>
  );
}

/** A message: errors are announced at once (role=alert), others politely (role=status). */
export function Alert({ kind = 'info', title, children }: { kind?: 'error' | 'success' | 'info' | 'warning'; title?: ReactNode; children?: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {title && <strong className="alert-title">{title}</strong>}
      {children && <div>{children}</div>}
    </div>
  );
}

/** The error of a failed call, if any. */
export function ErrorAlert({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  return (
    <Alert kind="error" title={title}>
      {messageOf(error)}
    </Alert>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

/** Loading, error or the content of an Async. */
export function Loaded<T>({ state, children, label }: { state: Async<T>; children: (data: T) => ReactNode; label?: string }) {
  if (state.error !== undefined) return <ErrorAlert error={state.error} />;
  if (state.data === undefined) return <Spinner {...(label ? { label } : {})} />;
  return <>{children(state.data)}</>;
}

export interface Column<R> {
  header: ReactNode;
  cell: (row: R) => ReactNode;
  className?: string;
}

export function DataTable<R>({ caption, columns, rows, rowKey, empty = 'Nothing here yet.', busy = false }: { caption: string; columns: Column<R>[]; rows: R[]; rowKey: (row: R) => string; empty?: ReactNode; busy?: boolean }) {
  return (
    // A region the keyboard can focus, so a table wider than the screen can be scrolled.
    <div className="table-wrap" role="region" aria-label={caption} tabIndex={0}>
      <table className="table" aria-busy={busy || undefined}>
        <caption className="visually-hidden">{caption}</caption>
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col" className={c.className}>
                {c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="table-empty">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr key={rowKey(r)}>
                {columns.map((c, i) => (
                  <td key={i} className={c.className}>
                    {c.cell(r)}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

/** Previous / next over skip and limit, with where the page is in the whole. */
export function Pager({ skip, limit, total, onChange, label = 'Pages' }: { skip: number; limit: number; total: number; onChange: (skip: number) => void; label?: string }) {
  const first = total === 0 ? 0 : skip + 1;
  const last = Math.min(skip + limit, total);
  return (
    <nav className="pager" aria-label={label}>
      <span className="pager-range" aria-live="polite">
        {first.toLocaleString()}–{last.toLocaleString()} of {total.toLocaleString()}
      </span>
      <Button variant="ghost" disabled={skip === 0} onClick={() => onChange(Math.max(0, skip - limit))}>
        Previous
      </Button>
      <Button variant="ghost" disabled={skip + limit >= total} onClick={() => onChange(skip + limit)}>
        Next
      </Button>
    </nav>
  );
}

/** WAI-ARIA tabs: arrow keys move between tabs, the panel follows. */
export function Tabs({ tabs, current, onChange, label }: { tabs: { id: string; label: ReactNode }[]; current: string; onChange: (id: string) => void; label: string }) {
  const refs = useRef<(HTMLButtonElement | null)[]>([]);
  const onKey = (e: KeyboardEvent, i: number) => {
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    if (next < 0) return;
    e.preventDefault();
    onChange(tabs[next]!.id);
    refs.current[next]?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t, i) => (
        <button
          key={t.id}
          ref={(el) => {
            refs.current[i] = el;
          }}
          type="button"
          role="tab"
          id={`tab-${t.id}`}
          aria-selected={t.id === current}
          aria-controls={t.id === current ? `panel-${t.id}` : undefined}
          tabIndex={t.id === current ? 0 : -1}
          className={`tab${t.id === current ? ' tab-current' : ''}`}
          onClick={() => onChange(t.id)}
          onKeyDown={(e) => onKey(e, i)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

export function TabPanel({ id, children }: { id: string; children: ReactNode }) {
  return (
    <div role="tabpanel" id={`panel-${id}`} aria-labelledby={`tab-${id}`} className="tab-panel">
      {children}
    </div>
  );
}

/** A modal dialog on the native <dialog>: focus moves in, Escape closes, focus returns. */
export function Dialog({ open, title, onClose, children, footer }: { open: boolean; title: ReactNode; onClose: () => void; children: ReactNode; footer?: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) dialog.showModal();
    if (!open && dialog.open) dialog.close();
  }, [open]);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby={titleId} onClose={onClose} onCancel={onClose}>
      {open && (
        <>
          <h2 id={titleId}>{title}</h2>
          <div className="dialog-body">{children}</div>
          {footer && <div className="dialog-footer">{footer}</div>}
        </>
      )}
    </dialog>
  );
}

/** Asks before a destructive action; the action's error shows in the dialog. */
export function ConfirmDialog({ open, title, children, confirmLabel, onConfirm, onClose, danger = true }: { open: boolean; title: ReactNode; children: ReactNode; confirmLabel: string; onConfirm: () => Promise<unknown>; onClose: () => void; danger?: boolean }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const confirm = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await onConfirm();
      onClose();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open={open}
      title={title}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant={danger ? 'danger' : 'primary'} busy={busy} onClick={confirm}>
            {confirmLabel}
          </Button>
        </>
      }
    >
      {children}
      <ErrorAlert error={error} />
    </Dialog>
  );
}

export function Badge({ kind = 'neutral', children }: { kind?: 'neutral' | 'good' | 'bad' | 'warn' | 'info'; children: ReactNode }) {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

/** A time in the viewer's own time zone, with the exact instant on hover. */
export function Time({ iso, relative = false }: { iso: string | null | undefined; relative?: boolean }) {
  if (!iso) return <span className="muted">—</span>;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return <span>{iso}</span>;
  const text = relative ? relativeTime(date) : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  return (
    <time dateTime={date.toISOString()} title={date.toLocaleString(undefined, { dateStyle: 'full', timeStyle: 'long' })}>
      {text}
    </time>
  );
}

function relativeTime(date: Date): string {
  const seconds = Math.round((date.getTime() - Date.now()) / 1000);
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return format.format(seconds, 'second');
  if (abs < 3600) return format.format(Math.round(seconds / 60), 'minute');
  if (abs < 86400) return format.format(Math.round(seconds / 3600), 'hour');
  return format.format(Math.round(seconds / 86400), 'day');
}

/** Tabular key → value pairs (a description list). */
export function Properties({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="properties">
      {items.map(([k, v], i) => (
        <div key={i} className="property">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** A progress bar with its text, for long operations (imports, sync runs). */
export function Progress({ label, value, max }: { label: string; value?: number; max?: number }) {
  const known = value !== undefined && max !== undefined && max > 0;
  return (
    <div className="progress">
      <progress aria-label={label} {...(known ? { value, max } : {})} />
      <span>{known ? `${label}: ${value.toLocaleString()} of ${max.toLocaleString()}` : label}</span>
    </div>
  );
}

/** Copies `value` to the clipboard (nothing happens where the browser refuses) and says so: `copied`, for `resetMs` if given. */
export function useCopy(value: string, resetMs?: number) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    await navigator.clipboard?.writeText(value).catch(() => undefined);
    setCopied(true);
    if (resetMs !== undefined) setTimeout(() => setCopied(false), resetMs);
  };
  return { copied, copy };
}

/** A secret shown once (a connect key, a new API key, recovery codes), with a copy button. */
export function SecretBox({ label, value }: { label: string; value: string }) {
  const { copied, copy } = useCopy(value);
  return (
    <div className="secret-box">
      <p className="secret-label">{label}</p>
      <code className="secret-value">{value}</code>
      <Button variant="ghost" onClick={copy}>
        {copied ? 'Copied' : 'Copy'}
      </Button>
    </div>
  );
}

/** A QR code the server drew (SVG text), shown as an image with a text alternative. */
export function QrCode({ svg, alt }: { svg: string; alt: string }) {
  return <img className="qr" alt={alt} src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`} width={200} height={200} />;
}

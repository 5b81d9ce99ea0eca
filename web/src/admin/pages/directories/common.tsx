import { useEffect, useRef, type ReactNode } from 'react';
import { useSearchParams } from 'react-router';
import { ApiError } from '../../../shared/api';
import { Button, useCopy } from '../../../shared/ui';

/** A directory as GET /api/v2/directories lists it. */
export interface DirectorySummary {
  id: string;
  name?: string;
  type?: string;
}

export type DirectoryType = 'ldap_server' | 'active_directory' | 'g_suite' | 'office_365' | 'scim';

export const TYPE_LABELS: Record<DirectoryType, string> = {
  ldap_server: 'LDAP service',
  active_directory: 'Active Directory',
  g_suite: 'Google Workspace',
  office_365: 'Microsoft 365',
  scim: 'SCIM source',
};

export const typeLabel = (type: string | undefined) => (type && type in TYPE_LABELS ? TYPE_LABELS[type as DirectoryType] : (type ?? 'Directory'));

/** The admin portal page of a directory. */
export function detailPath(d: DirectorySummary): string {
  switch (d.type) {
    case 'ldap_server':
      return `/admin/directories/ldap/${d.id}`;
    case 'active_directory':
      return `/admin/directories/active-directory/${d.id}`;
    case 'g_suite':
      return `/admin/directories/google-workspace/${d.id}`;
    case 'office_365':
      return `/admin/directories/microsoft-365/${d.id}`;
    case 'scim':
      return `/admin/directories/scim/${d.id}`;
    default:
      return '/admin/directories';
  }
}

/** The message of each invalid field of a failed call (the server's `details`), by field name. */
export function fieldErrors(error: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!(error instanceof ApiError)) return out;
  for (const d of error.details) {
    if (d.field && out[d.field] === undefined) out[d.field] = d.message;
  }
  return out;
}

/** Calls `tick` every `ms` while `active` (a run in progress, a requested plan). */
export function usePolling(tick: () => void, active: boolean, ms = 3000): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!active) return;
    const timer = setInterval(() => saved.current(), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
}

/** The current tab of a detail page, kept in the URL (?tab=) so that links and Back keep it. */
export function useTab(initial: string): [string, (tab: string) => void] {
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') ?? initial;
  return [
    tab,
    (next: string) => {
      const p = new URLSearchParams(params);
      if (next === initial) p.delete('tab');
      else p.set('tab', next);
      setParams(p, { replace: true });
    },
  ];
}

/** Text with a copy button: commands and URLs an administrator pastes elsewhere. */
export function CopyBlock({ label, value, multiline = false }: { label: string; value: string; multiline?: boolean }) {
  const { copied, copy } = useCopy(value);
  return (
    <div className="copy-block">
      <div className="copy-block-head">
        <span className="copy-block-label">{label}</span>
        <Button variant="ghost" aria-label={`Copy ${label.toLowerCase()}`} onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </Button>
      </div>
      {multiline ? (
        // Focusable, so a keyboard can scroll a long line into view.
        <pre className="code-block" tabIndex={0} aria-label={label}>
          <code>{value}</code>
        </pre>
      ) : (
        <code className="code-inline-block">{value}</code>
      )}
    </div>
  );
}

/** A section with its heading (h2) inside a tab panel or a page. */
export function Section({ title, actions, children, description }: { title: ReactNode; actions?: ReactNode; children: ReactNode; description?: ReactNode }) {
  return (
    <section className="card">
      <div className="section-head">
        <h2>{title}</h2>
        {actions && <div className="section-actions">{actions}</div>}
      </div>
      {description && <p className="muted section-description">{description}</p>}
      {children}
    </section>
  );
}

/** A number input's text as a whole number, or undefined when it is not one. */
export function wholeNumber(text: string): number | undefined {
  if (!/^\s*\d+\s*$/.test(text)) return undefined;
  return Number(text);
}

/** Splits a domain into its DN (corp.example.com → DC=corp,DC=example,DC=com). */
export const domainDn = (domain: string, attribute = 'DC') =>
  domain
    .split('.')
    .filter(Boolean)
    .map((p) => `${attribute}=${p}`)
    .join(',');

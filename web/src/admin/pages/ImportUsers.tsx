import { useEffect, useState } from 'react';
import { api } from '../../shared/api';
import { Alert, Button, Checkbox, DataTable, Dialog, ErrorAlert, Field, Progress } from '../../shared/ui';

interface Report {
  rows: number;
  created: number;
  failed: number;
  dryRun: boolean;
  aborted: boolean;
  errors: { line: number; field?: string; message: string }[];
}

interface Job {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  done: number;
  total: number | null;
  report: Report | null;
  error: string | null;
}

/**
 * Import users from a CSV file (the columns of `roster users import`): check it first (every
 * error with its line), then import, with the progress shown until it ends.
 */
export function ImportUsers({ onClose, onImported }: { onClose: () => void; onImported: () => void }) {
  const [file, setFile] = useState<File>();
  const [continueOnError, setContinueOnError] = useState(false);
  const [check, setCheck] = useState<Report>();
  const [job, setJob] = useState<Job>();
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const body = () => new Blob([file!], { type: 'text/csv' });

  useEffect(() => {
    if (!job || job.status !== 'running') {
      if (job?.status === 'succeeded') onImported();
      return;
    }
    const timer = setTimeout(() => {
      api.get<Job>(`/api/v2/users/import/${job.id}`).then(setJob, setError);
    }, 500);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [job]);

  const runCheck = async () => {
    setBusy(true);
    setError(undefined);
    setCheck(undefined);
    try {
      setCheck(await api.upload<Report>('/api/v2/users/import?dryRun=true&continueOnError=true', body()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const runImport = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setJob(await api.upload<Job>(`/api/v2/users/import${continueOnError ? '?continueOnError=true' : ''}`, body()));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const importable = check ? (continueOnError ? check.created : check.failed === 0 ? check.created : 0) : 0;

  return (
    <Dialog open title="Import users from CSV" onClose={onClose}>
      {!job && (
        <>
          <p className="muted">
            One user per row; the first row names the columns (username, email, firstname, lastname, password, department, manager, …). The file is checked first; nothing is written until you import.
          </p>
          <Field label="CSV file">
            {(p) => (
              <input
                className="input"
                type="file"
                accept=".csv,text/csv"
                onChange={(e) => {
                  setFile(e.target.files?.[0]);
                  setCheck(undefined);
                }}
                {...p}
              />
            )}
          </Field>
          <ErrorAlert error={error} />
          {check && (
            <>
              <Alert kind={check.failed > 0 ? 'warning' : 'success'}>
                {check.rows.toLocaleString()} rows: {check.created.toLocaleString()} ready to import{check.failed > 0 ? `, ${check.failed.toLocaleString()} with errors` : ''}.
              </Alert>
              {check.errors.length > 0 && (
                <DataTable
                  caption="Errors in the file"
                  rows={check.errors.slice(0, 50)}
                  rowKey={(e) => `${e.line}:${e.field ?? ''}:${e.message}`}
                  columns={[
                    { header: 'Line', cell: (e) => e.line },
                    { header: 'Problem', cell: (e) => e.message },
                  ]}
                />
              )}
              {check.failed > 0 && <Checkbox label="Import the good rows and skip the others" checked={continueOnError} onChange={(e) => setContinueOnError(e.target.checked)} />}
            </>
          )}
          <div className="dialog-footer">
            <Button onClick={onClose}>Cancel</Button>
            <Button busy={busy && !check} disabled={!file} onClick={runCheck}>
              Check file
            </Button>
            <Button variant="primary" busy={busy && !!check} disabled={!check || importable === 0} onClick={runImport}>
              Import {importable > 0 ? `${importable.toLocaleString()} users` : ''}
            </Button>
          </div>
        </>
      )}
      {job && (
        <>
          {job.status === 'running' && <Progress label={job.total === null ? 'Checking the file…' : 'Importing users'} {...(job.total !== null ? { value: job.done, max: job.total } : {})} />}
          {job.status === 'succeeded' && <Alert kind="success">Imported {job.report?.created.toLocaleString()} users{job.report && job.report.failed > 0 ? `; ${job.report.failed} ${job.report.failed === 1 ? 'row' : 'rows'} skipped for errors` : ''}.</Alert>}
          {job.status === 'failed' && <Alert kind="error" title="The import failed; nothing was written.">{job.error}</Alert>}
          <ErrorAlert error={error} />
          <div className="dialog-footer">
            <Button variant="primary" disabled={job.status === 'running'} onClick={onClose}>
              Close
            </Button>
          </div>
        </>
      )}
    </Dialog>
  );
}

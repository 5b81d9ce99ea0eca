import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { api } from '../../shared/api';
import { Button, ConfirmDialog, Dialog, useAction } from '../../shared/ui';

/** A form's action (useAction: busy, error) with the form's submit handler, which runs it without arguments. */
export function useSubmit<R>(action: () => Promise<R>) {
  const state = useAction(action);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void state.run();
  };
  return { ...state, submit };
}

/** A settings form's save: as useSubmit, and `saved` from a successful save until a value in `watch` changes. */
export function useSaveForm(save: () => Promise<unknown>, watch: readonly unknown[]) {
  const [saved, setSaved] = useState(false);
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(() => setSaved(false), watch);
  const form = useSubmit(async () => {
    await save();
    setSaved(true);
  });
  return { ...form, saved };
}

/** A form's actions row: its submit button (`label`, "Save" unless said), then any other buttons. */
export function SaveActions({ busy, label = 'Save', children }: { busy: boolean; label?: ReactNode; children?: ReactNode }) {
  return (
    <div className="form-actions">
      <Button type="submit" variant="primary" busy={busy}>
        {label}
      </Button>
      {children}
    </div>
  );
}

/** A dialog around a form, with Cancel and the form's submit button in its footer. */
export function FormDialog({
  title,
  formId,
  submitLabel,
  busy,
  disabled,
  danger = false,
  onClose,
  onSubmit,
  children,
}: {
  title: ReactNode;
  /** The form's id, which ties the footer's button to it; one is made when none is given. */
  formId?: string;
  submitLabel: ReactNode;
  busy: boolean;
  disabled?: boolean;
  danger?: boolean;
  onClose: () => void;
  onSubmit: (e: FormEvent) => void;
  children: ReactNode;
}) {
  const madeId = useId();
  const id = formId ?? madeId;
  return (
    <Dialog
      open
      title={title}
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant={danger ? 'danger' : 'primary'} type="submit" form={id} busy={busy} disabled={disabled}>
            {submitLabel}
          </Button>
        </>
      }
    >
      <form id={id} onSubmit={onSubmit} noValidate>
        {children}
      </form>
    </Dialog>
  );
}

/** Asks before deleting an object (DELETE `path`), then goes to `then`, its list. */
export function DeleteDialog({
  open = true,
  title,
  confirmLabel,
  path,
  then,
  replace = false,
  onClose,
  children,
}: {
  open?: boolean;
  title: ReactNode;
  confirmLabel: string;
  path: string;
  then: string;
  replace?: boolean;
  onClose: () => void;
  children: ReactNode;
}) {
  const navigate = useNavigate();
  return (
    <ConfirmDialog
      open={open}
      title={title}
      confirmLabel={confirmLabel}
      onClose={onClose}
      onConfirm={async () => {
        await api.delete(path);
        if (replace) navigate(then, { replace: true });
        else navigate(then);
      }}
    >
      {children}
    </ConfirmDialog>
  );
}

/** The end of a day (an <input type="date"> value) in the viewer's time zone, as an ISO time; undefined unless it is to come. */
export function endOfDay(day: string): string | undefined {
  const end = new Date(`${day}T23:59:59`);
  return Number.isNaN(end.getTime()) || end.getTime() <= Date.now() ? undefined : end.toISOString();
}

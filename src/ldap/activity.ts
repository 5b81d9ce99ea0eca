import type { Actor } from '../core/context.js';
import type { DirectoryCore } from '../core/directory.js';
import type { OrgId } from '../core/ids.js';
import type { JournalEntryInput } from '../core/model.js';

interface Pending {
  orgId: OrgId;
  actor: Actor;
  entry: JournalEntryInput;
}

const MAX_PENDING = 10_000;

/**
 * Journals LDAP binds and searches as events. They are queued and written in one transaction per
 * second, so a busy directory does not pay a write per request; under overload the oldest queued
 * events are dropped and the drop is counted in the next batch.
 */
export class ActivityRecorder {
  private pending: Pending[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly core: DirectoryCore,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 1000,
  ) {}

  record(orgId: OrgId, actor: Actor, entry: JournalEntryInput, sampleRate = 1): void {
    if (sampleRate < 1 && Math.random() >= sampleRate) return;
    if (sampleRate < 1) entry = { ...entry, details: { ...entry.details, sampleRate } };
    if (this.pending.length >= MAX_PENDING) {
      this.pending.shift();
      this.dropped++;
    }
    this.pending.push({ orgId, actor, entry });
    this.timer ??= setTimeout(() => void this.flush(), this.intervalMs);
  }

  /** Writes what is queued; resolves when it is in the journal. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending;
    this.pending = [];
    const dropped = this.dropped;
    this.dropped = 0;
    this.flushing = this.flushing.then(async () => {
      const byOrg = new Map<OrgId, Pending[]>();
      for (const p of batch) {
        const list = byOrg.get(p.orgId);
        if (list) list.push(p);
        else byOrg.set(p.orgId, [p]);
      }
      for (const [orgId, events] of byOrg) {
        if (dropped > 0) events[0]!.entry = { ...events[0]!.entry, details: { ...events[0]!.entry.details, droppedBefore: dropped } };
        try {
          await this.core.journal.recordEvents(orgId, 'ldap', events);
        } catch (e) {
          this.onError(e);
        }
      }
    });
    return this.flushing;
  }
}

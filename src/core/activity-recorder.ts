import type { Actor, Origin } from './context.js';
import type { DirectoryCore } from './directory.js';
import type { OrgId } from './ids.js';
import type { JournalEntryInput } from './model.js';

interface Pending {
  orgId: OrgId;
  actor: Actor;
  entry: JournalEntryInput;
  /** Settled once the batch holding the event is written (events that must not be lost). */
  written?: { resolve: () => void; reject: (e: unknown) => void };
}

const MAX_PENDING = 10_000;

/**
 * Journals protocol events (LDAP binds and searches, RADIUS accepts, rejects and accounting).
 * They are queued and written in one transaction per interval, so a busy service does not pay a
 * write per request; under overload the oldest queued best-effort events are dropped and the drop
 * is counted in the next batch. Durable events are never dropped.
 */
export class ActivityRecorder {
  private pending: Pending[] = [];
  private dropped = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly core: DirectoryCore,
    private readonly origin: Origin,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 1000,
  ) {}

  record(orgId: OrgId, actor: Actor, entry: JournalEntryInput, sampleRate = 1): void {
    if (sampleRate < 1 && Math.random() >= sampleRate) return;
    if (sampleRate < 1) entry = { ...entry, details: { ...entry.details, sampleRate } };
    const oldest = this.pending.findIndex((p) => !p.written);
    if (this.pending.length >= MAX_PENDING && oldest !== -1) {
      this.pending.splice(oldest, 1);
      this.dropped++;
    }
    this.pending.push({ orgId, actor, entry });
    this.schedule();
  }

  /** Queues an event that must not be lost (an accounting record); resolves once it is in the journal. */
  recordDurable(orgId: OrgId, actor: Actor, entry: JournalEntryInput): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pending.push({ orgId, actor, entry, written: { resolve, reject } });
      this.schedule();
    });
  }

  private schedule(): void {
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
          await this.core.journal.recordEvents(orgId, this.origin, events);
          for (const e of events) e.written?.resolve();
        } catch (e) {
          for (const event of events) event.written?.reject(e);
          this.onError(e);
        }
      }
    });
    return this.flushing;
  }
}

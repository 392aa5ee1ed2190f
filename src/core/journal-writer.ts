/**
 * Writes the journal: every hub entry is appended together with the stream events its
 * transition caused (one transaction), and those events are handed to the outbox once that
 * write was attempted. It is the sessions' stream-event sink: an event waits here for the
 * entry of the transition that caused it. Normally they are on
 * disk before they go out; when the write fails (disk full, I/O error, a journal that cannot
 * be opened yet) they are delivered all the same — streams and stream events never wait for
 * the disk — and their rows follow, with the outcomes known by then, when a write succeeds.
 * A crash before that loses them from the journal (an end the next run would have resumed).
 */
import type { InspectionHub } from './inspection-hub.ts';
import type { EntryStore, JournalEntry, OutboxItem } from '../domain/journal.ts';
import type { Outbox } from './event-outbox.ts';
import type { StreamEventSink } from './stream-event-sink.ts';
import type { StreamEndedEvent, StreamStartedEvent } from '../adapters/orchestrator/types.ts';

export class JournalWriter implements StreamEventSink {
  private readonly waiting = new Map<string, OutboxItem[]>();
  private readonly unsubscribe: () => void;

  constructor(
    hub: InspectionHub,
    private readonly journal: Pick<EntryStore, 'append' | 'flush'> | null,
    private readonly outbox: Outbox | null,
  ) {
    this.unsubscribe = hub.subscribe((entry) => this.record(entry));
  }

  started(ev: StreamStartedEvent, session: string): void {
    this.hold(session, { streamId: ev.streamId, type: 'stream_started', containerId: ev.containerId, payload: ev });
  }

  ended(ev: StreamEndedEvent, session: string): void {
    this.hold(session, { streamId: ev.streamId, type: 'stream_ended', containerId: ev.containerId, payload: ev });
  }

  flush(ms: number): Promise<boolean> {
    // Events still on their way to the outbox (waiting for their entry, or for the journal's
    // batched write) must be in it before it is asked whether everything went out.
    for (const [session, items] of this.waiting) {
      this.waiting.delete(session);
      for (const item of items) this.outbox?.enqueue(item);
    }
    this.journal?.flush();
    return this.outbox ? this.outbox.flush(ms) : Promise.resolve(true);
  }

  /** An entry written outside a live actor (crash recovery) with the events it causes. */
  appendRecovered(entry: JournalEntry, items: OutboxItem[]): void {
    this.write(entry, items);
  }

  close(): void {
    this.unsubscribe();
  }

  private hold(session: string, item: OutboxItem): void {
    const list = this.waiting.get(session);
    if (list) list.push(item);
    else this.waiting.set(session, [item]);
    // The actor's snapshot (and so its entry) follows in the same tick; this is a safety net.
    queueMicrotask(() => {
      const left = this.waiting.get(session);
      if (!left) return;
      this.waiting.delete(session);
      for (const i of left) this.outbox?.enqueue(i);
    });
  }

  private record(entry: JournalEntry): void {
    const items = this.waiting.get(entry.actor) ?? [];
    this.waiting.delete(entry.actor);
    this.write(entry, items);
  }

  /**
   * Handed to the outbox after the journal tried to write it: on disk first when the disk
   * works, delivered anyway (and written later) when it does not.
   */
  private write(entry: JournalEntry, items: OutboxItem[]): void {
    const send = () => {
      for (const item of items) this.outbox?.enqueue(item);
    };
    if (this.journal) this.journal.append(entry, items, items.length > 0 ? send : undefined);
    else send();
  }
}

/**
 * Where finished sessions are looked up: the journal when there is one, else the hub's
 * in-memory ring of recent ones.
 */
import type { InspectionHub } from './inspection-hub.ts';
import type { EntryStore, JournalEntry, JournalStore } from '../domain/journal.ts';

/** What history reads of the journal. */
type HistoryStore = Pick<EntryStore, 'latestSessions' | 'entriesOfSession'>;

export interface SessionSummary {
  id: string;
  key: string | null;
  state: string;
  started_at: number;
  ended_at: number | null;
  facts: Record<string, unknown>;
}

export interface SessionHistory {
  list(limit: number): SessionSummary[];
  /** Every entry of the session and its players, in order. */
  entries(sessionId: string): JournalEntry[];
}

export function memoryHistory(hub: InspectionHub): SessionHistory {
  return {
    list(limit) {
      return hub
        .finishedSessions()
        .slice(0, limit)
        .map((last) => {
          const first = hub.entriesOf(last.actor)[0] ?? last;
          return { id: last.actor, key: (last.facts.key as string) ?? null, state: last.state, started_at: first.t, ended_at: last.t, facts: last.facts };
        });
    },
    entries: (id) => hub.entriesOfSession(id),
  };
}

/** The journal's history while it is open; the hub's memory while it cannot be opened. */
export function journalOrMemoryHistory(journal: HistoryStore & Pick<JournalStore, 'available'>, hub: InspectionHub): SessionHistory {
  const durable = journalHistory(journal);
  const memory = memoryHistory(hub);
  return {
    list: (limit) => (journal.available ? durable : memory).list(limit),
    entries: (id) => (journal.available ? durable : memory).entries(id),
  };
}

/** History from the journal: every session it still holds. */
export function journalHistory(journal: HistoryStore): SessionHistory {
  return {
    list(limit) {
      return journal.latestSessions(limit).map(({ last, firstT }) => ({
        id: last.actor,
        key: (last.facts.key as string) ?? null,
        state: last.state,
        started_at: firstT,
        ended_at: last.status === 'active' ? null : last.t,
        facts: last.facts,
      }));
    },
    entries: (id) => journal.entriesOfSession(id),
  };
}

/**
 * Ends the streams of an acerelay that died and never came back.
 *
 * An instance killed with its streams `started` leaves them counted busy at the orchestrator
 * (their engines look full to every instance) until someone ends them: itself, coming back on
 * its journal, or — if it never does — any other instance, here. Every so often each instance
 * reads the started streams, and checks the stat URL of every `acerelay-` stream that is not
 * its own (not running here, not waiting in our outbox, not one we started: those are the
 * stream reconciler's). The engine ends a session nobody reads after about a minute; a stat
 * that says `unknown playback session id` on two checks at least `confirmMs` apart means the
 * session is gone for good, whoever ran it, and the stream is ended through the outbox, which
 * sends the end only while the orchestrator still lists that id (so it cannot hit another
 * stream). A stat that cannot be read proves nothing: that stream is left alone, and so is one
 * whose stat URL is not on an engine `/engines` lists (anyone may post a stream_started: its
 * URLs are not fetched unless they point at an engine the orchestrator runs).
 */
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import { parseStreamId } from './ids.ts';

export interface ListedStream {
  id: string;
  containerId: string;
  statUrl: string | null;
}

/** What a stat URL says: the session plays, it is gone (`unknown playback session id`), or no telling. */
export type StatVerdict = 'alive' | 'gone' | 'unknown';

export interface OrphanReaperDeps {
  /** The orchestrator's started streams (a fresh read). */
  list(): Promise<ListedStream[]>;
  /** The engines the orchestrator lists now (`/engines`, from the last poll). */
  engines(): ReadonlyArray<{ host: string; port: number }>;
  stat(statUrl: string): Promise<StatVerdict>;
  /** Streams this instance answers for: running, queued in its outbox, or started by it. */
  isOurs(streamId: string): boolean;
  /** Hands `stream_ended` to the outbox. */
  end(stream: ListedStream): void;
  clock: Clock;
  logger: Logger;
  /** The least time between the two `gone` answers that end a stream. */
  confirmMs: number;
}

/** Stat calls in flight at once during one check. */
const PARALLEL = 8;

export class OrphanReaper {
  /** Streams whose session was found gone, and when first. */
  private readonly goneSince = new Map<string, number>();
  private busy: Promise<string[]> | null = null;

  constructor(private readonly deps: OrphanReaperDeps) {}

  /** One pass; resolves with the ids it ended. Never throws: an orchestrator that cannot be read is tried next time. */
  check(): Promise<string[]> {
    this.busy ??= this.pass().finally(() => {
      this.busy = null;
    });
    return this.busy;
  }

  private async pass(): Promise<string[]> {
    const { clock, logger } = this.deps;
    let listed: ListedStream[];
    try {
      listed = await this.deps.list();
    } catch (err) {
      logger.debug({ err: (err as Error).message }, 'could not read the started streams; orphans checked next time');
      return [];
    }
    const origins = new Set(this.deps.engines().map((e) => engineOrigin(e.host, e.port)));
    const candidates = listed.filter((s) => s.id.startsWith('acerelay-') && s.statUrl && origins.has(originOf(s.statUrl)) && !this.deps.isOurs(s.id));
    const seen = new Set(candidates.map((s) => s.id));
    for (const id of this.goneSince.keys()) if (!seen.has(id)) this.goneSince.delete(id);
    const ended: string[] = [];
    for (let i = 0; i < candidates.length; i += PARALLEL) {
      const batch = candidates.slice(i, i + PARALLEL);
      const verdicts = await Promise.all(batch.map((s) => this.deps.stat(s.statUrl!.replace(/\/+$/, '')).catch((): StatVerdict => 'unknown')));
      const now = clock.now();
      batch.forEach((s, k) => {
        const verdict = verdicts[k]!;
        if (verdict !== 'gone') {
          // Alive, or no telling: a gone session must be seen gone twice in a row.
          this.goneSince.delete(s.id);
          return;
        }
        const since = this.goneSince.get(s.id);
        if (since === undefined) {
          this.goneSince.set(s.id, now);
        } else if (now - since >= this.deps.confirmMs && !this.deps.isOurs(s.id)) {
          this.goneSince.delete(s.id);
          this.deps.end(s);
          ended.push(s.id);
          logger.info({ stream: s.id, instance: parseStreamId(s.id)?.instance ?? null, container: s.containerId }, 'ended a stream whose engine session is gone (the acerelay that ran it is gone)');
        }
      });
    }
    return ended;
  }
}

/** `http://host:port` of an engine as `/engines` lists it (an IPv6 host in brackets). */
export function engineOrigin(host: string, port: number): string {
  return originOf(`http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}

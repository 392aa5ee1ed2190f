/**
 * The error ends of HLS audiences, remembered so that the viewers of an audience hear how it
 * ended: an HLS viewer has no request open most of the time (between two polls, or waiting out a
 * Retry-After), and without this its next request would open a new audience — a new session,
 * held again — and the end would go unsaid (docs/recovery.md).
 *
 * Per session key and client (address + user agent, as the audience counts them): the error, for
 * ACERELAY_HLS_IDLE after the end (a viewer silent that long is gone, by the idle rule). A client
 * is told once; then, like a new client, it starts a new audience. Entries go when told or
 * swept, so what is kept is bounded by the clients seen within the idle time.
 */
import type { AcerelayError } from '../errors.ts';

interface Untold {
  error: AcerelayError;
  /** Forgotten from then on. */
  until: number;
}

export class HlsEndings {
  /** Session key → client → the end it was not told. */
  private readonly byKey = new Map<string, Map<string, Untold>>();
  /** An ended audience's segment token → its session key, until forgotten. */
  private readonly byToken = new Map<string, { key: string; until: number }>();

  constructor(private readonly idleMs: number) {}

  /** An audience of `key` (segment token `token`) ended with `error`; `untold`: its clients that did not get it. */
  remember(key: string, token: string, error: AcerelayError, untold: Iterable<string>, now: number): void {
    const until = now + this.idleMs;
    let clients = this.byKey.get(key);
    for (const client of untold) {
      if (!clients) this.byKey.set(key, (clients = new Map()));
      // A client of two audiences that ended is told the later end.
      clients.set(client, { error, until });
    }
    if (clients && token) this.byToken.set(token, { key, until });
  }

  /** The error this client's playlist request for `key` gets instead of a new audience, once. */
  takeForKey(key: string, client: string, now: number): AcerelayError | null {
    const clients = this.byKey.get(key);
    const untold = clients?.get(client);
    if (!clients || !untold) return null;
    clients.delete(client);
    if (clients.size === 0) this.byKey.delete(key);
    return now < untold.until ? untold.error : null;
  }

  /** The error this client's segment request on an ended audience's token gets, once. */
  takeForToken(token: string, client: string, now: number): AcerelayError | null {
    const ended = this.byToken.get(token);
    if (!ended) return null;
    if (now >= ended.until) {
      this.byToken.delete(token);
      return null;
    }
    return this.takeForKey(ended.key, client, now);
  }

  sweep(now: number): void {
    for (const [key, clients] of this.byKey) {
      for (const [client, untold] of clients) if (now >= untold.until) clients.delete(client);
      if (clients.size === 0) this.byKey.delete(key);
    }
    for (const [token, ended] of this.byToken) if (now >= ended.until) this.byToken.delete(token);
  }

  /** Clients remembered with an end not yet told, over every key. */
  get untold(): number {
    let n = 0;
    for (const clients of this.byKey.values()) n += clients.size;
    return n;
  }

  /** Segment tokens of ended audiences remembered. */
  get tokens(): number {
    return this.byToken.size;
  }
}

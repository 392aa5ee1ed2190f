/**
 * Every channel's HLS audience: found by session key (playlist requests) and by token
 * (segment requests), created through the registry like any player, swept for idleness.
 * An audience's end with an error is remembered for its clients (HlsEndings).
 */
import type { SessionRegistry } from '../core/session-registry.ts';
import type { StreamRequest } from '../core/stream-request.ts';
import type { AcerelayError } from '../errors.ts';
import { HlsAudience, type AudienceDeps } from './hls-audience.ts';
import { HlsEndings } from './hls-endings.ts';

export class HlsAudiences {
  private readonly byKey = new Map<string, HlsAudience>();
  private readonly byToken = new Map<string, HlsAudience>();
  readonly endings: HlsEndings;

  constructor(
    private readonly registry: SessionRegistry,
    private readonly deps: AudienceDeps,
  ) {
    this.endings = new HlsEndings(deps.settings.idleMs);
  }

  get settings() {
    return this.deps.settings;
  }

  /**
   * The live audience for this request's session key, or a new one (a new player in the
   * registry: it joins or starts the session). Throws AcerelayError as `connect` does, and the
   * error the key's last audience ended on to a client of it that was not told yet (once).
   */
  open(req: StreamRequest, client: string): HlsAudience {
    const ended = this.endings.takeForKey(req.key, client, this.deps.clock.now());
    if (ended) throw ended;
    const existing = this.byKey.get(req.key);
    if (existing && !existing.isFinished) return existing;
    const audience = new HlsAudience(req.key, this.deps, (a) => this.forget(a));
    const player = this.registry.connect(req, audience);
    audience.bind((event) => player.actor.send(event), player.id, player.sessionId, () => player.actor.getSnapshot().context.phase);
    // The player may have ended at once (a content failure decided on the spot).
    if (!audience.isFinished) {
      this.byKey.set(req.key, audience);
      this.byToken.set(audience.token, audience);
    }
    this.deps.log.info({ player: player.id, session: player.sessionId, key: req.key }, 'HLS audience opened');
    return audience;
  }

  byTokenOf(token: string): HlsAudience | undefined {
    return this.byToken.get(token);
  }

  /** The error a segment request of `client` on an ended audience's token gets, once; else null. */
  endedOn(token: string, client: string): AcerelayError | null {
    return this.endings.takeForToken(token, client, this.deps.clock.now());
  }

  /** Audiences that heard nothing for the idle time leave; remembered ends that old are forgotten. */
  sweep(now: number): void {
    for (const a of [...this.byKey.values()]) a.sweep(now);
    this.endings.sweep(now);
  }

  get audiences(): number {
    return this.byKey.size;
  }

  /** Distinct HLS clients seen within the idle time, over every channel. */
  get clients(): number {
    let n = 0;
    for (const a of this.byKey.values()) n += a.clientCount();
    return n;
  }

  /** Bytes held in every window. */
  get windowBytes(): number {
    let n = 0;
    for (const a of this.byKey.values()) n += a.segmenter.bytes;
    return n;
  }

  private forget(a: HlsAudience): void {
    if (this.byKey.get(a.key) === a) this.byKey.delete(a.key);
    if (this.byToken.get(a.token) === a) this.byToken.delete(a.token);
    const end = a.errorEnd;
    if (end) this.endings.remember(a.key, a.token, end.error, end.untold, this.deps.clock.now());
  }
}

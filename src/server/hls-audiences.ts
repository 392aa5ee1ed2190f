/**
 * Every channel's HLS audience: found by session key (playlist requests) and by token
 * (segment requests), created through the registry like any player, swept for idleness.
 */
import type { SessionRegistry } from '../core/session-registry.ts';
import type { StreamRequest } from '../core/stream-request.ts';
import { HlsAudience, type AudienceDeps } from './hls-audience.ts';

export class HlsAudiences {
  private readonly byKey = new Map<string, HlsAudience>();
  private readonly byToken = new Map<string, HlsAudience>();

  constructor(
    private readonly registry: SessionRegistry,
    private readonly deps: AudienceDeps,
  ) {}

  get settings() {
    return this.deps.settings;
  }

  /**
   * The live audience for this request's session key, or a new one (a new player in the
   * registry: it joins or starts the session). Throws AcerelayError as `connect` does.
   */
  open(req: StreamRequest): HlsAudience {
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

  /** Audiences that heard nothing for the idle time leave. */
  sweep(now: number): void {
    for (const a of [...this.byKey.values()]) a.sweep(now);
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
  }
}

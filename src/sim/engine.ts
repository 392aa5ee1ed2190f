import type http from 'node:http';
import { systemClock, type Clock, type TimerHandle } from '../clock.ts';
import { PlaybackReader } from './engine-playback.ts';
import { EngineSession, type EndReason, type SimSessionState, type SourceKind } from './engine-session.ts';
import {
  DEFAULT_RESTART_MS,
  modeHoldsBytes,
  modeIsUnhealthy,
  parseEngineMode,
  type EngineMode,
  type EngineModeRequest,
  type EngineModeSettings,
} from './engine-modes.ts';
import { engineHandler } from './engine-routes.ts';
import { randomHex } from './ids.ts';
import { createLiveStream } from '../ts/live-stream.ts';
import { SwitchableServer } from './switchable-server.ts';
import { TimerSet } from './timers.ts';

export interface FakeEngineOptions {
  port?: number;
  host?: string;
  clock?: Clock;
  /** bits/s of the live stream; 0 = unpaced. */
  bitrate?: number;
  /** Bytes per write of the live stream (0: whatever is due every 20 ms tick, whole packets). */
  chunkBytes?: number;
  startDelayMs?: number;
  idleExpiryMs?: number;
  failDelayMs?: number;
  containerId?: string;
  containerName?: string;
  /** The API resets connections this long after start (a container still booting). */
  readyDelayMs?: number;
}

export interface SimEngineState {
  container_id: string;
  container_name: string;
  host: string;
  port: number;
  url: string;
  mode: EngineMode;
  mode_settings: EngineModeSettings;
  created_at: number;
  ready_at: number;
  removed_at: number | null;
  /** Times the engine came back from a `restart` fault. */
  restarts: number;
  sessions: SimSessionState[];
}

export type HealthStatus = 'healthy' | 'unhealthy' | 'unknown';

const OK_SETTINGS: EngineModeSettings = { mode: 'ok', ms: null, until: null, bytes: null, after_ms: null, delay_ms: null };

/**
 * One simulated AceStream engine: its own HTTP server (engine.md), its sessions, and its
 * run-time faults. Used standalone (single-engine mode) or owned by the fake orchestrator.
 */
export class FakeEngine {
  readonly clock: Clock;
  readonly host: string;
  readonly containerId: string;
  readonly containerName: string;
  readonly bitrate: number;
  readonly chunkBytes: number;
  readonly startDelayMs: number;
  readonly idleExpiryMs: number;
  readonly failDelayMs: number;
  readonly createdAt: number;
  readonly readyAt: number;
  /** Incremented by a restart: starts begun before it are abandoned. */
  epoch = 0;
  restarts = 0;
  closedAt: number | null = null;

  readonly sessions: EngineSession[] = [];
  private readonly byToken = new Map<string, EngineSession>();
  private readonly timers: TimerSet;
  private readonly server: SwitchableServer;
  private settings: EngineModeSettings = OK_SETTINGS;
  private modeTimer: TimerHandle | null = null;
  private modeChain: Promise<unknown> = Promise.resolve();
  private externalHold = false;
  private ready: boolean;

  constructor(options: FakeEngineOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.host = options.host ?? '127.0.0.1';
    this.containerId = options.containerId ?? randomHex(64);
    this.containerName = options.containerName ?? 'acestream';
    this.bitrate = options.bitrate ?? 2_500_000;
    this.chunkBytes = options.chunkBytes ?? 0;
    this.startDelayMs = options.startDelayMs ?? 300;
    this.idleExpiryMs = options.idleExpiryMs ?? 60_000;
    this.failDelayMs = options.failDelayMs ?? 4_000;
    this.timers = new TimerSet(this.clock);
    this.createdAt = this.clock.now();
    const readyDelay = options.readyDelayMs ?? 0;
    this.readyAt = this.createdAt + readyDelay;
    this.ready = readyDelay <= 0;
    this.server = new SwitchableServer(engineHandler(this), this.host);
    if (!this.ready) {
      this.server.resetConnections = true;
      this.timers.set(() => this.becomeReady(), readyDelay);
    }
  }

  async listen(port = 0): Promise<void> {
    await this.server.listen(port);
  }

  get port(): number {
    return this.server.port;
  }

  get url(): string {
    return `http://${this.host}:${this.port}`;
  }

  get mode(): EngineMode {
    return this.settings.mode;
  }

  get modeSettings(): EngineModeSettings {
    return this.settings;
  }

  get isReady(): boolean {
    return this.ready;
  }

  /** New connections and requests are reset (engine booting, or the `reset` fault). */
  get resetting(): boolean {
    return !this.ready || this.settings.mode === 'reset';
  }

  get closed(): boolean {
    return this.closedAt !== null;
  }

  /** What the orchestrator's health probe would see. */
  health(): HealthStatus {
    if (modeIsUnhealthy(this.settings.mode)) return 'unhealthy';
    return this.ready ? 'healthy' : 'unknown';
  }

  /** Bytes are held: a hold fault or the VPN is down. */
  get holding(): boolean {
    return modeHoldsBytes(this.settings.mode) || this.externalHold;
  }

  get vpnConnected(): boolean {
    return !this.externalHold;
  }

  liveSessions(): EngineSession[] {
    return this.sessions.filter((s) => s.alive);
  }

  /** Resolves after `ms` of the engine's clock (never, once the engine is closed). */
  sleep(ms: number): Promise<void> {
    return this.timers.sleep(ms);
  }

  /** Any session with this token, live or ended. */
  sessionByToken(token: string): EngineSession | undefined {
    return this.byToken.get(token);
  }

  private becomeReady(): void {
    this.ready = true;
    if (this.settings.mode !== 'reset') this.server.resetConnections = false;
  }

  startSession(key: string, keyType: SourceKind, infohash: string, pid: string | null): EngineSession {
    // Same pid (or no pid at all) or the same content again: the old session is cut.
    for (const old of this.liveSessions()) {
      if (old.pid === pid || old.infohash === infohash) this.endSession(old, 'superseded');
    }
    const session = new EngineSession(randomHex(40), randomHex(32), infohash, pid, key, keyType, this.clock.now());
    this.sessions.push(session);
    this.byToken.set(session.token, session);
    this.scheduleIdle(session);
    return session;
  }

  endSession(session: EngineSession, reason: EndReason): void {
    if (!session.alive) return;
    session.stoppedAt = this.clock.now();
    session.endReason = reason;
    this.timers.clear(session.idleTimer);
    session.idleTimer = null;
    session.reader?.end();
    session.reader = null;
  }

  /** `method=stop`: true when a live session was stopped. */
  stop(token: string): boolean {
    const session = this.byToken.get(token);
    if (!session) return false;
    session.stopCalls += 1;
    if (!session.alive) return false;
    this.endSession(session, 'stop');
    return true;
  }

  private scheduleIdle(session: EngineSession): void {
    this.timers.clear(session.idleTimer);
    session.idleTimer = this.timers.set(() => {
      session.idleTimer = null;
      if (session.alive && !session.reader) this.endSession(session, 'expired');
    }, this.idleExpiryMs);
  }

  /** Serves `/content/<ih>/<token>` for a live session. */
  attachReader(session: EngineSession, res: http.ServerResponse): void {
    if (session.reader) {
      // One reader per session: a second one gets a malformed answer (engine.md).
      session.readerConflicts += 1;
      res.writeHead(200, { 'content-type': 'video/mp2t' });
      res.end(Buffer.from('ERROR: session busy\n'), () => res.socket?.destroy());
      return;
    }
    this.timers.clear(session.idleTimer);
    session.idleTimer = null;
    session.firstReadAt ??= this.clock.now();
    const cut = this.settings.mode === 'cut';
    const live = createLiveStream({ clock: this.clock, bitrate: this.bitrate, chunkBytes: this.chunkBytes });
    const reader = new PlaybackReader(res, live, this.timers, {
      cutAfterBytes: cut ? (this.settings.bytes ?? (this.settings.after_ms !== null ? null : 0)) : null,
      cutAfterMs: cut ? this.settings.after_ms : null,
      held: this.holding,
      onBytes: (n) => {
        session.bytesOut += n;
      },
      onClose: () => {
        if (session.reader !== reader) return;
        session.reader = null;
        if (session.alive) this.scheduleIdle(session);
      },
    });
    session.reader = reader;
    reader.start();
  }

  /** The 302 body of a start without format=json: trickles bytes until the client leaves. */
  trickle(res: http.ServerResponse): void {
    const nullPacket = Buffer.alloc(188, 0xff);
    nullPacket.set([0x47, 0x1f, 0xff, 0x10]);
    const tick = () => {
      if (res.destroyed || res.writableEnded) return;
      res.write(nullPacket);
      this.timers.set(tick, 500);
    };
    tick();
  }

  private applyHolds(): void {
    const hold = this.holding;
    for (const s of this.sessions) s.reader?.setHold(hold);
  }

  /** The orchestrator's VPN: while disconnected, readers get no bytes. */
  setExternalHold(on: boolean): void {
    this.externalHold = on;
    this.applyHolds();
  }

  /** Switches the fault mode; accepts a parsed request or a raw control-API body. */
  async setMode(request: EngineModeRequest | unknown): Promise<EngineModeSettings> {
    const req = parseEngineMode(request);
    const next = this.modeChain.then(() => this.applyMode(req));
    this.modeChain = next.catch(() => {});
    return next;
  }

  private async applyMode(req: EngineModeRequest): Promise<EngineModeSettings> {
    if (this.closed) return this.settings;
    this.timers.clear(this.modeTimer);
    this.modeTimer = null;
    const prev = this.settings.mode;
    const now = this.clock.now();
    const ms = req.mode === 'restart' ? (req.ms ?? DEFAULT_RESTART_MS) : req.ms;
    this.settings = {
      mode: req.mode,
      ms: ms ?? null,
      until: ms !== undefined && req.mode !== 'ok' ? now + ms : null,
      bytes: req.bytes ?? null,
      after_ms: req.after_ms ?? null,
      delay_ms: req.delay_ms ?? null,
    };
    this.server.resetConnections = this.resetting;
    if ((prev === 'refuse' || prev === 'restart') && req.mode !== 'refuse' && req.mode !== 'restart') {
      await this.server.reopen();
    }
    switch (req.mode) {
      case 'cut':
        for (const s of this.sessions) s.reader?.cut();
        break;
      case 'restart':
        this.epoch += 1;
        this.restarts += 1;
        for (const s of this.liveSessions()) this.endSession(s, 'restart');
        this.server.refuse();
        this.server.destroyConnections();
        break;
      case 'refuse':
        this.server.refuse();
        this.server.destroyConnections();
        break;
      case 'reset':
        this.server.destroyConnections(true);
        break;
      default:
        break;
    }
    this.applyHolds();
    const snapshot = this.settings;
    if (ms !== undefined && req.mode !== 'ok') {
      this.modeTimer = this.timers.set(() => {
        this.modeTimer = null;
        void this.setMode({ mode: 'ok' }).catch(() => {});
      }, ms);
    }
    return snapshot;
  }

  state(): SimEngineState {
    return {
      container_id: this.containerId,
      container_name: this.containerName,
      host: this.host,
      port: this.port,
      url: this.url,
      mode: this.settings.mode,
      mode_settings: { ...this.settings },
      created_at: this.createdAt,
      ready_at: this.readyAt,
      removed_at: this.closedAt,
      restarts: this.restarts,
      sessions: this.sessions.map((s) => s.state()),
    };
  }

  /** Shuts the engine down for good (container removed): sessions end, connections drop. */
  async close(reason: EndReason = 'removed'): Promise<void> {
    if (this.closed) return;
    await this.modeChain;
    this.closedAt = this.clock.now();
    for (const s of this.liveSessions()) this.endSession(s, reason);
    this.timers.clearAll();
    await this.server.close();
  }
}

/** A standalone engine (single-engine mode, no orchestrator). */
export async function startFakeEngine(options: FakeEngineOptions = {}): Promise<FakeEngine> {
  const engine = new FakeEngine(options);
  await engine.listen(options.port ?? 0);
  return engine;
}

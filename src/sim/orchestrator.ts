import type { TimerHandle } from '../clock.ts';
import { ActiveSlots, type ActiveSlotsView, type SlotClaim } from './active-slots.ts';
import { Breaker } from './breaker.ts';
import { EnginePorts } from './engine-ports.ts';
import { FakeEngine } from './engine.ts';
import { randomHex } from './ids.ts';
import type { ResolvedSimOptions } from './options.ts';
import type { AutoscalerAttempt, EngineOrigin, ManagedEngine, SimEvent, SimProvision, StatusLogEntry, StreamRecord } from './orchestrator-types.ts';
import type { Quirks } from './quirks.ts';
import { computeStatus, type CapacitySettings, type StatusInput, type VpnSettings } from './status.ts';
import { TimerSet } from './timers.ts';

export const AUTOSCALER_TICK_MS = 30_000;
/** With `unknown_container: "sweep"`, a start on a container the orchestrator does not manage is ended this soon. */
export const SWEEP_MS = 5_000;
/** The host every simulated engine listens on, as `/engines` reports it. */
export const ENGINE_HOST = '127.0.0.1';

export const ORCHESTRATOR_MODES = ['ok', 'down', 'error500', 'slow', 'garbage', 'restart'] as const;
export type OrchestratorMode = (typeof ORCHESTRATOR_MODES)[number];
export const DEFAULT_ORCH_RESTART_MS = 1_000;

export interface OrchestratorModeSettings {
  mode: OrchestratorMode;
  ms: number | null;
  until: number | null;
}

export const PROVISION_FAIL_CODES = ['general_error', 'vpn_error', 'text500', 'string_detail'] as const;
export type ProvisionFailCode = (typeof PROVISION_FAIL_CODES)[number];

export interface ProvisionFaults {
  /** The next N `/provision` calls fail with `code`. */
  fail: number;
  code: ProvisionFailCode;
  /** Added to every provision's answer time. */
  delay_ms: number;
  /** How long a failing provision takes to answer (real ones fail fast). */
  fail_delay_ms: number;
  /** The next N autoscaler creates fail (a Docker error after the port was taken). */
  autoscaler_fail: number;
}

type AutoscalerOutcome = 'idle' | 'created' | 'failed';

/**
 * The fake acestream-orchestrator's state and behaviour (orchestrator.md), independent of
 * HTTP: engines, streams, VPN, breaker, capacity and the active-replicas pool, the
 * autoscaler tick and restarts.
 */
export class FakeOrchestrator {
  readonly clock;
  readonly timers;
  incarnation = 1;
  readonly engines: ManagedEngine[] = [];
  streams = new Map<string, StreamRecord>();
  readonly streamHistory: StreamRecord[] = [];
  readonly events: SimEvent[] = [];
  readonly provisions: SimProvision[] = [];
  readonly autoscaler: AutoscalerAttempt[] = [];
  readonly statusLog: StatusLogEntry[] = [];
  statusPolls = 0;
  vpn: VpnSettings;
  vpnUntil: number | null = null;
  private vpnTimer: TimerHandle | null = null;
  breaker: Breaker;
  capacity: CapacitySettings;
  readonly initialCapacity: CapacitySettings;
  readonly slots: ActiveSlots;
  quirks: Quirks;
  readonly initialQuirks: Quirks;
  provisionFaults: ProvisionFaults;
  /** Between a restart's shutdown and its start: no engines, no autoscaler. */
  offline = false;
  private readonly ports = new EnginePorts();
  /** Ports being bound right now (two creates must not pick the same one). */
  private readonly binding = new Set<number>();
  private engineCounter = 0;
  private closed = false;

  constructor(readonly opts: ResolvedSimOptions) {
    this.clock = opts.clock;
    this.timers = new TimerSet(opts.clock);
    this.vpn = { enabled: opts.vpnEnabled, connected: true };
    this.breaker = new Breaker(this.clock.now(), opts.breakerFailureThreshold, opts.breakerRecoveryS);
    this.capacity = {
      min_replicas: opts.minReplicas,
      max_replicas: opts.maxReplicas,
      max_active_replicas: opts.maxActiveReplicas,
      auto_delete: opts.autoDelete,
      grace_period_s: opts.gracePeriodS,
    };
    this.initialCapacity = { ...this.capacity };
    this.slots = new ActiveSlots(opts.maxActiveReplicas);
    this.quirks = { ...opts.quirks };
    this.initialQuirks = { ...opts.quirks };
    this.provisionFaults = this.cleanFaults();
  }

  cleanFaults(): ProvisionFaults {
    return { fail: 0, code: 'general_error', delay_ms: 0, fail_delay_ms: this.opts.provisionFailDelayMs, autoscaler_fail: 0 };
  }

  now(): number {
    return this.clock.now();
  }

  /** Engines of the current incarnation that have not been removed. */
  running(): ManagedEngine[] {
    return this.engines.filter((m) => m.removedAt === null && m.incarnation === this.incarnation);
  }

  findRunning(containerId: string): ManagedEngine | undefined {
    return this.running().find((m) => m.engine.containerId === containerId);
  }

  /** The running engine at host:port, as `/engines` reports them. */
  findRunningAt(host: string, port: number): ManagedEngine | undefined {
    return this.running().find((m) => host === ENGINE_HOST && m.engine.port === port);
  }

  /** Any engine ever created, by container id or name (for the control API). */
  findAny(idOrName: string): ManagedEngine | undefined {
    return this.engines.find((m) => m.engine.containerId === idOrName || m.engine.containerName === idOrName);
  }

  activeStreams(): StreamRecord[] {
    return [...this.streams.values()].filter((s) => s.status === 'started');
  }

  streamIdsOn(containerId: string): string[] {
    return this.activeStreams()
      .filter((s) => s.container_id === containerId)
      .map((s) => s.id);
  }

  /** The engine holding the VPN's forwarded P2P port: the oldest running one. */
  forwardedEngine(): ManagedEngine | undefined {
    return this.vpn.enabled ? this.running()[0] : undefined;
  }

  get vpnDown(): boolean {
    return this.vpn.enabled && !this.vpn.connected;
  }

  statusInput(): StatusInput {
    const now = this.now();
    return {
      now,
      engines: this.running().map((m) => m.engine.health()),
      activeStreams: this.activeStreams().length,
      totalStreams: this.streams.size,
      capacity: this.capacity,
      vpn: this.vpn,
      breaker: { state: this.breaker.state, eta: this.breaker.etaSeconds(now), lastFailure: this.breaker.lastFailureTime },
    };
  }

  status(): Record<string, unknown> {
    return computeStatus(this.statusInput());
  }

  setMaxActiveReplicas(max: number): void {
    this.capacity.max_active_replicas = max;
    this.slots.max = max;
  }

  activeSlots(): ActiveSlotsView {
    return this.slots.view(this.running().length, this.vpn.enabled);
  }

  /** The VPN build takes a slot of the active-replicas pool for a create: 'full' when none is left, null without a VPN. */
  claimSlot(): SlotClaim | null | 'full' {
    if (!this.vpn.enabled) return null;
    return this.slots.claim(this.running().length) ?? 'full';
  }

  /** A create failed after taking its slot: it is lost when the quirk says so. */
  failSlot(claim: SlotClaim | null, leaks = true): void {
    if (claim) this.slots.settle(claim, leaks && this.quirks.leak_failed_creates ? 'leaked' : 'released');
  }

  activeReplicasMessage(): string {
    return `Maximum active replicas limit reached (${this.slots.max})`;
  }

  private portsInUse(): Set<number> {
    const used = new Set(this.binding);
    for (const m of this.engines) if (m.removedAt === null) used.add(m.engine.port);
    return used;
  }

  /** Listens on the lowest free known port when reusing (retrying while a closed engine lets go of it), else on a new one. */
  private async listenEngine(engine: FakeEngine, reuse: boolean): Promise<void> {
    const port = reuse ? this.ports.lowestFree(this.portsInUse()) : 0;
    if (port !== 0) {
      this.binding.add(port);
      try {
        for (let attempt = 0; attempt < 20; attempt++) {
          try {
            await engine.listen(port);
            return;
          } catch {
            await new Promise((r) => setTimeout(r, 25));
          }
        }
      } finally {
        this.binding.delete(port);
      }
    }
    await engine.listen(0);
  }

  async createEngine(
    origin: EngineOrigin,
    options: { readyDelayMs: number; port?: number; labels?: Record<string, string>; reusePort?: boolean; claim?: SlotClaim | null },
  ): Promise<ManagedEngine> {
    const incarnation = this.incarnation;
    this.engineCounter += 1;
    const engine = new FakeEngine({
      clock: this.clock,
      host: ENGINE_HOST,
      containerId: randomHex(64),
      containerName: `acestream-${this.engineCounter}`,
      bitrate: this.opts.bitrate,
      chunkBytes: this.opts.chunkBytes,
      startDelayMs: this.opts.startDelayMs,
      idleExpiryMs: this.opts.idleExpiryMs,
      failDelayMs: this.opts.failDelayMs,
      readyDelayMs: options.readyDelayMs,
    });
    if (options.port !== undefined) await engine.listen(options.port);
    else await this.listenEngine(engine, options.reusePort ?? this.vpn.enabled);
    this.ports.remember(engine.port);
    const managed: ManagedEngine = {
      engine,
      origin,
      incarnation,
      firstSeen: this.now(),
      lastStreamUsage: null,
      removedAt: null,
      labels: options.labels ?? {},
    };
    // Closed, or restarted while it was booting: the container is gone with the others.
    if (this.closed || incarnation !== this.incarnation) {
      await engine.close();
      managed.removedAt = this.now();
    }
    engine.setExternalHold(this.vpnDown);
    this.engines.push(managed);
    if (options.claim) this.slots.settle(options.claim, 'engine');
    return managed;
  }

  async removeEngine(managed: ManagedEngine): Promise<void> {
    if (managed.removedAt !== null) return;
    managed.removedAt = this.now();
    await managed.engine.close('removed');
  }

  private logAutoscaler(origin: EngineOrigin, outcome: AutoscalerAttempt['outcome'], code: string | null, containerId: string | null): void {
    this.autoscaler.push({ t: this.now(), origin, outcome, code, container_id: containerId, incarnation: this.incarnation });
  }

  /**
   * The autoscaler's own creates up to `min_replicas` (at start with no boot delay, later like
   * new containers). Each failure (an empty pool, an injected Docker error) counts on the
   * breaker, each success closes it; an open breaker stops the round.
   */
  async ensureMinReplicas(origin: EngineOrigin, readyDelayMs: number, reusePort = this.vpn.enabled): Promise<AutoscalerOutcome> {
    if (this.offline) return 'idle';
    const counts = () => this.quirks.breaker_counts_autoscaler;
    let outcome: AutoscalerOutcome = 'idle';
    const missing = this.capacity.min_replicas - this.running().length;
    for (let i = 0; i < missing; i++) {
      if (counts() && !this.breaker.allowsAutoscaler) break;
      const claim = this.claimSlot();
      let code: string | null = claim === 'full' ? 'max_active_replicas' : null;
      if (claim !== 'full' && this.provisionFaults.autoscaler_fail > 0) {
        this.provisionFaults.autoscaler_fail -= 1;
        this.failSlot(claim);
        code = 'general_error';
      }
      if (code === null && claim !== 'full') {
        try {
          const m = await this.createEngine(origin, { readyDelayMs, reusePort, claim });
          if (m.removedAt !== null) return outcome;
          this.logAutoscaler(origin, 'created', null, m.engine.containerId);
          if (counts()) this.breaker.recordSuccess(this.now());
          if (outcome === 'idle') outcome = 'created';
          continue;
        } catch {
          this.failSlot(claim);
          code = 'general_error';
        }
      }
      this.logAutoscaler(origin, 'failed', code, null);
      if (counts()) this.breaker.recordFailure(this.now());
      outcome = 'failed';
    }
    return outcome;
  }

  setVpn(settings: Partial<VpnSettings>, ms: number | undefined): void {
    this.timers.clear(this.vpnTimer);
    this.vpnTimer = null;
    this.vpnUntil = null;
    this.vpn = { ...this.vpn, ...settings };
    if (ms !== undefined && this.vpnDown) {
      this.vpnUntil = this.now() + ms;
      this.vpnTimer = this.timers.set(() => this.setVpn({ connected: true }, undefined), ms);
    }
    for (const m of this.running()) m.engine.setExternalHold(this.vpnDown);
  }

  /** The autoscaler tick (every 30 s of clock time); a due breaker is probed by its creates. */
  async tick(): Promise<void> {
    if (this.offline) return;
    const now = this.now();
    const probing = this.breaker.beginTick(now);
    if (!this.vpnDown && this.breaker.allowsAutoscaler) {
      await this.ensureMinReplicas('autoscaler', this.opts.engineReadyDelayMs);
    }
    if (probing) this.breaker.endProbe(this.now());
    if (this.capacity.auto_delete) {
      const graceMs = this.capacity.grace_period_s * 1000;
      for (const m of this.running()) {
        if (this.running().length <= this.capacity.min_replicas) break;
        if (this.streamIdsOn(m.engine.containerId).length > 0) continue;
        const idleSince = m.lastStreamUsage ?? m.firstSeen;
        if (now - idleSince >= graceMs) await this.removeEngine(m);
      }
    }
  }

  startTicking(): void {
    const loop = () => {
      void this.tick()
        .catch(() => {})
        .finally(() => {
          if (!this.closed) this.timers.set(loop, AUTOSCALER_TICK_MS);
        });
    };
    this.timers.set(loop, AUTOSCALER_TICK_MS);
  }

  touchEngine(containerId: string): void {
    const m = this.findRunning(containerId);
    if (m) m.lastStreamUsage = this.now();
  }

  endStream(record: StreamRecord, by: StreamRecord['ended_by']): void {
    if (record.status === 'ended') return;
    record.status = 'ended';
    record.ended_at = this.now();
    record.ended_by = by;
    this.touchEngine(record.container_id);
  }

  /** Forgets every stream and the breaker and the pool's leaks: what a new process starts with. */
  private wipe(): void {
    this.incarnation += 1;
    this.streams = new Map();
    this.breaker.reset(this.now());
    this.slots.reset();
  }

  /**
   * The start of a restart (SIGTERM): the real orchestrator stops every engine and wipes its
   * database on the way down; nothing runs until `boot`.
   */
  async shutdown(): Promise<void> {
    const old = this.running();
    this.offline = true;
    this.wipe();
    await Promise.all(old.map((m) => this.removeEngine(m)));
  }

  /** The end of a restart: the autoscaler brings min_replicas back, on the old ports, under new ids. */
  async boot(): Promise<void> {
    this.offline = false;
    await this.ensureMinReplicas('restart', this.opts.engineReadyDelayMs, true);
  }

  /** The `new_ports` restart: the engines ran through the downtime; now they are replaced by new ones on new ports. */
  async forgetEverything(): Promise<void> {
    const old = this.running();
    this.wipe();
    await Promise.all(old.map((m) => this.removeEngine(m)));
    await this.ensureMinReplicas('restart', this.opts.engineReadyDelayMs, false);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.clearAll();
    await Promise.all(this.engines.map((m) => this.removeEngine(m)));
  }
}

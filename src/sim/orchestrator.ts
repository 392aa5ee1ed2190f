import type { TimerHandle } from '../clock.ts';
import { Breaker } from './breaker.ts';
import { FakeEngine } from './engine.ts';
import { randomHex } from './ids.ts';
import type { ResolvedSimOptions } from './options.ts';
import type { EngineOrigin, ManagedEngine, SimEvent, SimProvision, StatusLogEntry, StreamRecord } from './orchestrator-types.ts';
import { computeStatus, type CapacitySettings, type StatusInput, type VpnSettings } from './status.ts';
import { TimerSet } from './timers.ts';

export const AUTOSCALER_TICK_MS = 30_000;
/** A start reported for a container the orchestrator does not manage is ended this soon. */
export const SWEEP_MS = 5_000;

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
  fail: number;
  code: ProvisionFailCode;
  delay_ms: number;
}

/**
 * The fake acestream-orchestrator's state and behaviour (orchestrator.md), independent of
 * HTTP: engines, streams, VPN, breaker, capacity, the autoscaler tick and restarts.
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
  readonly statusLog: StatusLogEntry[] = [];
  statusPolls = 0;
  vpn: VpnSettings;
  vpnUntil: number | null = null;
  private vpnTimer: TimerHandle | null = null;
  breaker: Breaker;
  capacity: CapacitySettings;
  readonly initialCapacity: CapacitySettings;
  provisionFaults: ProvisionFaults = { fail: 0, code: 'general_error', delay_ms: 0 };
  private engineCounter = 0;
  private closed = false;

  constructor(readonly opts: ResolvedSimOptions) {
    this.clock = opts.clock;
    this.timers = new TimerSet(opts.clock);
    this.vpn = { enabled: opts.vpnEnabled, connected: true };
    this.breaker = new Breaker(this.clock.now());
    this.capacity = {
      min_replicas: opts.minReplicas,
      max_replicas: opts.maxReplicas,
      auto_delete: opts.autoDelete,
      grace_period_s: opts.gracePeriodS,
    };
    this.initialCapacity = { ...this.capacity };
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

  async createEngine(origin: EngineOrigin, options: { readyDelayMs: number; port?: number; labels?: Record<string, string> }): Promise<ManagedEngine> {
    this.engineCounter += 1;
    const engine = new FakeEngine({
      clock: this.clock,
      host: '127.0.0.1',
      containerId: randomHex(64),
      containerName: `acestream-${this.engineCounter}`,
      bitrate: this.opts.bitrate,
      startDelayMs: this.opts.startDelayMs,
      idleExpiryMs: this.opts.idleExpiryMs,
      failDelayMs: this.opts.failDelayMs,
      readyDelayMs: options.readyDelayMs,
    });
    await engine.listen(options.port ?? 0);
    const managed: ManagedEngine = {
      engine,
      origin,
      incarnation: this.incarnation,
      firstSeen: this.now(),
      lastStreamUsage: null,
      removedAt: null,
      labels: options.labels ?? {},
    };
    if (this.closed) {
      await engine.close();
      managed.removedAt = this.now();
    }
    engine.setExternalHold(this.vpnDown);
    this.engines.push(managed);
    return managed;
  }

  async removeEngine(managed: ManagedEngine): Promise<void> {
    if (managed.removedAt !== null) return;
    managed.removedAt = this.now();
    await managed.engine.close('removed');
  }

  /** Keeps `min_replicas` engines running (at start with no boot delay, later like new containers). */
  async ensureMinReplicas(origin: EngineOrigin, readyDelayMs: number): Promise<void> {
    const missing = this.capacity.min_replicas - this.running().length;
    for (let i = 0; i < missing; i++) await this.createEngine(origin, { readyDelayMs });
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

  /** The autoscaler tick (every 30 s of clock time). */
  async tick(): Promise<void> {
    const now = this.now();
    this.breaker.tick(now);
    if (!this.vpnDown && this.breaker.state === 'closed') {
      await this.ensureMinReplicas('autoscaler', this.opts.engineReadyDelayMs);
    }
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

  /** A restart forgets every stream and engine; minReplicas fresh engines come up. */
  async forgetEverything(): Promise<void> {
    const old = this.running();
    this.incarnation += 1;
    this.streams = new Map();
    this.breaker.reset(this.now());
    await Promise.all(old.map((m) => this.removeEngine(m)));
    await this.ensureMinReplicas('restart', this.opts.engineReadyDelayMs);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.timers.clearAll();
    await Promise.all(this.engines.map((m) => this.removeEngine(m)));
  }
}

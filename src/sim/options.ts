import { systemClock, type Clock } from '../clock.ts';
import { REAL_QUIRKS, parseQuirks, type Quirks } from './quirks.ts';

export interface SimOptions {
  /** Orchestrator port; 0 = any free port. Default 8000. */
  port?: number;
  host?: string;
  minReplicas?: number;
  maxReplicas?: number;
  /** The VPN build's port pool (MAX_ACTIVE_REPLICAS): engines plus leaked slots. Default 20. */
  maxActiveReplicas?: number;
  apiKey?: string;
  /** bits/s of every engine's live stream; 0 = unpaced. */
  bitrate?: number;
  /** Bytes per write of every engine's live stream; 0 (default): what is due every 20 ms, whole packets. */
  chunkBytes?: number;
  provisionDelayMs?: number;
  /** How long a failing provision (an injected failure) takes to answer. Default 200 ms. */
  provisionFailDelayMs?: number;
  engineReadyDelayMs?: number;
  startDelayMs?: number;
  idleExpiryMs?: number;
  /** How long a start of dead content takes to fail. */
  failDelayMs?: number;
  clock?: Clock;
  vpnEnabled?: boolean;
  autoDelete?: boolean;
  gracePeriodS?: number;
  /** Autoscaler failures that open the breaker. Default 5. */
  breakerFailureThreshold?: number;
  /** Seconds the breaker stays open before the autoscaler probes. Default 300. */
  breakerRecoveryS?: number;
  /** The real orchestrator's quirks, each switchable (defaults: REAL_QUIRKS). */
  quirks?: Partial<Quirks>;
  /** Port of the separate control server; 0 = any. Default 0. */
  controlPort?: number;
}

export type ResolvedSimOptions = Required<Omit<SimOptions, 'apiKey' | 'quirks'>> & { apiKey: string | null; quirks: Quirks };

export function resolveSimOptions(options: SimOptions = {}): ResolvedSimOptions {
  return {
    port: options.port ?? 8000,
    host: options.host ?? '127.0.0.1',
    minReplicas: options.minReplicas ?? 1,
    maxReplicas: options.maxReplicas ?? 10,
    maxActiveReplicas: options.maxActiveReplicas ?? 20,
    apiKey: options.apiKey ?? null,
    bitrate: options.bitrate ?? 2_500_000,
    chunkBytes: options.chunkBytes ?? 0,
    provisionDelayMs: options.provisionDelayMs ?? 500,
    provisionFailDelayMs: options.provisionFailDelayMs ?? 200,
    engineReadyDelayMs: options.engineReadyDelayMs ?? 1_000,
    startDelayMs: options.startDelayMs ?? 300,
    idleExpiryMs: options.idleExpiryMs ?? 60_000,
    failDelayMs: options.failDelayMs ?? 4_000,
    clock: options.clock ?? systemClock,
    vpnEnabled: options.vpnEnabled ?? true,
    autoDelete: options.autoDelete ?? false,
    gracePeriodS: options.gracePeriodS ?? 30,
    breakerFailureThreshold: options.breakerFailureThreshold ?? 5,
    breakerRecoveryS: options.breakerRecoveryS ?? 300,
    quirks: { ...REAL_QUIRKS, ...parseQuirks({ ...options.quirks }) },
    controlPort: options.controlPort ?? 0,
  };
}

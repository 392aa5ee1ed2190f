import { systemClock, type Clock } from '../clock.ts';

export interface SimOptions {
  /** Orchestrator port; 0 = any free port. Default 8000. */
  port?: number;
  host?: string;
  minReplicas?: number;
  maxReplicas?: number;
  apiKey?: string;
  /** bits/s of every engine's live stream; 0 = unpaced. */
  bitrate?: number;
  provisionDelayMs?: number;
  engineReadyDelayMs?: number;
  startDelayMs?: number;
  idleExpiryMs?: number;
  /** How long a start of dead content takes to fail. */
  failDelayMs?: number;
  clock?: Clock;
  vpnEnabled?: boolean;
  autoDelete?: boolean;
  gracePeriodS?: number;
  /** Port of the separate control server; 0 = any. Default 0. */
  controlPort?: number;
}

export type ResolvedSimOptions = Required<Omit<SimOptions, 'apiKey'>> & { apiKey: string | null };

export function resolveSimOptions(options: SimOptions = {}): ResolvedSimOptions {
  return {
    port: options.port ?? 8000,
    host: options.host ?? '127.0.0.1',
    minReplicas: options.minReplicas ?? 1,
    maxReplicas: options.maxReplicas ?? 10,
    apiKey: options.apiKey ?? null,
    bitrate: options.bitrate ?? 2_500_000,
    provisionDelayMs: options.provisionDelayMs ?? 500,
    engineReadyDelayMs: options.engineReadyDelayMs ?? 1_000,
    startDelayMs: options.startDelayMs ?? 300,
    idleExpiryMs: options.idleExpiryMs ?? 60_000,
    failDelayMs: options.failDelayMs ?? 4_000,
    clock: options.clock ?? systemClock,
    vpnEnabled: options.vpnEnabled ?? true,
    autoDelete: options.autoDelete ?? false,
    gracePeriodS: options.gracePeriodS ?? 30,
    controlPort: options.controlPort ?? 0,
  };
}

import { SimInputError } from './errors.ts';
import { asObject, optEnum, optNumber, rejectUnknownKeys } from './input.ts';

export const ENGINE_MODES = ['ok', 'stall', 'cut', 'gap', 'slow_start', 'no_peers', 'restart', 'refuse', 'reset', 'error500'] as const;
export type EngineMode = (typeof ENGINE_MODES)[number];

export const DEFAULT_RESTART_MS = 3_000;
export const DEFAULT_SLOW_START_MS = 10_000;

export interface EngineModeRequest {
  mode: EngineMode;
  /** How long the fault lasts; absent = until changed (restart: how long the port refuses). */
  ms?: number;
  /** cut: new readers are cut after this many body bytes (0 = at once). */
  bytes?: number;
  /** cut: new readers are cut after this long. */
  after_ms?: number;
  /** slow_start: how long a start's JSON answer takes. */
  delay_ms?: number;
}

export interface EngineModeSettings {
  mode: EngineMode;
  ms: number | null;
  /** Clock time when the fault reverts to ok; null = until changed. */
  until: number | null;
  bytes: number | null;
  after_ms: number | null;
  delay_ms: number | null;
}

export function parseEngineMode(body: unknown): EngineModeRequest {
  const obj = asObject(body);
  rejectUnknownKeys(obj, ['mode', 'ms', 'bytes', 'after_ms', 'delay_ms']);
  const mode = optEnum(obj, 'mode', ENGINE_MODES);
  if (!mode) throw new SimInputError(`mode is required (one of ${ENGINE_MODES.join(', ')})`);
  const req: EngineModeRequest = { mode };
  const ms = optNumber(obj, 'ms', { min: 0 });
  const bytes = optNumber(obj, 'bytes', { min: 0, integer: true });
  const afterMs = optNumber(obj, 'after_ms', { min: 0 });
  const delayMs = optNumber(obj, 'delay_ms', { min: 0 });
  if (ms !== undefined) req.ms = ms;
  if (bytes !== undefined) req.bytes = bytes;
  if (afterMs !== undefined) req.after_ms = afterMs;
  if (delayMs !== undefined) req.delay_ms = delayMs;
  return req;
}

/** Modes in which readers get no bytes (the LiveStream is held). */
export function modeHoldsBytes(mode: EngineMode): boolean {
  return mode === 'stall' || mode === 'gap' || mode === 'no_peers';
}

/** Modes in which the orchestrator's health probe fails. */
export function modeIsUnhealthy(mode: EngineMode): boolean {
  return mode === 'restart' || mode === 'refuse' || mode === 'reset' || mode === 'error500';
}

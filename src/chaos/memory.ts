/**
 * What the harness measures of the process: heap + external memory after a full garbage
 * collection, and the timers and handles alive. `global.gc` needs `--expose-gc`; rather than
 * ask every caller (the CLI, vitest's workers) for the flag, it is switched on at run time and
 * the collector fetched from a fresh context, where V8 then defines `gc`.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import type { ManualClock } from '../clock.ts';

let collector: (() => void) | null = null;

function gc(): () => void {
  if (collector) return collector;
  const own = (globalThis as { gc?: () => void }).gc;
  if (own) return (collector = own);
  v8.setFlagsFromString('--expose-gc');
  // Bytecode of functions not run for a while is otherwise dropped by some collections and
  // not others: noise of megabytes between two measurements.
  v8.setFlagsFromString('--no-flush-bytecode');
  collector = vm.runInNewContext('gc') as () => void;
  return collector;
}

export interface MemorySample {
  heapBytes: number;
  externalBytes: number;
}

/** Heap used + external memory after two full collections (the second frees what the first's finalizers let go). */
export function measureMemory(): MemorySample {
  const collect = gc();
  collect();
  collect();
  const m = process.memoryUsage();
  // external counts array buffers too (Buffers): the sockets' and the fan-out's bytes.
  return { heapBytes: m.heapUsed, externalBytes: m.external };
}

export function totalBytes(m: MemorySample): number {
  return m.heapBytes + m.externalBytes;
}

export interface ResourceSample {
  /** Timers on the world's virtual clock (acerelay's and the simulator's). */
  virtualTimers: number;
  /** Node timers (undici's, Fastify's and sockets' own). */
  realTimers: number;
  /** Everything else libuv keeps alive: sockets, servers, file handles. */
  handles: number;
}

export function measureResources(clock: ManualClock): ResourceSample {
  const info = process.getActiveResourcesInfo();
  const realTimers = info.filter((r) => r === 'Timeout').length;
  const handles = info.filter((r) => r !== 'Timeout' && r !== 'Immediate').length;
  return { virtualTimers: clock.pending, realTimers, handles };
}

export const MiB = 1024 * 1024;

export function mib(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`;
}

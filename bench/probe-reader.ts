/**
 * Asks a Node service's probe preload (bench/preload/probe.ts) for a snapshot: SIGUSR2, then
 * wait until the snapshot file carries a newer sequence number.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Service } from './processes.ts';

export interface ProbeSnapshot {
  seq: number;
  eld: { p50: number; p99: number; max: number; mean: number; samples: number } | null;
  backlog: number;
  sockets: number;
  mem: NodeJS.MemoryUsage;
  /** The service's monotonic clock (µs) when the probe began and when it was done. */
  enteredUs: number;
  leftUs: number;
}

function read(file: string): ProbeSnapshot | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ProbeSnapshot;
  } catch {
    return null;
  }
}

/**
 * A fresh snapshot, or null when the service has no probe or it did not answer in time.
 * `collect`: a full GC before memory is read. Only where memory is compared (before the
 * players and after the window): a forced collection at the start of a window would put
 * its aftermath (concurrent sweeping, optimized code thrown away with what it referred
 * to and compiled again, V8's memory reducer armed) into the window it measures.
 */
export async function probe(service: Service, opts: { collect: boolean }, timeoutMs = 3_000): Promise<ProbeSnapshot | null> {
  if (!service.probeFile || !service.child.pid) return null;
  const before = read(service.probeFile)?.seq ?? 0;
  writeFileSync(`${service.probeFile}.ask`, opts.collect ? 'collect' : 'no-collect');
  service.child.kill('SIGUSR2');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const snap = read(service.probeFile);
    if (snap && snap.seq > before) return snap;
    await sleep(10);
  }
  return null;
}

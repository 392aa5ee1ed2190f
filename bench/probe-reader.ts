/**
 * Asks a Node service's probe preload (bench/preload/probe.ts) for a snapshot: SIGUSR2, then
 * wait until the snapshot file carries a newer sequence number.
 */
import { existsSync, readFileSync } from 'node:fs';
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

/** A fresh snapshot, or null when the service has no probe or it did not answer in time. */
export async function probe(service: Service, timeoutMs = 3_000): Promise<ProbeSnapshot | null> {
  if (!service.probeFile || !service.child.pid) return null;
  const before = read(service.probeFile)?.seq ?? 0;
  service.child.kill('SIGUSR2');
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const snap = read(service.probeFile);
    if (snap && snap.seq > before) return snap;
    await sleep(10);
  }
  return null;
}

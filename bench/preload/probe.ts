/**
 * Bench-only preload for a Node proxy under test
 * (`node --import tsx --import bench/preload/probe.ts …`). It adds no code to the proxy's own
 * source: it samples the event-loop delay of the process it is loaded into and, on SIGUSR2,
 * writes a snapshot to $BENCH_PROBE_FILE:
 *  - event-loop delay since the previous snapshot (then resets it);
 *  - bytes queued in the process's sockets (the players' backlogs) and how many sockets;
 *  - process.memoryUsage(), after a full GC when run with --expose-gc and BENCH_PROBE_GC=1
 *    and the reader asked for one ($BENCH_PROBE_FILE.ask says "collect"), so memory per
 *    player is not blurred by garbage that has not been collected yet.
 * The file is written then renamed, so a reader never sees half a snapshot.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';

/** Sampling period of the delay histogram; its values include it, so it is subtracted. */
const RESOLUTION_MS = 10;

const file = process.env.BENCH_PROBE_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let seq = 0;
  const delay = (ns: number) => Math.max(0, ns / 1e6 - RESOLUTION_MS);

  const asked = (path: string): string => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return 'collect';
    }
  };

  process.on('SIGUSR2', () => {
    // CLOCK_MONOTONIC in µs (the clock of V8's CPU profiles, so a profile can be cut to a
    // window), on entry and on exit: the probe's own work stays outside the window it marks.
    const mono = () => Number(process.hrtime.bigint() / 1000n);
    const enteredUs = mono();
    const eld =
      histogram.count > 0
        ? {
            p50: delay(histogram.percentile(50)),
            p99: delay(histogram.percentile(99)),
            max: delay(histogram.max),
            mean: delay(histogram.mean),
            samples: histogram.count,
          }
        : null;
    histogram.reset();

    let backlog = 0;
    let sockets = 0;
    // Node's own list of live handles: the one way to see every socket without touching the proxy.
    const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
    for (const h of handles) {
      if (h instanceof Socket) {
        sockets++;
        backlog += h.writableLength;
      }
    }
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc && process.env.BENCH_PROBE_GC === '1' && asked(`${file}.ask`) === 'collect') gc();
    const mem = process.memoryUsage();

    seq++;
    writeFileSync(`${file}.tmp`, JSON.stringify({ seq, eld, backlog, sockets, mem, enteredUs, leftUs: mono() }));
    renameSync(`${file}.tmp`, file);
  });
}

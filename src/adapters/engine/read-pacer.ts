/**
 * When a slow playback body reads again: at the next shared read tick, not as soon as the
 * engine's next bytes arrive.
 *
 * Why: an engine writes a live stream in small pieces (a real one often 1316 B, seven TS
 * packets, every few milliseconds). Read as they arrive, each channel costs a read, a wakeup of
 * the event loop and a pass through the byte path every few milliseconds, whatever its bytes:
 * at 50 channels that per-read cost was most of the proxy's CPU. A body that has read everything
 * its socket held (a short read) and whose stream brings less than a send's worth (32 KiB) per
 * tick is parked instead (engine-body.ts judges the rate): its socket stops reading and the
 * kernel gathers the engine's bytes until the tick. Then every parked body reads in the same
 * event-loop turn, each in one read, and the channel sends what that released at once. Such a
 * stream's sends waited out the channel's wait for company before (channel.ts: 32 KiB or 50 ms,
 * MAX_WAIT_MS) in the channel; the wait is now in the kernel instead, one tick (plus whatever the
 * event loop is late), and not twice.
 *
 * The tick runs on the process's own timers, not on the injected clock: it is about how long
 * the kernel holds real bytes on a real socket.
 */

/** A tick: the longest a parked body's bytes wait in the kernel (the channel's own send wait). */
export const READ_TICK_MS = 50;

export class ReadPacer {
  private parked: Array<() => void> = [];
  /** The other list for `parked`, emptied after its tick (no list made per tick). */
  private spare: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(readonly tickMs: number = READ_TICK_MS) {}

  /** `wake` is called at the next tick (once; a body parks again after its next short read). */
  park(wake: () => void): void {
    this.parked.push(wake);
    // One timer for every body parked until it fires: they all read in the same turn. It keeps
    // the process alive, as a reading socket would: a parked socket does not.
    this.timer ??= setTimeout(this.tick, this.tickMs);
  }

  /** Bodies waiting for the tick (for tests and the curious). */
  get waiting(): number {
    return this.parked.length;
  }

  private readonly tick = (): void => {
    this.timer = null;
    const due = this.parked;
    this.parked = this.spare;
    try {
      for (const wake of due) wake();
    } finally {
      // Even after a wake that threw: the two lists must stay two.
      due.length = 0;
      this.spare = due;
    }
  };
}

/**
 * When a slow playback body reads again: at the next shared read tick, not as soon as the
 * engine's next bytes arrive.
 *
 * Why: an engine writes a live stream in small pieces (a real one often 1316 B, seven TS
 * packets, every few milliseconds). Read as they arrive, each channel costs a read, a wakeup of
 * the event loop and a pass through the byte path every few milliseconds, whatever its bytes:
 * at 50 channels that per-read cost was most of the proxy's CPU. A body that has read everything
 * its socket held (a short read) and whose stream brings less than a send's worth per tick is
 * parked instead (ReadRate judges that): its socket stops reading and the kernel gathers the
 * engine's bytes until the tick. Then every parked body reads in the same event-loop turn, each
 * in one read, and the channel sends what that released at once. Such a stream's sends waited
 * out the channel's wait for company before, in the channel; the wait is now in the kernel
 * instead, one tick (plus whatever the event loop is late), and not twice. So the tick and a
 * send's worth are the channel's own numbers (MAX_WAIT_MS and SEND_MIN_BYTES in channel.ts; the
 * runtime hands them over: adapters do not know the byte path).
 *
 * The tick runs on the process's own timers, not on the injected clock: it is about how long
 * the kernel holds real bytes on a real socket.
 */

export interface ReadPacing {
  /** The tick: the longest a parked body's bytes wait in the kernel. */
  tickMs: number;
  /** A send's worth: a stream bringing less per tick is paced. */
  sendBytes: number;
}

/**
 * How long a body reads before its stream's rate is judged again: long enough that a start
 * burst or a throttled moment does not decide it, short enough that a live stream is paced
 * within a fraction of a second.
 */
const RATE_WINDOW_MS = 200;

export class ReadPacer {
  private parked: Array<() => void> = [];
  /** The other list for `parked`, emptied after its tick (no list made per tick). */
  private spare: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  /** Parks so far, every body's (a read that waited for a tick instead of the engine's next bytes). */
  parks = 0;

  constructor(readonly pacing: ReadPacing) {}

  /** `wake` is called at the next tick (once; a body parks again after its next short read). */
  park(wake: () => void): void {
    this.parks++;
    this.parked.push(wake);
    // One timer for every body parked until it fires: they all read in the same turn. It keeps
    // the process alive, as a reading socket would: a parked socket does not.
    this.timer ??= setTimeout(this.tick, this.pacing.tickMs);
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

/**
 * One body's stream as the pacer sees it: whether a read that emptied the socket parks it.
 * Judged by rate alone, so a file, a start burst or a high bit rate are read as they come.
 */
export class ReadRate {
  private paced = false;
  /** Since when, and how much, read since the rate was last judged. */
  private since = performance.now();
  private bytes = 0;
  /** Read since the socket last started reading (a wake, a resume, the last judgement). */
  private tickBytes = 0;
  /**
   * Read after one tick, this ends pacing at once (until the next judgement): the stream is
   * faster than it looked, or got faster. Half again a send's worth, so a tick up to half late
   * does not end it (a later one may, for a moment); below what a connection's receive window
   * lets the engine send unread from the start (Linux: 128 KiB of buffer at first, part of it
   * overhead), so a stream that outgrows the tick is seen before its bytes back up into the
   * engine (TCP would then hold the engine back, and a rate judged on what the kernel holds would
   * never see it).
   */
  private readonly unpacedBytes: number;

  constructor(private readonly pacing: ReadPacing) {
    this.unpacedBytes = Math.floor(pacing.sendBytes * 1.5);
  }

  /** After a read of `n` bytes into a region of `room`: whether the body parks until the tick. */
  parksAfter(n: number, room: number): boolean {
    this.bytes += n;
    this.tickBytes += n;
    if (this.tickBytes >= this.unpacedBytes) this.paced = false;
    // A full read: more may be waiting.
    if (n >= room) return false;
    const now = performance.now();
    const elapsed = now - this.since;
    if (elapsed >= RATE_WINDOW_MS) {
      this.paced = this.bytes * this.pacing.tickMs < this.pacing.sendBytes * elapsed;
      this.since = now;
      this.bytes = this.tickBytes = 0;
    }
    return this.paced;
  }

  /** The socket starts reading again at a tick: a new tick's bytes. */
  woke(): void {
    this.tickBytes = 0;
  }

  /** The consumer resumed the body: the time it was paused says nothing of the stream's rate. */
  resumed(): void {
    this.since = performance.now();
    this.bytes = this.tickBytes = 0;
  }
}

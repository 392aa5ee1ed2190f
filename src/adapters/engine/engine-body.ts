/**
 * One playback response read straight off its socket: the engine's MPEG-TS body as views of
 * memory the socket read into (no copy, no stream machinery per read).
 *
 * Why not undici here: a playback body is the whole byte path's input, read for hours. Through
 * undici every socket read allocated a buffer of its own, was copied into the HTTP parser's
 * memory and pushed through a Readable; the garbage that made (a few objects and a fresh
 * ArrayBuffer per read, over fifty channels) kept V8's collector marking the heap several
 * times a second. Here the socket reads into an arena (`onread`), one buffer per 256 KiB read,
 * and the body's pieces are views of it: the arena is garbage once nothing holds a view.
 *
 * A slow stream's reads are paced (read-pacer.ts): once the body has read all its socket held
 * and the stream brings less than a send's worth per tick, the socket waits for the pacer's next
 * tick before it reads again.
 *
 * Events: 'data' (Buffer), 'caughtUp' (everything the socket held is delivered and the body
 * parks: its next read is a tick away, unless a listener pauses it), 'end' (the body is
 * complete), 'error' (Error with a `code`), then 'close' once, whatever ended it (destroy()
 * included).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { ChunkedDecoder } from './chunked-decoder.ts';
import { ReadRate, type ReadPacer } from './read-pacer.ts';
import type { BodyFraming } from './response-head.ts';

/** Arena size: several reads of a fast engine; a slow one's small reads share one for long. */
const ARENA_BYTES = 256 * 1024;
/** The most one read may take (what Node itself offers a read). */
const READ_BYTES = 64 * 1024;
/** A read is never offered less than this: the arena's rest is left and a new one begun. */
const MIN_READ = 16 * 1024;

/** A body failure with a stable code (the upstream reader maps codes, never messages). */
export class EngineBodyError extends Error {
  override name = 'EngineBodyError';
  constructor(
    readonly code: 'ENGINE_BODY_TIMEOUT' | 'ENGINE_BODY_CUT' | 'ENGINE_BAD_CHUNK',
    message: string,
  ) {
    super(message);
  }
}

/** Emptied arenas kept for reuse at most (a paused or slow consumer may hold several). */
const MAX_SPARE = 4;
/**
 * Full arenas followed at most: one the consumer holds for long keeps the younger ones
 * waiting; past this many the oldest is left to the collector (never reused, never leaked).
 */
const MAX_FULL = 32;

/**
 * Hands a socket memory to read into, and turns what it read into views. Left alone, a full
 * arena is dropped for the collector (views of it stay valid as long as they live). Once the
 * consumer says which memory it still holds (`reuseWhen`), a full arena it no longer holds
 * is read into again: a steady stream then allocates nothing, and V8 sees no external memory
 * growing (each 64 MB of it otherwise starts a full collection of the heap).
 */
export class ReadArena {
  private arena: Buffer = Buffer.allocUnsafeSlow(ARENA_BYTES);
  private pos = 0;
  /** Full arenas, oldest first, that the consumer may still hold views of. */
  private readonly full: Buffer[] = [];
  private readonly spare: Buffer[] = [];
  private held: ((memory: ArrayBufferLike) => boolean) | null = null;
  /** Arenas allocated so far (the first included). */
  allocated = 1;

  /** From now on, a full arena is reused once `held(its memory)` is false. */
  reuseWhen(held: (memory: ArrayBufferLike) => boolean): void {
    this.held = held;
  }

  /** The memory the next read goes to. */
  readonly next = (): Buffer => {
    if (this.arena.length - this.pos < MIN_READ) this.arena = this.fresh();
    return this.arena.subarray(this.pos, Math.min(this.pos + READ_BYTES, this.arena.length));
  };

  /** The `n` bytes just read into `region` (what `next` gave), as a view nobody will overwrite. */
  took(region: Buffer, n: number): Buffer {
    this.pos += n;
    return region.subarray(0, n);
  }

  private fresh(): Buffer {
    this.pos = 0;
    const held = this.held;
    if (!held) return this.make();
    this.full.push(this.arena);
    if (this.full.length > MAX_FULL) this.full.shift();
    // Free arenas are taken oldest first; one still held keeps the younger ones waiting too
    // (they are younger: the consumer lets go of memory in the order it was read).
    while (this.full.length > 0 && !held(this.full[0]!.buffer)) {
      const free = this.full.shift()!;
      if (this.spare.length < MAX_SPARE) this.spare.push(free);
    }
    return this.spare.pop() ?? this.make();
  }

  private make(): Buffer {
    this.allocated++;
    return Buffer.allocUnsafeSlow(ARENA_BYTES);
  }
}

export class EngineBody extends EventEmitter {
  /** Paused until the consumer has its listeners on and calls resume(). */
  private paused = true;
  /**
   * Decoded bytes not delivered yet: those that came with the head, and the rest of a read
   * that was being delivered when the consumer paused (they go out at the next resume()).
   */
  private held: Buffer[] = [];
  /** The body completed while bytes were held: 'end' follows them. */
  private endHeld = false;
  /** The body failed while nobody listened for it: 'error' goes out at the next resume(). */
  private errorHeld = false;
  /** The error that ended the body, if one did (for a consumer that comes after it). */
  errored: Error | null = null;
  private over = false;
  private readonly decoder: ChunkedDecoder | null;
  /** Bytes left of a body with a Content-Length. */
  private left: number;
  /** Its stream's rate as the pacer judges it (none without a pacer). */
  private readonly rate: ReadRate | null;
  /** Socket reads so far, and the times one parked the socket. */
  reads = 0;
  parks = 0;
  private readonly wake = (): void => {
    // Paused, over or destroyed meanwhile: its resume() (if any) starts the socket again.
    if (!this.reading) return;
    this.rate!.woke();
    this.socket.resume();
  };
  private readonly deliver = (data: Buffer): void => {
    if (this.paused) this.held.push(data);
    else this.emit('data', data);
  };

  /**
   * @param socket the connection, its head already read; its reads now come through `take`
   * @param bodyTimeoutMs longest silence of the body in real time (0: none); not counted while paused
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly framing: BodyFraming,
    private readonly bodyTimeoutMs: number,
    private readonly arena: ReadArena,
    private readonly pacer: ReadPacer | null = null,
  ) {
    super();
    this.decoder = framing.kind === 'chunked' ? new ChunkedDecoder() : null;
    this.rate = pacer ? new ReadRate(pacer.pacing) : null;
    this.left = framing.kind === 'length' ? framing.bytes : Infinity;
    socket.pause();
    socket.on('timeout', () => this.fail(new EngineBodyError('ENGINE_BODY_TIMEOUT', `no body bytes for ${bodyTimeoutMs} ms`)));
    socket.on('error', (err) => this.fail(err));
    socket.on('end', () => this.eof());
    socket.on('close', () => this.eof());
  }

  /**
   * The consumer copies what it keeps beyond the views `held` says it holds: the memory read
   * into may then be read into again once neither it nor this body (bytes delivered at the
   * next resume) holds a view of it. Without this, memory is never reused.
   */
  reuseWhen(held: (memory: ArrayBufferLike) => boolean): void {
    this.arena.reuseWhen((memory) => {
      for (const b of this.held) if (b.buffer === memory) return true;
      return held(memory);
    });
  }

  /** Read memory allocated for this body so far, in arenas (reuse keeps it flat). */
  get arenasAllocated(): number {
    return this.arena.allocated;
  }

  /** Body bytes read off the socket (and those that came in the read that ended the head: held until the first resume). */
  take(bytes: Buffer): void {
    if (this.over || bytes.length === 0) return;
    try {
      if (this.decoder) {
        this.decoder.decode(bytes, this.deliver);
        if (this.decoder.done) this.complete();
        return;
      }
      const n = Math.min(bytes.length, this.left);
      if (n > 0) {
        this.left -= n;
        this.deliver(n === bytes.length ? bytes : bytes.subarray(0, n));
      }
      if (this.left === 0) this.complete();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  /** Whether the socket should go on reading (false: paused by the consumer, or over). */
  get reading(): boolean {
    return !this.paused && !this.over;
  }

  /**
   * After a socket read of `n` bytes into a region of `room` (and its `take`): whether the
   * socket reads on at once. It does not when the consumer paused, the body is over, or the
   * read was short (the socket held no more) on a paced stream: then the body is parked until
   * the pacer's tick, and says so ('caughtUp').
   */
  readOn(n: number, room: number): boolean {
    this.reads++;
    if (!this.reading) return false;
    if (!this.pacer || !this.rate!.parksAfter(n, room)) return true;
    this.parks++;
    this.emit('caughtUp');
    // Its listener may have paused or ended the body: it is not woken then (see wake).
    if (this.reading) this.pacer.park(this.wake);
    return false;
  }

  pause(): this {
    if (this.paused || (this.over && !this.endHeld)) return this;
    this.paused = true;
    if (this.over) return this;
    // Our consumer waiting is not the engine falling silent.
    this.socket.setTimeout(0);
    this.socket.pause();
    return this;
  }

  resume(): this {
    if (this.errorHeld) {
      this.errorHeld = false;
      this.paused = false;
      if (this.listenerCount('error') > 0) this.emit('error', this.errored!);
      this.emit('close');
      return this;
    }
    if (!this.paused || (this.over && !this.endHeld)) return this;
    this.paused = false;
    while (this.held.length > 0 && !this.paused) this.emit('data', this.held.shift()!);
    if (this.held.length === 0 && this.endHeld && !this.paused) {
      this.endHeld = false;
      this.emit('end');
      this.emit('close');
    }
    if (this.paused || this.over) return this;
    this.rate?.resumed();
    this.socket.setTimeout(this.bodyTimeoutMs);
    this.socket.resume();
    return this;
  }

  /** Ends the body without an error of its own ('close' follows); held bytes are dropped. */
  destroy(err?: Error): this {
    if (err) this.fail(err);
    else if (this.endHeld || this.errorHeld) {
      this.endHeld = this.errorHeld = false;
      this.held = [];
      this.emit('close');
    } else this.finish(null, false);
    return this;
  }

  private eof(): void {
    if (this.over) return;
    // A chunked or sized body must be complete; one delimited by the close is complete now.
    if (this.framing.kind === 'close') this.complete();
    else this.fail(new EngineBodyError('ENGINE_BODY_CUT', 'the engine closed the connection in the middle of the body'));
  }

  private complete(): void {
    this.finish(null, true);
  }

  private fail(err: Error): void {
    this.finish(err, false);
  }

  private finish(err: Error | null, ended: boolean): void {
    if (this.over) return;
    this.over = true;
    this.socket.setTimeout(0);
    this.socket.destroy();
    if (err) {
      this.errored = err;
      this.held = [];
      // Nobody listening yet (the failure came with the head, before the consumer put its
      // listeners on and resumed): it is told at its resume(). An unheard 'error' would
      // throw out of a socket callback.
      if (this.listenerCount('error') === 0) {
        this.errorHeld = true;
        return;
      }
      this.emit('error', err);
    } else if (ended && (this.held.length > 0 || this.paused)) {
      // The last bytes wait for the consumer, or the consumer paused: 'end' and 'close' wait for its resume().
      this.endHeld = true;
      return;
    } else if (ended) this.emit('end');
    this.emit('close');
  }
}

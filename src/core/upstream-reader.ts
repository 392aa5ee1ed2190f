/**
 * The real `readUpstream`: opens the engine's playback body into the session's channel and
 * tells the session machine when the first PAT + random-access point went out
 * (UPSTREAM_SYNCED) or when the upstream is lost (UPSTREAM_FAILED): EOF, a socket error,
 * silence past EMPTY_TIMEOUT, no sync point in time, or stat saying the session is dead.
 */
import type { Clock, TimerHandle } from '../clock.ts';
import type { EngineClient } from '../adapters/engine/client.ts';
import type { EngineBody } from '../adapters/engine/engine-body.ts';
import { bodyFailureOf, isSessionGone, upstreamFailureOf, type UpstreamFailureCode } from '../adapters/engine/errors.ts';
import { discard } from '../adapters/http-errors.ts';
import type { UpstreamPort } from './session-actors.ts';
import type { UpstreamValve } from '../fanout/channel.ts';
import type { Logger } from '../log.ts';

export interface UpstreamReaderOptions {
  engine: Pick<EngineClient, 'playback' | 'stat'>;
  clock: Clock;
  /** Longest silence (ACERELAY_EMPTY_TIMEOUT). */
  emptyTimeoutMs: number;
  /** Longest wait for headers and then for the first sync point (ACERELAY_NO_RESPONSE_TIMEOUT). */
  noResponseTimeoutMs: number;
  /** How often stat is asked whether the engine still knows the session. */
  statIntervalMs?: number;
  logger?: Logger;
}

export function createUpstreamReader(opts: UpstreamReaderOptions): UpstreamPort {
  const statEvery = opts.statIntervalMs ?? 15_000;
  return ({ channel, playback: started }, report) => {
    const abort = new AbortController();
    let over = false;
    let synced = false;
    let lastData = opts.clock.now();
    let body: EngineBody | null = null;
    let valve: UpstreamValve | null = null;
    // One handle per purpose, replaced when re-armed: a stream that runs for days keeps three.
    const timers: Record<'sync' | 'silence' | 'stat', TimerHandle | undefined> = { sync: undefined, silence: undefined, stat: undefined };
    const arm = (name: keyof typeof timers, fn: () => void, ms: number) => {
      if (timers[name] !== undefined) opts.clock.clearTimeout(timers[name]);
      timers[name] = opts.clock.setTimeout(() => {
        timers[name] = undefined;
        fn();
      }, ms);
    };

    const fail = (code: UpstreamFailureCode, message: string) => {
      if (over) return;
      over = true;
      stop();
      report({ type: 'UPSTREAM_FAILED', code, message });
    };
    const stop = () => {
      if (valve) channel.clearValve(valve);
      abort.abort();
      body?.destroy();
      for (const name of ['sync', 'silence', 'stat'] as const) {
        if (timers[name] !== undefined) opts.clock.clearTimeout(timers[name]);
        timers[name] = undefined;
      }
    };

    channel.beginUpstream();
    const onSynced = () => {
      if (synced || over) return;
      synced = true;
      if (timers.sync !== undefined) opts.clock.clearTimeout(timers.sync);
      timers.sync = undefined;
      report({ type: 'UPSTREAM_SYNCED' });
    };

    // Headers, then the first sync point, must come within the no-response timeout: a body
    // of bytes with no random-access point is as good as none, and a player is waiting.
    arm(
      'sync',
      () => {
        if (!synced) fail('ENGINE_NO_SYNC', `no PAT + random-access point within ${opts.noResponseTimeoutMs} ms`);
      },
      opts.noResponseTimeoutMs,
    );

    // Silence is watched on our clock (the body's own timeout backs it up in real time).
    const watchSilence = () => {
      // Paused by us (every player behind) is not the engine falling silent.
      if (channel.throttled) lastData = opts.clock.now();
      const idle = opts.clock.now() - lastData;
      if (idle >= opts.emptyTimeoutMs) return fail('ENGINE_STALLED', `no bytes for ${idle} ms`);
      arm('silence', watchSilence, Math.min(1000, opts.emptyTimeoutMs - idle));
    };

    const pollStat = () => {
      if (over || !started.statUrl) return;
      opts.engine.stat(started.statUrl, abort.signal).then(
        () => {
          if (!over) arm('stat', pollStat, statEvery);
        },
        (err: unknown) => {
          if (isSessionGone(err)) return fail('ENGINE_SESSION_GONE', (err as Error).message);
          // A stat that does not answer says nothing the body does not say better.
          if (!over) arm('stat', pollStat, statEvery);
        },
      );
    };

    opts.engine.playback(started.playbackUrl, abort.signal).then(
      (playback) => {
        if (over) {
          discard(playback.body);
          return;
        }
        body = playback.body;
        lastData = opts.clock.now();
        // Paused, the body stops reading its socket: TCP holds the engine back, and the body's
        // own timeout does not run while its consumer is the one waiting.
        const { body: stream } = playback;
        valve = { pause: () => stream.pause(), resume: () => stream.resume() };
        channel.setValve(valve);
        playback.body.on('data', (chunk: Buffer) => {
          lastData = opts.clock.now();
          channel.push(chunk);
          if (!synced && channel.flowing) onSynced();
        });
        // The socket's bytes are all read and the next read is a tick away (a slow stream's
        // reads are paced): what they released goes out now, not after a wait for company.
        playback.body.on('caughtUp', channel.flush);
        playback.body.on('end', () => fail('ENGINE_EOF', 'the engine ended the stream'));
        playback.body.on('error', (err: Error) => fail(bodyFailureOf(err), err.message));
        playback.body.on('close', () => fail('ENGINE_EOF', 'the engine closed the stream'));
        // The channel copies what it keeps: memory it holds no view of can be read into again.
        playback.body.reuseWhen((memory) => channel.holdsUpstream(memory));
        // Listeners on: now the bytes may flow (the body starts paused).
        playback.body.resume();
        watchSilence();
        arm('stat', pollStat, statEvery);
      },
      (err: Error) => {
        if (!over) fail(upstreamFailureOf(err), err.message);
      },
    );

    return () => {
      over = true;
      stop();
    };
  };
}

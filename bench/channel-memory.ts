/**
 * Per-channel memory against the replay window, measured on the byte path itself: one
 * Channel fed the simulator's 4 Mbit/s stream (null packets and all) in the engine's write
 * sizes, with players that take everything, sampled after every upstream write. Counted:
 * what the channel holds for its players (slabs, replay window, output waiting to be sent,
 * the held-back frame, the aligner's partial packet), from Channel.bufferedBytes.
 */
import { Channel } from '../src/fanout/channel.ts';
import type { OutChunk } from '../src/fanout/out-chunk.ts';
import type { PlayerSink } from '../src/fanout/player-sink.ts';
import { recordLiveStream } from '../src/ts/live-stream.ts';
import { round } from './stats.ts';

export interface ChannelMemory {
  chunkBytes: number;
  /** The largest replay window seen, and the most the channel held (KiB). */
  windowPeakKiB: number;
  heldPeakKiB: number;
  /** heldPeak / windowPeak: the goal is ≤ 1.5. */
  peakRatio: number;
  /** Means over the run (the window grows by a GOP and drops at each random-access point). */
  windowMeanKiB: number;
  heldMeanKiB: number;
}

const STREAM_SECONDS = 30;
const PLAYERS = 20;

const taker = (id: string): PlayerSink => ({
  id,
  write: (_chunk: OutChunk) => {},
  backlog: () => 0,
  flushed: () => 0,
  drop: () => {},
});

export async function measureChannelMemory(bitrate: number, chunks: number[]): Promise<ChannelMemory[]> {
  const data = await recordLiveStream(STREAM_SECONDS, { bitrate });
  const out: ChannelMemory[] = [];
  for (const chunkBytes of chunks) {
    const size = chunkBytes > 0 ? chunkBytes : 53 * 188;
    const channel = new Channel({ id: 'memory', bufferBytes: 4 * 1024 * 1024 });
    channel.beginUpstream();
    for (let i = 0; i < PLAYERS; i++) channel.attach(taker(`p${i}`));
    let windowPeak = 0;
    let heldPeak = 0;
    let windowSum = 0;
    let heldSum = 0;
    let n = 0;
    // The first GOPs fill the window; measure after them.
    const from = Math.floor(data.length / 5);
    for (let at = 0; at + size <= data.length; at += size) {
      channel.push(Buffer.from(data.subarray(at, at + size)));
      if (at < from) continue;
      const held = channel.bufferedBytes;
      const window = channel.windowBytes;
      windowPeak = Math.max(windowPeak, window);
      heldPeak = Math.max(heldPeak, held);
      windowSum += window;
      heldSum += held;
      n++;
    }
    channel.close();
    out.push({
      chunkBytes,
      windowPeakKiB: round(windowPeak / 1024, 0),
      heldPeakKiB: round(heldPeak / 1024, 0),
      peakRatio: round(heldPeak / windowPeak, 2),
      windowMeanKiB: round(windowSum / n / 1024, 0),
      heldMeanKiB: round(heldSum / n / 1024, 0),
    });
  }
  return out;
}

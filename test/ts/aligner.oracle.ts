/** The aligner before pushParts (it joined a held partial packet with the whole next chunk): the oracle for the faster one. */
import { PACKET_SIZE, SYNC_BYTE } from '../../src/ts/packet.ts';

/** Sync bytes that must follow a candidate before a lost stream counts as found again. */
const CONFIRMATIONS = 2;
const EMPTY = Buffer.alloc(0);

/**
 * Turns arbitrary upstream chunks into whole 188-byte packets. Keeps a partial packet
 * between chunks and, when a packet does not start with 0x47, drops bytes until three sync
 * bytes in a row sit 188 bytes apart. A chunk that is already aligned is returned as is.
 */
export class JoiningAligner {
  /** Bytes thrown away while looking for sync. */
  droppedBytes = 0;
  /** Times sync was lost. */
  resyncs = 0;

  private remainder: Buffer = EMPTY;
  private searching = false;

  /** Bytes held back until the next chunk completes them. */
  get pending(): number {
    return this.remainder.length;
  }

  /** Forget the held-back bytes (a new upstream starts); returns how many there were. */
  reset(): number {
    const dropped = this.remainder.length;
    this.remainder = EMPTY;
    this.searching = false;
    return dropped;
  }

  /** Returns the whole packets now available: a Buffer whose length is a multiple of 188. */
  push(chunk: Buffer): Buffer {
    if (this.remainder.length === 0 && !this.searching && isAligned(chunk)) return chunk;
    const buf = this.remainder.length === 0 ? chunk : Buffer.concat([this.remainder, chunk]);
    const len = buf.length;
    // Runs of good packets as [start, end) pairs, so a clean stretch costs no copy.
    const runs: number[] = [];
    let pos = 0;
    while (pos < len) {
      if (this.searching) {
        const found = findSync(buf, pos);
        if (found < 0) {
          // Keep only the tail that could still start a confirmed packet.
          const keep = Math.max(pos, len - (CONFIRMATIONS + 1) * PACKET_SIZE + 1);
          const candidate = firstSyncFrom(buf, keep);
          const from = candidate < 0 ? len : candidate;
          this.droppedBytes += from - pos;
          pos = from;
          break;
        }
        this.droppedBytes += found - pos;
        pos = found;
        this.searching = false;
      }
      if (pos + PACKET_SIZE > len) break;
      const start = pos;
      while (pos + PACKET_SIZE <= len && buf[pos] === SYNC_BYTE) pos += PACKET_SIZE;
      if (pos > start) {
        const last = runs.length - 1;
        if (last >= 0 && runs[last] === start) runs[last] = pos;
        else runs.push(start, pos);
      }
      if (pos + PACKET_SIZE <= len || (pos < len && buf[pos] !== SYNC_BYTE)) {
        this.searching = true;
        this.resyncs++;
      }
    }
    // Copy the tail: upstream chunks may be pooled and reused by their producer.
    this.remainder = pos < len ? Buffer.from(buf.subarray(pos)) : EMPTY;
    if (runs.length === 0) return EMPTY;
    if (runs.length === 2) return buf.subarray(runs[0], runs[1]);
    const parts: Buffer[] = [];
    for (let i = 0; i < runs.length; i += 2) parts.push(buf.subarray(runs[i], runs[i + 1]));
    return Buffer.concat(parts);
  }
}

function isAligned(chunk: Buffer): boolean {
  const len = chunk.length;
  if (len % PACKET_SIZE !== 0) return false;
  for (let i = 0; i < len; i += PACKET_SIZE) if (chunk[i] !== SYNC_BYTE) return false;
  return true;
}

/** First offset ≥ from whose sync byte is confirmed by the next CONFIRMATIONS packets. */
function findSync(buf: Buffer, from: number): number {
  const last = buf.length - (CONFIRMATIONS + 1) * PACKET_SIZE;
  for (let i = buf.indexOf(SYNC_BYTE, from); i >= 0 && i <= last; i = buf.indexOf(SYNC_BYTE, i + 1)) {
    let ok = true;
    for (let c = 1; c <= CONFIRMATIONS && ok; c++) ok = buf[i + c * PACKET_SIZE] === SYNC_BYTE;
    if (ok) return i;
  }
  return -1;
}

function firstSyncFrom(buf: Buffer, from: number): number {
  return from < buf.length ? buf.indexOf(SYNC_BYTE, from) : -1;
}

import type { TimerHandle } from '../clock.ts';
import type { PlaybackReader } from './engine-playback.ts';

export type EndReason = 'stop' | 'superseded' | 'expired' | 'restart' | 'removed';
export type SourceKind = 'content_id' | 'infohash' | 'url' | 'magnet';

export interface SimSessionState {
  playback_session_id: string;
  infohash: string;
  pid: string | null;
  readers: number;
  started_at: number;
  stopped_at: number | null;
  stop_calls: number;
  end_reason: EndReason | null;
  reader_conflicts: number;
  token: string;
  key: string;
  key_type: SourceKind;
  first_read_at: number | null;
  bytes_out: number;
}

/** One engine session (one start): its identity, lifecycle and counters. */
export class EngineSession {
  stoppedAt: number | null = null;
  endReason: EndReason | null = null;
  stopCalls = 0;
  readerConflicts = 0;
  firstReadAt: number | null = null;
  bytesOut = 0;
  reader: PlaybackReader | null = null;
  idleTimer: TimerHandle | null = null;

  constructor(
    readonly id: string,
    readonly token: string,
    readonly infohash: string,
    readonly pid: string | null,
    readonly key: string,
    readonly keyType: SourceKind,
    readonly startedAt: number,
  ) {}

  get alive(): boolean {
    return this.stoppedAt === null;
  }

  state(): SimSessionState {
    return {
      playback_session_id: this.id,
      infohash: this.infohash,
      pid: this.pid,
      readers: this.reader ? 1 : 0,
      started_at: this.startedAt,
      stopped_at: this.stoppedAt,
      stop_calls: this.stopCalls,
      end_reason: this.endReason,
      reader_conflicts: this.readerConflicts,
      token: this.token,
      key: this.key,
      key_type: this.keyType,
      first_read_at: this.firstReadAt,
      bytes_out: this.bytesOut,
    };
  }
}

/**
 * What a player actor needs from its connection: the socket side of the player machine's
 * actions. The HTTP layer implements it (src/server/player-connection.ts); pure tests record it.
 */
import type { PlayerError, PlayerOutcome } from '../machines/player.machine.ts';
import type { Channel } from '../fanout/channel.ts';

export interface PlayerIO {
  /** How the player is served: an endless TS response (the default), or a channel's HLS audience. */
  readonly transport?: 'ts' | 'hls';
  /** For an HLS audience: the distinct clients seen within the idle window. */
  clientCount?(): number;
  /** 200 (once) and keep-alive null packets until `unhold`. */
  hold(): void;
  unhold(): void;
  /** 200 (once) and the channel's bytes from its replay window on. */
  attach(channel: Channel): void;
  /** The end of the player: an error answer before any byte, a reset, or a close. */
  finish(outcome: PlayerOutcome, error: PlayerError | null): void;
}

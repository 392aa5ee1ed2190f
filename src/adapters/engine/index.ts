export * from './client.ts';
export * from './errors.ts';
export type { StartRequest } from './start.ts';
export type { Source, StartedPlayback } from '../../domain/stream.ts';
export type { SessionStat } from './stat.ts';
export type { Playback } from './playback.ts';
export { rebase } from './rebase.ts';

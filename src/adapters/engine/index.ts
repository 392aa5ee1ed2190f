export * from './client.ts';
export * from './errors.ts';
export type { EngineSession, Source, StartRequest } from './start.ts';
export type { SessionStat } from './stat.ts';
export type { Playback } from './playback.ts';
export { rebase } from './rebase.ts';

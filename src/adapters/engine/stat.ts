/** Poll a session's `stat_url`. A dead session answers 200 with `unknown playback session id`. */
import { EngineBadResponseError, EngineSessionGoneError } from './errors.ts';
import { envelope, getJson, type EngineCallOptions } from './http.ts';

export interface SessionStat {
  /** `''` before the first status (`{}`), then idle → prebuf → dl. */
  status: string;
  peers: number;
  speedDownKBps: number;
  speedUpKBps: number;
  downloaded: number;
  uploaded: number;
}

export async function getStat(statUrl: string, options: EngineCallOptions): Promise<SessionStat> {
  const { response, error } = envelope(await getJson(new URL(statUrl), options), 'stat');
  if (error !== null) throw new EngineSessionGoneError(`stat: ${error}`);
  if (typeof response !== 'object' || response === null) throw new EngineBadResponseError('stat: empty response');
  const r = response as Record<string, unknown>;
  const n = (v: unknown) => (Number.isFinite(Number(v)) ? Number(v) : 0);
  return {
    status: typeof r.status === 'string' ? r.status : '',
    peers: n(r.peers),
    speedDownKBps: n(r.speed_down),
    speedUpKBps: n(r.speed_up),
    downloaded: n(r.downloaded),
    uploaded: n(r.uploaded),
  };
}

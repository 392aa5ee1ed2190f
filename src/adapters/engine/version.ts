/** `get_version`: the cheapest proof that an engine's API answers (readiness probe). */
import { EngineBadResponseError } from './errors.ts';
import { envelope, getJson, type EngineCallOptions } from './http.ts';

export interface EngineVersion {
  code: number;
  version: string;
  platform: string;
}

export async function getVersion(engineBase: string, options: EngineCallOptions): Promise<EngineVersion> {
  const url = new URL('/webui/api/service', engineBase);
  url.searchParams.set('method', 'get_version');
  const { response, error } = envelope(await getJson(url, options), 'get_version');
  if (error !== null || typeof response !== 'object' || response === null) {
    throw new EngineBadResponseError(`get_version: ${error ?? 'empty answer'}`);
  }
  const r = response as Record<string, unknown>;
  return { code: Number(r.code) || 0, version: String(r.version ?? ''), platform: String(r.platform ?? '') };
}

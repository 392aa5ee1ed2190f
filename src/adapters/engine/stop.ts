/** Stop a session with `command_url?method=stop`. */
import { EngineBadResponseError } from './errors.ts';
import { envelope, getJson, type EngineCallOptions } from './http.ts';

/** true when the engine stopped it now; false when it was already gone (unknown session). */
export async function stopSession(commandUrl: string, options: EngineCallOptions): Promise<boolean> {
  const url = new URL(commandUrl);
  url.searchParams.set('method', 'stop');
  const { response, error } = envelope(await getJson(url, options), 'stop');
  if (error !== null) {
    if (/unknown playback session/i.test(error)) return false;
    throw new EngineBadResponseError(`stop: ${error}`);
  }
  void response;
  return true;
}

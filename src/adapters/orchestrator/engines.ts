/** `GET /engines` and `GET /engines/{id}`. */
import { call, type OrchestratorHttpOptions } from './http.ts';
import { expectJson } from './expect.ts';
import { parseEngineOrMissing, parseEngines } from './parse.ts';
import type { EngineInfo } from './types.ts';

export async function listEngines(opts: OrchestratorHttpOptions, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<EngineInfo[]> {
  const answer = await call(opts, 'GET', '/engines', options);
  return parseEngines(expectJson(answer, 'engines', opts.apiKey));
}

/** One engine, or null when the orchestrator does not know it (it answers 200 `{"error":"not found"}`). */
export async function getEngine(
  opts: OrchestratorHttpOptions,
  containerId: string,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<EngineInfo | null> {
  const answer = await call(opts, 'GET', `/engines/${encodeURIComponent(containerId)}`, options);
  if (answer.status === 404) return null;
  return parseEngineOrMissing(expectJson(answer, 'engine', opts.apiKey));
}

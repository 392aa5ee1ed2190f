/** `GET /orchestrator/status`. Only the status feed calls this. */
import { call, type OrchestratorHttpOptions } from './http.ts';
import { expectJson } from './expect.ts';
import { parseStatus } from './parse.ts';
import type { OrchestratorStatus } from './types.ts';

export async function getStatus(opts: OrchestratorHttpOptions, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<OrchestratorStatus> {
  const answer = await call(opts, 'GET', '/orchestrator/status', options);
  return parseStatus(expectJson(answer, 'status', opts.apiKey));
}

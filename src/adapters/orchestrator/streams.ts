/** `GET /streams?status=…&container_id=…`. */
import { call, type OrchestratorHttpOptions } from './http.ts';
import { expectJson } from './expect.ts';
import { parseStreams } from './parse.ts';
import type { StreamRecord } from './types.ts';

export async function listStreams(
  opts: OrchestratorHttpOptions,
  filter: { status?: 'started' | 'ended'; containerId?: string } = {},
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<StreamRecord[]> {
  const answer = await call(opts, 'GET', '/streams', { ...options, query: { status: filter.status, container_id: filter.containerId } });
  return parseStreams(expectJson(answer, 'streams', opts.apiKey));
}

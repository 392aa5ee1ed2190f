/** JSON views of live sessions and players (status route, API, inspector). */
import type { SessionRegistry, SessionRecord } from '../core/session-registry.ts';
import { sessionPhase } from '../machines/session.machine.ts';
import { stateName } from '../machines/state-name.ts';

export function describeSession(registry: SessionRegistry, s: SessionRecord) {
  const snap = s.actor.getSnapshot();
  const c = snap.context;
  const players = registry
    .listPlayers()
    .filter((p) => p.sessionId === s.id)
    .map((p) => registry.describePlayer(p));
  return {
    id: s.id,
    key: s.key,
    state: stateName(snap.value),
    phase: sessionPhase(snap).kind,
    content: c.source,
    infohash: c.infohash,
    params: c.params,
    engine: c.engine ? { container_id: c.engine.containerId, host: c.engine.host, port: c.engine.port } : null,
    stream_id: c.streamId,
    wait: c.wait,
    failovers: c.failovers,
    last_problem: c.lastProblem,
    players,
    hls_clients: players.reduce((n, p) => n + (p.clients ?? 0), 0),
    bytes_in: s.channel.bytesIn,
    bytes_out: s.channel.bytesOut,
    created_at: s.createdAt,
  };
}

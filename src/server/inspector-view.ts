/**
 * Live sessions as the inspector needs them: describeSession plus the raw StateValue of the
 * session and of each player (the page highlights diagram nodes from it, whatever the state
 * names), each player's age, and when each actor entered its current state.
 */
import type { SessionRegistry, SessionRecord } from '../core/session-registry.ts';
import type { InspectionHub } from '../core/inspection-hub.ts';
import { describeSession } from './describe.ts';

export function liveSessionView(registry: SessionRegistry, hub: InspectionHub, s: SessionRecord) {
  const described = describeSession(registry, s);
  const players = new Map(registry.listPlayers().filter((p) => p.sessionId === s.id).map((p) => [p.id, p]));
  return {
    ...described,
    value: s.actor.getSnapshot().value,
    since: hub.latest(s.id)?.t ?? null,
    players: described.players.map((p) => {
      const record = players.get(p.id);
      return {
        ...p,
        value: record?.actor.getSnapshot().value ?? null,
        created_at: record?.createdAt ?? null,
        since: hub.latest(p.id)?.t ?? null,
      };
    }),
  };
}

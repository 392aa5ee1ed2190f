/**
 * Event sourcing, checked: for random sequences of players, orchestrator moods, engine
 * failures and time, every session and player rebuilt from the journal is in the state the
 * live actor was in.
 */
import { expect, test } from 'vitest';
import fc from 'fast-check';
import { PureWorld, engineInfo, healthyStatus, type RecordedPlayer } from '../support/pure-world.ts';
import { InspectionHub } from '../../src/core/inspection-hub.ts';
import { Journal } from '../../src/adapters/journal/journal.ts';
import { replayPlayer, replaySession } from '../../src/core/replay.ts';
import { recoveryFacts } from '../../src/machines/session.machine.ts';
import { MACHINE_VERSIONS } from '../../src/machines/versions.ts';
import { silentLogger } from '../../src/log.ts';
import type { OrchestratorStatus } from '../../src/adapters/orchestrator/types.ts';

const blocked = (code: string, eta: number | null, canRetry = false): OrchestratorStatus => ({
  ...healthyStatus({ canProvision: false, blocked: { code, message: code, etaSeconds: eta, canRetry, shouldWait: true } }, code !== 'vpn_disconnected'),
  status: 'degraded',
});

const STATUSES: Record<string, () => OrchestratorStatus> = {
  healthy: () => healthyStatus(),
  vpn: () => blocked('vpn_disconnected', 60, true),
  breaker: () => blocked('circuit_breaker', 30),
  breaker0: () => blocked('circuit_breaker', 0),
  capacity: () => blocked('max_capacity', null),
};

type Step =
  | { kind: 'join'; channel: number }
  | { kind: 'leave'; index: number }
  | { kind: 'status'; name: keyof typeof STATUSES | 'unknown' }
  | { kind: 'fail'; index: number }
  | { kind: 'engineDown'; engine: number; down: boolean }
  | { kind: 'wait'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('join' as const), channel: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant('leave' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('status' as const), name: fc.constantFrom('healthy', 'vpn', 'breaker', 'breaker0', 'capacity', 'unknown') as fc.Arbitrary<Step & { kind: 'status' } extends { name: infer N } ? N : never> }),
  fc.record({ kind: fc.constant('fail' as const), index: fc.nat() }),
  fc.record({ kind: fc.constant('engineDown' as const), engine: fc.integer({ min: 1, max: 2 }), down: fc.boolean() }),
  fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 10, max: 40_000 }) }),
);

test('replaying the journal gives every session and player the state its live actor had, and the recovery facts journaled with it', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
      const { journal } = Journal.open({ dir: '.', filename: ':memory:', clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => {} }, logger: silentLogger });
      const engines = [engineInfo('e1', 6001), engineInfo('e2', 6002)];
      let hub: InspectionHub | null = null;
      // What each live actor itself last emitted (independent of the journal).
      const lastLive = new Map<string, { value: unknown; context: Record<string, unknown> }>();
      const w = new PureWorld({
        engines,
        holdMaxMs: 60_000,
        lingerMs: 2_000,
        observer: {
          created: (...args) => hub!.created(...args),
          inspect: (ev) => {
            hub!.inspect(ev);
            const snap = (ev as { snapshot?: unknown }).snapshot as { value?: unknown; context?: Record<string, unknown> } | undefined;
            if (ev.type === '@xstate.snapshot' && snap && 'value' in snap) {
              lastLive.set((ev.actorRef as unknown as { id: string }).id, { value: snap.value, context: snap.context! });
            }
          },
        },
      });
      hub = new InspectionHub(w.clock);
      hub.subscribe((entry) => journal.append(entry));
      const players: RecordedPlayer[] = [];
      for (const st of steps) {
        try {
          switch (st.kind) {
            case 'join':
              players.push(w.player(`id=${String(st.channel + 1).repeat(40)}`));
              break;
            case 'leave': {
              const live = players.filter((p) => w.state(p) !== 'gone');
              if (live.length) w.disconnect(live[st.index % live.length]!);
              break;
            }
            case 'status':
              if (st.name === 'unknown') w.pollFails();
              else w.poll(STATUSES[st.name]!(), engines);
              break;
            case 'fail': {
              const sessions = w.registry.listSessions().filter((s) => s.actor.getSnapshot().matches('running'));
              if (sessions.length) w.failUpstream(sessions[st.index % sessions.length]!.id);
              break;
            }
            case 'engineDown': {
              const base = `http://10.0.0.1:${6000 + st.engine}`;
              if (st.down) w.downEngines.add(base);
              else w.downEngines.delete(base);
              break;
            }
            case 'wait':
              await w.advance(st.ms);
              break;
          }
        } catch {
          // connect() refusing (content failure memory) is a legitimate answer.
        }
      }
      await w.advance(1);
      let sessions = 0;
      for (const [id, live] of lastLive) {
        const entries = journal.entriesOfActor(id);
        if (id.startsWith('s')) {
          sessions++;
          const replayed = replaySession(entries);
          expect(replayed, id).not.toBeNull();
          // What a later version of the machine would recover from says what the replay says.
          expect(entries[0]!.facts.machine_version, id).toBe(MACHINE_VERSIONS.session);
          expect(entries.at(-1)!.facts.recovery, id).toEqual(recoveryFacts(replayed!.value, replayed!.context));
          expect({ value: replayed!.value, ctx: pick(replayed!.context as unknown as Record<string, unknown>) }, id).toEqual({ value: live.value, ctx: pick(live.context) });
        } else {
          const replayed = replayPlayer(entries);
          expect(replayed, id).not.toBeNull();
          expect({ value: replayed!.value, outcome: replayed!.context.outcome, error: replayed!.context.error }, id).toEqual({
            value: live.value,
            outcome: live.context.outcome,
            error: live.context.error,
          });
        }
      }
      if (players.length > 0) expect(sessions).toBeGreaterThan(0);
      journal.close();
    }),
    { numRuns: 60 },
  );
}, 120_000);

function pick(c: Record<string, unknown>): Record<string, unknown> {
  const engine = c.engine as { containerId?: string } | null;
  return {
    players: [...(c.players as string[])].sort(),
    engine: engine?.containerId ?? null,
    streamId: c.streamId,
    infohash: c.infohash,
    failovers: c.failovers,
    synced: c.synced,
    everLive: c.everLive,
    endReason: c.endReason,
    failure: c.failure,
    wait: c.wait,
  };
}

/**
 * The outbox and the reconciler against a scripted orchestrator on virtual time: ends matched
 * by stream id (not container), refusals remembered beyond their queue, auth errors final,
 * and the orchestrator's list repaired after it forgot or kept what it should not.
 */
import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { Outbox, type EventPort } from '../../src/core/event-outbox.ts';
import { StreamReconciler } from '../../src/core/stream-reconciler.ts';
import { OrchestratorAuthError, OrchestratorHttpError, OrchestratorUnreachableError } from '../../src/adapters/orchestrator/errors.ts';
import type { StreamEndedEvent, StreamStartedEvent } from '../../src/adapters/orchestrator/types.ts';
import type { OutboxItem } from '../../src/domain/journal.ts';
import { silentLogger } from '../../src/log.ts';

/** An orchestrator that keeps a started list and answers as scripted. */
class FakeOrchestrator implements EventPort {
  /** id → container it files the stream under. */
  readonly started = new Map<string, string>();
  readonly calls: string[] = [];
  down = false;
  startAnswer: Error | null = null;
  /** Where it files a start (the real one: the engine with the same host:port, whatever the id). */
  fileUnder = (ev: StreamStartedEvent) => ev.containerId;

  async streamStarted(ev: StreamStartedEvent) {
    this.calls.push(`start ${ev.streamId}`);
    if (this.down) throw new OrchestratorUnreachableError('refused');
    if (this.startAnswer) throw this.startAnswer;
    this.started.set(ev.streamId, this.fileUnder(ev));
    return {};
  }

  async streamEnded(ev: StreamEndedEvent) {
    this.calls.push(`end ${ev.streamId}@${ev.containerId}`);
    if (this.down) throw new OrchestratorUnreachableError('refused');
    this.started.delete(ev.streamId);
    return {};
  }

  async startedStreams() {
    this.calls.push('list');
    if (this.down) throw new OrchestratorUnreachableError('refused');
    return new Map(this.started);
  }
}

function start(id: string, container = 'c-old'): OutboxItem {
  const payload: StreamStartedEvent = {
    containerId: container,
    engine: { host: '10.0.0.1', port: 19000 },
    stream: { keyType: 'infohash', key: 'a'.repeat(40) },
    session: { playbackSessionId: 'p', statUrl: 'http://e/ace/stat/x/y', commandUrl: 'http://e/ace/cmd/x/y', isLive: true },
    streamId: id,
  };
  return { streamId: id, type: 'stream_started', containerId: container, payload };
}

function end(id: string, container = 'c-old'): OutboxItem {
  return { streamId: id, type: 'stream_ended', containerId: container, payload: { containerId: container, streamId: id, reason: 'client_left' } };
}

function setup() {
  const clock = new ManualClock(0);
  const orch = new FakeOrchestrator();
  const authFailures: number[] = [];
  const outbox = new Outbox({ port: orch, clock, logger: silentLogger, onAuthFailure: (e) => authFailures.push(e.status ?? 0) });
  return { clock, orch, outbox, authFailures };
}

describe('outbox', () => {
  test('a start delivered late is filed under another container: its end is matched by id and names that container', async () => {
    const { clock, orch, outbox } = setup();
    orch.down = true;
    // The orchestrator restarted meanwhile: the old container id is unknown, the engine at the same host:port has a new one.
    orch.fileUnder = () => 'c-new';
    outbox.enqueue(start('acerelay-1'));
    await clock.advanceAsync(100);
    outbox.enqueue(end('acerelay-1'));
    orch.down = false;
    await clock.advanceAsync(5_000);
    expect(outbox.pending).toBe(0);
    expect(orch.calls.filter((c) => c !== 'list').at(-1)).toBe('end acerelay-1@c-new');
    expect(orch.started.size).toBe(0);
  });

  test('an end for a stream the orchestrator does not list is never sent', async () => {
    const { clock, orch, outbox } = setup();
    outbox.enqueue(start('acerelay-2'));
    await clock.advanceAsync(10);
    orch.started.clear(); // forgotten (restart)
    outbox.enqueue(end('acerelay-2'));
    await clock.advanceAsync(10);
    expect(orch.calls.filter((c) => c.startsWith('end'))).toEqual([]);
    expect(outbox.pending).toBe(0);
  });

  test('a start refused for good (422) drops its end, even one that comes after its queue emptied', async () => {
    const { clock, orch, outbox } = setup();
    orch.startAnswer = new OrchestratorHttpError(422, 'invalid');
    outbox.enqueue(start('acerelay-3'));
    await clock.advanceAsync(10);
    expect(outbox.has('acerelay-3')).toBe(false);
    outbox.enqueue(end('acerelay-3'));
    await clock.advanceAsync(10);
    expect(orch.calls).toEqual(['start acerelay-3']);
  });

  test('401/403 is final: the event is dropped at once (no retries), reported, and a shutdown does not wait for it', async () => {
    const { clock, orch, outbox, authFailures } = setup();
    orch.startAnswer = new OrchestratorAuthError(401, 'missing bearer token');
    outbox.enqueue(start('acerelay-4'));
    outbox.enqueue(end('acerelay-4'));
    await clock.advanceAsync(10);
    expect(await outbox.flush(1)).toBe(true);
    await clock.advanceAsync(60_000);
    expect(orch.calls).toEqual(['start acerelay-4']);
    expect(authFailures).toEqual([401]);
  });
});

describe('reconciler', () => {
  function reconciler(outbox: Outbox, clock: ManualClock, ours: Set<string>, running: Set<string>) {
    return new StreamReconciler({ outbox, clock, logger: silentLogger, isOurs: (id) => ours.has(id), running: () => running });
  }

  test('after the orchestrator forgot everything, our live streams are announced again', async () => {
    const { clock, orch, outbox } = setup();
    outbox.enqueue(start('acerelay-5'));
    await clock.advanceAsync(10);
    orch.started.clear();
    const r = reconciler(outbox, clock, new Set(['acerelay-5']), new Set(['acerelay-5']));
    expect((await r.check()).reannounced).toEqual(['acerelay-5']);
    await clock.advanceAsync(10);
    expect([...orch.started.keys()]).toEqual(['acerelay-5']);
    // Listed again: nothing more to do.
    expect(await r.check()).toEqual({ reannounced: [], ended: [] });
  });

  test('streams it lists under our ids that we no longer run are ended; other clients\' and other instances\' streams are left alone', async () => {
    const { clock, orch, outbox } = setup();
    orch.started.set('acerelay-stale', 'c-new');
    orch.started.set('acerelay-live', 'c-1');
    orch.started.set('acerelay-other-instance', 'c-2');
    orch.started.set('someone|else', 'c-3');
    const ours = new Set(['acerelay-stale', 'acerelay-live']);
    const r = reconciler(outbox, clock, ours, new Set(['acerelay-live']));
    expect((await r.check()).ended).toEqual(['acerelay-stale']);
    await clock.advanceAsync(10);
    expect([...orch.started.keys()].sort()).toEqual(['acerelay-live', 'acerelay-other-instance', 'someone|else']);
    expect(orch.calls.filter((c) => c.startsWith('end'))).toEqual(['end acerelay-stale@c-new']);
  });

  test('an unreachable orchestrator is tried next time, nothing is queued blindly', async () => {
    const { clock, orch, outbox } = setup();
    orch.down = true;
    const r = reconciler(outbox, clock, new Set(['x']), new Set(['x']));
    expect(await r.check()).toEqual({ reannounced: [], ended: [] });
    expect(outbox.pending).toBe(0);
  });
});

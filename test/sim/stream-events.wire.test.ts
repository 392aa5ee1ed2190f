import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { SWEEP_MS } from '../../src/sim/index.ts';
import { IH, IH2, get, http, post, sim } from './helpers.ts';

type Engine = { container_id: string; port: number };

function started(containerId: string, opts: { key?: string; psid?: string; streamId?: string } = {}) {
  return {
    container_id: containerId,
    engine: { host: '127.0.0.1', port: 1 },
    stream: { key_type: 'infohash', key: opts.key ?? IH },
    session: {
      playback_session_id: opts.psid ?? 'e0d10c40465de696c0222ffa815edace0635b86a',
      stat_url: 'http://127.0.0.1:1/ace/stat/x/y',
      command_url: 'http://127.0.0.1:1/ace/cmd/x/y',
      is_live: 1,
    },
    ...(opts.streamId ? { labels: { stream_id: opts.streamId } } : {}),
  };
}

async function firstEngine(url: string): Promise<Engine> {
  return ((await get(`${url}/engines`)).json as Engine[])[0]!;
}

describe('stream events', () => {
  it('stream_started answers StreamState; the id is labels.stream_id or key|playback_session_id; a repeat replaces', async () => {
    const s = await sim();
    const e = await firstEngine(s.url);
    const a = await post(`${s.url}/events/stream_started`, started(e.container_id, { streamId: 'acerelay-1' }));
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({ id: 'acerelay-1', key_type: 'infohash', key: IH, container_id: e.container_id, is_live: true, status: 'started', ended_at: null });
    const b = await post(`${s.url}/events/stream_started`, started(e.container_id, { key: IH2, psid: 'abc' }));
    expect((b.json as { id: string }).id).toBe(`${IH2}|abc`);
    const again = await post(`${s.url}/events/stream_started`, started(e.container_id, { streamId: 'acerelay-1', psid: 'new-session' }));
    expect((again.json as { playback_session_id: string }).playback_session_id).toBe('new-session');
    const list = (await get(`${s.url}/streams?status=started`)).json as Array<{ id: string }>;
    expect(list.map((x) => x.id).sort()).toEqual([`${IH2}|abc`, 'acerelay-1']);
    expect(s.state().events.map((x) => [x.type, x.stream_id, x.http_status])).toEqual([
      ['stream_started', 'acerelay-1', 200],
      ['stream_started', `${IH2}|abc`, 200],
      ['stream_started', 'acerelay-1', 200],
    ]);
    const status = (await get(`${s.url}/orchestrator/status`)).json as { streams: { active: number }; capacity: { used: number } };
    expect(status.streams.active).toBe(2);
    expect(status.capacity.used).toBe(2);
  });

  it('rejects malformed starts with 422 (and logs the delivery)', async () => {
    const s = await sim();
    const e = await firstEngine(s.url);
    const bad = { ...started(e.container_id), stream: { key_type: 'torrent', key: IH } };
    expect((await post(`${s.url}/events/stream_started`, bad)).status).toBe(422);
    expect((await post(`${s.url}/events/stream_started`, { container_id: e.container_id })).status).toBe(422);
    expect((await http('POST', `${s.url}/events/stream_started`)).status).toBe(422);
    expect(s.state().events.map((x) => [x.http_status, x.processed])).toEqual([
      [422, false],
      [422, false],
      [422, false],
    ]);
  });

  it('stream_ended ends the named stream; a repeated end answers updated:true again', async () => {
    const s = await sim();
    const e = await firstEngine(s.url);
    await post(`${s.url}/events/stream_started`, started(e.container_id, { streamId: 'mine' }));
    const end = await post(`${s.url}/events/stream_ended`, { container_id: e.container_id, stream_id: 'mine', reason: 'client_left' });
    expect(end.status).toBe(200);
    expect(end.json).toMatchObject({ updated: true, stream: { id: 'mine', status: 'ended' } });
    expect((end.json as { stream: { ended_at: string } }).stream.ended_at).toMatch(/Z$/);
    const again = await post(`${s.url}/events/stream_ended`, { container_id: e.container_id, stream_id: 'mine', reason: 'client_left' });
    expect(again.json).toMatchObject({ updated: true, stream: { id: 'mine' } });
    const last = s.state().events.at(-1)!;
    expect(last).toMatchObject({ type: 'stream_ended', stream_id: 'mine', ended_stream_id: 'mine', updated: true, reason: 'client_left' });
  });

  it('DANGER: an unknown or missing id ends ANOTHER active stream, on that container first, else anywhere', async () => {
    const s = await sim({ minReplicas: 2 });
    const [a, b] = (await get(`${s.url}/engines`)).json as [Engine, Engine];
    await post(`${s.url}/events/stream_started`, started(a.container_id, { streamId: 'on-a' }));
    await post(`${s.url}/events/stream_started`, started(b.container_id, { streamId: 'on-b-1', psid: '1' }));
    await post(`${s.url}/events/stream_started`, started(b.container_id, { streamId: 'on-b-2', psid: '2' }));

    const wrong = await post(`${s.url}/events/stream_ended`, { container_id: b.container_id, stream_id: 'never-started', reason: 'client_left' });
    expect(wrong.json).toMatchObject({ updated: true, stream: { id: 'on-b-1', status: 'ended' } });
    expect(s.state().events.at(-1)).toMatchObject({ stream_id: 'never-started', ended_stream_id: 'on-b-1' });

    const empty = await post(`${s.url}/events/stream_ended`, {});
    const victim = (empty.json as { stream: { id: string } }).stream.id;
    expect(['on-a', 'on-b-2']).toContain(victim);
    expect(s.state().events.at(-1)).toMatchObject({ stream_id: null, ended_stream_id: victim });
    expect(s.state().streams.find((x) => x.id === victim)!.ended_by).toBe('stranger');

    // Elsewhere when the container has no active stream.
    const remaining = victim === 'on-a' ? 'on-b-2' : 'on-a';
    const other = await post(`${s.url}/events/stream_ended`, { container_id: 'not-a-container', stream_id: 'nope' });
    expect((other.json as { stream: { id: string } }).stream.id).toBe(remaining);
    // Nothing left: updated false.
    expect((await post(`${s.url}/events/stream_ended`, { stream_id: 'nope' })).json).toEqual({ updated: false, stream: null });
  });

  it('with unknown_container "sweep", a start on a container the orchestrator does not manage is ended within seconds', async () => {
    const clock = new ManualClock(1_000_000);
    const s = await sim({ clock, quirks: { unknown_container: 'sweep' } });
    const res = await post(`${s.url}/events/stream_started`, started('f'.repeat(64), { streamId: 'stray' }));
    expect(res.status).toBe(200);
    expect(((await get(`${s.url}/streams?status=started`)).json as unknown[]).length).toBe(1);
    await clock.advanceAsync(SWEEP_MS);
    expect(((await get(`${s.url}/streams?status=started`)).json as unknown[]).length).toBe(0);
    expect(s.state().streams[0]).toMatchObject({ id: 'stray', status: 'ended', ended_by: 'sweep' });
  });
});

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.ts';
import { SWEEP_MS } from '../../src/sim/index.ts';
import { get, post, sim, startedEvent, waitFor } from './helpers.ts';

type Engine = { container_id: string; port: number; streams: string[]; labels: Record<string, string> };
type Stream = { id: string; container_id: string; status: string; stat_url: string; command_url: string };
type Issue = { type: string; loc: (string | number)[] };

const OLD_ID = 'f'.repeat(64);

async function engines(url: string): Promise<Engine[]> {
  return (await get(`${url}/engines`)).json as Engine[];
}

async function started(url: string): Promise<Stream[]> {
  return (await get(`${url}/streams?status=started`)).json as Stream[];
}

describe('stream_started for a container the orchestrator does not know', () => {
  it('is filed under the engine on the same host:port, and never swept', async () => {
    const clock = new ManualClock(1_000_000);
    const s = await sim({ clock });
    const [e] = await engines(s.url);
    const res = await post(`${s.url}/events/stream_started`, startedEvent(OLD_ID, { port: e!.port, streamId: 'stray' }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ id: 'stray', container_id: e!.container_id, status: 'started' });
    expect(s.state().events.at(-1)).toMatchObject({ stream_id: 'stray', container_id: OLD_ID, filed_under: e!.container_id });

    await clock.advanceAsync(SWEEP_MS * 20);
    expect((await started(s.url)).map((x) => [x.id, x.container_id])).toEqual([['stray', e!.container_id]]);
    expect((await engines(s.url))[0]!.streams).toEqual(['stray']);
    expect((await get(`${s.url}/streams?status=started&container_id=${OLD_ID}`)).json).toEqual([]);
  });

  it('container_id is optional: the host:port finds the engine; with no engine there, "host:port" is the key, kept', async () => {
    const clock = new ManualClock(0);
    const s = await sim({ clock });
    const [e] = await engines(s.url);
    expect((await post(`${s.url}/events/stream_started`, startedEvent(null, { port: e!.port, streamId: 'no-id' }))).json).toMatchObject({ container_id: e!.container_id });
    const nowhere = await post(`${s.url}/events/stream_started`, startedEvent(null, { host: '10.9.8.7', port: 6878, streamId: 'nowhere' }));
    expect(nowhere.status).toBe(200);
    expect(nowhere.json).toMatchObject({ container_id: '10.9.8.7:6878' });
    await clock.advanceAsync(SWEEP_MS * 4);
    expect((await started(s.url)).map((x) => x.id).sort()).toEqual(['no-id', 'nowhere']);
  });

  it('after a restart, a start naming the old container lands on the new engine behind the same port', async () => {
    const s = await sim();
    const [before] = await engines(s.url);
    await s.control('orchestrator', { mode: 'restart', ms: 300 });
    await waitFor(async () => (await engines(s.url).catch(() => [])).length === 1, 5_000, 'engine back');
    const [after] = await engines(s.url);
    expect(after!.port).toBe(before!.port);
    const res = await post(`${s.url}/events/stream_started`, startedEvent(before!.container_id, { port: before!.port, streamId: 'late' }));
    expect(res.json).toMatchObject({ container_id: after!.container_id });
    expect((await engines(s.url))[0]!.streams).toEqual(['late']);
  });

  it('merges the event labels into that engine\'s labels (quirk merge_labels), which stay after the stream ends', async () => {
    const s = await sim();
    const [e] = await engines(s.url);
    await post(`${s.url}/events/stream_started`, startedEvent(e!.container_id, { port: e!.port, streamId: 'acerelay-1', labels: { owner: 'acerelay' } }));
    expect((await engines(s.url))[0]!.labels).toEqual({ 'host.http_port': String(e!.port), stream_id: 'acerelay-1', owner: 'acerelay' });
    await post(`${s.url}/events/stream_started`, startedEvent(OLD_ID, { port: e!.port, streamId: 'acerelay-2', psid: '2' }));
    await post(`${s.url}/events/stream_ended`, { container_id: e!.container_id, stream_id: 'acerelay-1', reason: 'client_left' });
    expect((await engines(s.url))[0]!.labels).toMatchObject({ stream_id: 'acerelay-2', owner: 'acerelay' });
    expect(s.state().engines[0]!.labels).toMatchObject({ stream_id: 'acerelay-2' });

    const plain = await sim({ quirks: { merge_labels: false } });
    const [p] = await engines(plain.url);
    await post(`${plain.url}/events/stream_started`, startedEvent(p!.container_id, { port: p!.port, streamId: 'x' }));
    expect((await engines(plain.url))[0]!.labels).toEqual({ 'host.http_port': String(p!.port) });
  });
});

describe('stream_started URL validation (quirk strict_urls)', () => {
  it('stat_url and command_url must be http(s) URLs: an empty string, a relative path or another scheme is 422', async () => {
    const s = await sim();
    const [e] = await engines(s.url);
    const cases: Array<[Record<string, string>, string, string]> = [
      [{ statUrl: '' }, 'stat_url', 'url_parsing'],
      [{ commandUrl: '' }, 'command_url', 'url_parsing'],
      [{ statUrl: '/ace/stat/x/y' }, 'stat_url', 'url_parsing'],
      [{ commandUrl: 'ftp://127.0.0.1/x' }, 'command_url', 'url_scheme'],
    ];
    for (const [opts, field, type] of cases) {
      const res = await post(`${s.url}/events/stream_started`, startedEvent(e!.container_id, { port: e!.port, streamId: field, ...opts }));
      expect(res.status, JSON.stringify(opts)).toBe(422);
      expect((res.json as { detail: Issue[] }).detail).toEqual([expect.objectContaining({ type, loc: ['body', 'session', field] })]);
    }
    expect(await started(s.url)).toEqual([]);
    expect(s.state().events.every((x) => x.http_status === 422 && !x.processed)).toBe(true);
  });

  it('answers the URLs normalised: a bare origin gains its trailing "/" (quirk 9)', async () => {
    const s = await sim();
    const [e] = await engines(s.url);
    const res = await post(
      `${s.url}/events/stream_started`,
      startedEvent(e!.container_id, { port: e!.port, statUrl: 'http://127.0.0.1:6878', commandUrl: 'http://127.0.0.1:6878/ace/cmd/a/b' }),
    );
    expect(res.json).toMatchObject({ stat_url: 'http://127.0.0.1:6878/', command_url: 'http://127.0.0.1:6878/ace/cmd/a/b' });
  });

  it('with strict_urls off, any string is kept as sent', async () => {
    const s = await sim();
    await s.control('quirks', { strict_urls: false });
    const [e] = await engines(s.url);
    const res = await post(`${s.url}/events/stream_started`, startedEvent(e!.container_id, { port: e!.port, statUrl: '', commandUrl: 'c' }));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ stat_url: '', command_url: 'c' });
  });
});

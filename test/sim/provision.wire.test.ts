import { describe, expect, it } from 'vitest';
import { failureOf, get, http, post, sim, waitFor } from './helpers.ts';

type Detail = { error: string; code: string; message: string; recovery_eta_seconds: number | null; can_retry: boolean; should_wait: boolean };

const provision = (url: string, body: unknown = {}, headers?: Record<string, string>) =>
  post(`${url}/provision/acestream`, body, headers ? { headers } : {});

describe('POST /provision/acestream', () => {
  it('blocks for the provision delay, then answers a new engine that resets connections until ready', async () => {
    const s = await sim({ provisionDelayMs: 300, engineReadyDelayMs: 2_000 });
    const t0 = Date.now();
    const res = await provision(s.url, { labels: { owner: 'acerelay' } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250);
    expect(res.status).toBe(200);
    const body = res.json as Record<string, unknown> & { container_id: string; host_http_port: number };
    expect(body.container_id).toMatch(/^[0-9a-f]{64}$/);
    expect(body.container_name).toBe('acestream-2');
    expect(body.container_http_port).toBe(body.host_http_port);
    expect(typeof body.container_https_port).toBe('number');

    const engineUrl = `http://127.0.0.1:${body.host_http_port}/webui/api/service?method=get_version`;
    expect(['ECONNRESET', 'UND_ERR_SOCKET']).toContain(await failureOf(engineUrl));
    const listed = (await get(`${s.url}/engines/${body.container_id}`)).json as { health_status: string; labels: Record<string, string> };
    expect(listed.health_status).toBe('unknown');
    expect(listed.labels).toMatchObject({ owner: 'acerelay', 'host.http_port': String(body.host_http_port) });
    await waitFor(async () => (await failureOf(engineUrl)) === 'ok', 10_000, 'engine ready');

    expect(s.state().provisions).toEqual([
      expect.objectContaining({ http_status: 200, code: null, container_id: body.container_id, incarnation: 1 }),
    ]);
    expect(s.state().engines.map((e) => e.origin)).toEqual(['initial', 'provision']);
  });

  it('validates the body: {} is valid, a missing body or broken JSON is 422', async () => {
    const s = await sim();
    expect((await provision(s.url, {})).status).toBe(200);
    expect((await http('POST', `${s.url}/provision/acestream`)).status).toBe(422);
    expect((await http('POST', `${s.url}/provision/acestream`, { raw: '{"labels":' })).status).toBe(422);
    expect((await provision(s.url, { labels: 'x' })).status).toBe(422);
    expect((await provision(s.url, [1, 2])).status).toBe(422);
    expect(s.state().provisions.map((p) => p.http_status)).toEqual([200, 422, 422, 422, 422]);
  });

  it('fails the next N calls in each injected form, then succeeds; delay_ms slows it', async () => {
    const s = await sim();
    await s.control('provision', { fail: 1, code: 'general_error' });
    const general = await provision(s.url);
    expect(general.status).toBe(500);
    expect((general.json as { detail: Detail }).detail).toMatchObject({
      error: 'provisioning_failed',
      code: 'general_error',
      recovery_eta_seconds: null,
      can_retry: false,
      should_wait: false,
    });
    expect((general.json as { detail: Detail }).detail.message).toMatch(/^Failed to provision engine: /);

    await s.control('provision', { fail: 1, code: 'vpn_error' });
    const vpn = await provision(s.url);
    expect(vpn.status).toBe(503);
    expect((vpn.json as { detail: Detail }).detail).toMatchObject({ error: 'provisioning_failed', code: 'vpn_error', recovery_eta_seconds: 60, can_retry: true, should_wait: true });

    await s.control('provision', { fail: 2, code: 'text500' });
    for (let i = 0; i < 2; i++) {
      const text = await provision(s.url);
      expect(text.status).toBe(500);
      expect(text.headers['content-type']).toContain('text/plain');
      expect(text.text).toBe('Internal Server Error');
    }

    await s.control('provision', { fail: 1, code: 'string_detail' });
    const str = await provision(s.url);
    expect(str.status).toBe(503);
    expect(typeof (str.json as { detail: unknown }).detail).toBe('string');
    expect((str.json as { detail: string }).detail).toMatch(/^Provisioning temporarily unavailable: /);

    expect((await provision(s.url)).status).toBe(200);
    expect(s.state().provisions.map((p) => p.code)).toEqual(['general_error', 'vpn_error', 'text500', 'text500', 'string_detail', null]);
    // Failed provisions do not move the breaker.
    expect(s.state().circuit).toMatchObject({ state: 'closed', failure_count: 0 });

    await s.control('provision', { delay_ms: 400 });
    const t0 = Date.now();
    expect((await provision(s.url)).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
  });

  it('is blocked by a disconnected VPN (503 vpn_disconnected) and an open breaker (503 circuit_breaker, can_retry false), not by half_open', async () => {
    const s = await sim();
    await s.control('vpn', { connected: false });
    const vpn = await provision(s.url);
    expect(vpn.status).toBe(503);
    expect((vpn.json as { detail: Detail }).detail).toMatchObject({ error: 'provisioning_blocked', code: 'vpn_disconnected', recovery_eta_seconds: 60, can_retry: true, should_wait: true });
    await s.control('vpn', { mode: 'ok' });

    await s.control('circuit', { state: 'open', eta: 90 });
    const br = await provision(s.url);
    expect(br.status).toBe(503);
    const detail = (br.json as { detail: Detail }).detail;
    expect(detail).toMatchObject({ error: 'provisioning_blocked', code: 'circuit_breaker', can_retry: false, should_wait: true });
    expect(detail.recovery_eta_seconds).toBeGreaterThan(85);
    expect(detail.recovery_eta_seconds).toBeLessThanOrEqual(90);
    expect(s.state().engines).toHaveLength(1);
    // half_open (can_retry:true in the status) lets a trial provision through.
    await s.control('circuit', { state: 'half_open' });
    expect((await provision(s.url)).status).toBe(200);
    expect(s.state().engines).toHaveLength(2);
  });

  it('past max_replicas: 500 general_error with the VPN, success without it (quirk 7)', async () => {
    const withVpn = await sim({ maxReplicas: 1 });
    const refused = await provision(withVpn.url);
    expect(refused.status).toBe(500);
    expect((refused.json as { detail: Detail }).detail).toMatchObject({
      code: 'general_error',
      message: 'Failed to provision engine: Maximum active replicas limit reached (1)',
    });

    const noVpn = await sim({ maxReplicas: 1, vpnEnabled: false });
    expect((await provision(noVpn.url)).status).toBe(200);
    expect((await get(`${noVpn.url}/engines`)).json).toHaveLength(2);
    const st = (await get(`${noVpn.url}/orchestrator/status`)).json as { provisioning: { blocked_reason_details: { code: string } } };
    expect(st.provisioning.blocked_reason_details.code).toBe('max_capacity');
  });

  it('a provision whose client gave up still creates the engine (it appears under you)', async () => {
    const s = await sim({ provisionDelayMs: 400 });
    const controller = new AbortController();
    const pending = fetch(`${s.url}/provision/acestream`, { method: 'POST', body: '{}', signal: controller.signal }).catch(() => null);
    await waitFor(() => s.state().provisions.length === 1, 5_000);
    controller.abort();
    await pending;
    await waitFor(() => s.state().engines.length === 2, 5_000, 'engine created anyway');
  });
});

describe('auth on protected endpoints', () => {
  it('401 without or with a malformed Authorization, 403 with a wrong key; public endpoints need nothing', async () => {
    const s = await sim({ apiKey: 'sekret' });
    for (const path of ['/provision/acestream', '/events/stream_started', '/events/stream_ended']) {
      const none = await post(`${s.url}${path}`, {});
      expect(none.status).toBe(401);
      expect(none.json).toEqual({ detail: 'missing bearer token' });
      for (const header of ['sekret', 'Basic sekret', 'bearer sekret', 'Bearer']) {
        const bad = await post(`${s.url}${path}`, {}, { headers: { authorization: header } });
        expect(bad.status).toBe(401);
      }
      const wrong = await post(`${s.url}${path}`, {}, { headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(403);
      expect(wrong.json).toEqual({ detail: 'invalid token' });
    }
    const ok = await provision(s.url, {}, { authorization: 'Bearer sekret' });
    expect(ok.status).toBe(200);
    for (const path of ['/orchestrator/status', '/engines', '/streams', '/vpn/status', '/health/status']) {
      expect((await get(`${s.url}${path}`)).status).toBe(200);
    }
    expect(s.state().provisions.map((p) => p.code).slice(0, 6)).toEqual(['missing_token', 'missing_token', 'missing_token', 'missing_token', 'missing_token', 'invalid_token']);
    expect(s.state().events.every((e) => !e.processed)).toBe(true);
  });
});

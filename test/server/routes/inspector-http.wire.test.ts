/**
 * /inspector over plain HTTP: the admin token (401 and a login page without it, 200 with the
 * header or the cookie), the page's embedded first paint, its assets and diagrams, the demo's
 * fault-switch forwarder, and no token in any log line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../../src/sim/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { createAcerelay, type Acerelay } from '../../../src/runtime.ts';
import { createLogger } from '../../../src/log.ts';
import { SCALED_ENV, startStack, type Stack } from '../../support/stack.ts';

const TOKEN = 'inspector-test-token-7f3a9c';

let sim: Simulator;
let acerelay: Acerelay;
let base: string;
let dataDir: string;
const logLines: string[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, provisionDelayMs: 200, engineReadyDelayMs: 300, startDelayMs: 100 });
  // A journal of its own: no history from other runs.
  dataDir = mkdtempSync(join(tmpdir(), 'acerelay-inspector-http-'));
  const { config } = loadConfig([], { ...SCALED_ENV, ACERELAY_ORCH_URL: sim.url, ACERELAY_ADMIN_TOKEN: TOKEN, ACERELAY_DATA_DIR: dataDir });
  // Every level, into memory: the token must not appear in any of it.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString());
      done();
    },
  });
  acerelay = await createAcerelay(config, { logger: createLogger('trace', sink), simControlUrl: sim.controlUrl });
  base = await acerelay.listen();
});

afterAll(async () => {
  await acerelay?.close();
  await sim?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const bearer = { authorization: `Bearer ${TOKEN}` };
const cookie = { cookie: `theme=dark; acerelay_token=${encodeURIComponent(TOKEN)}` };

function embedded(html: string): any {
  const m = /<script type="application\/json" id="ins-initial">([\s\S]*?)<\/script>/.exec(html);
  expect(m, 'the page embeds its first paint').not.toBeNull();
  return JSON.parse(m![1]!);
}

describe('the admin token', () => {
  it('answers a login page with 401 without it, and never reveals it', async () => {
    const res = await fetch(`${base}/inspector`);
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await res.text();
    expect(html).toContain('id="ins-login"');
    expect(html).toContain('/inspector/assets/login.js');
    expect(html).not.toContain('ins-initial');
    expect(html).not.toContain(TOKEN);
    expect(html).not.toContain('not accepted');
  });

  it('says so when a wrong token was sent', async () => {
    const res = await fetch(`${base}/inspector`, { headers: { cookie: 'acerelay_token=wrong' } });
    expect(res.status).toBe(401);
    expect(await res.text()).toContain('not accepted');
  });

  it('takes a cookie that is not valid percent-encoding for no token: 401 or the login page, no error logged', async () => {
    const bad = { cookie: 'acerelay_token=%E0%A4%A' };
    const before = logLines.length;
    for (const path of ['/api/sessions', '/api/orchestrator', '/api/events', '/metrics', '/inspector/diagrams/session.svg']) {
      const res = await fetch(`${base}${path}`, { headers: bad });
      expect(res.status, path).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('unauthorized');
    }
    const page = await fetch(`${base}/inspector`, { headers: bad });
    expect(page.status).toBe(401);
    const html = await page.text();
    expect(html).toContain('id="ins-login"');
    expect(html).not.toContain('ins-initial');
    const errors = logLines.slice(before).filter((l) => (JSON.parse(l) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });

  it('serves the page with the token as a Bearer header or as the cookie', async () => {
    for (const headers of [bearer, cookie]) {
      const res = await fetch(`${base}/inspector`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      const html = await res.text();
      expect(html).not.toContain(TOKEN);
      const initial = embedded(html);
      expect(initial.orchestrator.mode).toBe('orchestrator');
      expect(initial.sim).toBe(true);
      expect(initial.sessions).toEqual({ live: [], finished: [] });
      expect(initial.diagrams.map((d: { name: string; kind: string }) => `${d.kind}:${d.name}`)).toEqual(['session:session', 'player:client']);
    }
  });

  it('guards the diagrams and the API, not the page code', async () => {
    expect((await fetch(`${base}/inspector/diagrams/session.svg`)).status).toBe(401);
    expect((await fetch(`${base}/api/sessions`)).status).toBe(401);
    expect((await fetch(`${base}/api/sessions`, { headers: cookie })).status).toBe(200);
    const js = await fetch(`${base}/inspector/assets/inspector.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await js.text()).not.toContain(TOKEN);
  });

  it('keeps the token out of every log line', () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join('')).not.toContain(TOKEN);
  });
});

describe('the page and its files', () => {
  it('serves assets with validators and nothing outside its list', async () => {
    const css = await fetch(`${base}/inspector/assets/inspector.css`);
    expect(css.status).toBe(200);
    const etag = css.headers.get('etag')!;
    expect(etag).toBeTruthy();
    expect((await fetch(`${base}/inspector/assets/inspector.css`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    expect((await fetch(`${base}/inspector/assets/main.ts`)).status).toBe(404);
    expect((await fetch(`${base}/inspector/assets/..%2Fpage.ts`)).status).toBe(404);
  });

  it('bundles the page script without imports from anywhere else', async () => {
    const js = await (await fetch(`${base}/inspector/assets/inspector.js`)).text();
    expect(js).not.toMatch(/^\s*import\s/m);
    expect(js).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/);
    expect(js).toContain('EventSource');
  });

  it('serves each machine as SVG, DOT and JSON', async () => {
    const svg = await fetch(`${base}/inspector/diagrams/session.svg`, { headers: bearer });
    expect(svg.status).toBe(200);
    expect(svg.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(await svg.text()).toContain('<g id="session.running.streaming" class="node state atomic">');
    const dot = await (await fetch(`${base}/inspector/diagrams/client.dot`, { headers: bearer })).text();
    expect(dot).toContain('"client.held.waiting_vpn"');
    const graph = await (await fetch(`${base}/inspector/diagrams/client.json`, { headers: bearer })).json();
    expect(graph.machine).toBe('client');
    expect((await fetch(`${base}/inspector/diagrams/nope.svg`, { headers: bearer })).status).toBe(404);
  });

  it('lists live sessions with the StateValues the page highlights from', async () => {
    const ac = new AbortController();
    const res = await fetch(`${base}/ace/getstream?id=${'ab'.repeat(20)}`, { signal: ac.signal });
    try {
      expect(res.status).toBe(200);
      let live: any[] = [];
      for (let i = 0; i < 100 && !(live[0]?.players?.[0]?.value === 'streaming'); i++) {
        live = ((await (await fetch(`${base}/api/sessions`, { headers: bearer })).json()) as { live: any[] }).live;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(live[0].value).toEqual({ running: 'streaming' });
      expect(live[0].players[0]).toMatchObject({ state: 'streaming', value: 'streaming', created_at: expect.any(Number), since: expect.any(Number) });
      const html = await (await fetch(`${base}/inspector`, { headers: bearer })).text();
      expect(embedded(html).sessions.live[0].id).toBe(live[0].id);
    } finally {
      ac.abort();
    }
  });
});

describe('the fault switches (demo)', () => {
  it('forwards JSON to the simulator, behind the token', async () => {
    const post = (path: string, body: string, headers: Record<string, string>) =>
      fetch(`${base}/api/sim/${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
    expect((await post('vpn', '{"connected":false}', {})).status).toBe(401);
    const down = await post('vpn', '{"connected":false}', cookie);
    expect(down.status).toBe(200);
    expect(await down.json()).toMatchObject({ connected: false });
    const bad = await post('vpn', '{"connected":"maybe"}', cookie);
    expect(bad.status).toBe(400);
    expect((await post('vpn', '{"connected":true}', cookie)).status).toBe(200);
    const state = await fetch(`${base}/api/sim/state`, { headers: cookie });
    expect(((await state.json()) as { engines: unknown[] }).engines.length).toBeGreaterThan(0);
  });

  it('refuses what a cross-site form could send, and unknown paths', async () => {
    const form = await fetch(`${base}/api/sim/vpn`, { method: 'POST', body: '{"connected":false}', headers: { 'content-type': 'text/plain', ...cookie } });
    expect(form.status).toBe(400);
    const odd = await fetch(`${base}/api/sim/vpn/../../x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...cookie } });
    expect(odd.status).toBe(404);
  });

  describe('without a simulator', () => {
    let stack: Stack;
    let dir: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'acerelay-inspector-http-'));
      stack = await startStack({ env: { ACERELAY_DATA_DIR: dir } });
    });
    afterAll(async () => {
      await stack?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('has no /api/sim routes and offers no switches', async () => {
      const res = await fetch(`${stack.url}/api/sim/vpn`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(404);
      const html = await (await fetch(`${stack.url}/inspector`)).text();
      expect(embedded(html).sim).toBe(false);
    });
  });
});

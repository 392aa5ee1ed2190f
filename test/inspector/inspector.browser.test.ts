/**
 * The inspector in a real browser (Debian's Chromium through playwright-core) against the real
 * demo (`acerelay demo`, a child process), with a real player (ffmpeg):
 *   play a channel → the session shows, `streaming` highlighted in its statechart;
 *   VPN off from the page's fault switch → a new player waits in `waiting_vpn`, and the
 *   streaming session stalls into recovery (screenshot for the docs);
 *   VPN on → the stream recovers; ffmpeg stops → the session ends → replayed step by step.
 * INSPECTOR_SCREENSHOT=docs/inspector.png writes the docs screenshot there.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { runAcerelay, type Child } from '../support/child.ts';
import { startStack, type Stack } from '../support/stack.ts';

/** Debian's Chromium, installed by .ci/run. */
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const CHANNEL_A = 'a1'.repeat(20);
const CHANNEL_B = 'b2'.repeat(20);

let demo: Child;
let browser: Browser;
let page: Page;
let base: string;
let dataDir: string;
const players: ChildProcess[] = [];
const held: http.ClientRequest[] = [];
const pageErrors: string[] = [];
const consoleErrors: string[] = [];
const foreignRequests: string[] = [];

beforeAll(async () => {
  // Fail, not skip: a missing browser must not pass as a green run.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (.ci/run installs Debian's chromium)`);
  dataDir = mkdtempSync(join(tmpdir(), 'acerelay-inspector-'));
  // Scaled down so a stall is noticed in seconds (design.md, "Time in tests").
  demo = runAcerelay(
    ['demo', '--listen', '127.0.0.1:0', '--linger', '1s', '--status-interval', '1s', '--status-interval-degraded', '1s', '--empty-timeout', '3s', '--no-response-timeout', '4s'],
    { ACERELAY_DATA_DIR: dataDir, ACERELAY_LOG_LEVEL: 'warn' },
  );
  // A demo that dies at start says why at once, not after the wait.
  const died = demo.exited.then((code) => {
    throw new Error(`acerelay demo exited (${code}) before printing its URLs: ${demo.stderr().slice(-2000)}`);
  });
  const line = await Promise.race([demo.waitFor(/inspector\s+http:\/\/\S+\/inspector/, 30_000), died]);
  died.catch(() => {});
  base = /(http:\/\/\S+)\/inspector/.exec(line)![1]!;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  page.setDefaultTimeout(20_000);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  // CSP violations and failed loads show up here.
  page.on('console', (msg) => {
    if (msg.type() === 'error') consoleErrors.push(msg.text());
  });
  page.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(base) && !url.startsWith('data:')) foreignRequests.push(url);
  });
}, 60_000);

afterAll(async () => {
  for (const p of players) p.kill('SIGKILL');
  for (const r of held) r.destroy();
  await browser?.close();
  if (demo && demo.proc.exitCode === null) {
    demo.proc.kill('SIGTERM');
    await Promise.race([demo.exited, new Promise((r) => setTimeout(r, 8000))]);
    if (demo.proc.exitCode === null) demo.proc.kill('SIGKILL');
  }
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function ffmpeg(url: string): ChildProcess {
  const p = spawn('ffmpeg', ['-nostdin', '-hide_banner', '-v', 'warning', '-i', url, '-t', '60', '-f', 'null', '-'], { stdio: 'ignore' });
  players.push(p);
  return p;
}

/** A player that only holds the connection open (reads and drops the bytes). */
function holdOpen(url: string): http.ClientRequest {
  const req = http.get(url, (res) => res.resume());
  req.on('error', () => {});
  held.push(req);
  return req;
}

const stream = (id: string) => `${base}/ace/getstream?id=${id}`;
const node = (machine: 'session' | 'client', path: string) => `#ins-diagram-${machine} [id="${machine}.${path}"]`;

async function sessionIdOf(channel: string): Promise<string> {
  const row = page.locator(`[data-testid="session-row"][title*="${channel}"]`);
  await row.waitFor();
  return (await row.getAttribute('data-session'))!;
}

describe('the inspector in Chromium', () => {
  it('shows live states, a recovery in progress, and replays a finished session', async () => {
    await page.goto(`${base}/inspector`);
    await page.locator('[data-testid="connection"][data-state="live"]').waitFor();
    await expect(page.locator('[data-testid="orch-status"]').textContent()).resolves.toBe('healthy');

    // 1. A channel plays: its session appears, `streaming` is highlighted.
    const playerA = ffmpeg(stream(CHANNEL_A));
    const sessionA = await sessionIdOf(CHANNEL_A);
    await page.locator(`[data-testid="session-row"][data-session="${sessionA}"]`).click();
    await page.locator(`${node('session', 'running.streaming')}.active`).waitFor();
    await page.locator(`${node('client', 'streaming')}.active`).waitFor();
    await page.locator(`[data-testid="player-row"][data-session="${sessionA}"][data-state="streaming"]`).waitFor();
    expect(await page.locator('#ins-diagram-session .node.active').count()).toBe(1);

    // 2. VPN off through the page's own fault switch; the next status poll shows it.
    await page.locator('[data-testid="fault-vpn-down"]').click();
    await page.locator('[data-testid="fault-result"]', { hasText: 'VPN down: done' }).waitFor();
    await page.locator('[data-testid="orch-vpn"]', { hasText: 'down' }).waitFor();

    // A new player for another channel is held in waiting_vpn.
    holdOpen(stream(CHANNEL_B));
    const waiting = page.locator('[data-testid="player-row"][data-state="waiting_vpn"]');
    await waiting.waitFor();
    await waiting.click();
    await page.locator(`${node('client', 'held.waiting_vpn')}.active`).waitFor();
    await page.locator(`${node('client', 'held')}.active`).waitFor();

    // The VPN also holds the engines' bytes: channel A stalls and its player is in recovery.
    await page.locator(`[data-testid="player-row"][data-session="${sessionA}"][data-state="recovering"]`).waitFor({ timeout: 25_000 });
    await page.locator(`[data-testid="session-row"][data-session="${sessionA}"]`).click();
    await page.locator(`${node('client', 'recovering')}.active`).waitFor();
    await page.locator(`#ins-diagram-session .node.active:not([id="session.running.streaming"])`).waitFor();
    const shot = process.env.INSPECTOR_SCREENSHOT ? resolve(process.env.INSPECTOR_SCREENSHOT) : join(dataDir, 'inspector.png');
    await page.screenshot({ path: shot, fullPage: true });

    // 3. VPN on: channel A streams again.
    await page.locator('[data-testid="fault-vpn-up"]').click();
    await page.locator(`[data-testid="player-row"][data-session="${sessionA}"][data-state="streaming"]`).waitFor({ timeout: 30_000 });

    // 4. The players leave; after the linger the session is finished.
    playerA.kill('SIGKILL');
    for (const r of held) r.destroy();
    const done = page.locator(`[data-testid="finished-row"][data-session="${sessionA}"]`);
    await done.waitFor();
    await done.click();
    await page.locator('[data-testid="detail-liveness"]', { hasText: 'finished' }).waitFor();

    // 5. Replay it step by step from its journal.
    const position = page.locator('[data-testid="replay-position"]');
    await position.filter({ hasText: /^step (\d+) \/ \1$/ }).waitFor();
    const total = Number(/\/ (\d+)/.exec((await position.textContent())!)![1]);
    expect(total).toBeGreaterThan(8);
    await page.locator('[data-testid="replay-first"]').click();
    await position.filter({ hasText: `step 1 / ${total}` }).waitFor();
    await page.locator(`${node('session', 'acquiring.choosing')}.active`).waitFor();

    const seen: string[] = [];
    for (let i = 1; i < total; i++) {
      await page.locator('[data-testid="replay-next"]').click();
      await position.filter({ hasText: `step ${i + 1} / ${total}` }).waitFor();
      const active = await page.locator('#ins-diagram-session .node.active').getAttribute('id');
      if (active && seen.at(-1) !== active) seen.push(active);
    }
    expect(seen).toContain('session.running.streaming');
    expect(seen).toContain('session.recovering');
    expect(seen.indexOf('session.recovering')).toBeGreaterThan(seen.indexOf('session.running.streaming'));
    expect(seen.at(-1)).toBe('session.stopped');
    await expect(page.locator('[data-testid="step-state"]').textContent()).resolves.toContain('stopped');
    // The taken transition is drawn too, and the timeline marks the step.
    expect(await page.locator('#ins-diagram-session .edge.taken').count()).toBeGreaterThan(0);
    await expect(page.locator('[data-testid="timeline-entry"].current').count()).resolves.toBe(1);

    // Play runs on by itself.
    await page.locator('[data-testid="replay-first"]').click();
    await page.locator('[data-testid="replay-play"]').click();
    await position.filter({ hasText: `step 3 / ${total}` }).waitFor();
    await page.locator('[data-testid="replay-play"]').click();

    expect(pageErrors).toEqual([]);
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  }, 120_000);

  it('asks for the admin token once, keeps it in the cookie, and goes live with it', async () => {
    const token = 'e2e-admin-token-51c0';
    let stack: Stack | null = null;
    const context = await browser.newContext();
    try {
      stack = await startStack({ env: { ACERELAY_ADMIN_TOKEN: token, ACERELAY_DATA_DIR: join(dataDir, 'login') } });
      const login = await context.newPage();
      const first = await login.goto(`${stack.url}/inspector`);
      expect(first?.status()).toBe(401);
      await login.locator('#ins-token').fill(token);
      await login.locator('#ins-login button').click();
      await login.locator('[data-testid="connection"][data-state="live"]').waitFor();
      expect(login.url()).toBe(`${stack.url}/inspector`);
      expect(login.url()).not.toContain(token);
      const cookies = await context.cookies();
      expect(cookies.find((c) => c.name === 'acerelay_token')?.value).toBe(token);
      await login.locator('[data-testid="no-live"]').waitFor();
    } finally {
      await context.close();
      await stack?.close();
    }
  });
});

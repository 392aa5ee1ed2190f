/**
 * A browser plays acerelay's HLS: Debian's Chromium (playwright-core) opens a page served by
 * this test on its own origin, which plays /ace/manifest.m3u8 with hls.js (from node_modules,
 * served by the same test server: nothing from the internet) into a <video>.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { CONTENT, startStack, type Stack } from '../support/stack.ts';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic', '--autoplay-policy=no-user-gesture-required'];
const HLS_JS = readFileSync(createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js'));

const PAGE = `<!doctype html><meta charset="utf-8"><title>acerelay HLS</title>
<video id="v" muted autoplay playsinline></video>
<script src="/hls.min.js"></script>
<script>
  window.errors = [];
  const video = document.getElementById('v');
  const hls = new Hls({ lowLatencyMode: false });
  hls.on(Hls.Events.ERROR, (_, data) => window.errors.push((data.fatal ? 'fatal ' : '') + data.type + ' ' + data.details));
  hls.loadSource(new URLSearchParams(location.search).get('src'));
  hls.attachMedia(video);
  hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => window.errors.push('play ' + e.message)));
</script>`;

let stack: Stack;
let browser: Browser;
let pages: http.Server;
let pageBase: string;

beforeAll(async () => {
  // Fail, not skip: a missing browser must not pass as a green run.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (.ci/run installs Debian's chromium)`);
  stack = await startStack();
  pages = http.createServer((req, res) => {
    if (req.url === '/hls.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(HLS_JS);
    else if (req.url?.startsWith('/?')) res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => pages.listen(0, '127.0.0.1', resolve));
  pageBase = `http://127.0.0.1:${(pages.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

afterAll(async () => {
  await browser?.close();
  // Keep-alive connections a stuck browser left open must not hold the close.
  pages?.closeAllConnections();
  await new Promise((resolve) => pages?.close(resolve));
  await stack?.close();
});

test('Chromium plays the HLS URL with hls.js: currentTime passes 10 s', async () => {
  const page = await browser.newPage();
  const foreign: string[] = [];
  page.on('request', (r) => {
    if (/^(https?|wss?):/.test(r.url()) && !r.url().startsWith('http://127.0.0.1:')) foreign.push(r.url());
  });
  // H.264 + AAC through MediaSource is what hls.js needs: say so plainly if this Chromium lacks it.
  await page.goto(`${pageBase}/?src=${encodeURIComponent(`${stack.url}/ace/manifest.m3u8?id=${CONTENT[0]}`)}`);
  const supported = await page.evaluate(() => MediaSource.isTypeSupported('video/mp4; codecs="avc1.42E01E,mp4a.40.2"'));
  expect(supported, 'this Chromium cannot decode H.264/AAC through MediaSource').toBe(true);
  await page.waitForFunction(() => (document.getElementById('v') as HTMLVideoElement).currentTime > 10, undefined, { timeout: 45_000, polling: 500 });
  const state = await page.evaluate(() => {
    const v = document.getElementById('v') as HTMLVideoElement;
    return { t: v.currentTime, errors: (window as unknown as { errors: string[] }).errors, decoded: (v as unknown as { getVideoPlaybackQuality(): { totalVideoFrames: number } }).getVideoPlaybackQuality().totalVideoFrames };
  });
  expect(state.t).toBeGreaterThan(10);
  expect(state.decoded).toBeGreaterThan(200);
  expect(state.errors.filter((e) => e.startsWith('fatal'))).toEqual([]);
  expect(foreign).toEqual([]);
  // The inspector shows the channel's HLS audience as one player, with its one client (this page).
  const inspector = await browser.newPage();
  await inspector.goto(`${stack.url}/inspector`);
  await inspector.locator('[data-testid="player-row"][data-transport="hls"][data-state="streaming"] [data-testid="hls-clients"]', { hasText: 'HLS · 1 client' }).waitFor({ timeout: 20_000 });
  await inspector.close();
  await page.close();
}, 150_000);

/**
 * The container image, proven without a container runtime (none runs here and no base image
 * can be pulled): the Dockerfile and .dockerignore are read as docker reads them, exactly the
 * files they put in the image are copied into a clean folder, the Dockerfile's install command
 * runs there, and the image's own command starts acerelay from that folder, in single-engine mode
 * against the simulator, for ffmpeg to play 10 s. Variants with a runtime file or a dependency
 * left out must fail the same check.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startSimulator, type Simulator } from '../../src/sim/index.ts';
import { DEMO_ID } from '../../src/demo.ts';
import { CONTENT, bytes, ffmpegRead, play, wholePackets } from '../support/stack.ts';
import { freePort } from '../support/ports.ts';
import { buildImage, type Image } from './image-build.ts';
import { runHealthcheck, runImage } from './image-run.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(join(ROOT, '.dockerignore'), 'utf8');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

const builds: string[] = [];
let sim: Simulator;
let engineUrl: string;
let image: Image;
let buildSeconds = 0;

function build(dockerfile = DOCKERFILE, dockerignore = DOCKERIGNORE): Promise<Image> {
  // npm's cache first, the registry when the cache lacks something (a fresh CI machine has the
  // cache .ci/run's own `npm ci` filled).
  return buildImage({ context: ROOT, dockerfile, dockerignore, env: { ...process.env, npm_config_prefer_offline: 'true' } }).then((img) => {
    builds.push(dirname(dirname(img.root)));
    return img;
  });
}

beforeAll(async () => {
  sim = await startSimulator({ port: 0, minReplicas: 1, startDelayMs: 100 });
  engineUrl = `http://127.0.0.1:${sim.state().engines[0]!.port}`;
  const t0 = Date.now();
  image = await build();
  buildSeconds = (Date.now() - t0) / 1000;
  console.log(`image built in ${buildSeconds.toFixed(1)} s (${image.stages.map((s) => `${s.name ?? `stage ${s.index}`}: ${s.seconds.toFixed(1)} s`).join(', ')})`);
}, 600_000);

afterAll(async () => {
  await sim?.close();
  for (const dir of builds) rmSync(dir, { recursive: true, force: true });
});

interface ServeReport {
  problems: string[];
  startSeconds: number | null;
}

/**
 * `docker run -v <tmp>:/data -e ACERELAY_ENGINE_URL=… IMAGE`, then what a user and docker would
 * see: it serves, ffmpeg plays 10 s, the health and readiness routes, the metrics and the
 * inspector's bundled assets answer, the HEALTHCHECK passes, SIGTERM stops it with exit 0 and
 * the journal is in the volume. Every failure is collected, not thrown: the variants below
 * expect this same check to fail.
 */
async function checkServe(img: Image): Promise<ServeReport> {
  const problems: string[] = [];
  const data = mkdtempSync(join(tmpdir(), 'acerelay-image-data-'));
  const port = await freePort();
  const run = { env: { ACERELAY_ENGINE_URL: engineUrl, ACERELAY_LISTEN: `127.0.0.1:${port}`, ACERELAY_LOG_LEVEL: 'info' }, volumes: { '/data': data } };
  const t0 = Date.now();
  const child = runImage(img, run);
  try {
    const serving = child.waitFor(/acerelay serving/, 60_000).then(() => true);
    const exited = child.exited.then(() => false);
    if (!(await Promise.race([serving, exited]))) {
      problems.push(`exited (${await child.exited}) before serving: ${child.stderr().slice(-600)}`);
      return { problems, startSeconds: null };
    }
    const startSeconds = (Date.now() - t0) / 1000;
    const url = `http://127.0.0.1:${port}`;
    for (const path of ['/healthz', '/readyz', '/metrics', '/inspector', '/inspector/assets/inspector.js', '/inspector/assets/login.js', '/inspector/assets/inspector.css']) {
      const res = await fetch(`${url}${path}`).catch((err: Error) => ({ status: err.message }));
      if (res.status !== 200) problems.push(`GET ${path}: ${res.status}`);
    }
    const ff = await ffmpegRead(`${url}/ace/getstream?id=${CONTENT[0]}`, 10);
    if (ff.code !== 0 || ff.stderr !== '') problems.push(`ffmpeg: exit ${ff.code} ${ff.stderr.slice(0, 300)}`);
    const health = await runHealthcheck(img, run);
    if (health !== 0) problems.push(`HEALTHCHECK while serving: exit ${health}`);
    child.proc.kill('SIGTERM');
    const code = await Promise.race([child.exited, new Promise((r) => setTimeout(() => r('still running 20 s after SIGTERM'), 20_000))]);
    if (code !== 0) problems.push(`SIGTERM: ${code}`);
    const after = await runHealthcheck(img, run);
    if (after === 0) problems.push('HEALTHCHECK passes after the stop');
    if (!existsSync(join(data, 'journal.db'))) problems.push('no journal.db in the /data volume');
    return { problems, startSeconds };
  } finally {
    child.proc.kill('SIGKILL');
    rmSync(data, { recursive: true, force: true });
  }
}

describe('the image, built from the Dockerfile and .dockerignore without docker', () => {
  test('its shape: Node 20 bookworm slim, production dependencies only, non-root, EXPOSE 8080, the journal in a VOLUME, a HEALTHCHECK without curl, node itself as PID 1', () => {
    for (const s of image.stages) expect(s.base).toMatch(/^node:20(\.\d+)*-bookworm-slim$/);
    expect(image.stages.length).toBeGreaterThanOrEqual(2);
    const installs = image.stages.flatMap((s) => s.ran.filter((r) => /^npm (ci|install)\b/.test(r)));
    expect(installs).toEqual(['npm ci --omit=dev --no-audit --no-fund']);
    // Only what needs the base image and root was left out of the emulation.
    for (const s of image.stages) for (const part of s.skipped) expect(part).toMatch(/^(apt-get update|apt-get install .*|rm -rf \/var\/lib\/apt\/lists\/\*|chown node:node \/data)$/);
    expect(image.user).not.toMatch(/^(|root|0)(:.*)?$/);
    expect(image.expose).toContain('8080');
    expect(image.volumes).toEqual([image.env.ACERELAY_DATA_DIR]);
    expect(image.healthcheck?.argv?.[0]).toBe('node');
    expect(image.stopSignal ?? 'SIGTERM').toBe('SIGTERM');
    // Exec form straight into node: no /bin/sh -c, no npm in between, so SIGTERM reaches acerelay.
    expect(image.argv).toEqual(['node', '/app/bin/acerelay.js', 'serve']);
    expect(image.workdir).toBe('/app');
  });

  test('its files: package.json, tsconfig.json, bin/, src/ (every tracked file) and the production dependencies; no tests, docs or dev dependencies', () => {
    const app = join(image.root, 'app');
    expect(readdirSync(app).sort()).toEqual(['bin', 'node_modules', 'package.json', 'src', 'tsconfig.json']);
    const tracked = execFileSync('git', ['ls-files', 'bin', 'src', 'package.json', 'tsconfig.json'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
    const copied = new Set(image.fromContext);
    expect(tracked.filter((f) => !copied.has(f))).toEqual([]);
    for (const dep of Object.keys(PKG.dependencies)) expect(existsSync(join(app, 'node_modules', dep)), dep).toBe(true);
    for (const dev of Object.keys(PKG.devDependencies)) expect(existsSync(join(app, 'node_modules', dev)), dev).toBe(false);
    // tsx runs the TypeScript: a production dependency, or the image cannot start.
    expect(PKG.dependencies.tsx).toBeDefined();
  });

  test('acerelay serve from the image folder (single-engine mode, the simulator’s engine): ffmpeg plays 10 s; healthz, readyz, metrics, the inspector answer; HEALTHCHECK passes; SIGTERM exits 0', async () => {
    const report = await checkServe(image);
    console.log(`image build ${buildSeconds.toFixed(1)} s; acerelay serving ${report.startSeconds?.toFixed(1)} s after start`);
    expect(report.problems).toEqual([]);
  }, 300_000);

  test('acerelay demo from the image plays (the simulator and its clip are in the image)', async () => {
    const port = await freePort();
    const data = mkdtempSync(join(tmpdir(), 'acerelay-image-demo-'));
    const child = runImage(image, { args: ['demo', '--listen', `127.0.0.1:${port}`], env: { ACERELAY_LOG_LEVEL: 'warn' }, volumes: { '/data': data } });
    try {
      await child.waitFor(/acerelay demo/, 60_000);
      const c = await play(`http://127.0.0.1:${port}/ace/getstream?id=${DEMO_ID}`, { until: bytes(188 * 2000), maxMs: 30_000 });
      expect(c.status).toBe(200);
      expect(c.size).toBeGreaterThanOrEqual(188 * 2000);
      expect(wholePackets(c.bytes.subarray(0, 188 * 2000))).toBe(true);
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
    } finally {
      child.proc.kill('SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  }, 300_000);
});

describe('the same check fails when the image lacks what acerelay needs', () => {
  test('a runtime file left out (.dockerignore drops the inspector’s client code): the inspector’s assets fail', async () => {
    const variant = await build(DOCKERFILE, `${DOCKERIGNORE}\nsrc/inspector/client\n`);
    expect(variant.stages[0]!.cached).toBe(true);
    const report = await checkServe(variant);
    expect(report.problems.length).toBeGreaterThan(0);
    expect(report.problems.every((p) => /^GET \/inspector\/assets\//.test(p))).toBe(true);
  }, 300_000);

  test('a runtime file left out (the final stage does not copy package.json, so bin/acerelay.js is not an ES module): it never serves', async () => {
    const variant = await build(DOCKERFILE.replace(/^COPY package\.json tsconfig\.json \.\/$/m, 'COPY tsconfig.json ./'));
    expect(readdirSync(join(variant.root, 'app'))).not.toContain('package.json');
    const report = await checkServe(variant);
    expect(report.problems).toHaveLength(1);
    // Which module error depends on the Node 20 release (syntax detection came in 20.19).
    expect(report.problems[0]).toMatch(/^exited \(1\) before serving: .*(ERR_REQUIRE_CYCLE_MODULE|ERR_REQUIRE_ESM|ERR_UNKNOWN_FILE_EXTENSION|SyntaxError)/s);
  }, 300_000);

  test('a dependency missing (tsx absent, as if it were a dev dependency that --omit=dev dropped): it never serves', async () => {
    const variant = await build();
    rmSync(join(variant.root, 'app', 'node_modules', 'tsx'), { recursive: true });
    const report = await checkServe(variant);
    expect(report.problems).toHaveLength(1);
    expect(report.problems[0]).toMatch(/^exited \(1\) before serving: .*ERR_MODULE_NOT_FOUND/s);
  }, 300_000);
});

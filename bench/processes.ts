/**
 * The processes a benchmark run owns: the simulator (the source), acerelay, the bare pipe,
 * nginx, and the load client. Each is spawned by this module, known by its pid, and stopped
 * by that pid alone (SIGTERM, then SIGKILL after a grace).
 */
import { spawn, fork, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ProcGroup } from './proc-stats.ts';
import { childPids } from './proc-stats.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'acerelay.js');
const PROBE = join(ROOT, 'bench', 'preload', 'probe.ts');

export interface Service {
  name: string;
  child: ChildProcess;
  /** The processes whose CPU and memory count as this service's. */
  group: ProcGroup;
  url: string;
  /** The probe preload's snapshot file (Node services only). */
  probeFile?: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function logFd(dir: string, name: string): number {
  return openSync(join(dir, `${name}.log`), 'a');
}

function logTail(dir: string, name: string): string {
  try {
    return readFileSync(join(dir, `${name}.log`), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '';
  }
}

/** Reads the first stdout line as JSON (the sim and the pipe announce their URLs so). */
function firstLine(child: ChildProcess, name: string, dir: string, timeoutMs = 20_000): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${name}: no first line within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      // Keep draining: a full pipe would block the child.
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      try {
        resolve(JSON.parse(buf.slice(0, nl)) as Record<string, string>);
      } catch {
        reject(new Error(`${name}: first line is not JSON: ${buf.slice(0, nl)}`));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before announcing itself: ${logTail(dir, name)}`));
    });
  });
}

async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

async function waitHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface SimService extends Service {
  control: string;
  engineUrl: string;
}

/** `acerelay sim` with one engine: the source of every scenario. */
export async function startSim(dir: string, opts: { bitrate: number; startDelayMs: number; name: string; chunkBytes?: number }): Promise<SimService> {
  const fd = logFd(dir, opts.name);
  const child = spawn(
    process.execPath,
    [BIN, 'sim', '--port', '0', '--bitrate', String(opts.bitrate), '--min-replicas', '1', '--engine-ready-delay', '0', '--start-delay', `${opts.startDelayMs}ms`, '--idle-expiry', '10m', ...(opts.chunkBytes ? ['--chunk', String(opts.chunkBytes)] : [])],
    { cwd: ROOT, stdio: ['ignore', 'pipe', fd] },
  );
  closeSync(fd);
  const first = await firstLine(child, opts.name, dir);
  const state = (await (await fetch(`${first.control}/__sim/state`)).json()) as { engines: Array<{ url: string }> };
  const engineUrl = state.engines[0]?.url;
  if (!engineUrl) throw new Error('the simulator has no engine');
  await waitHttp(`${engineUrl}/webui/api/service?method=get_version`);
  return {
    name: opts.name,
    child,
    group: { pids: [child.pid!] },
    url: first.orchestrator!,
    control: first.control!,
    engineUrl,
    stop: () => stopChild(child),
  };
}

export interface AcerelayOptions {
  engineUrl: string;
  /** Write a V8 CPU profile into this directory on exit. */
  cpuProfDir?: string;
}

/** acerelay as a player would meet it: `node bin/acerelay.js serve` in single-engine mode. */
export async function startAcerelay(dir: string, opts: AcerelayOptions): Promise<Service> {
  const port = await freePort();
  const probeFile = join(dir, `acerelay-probe-${port}.json`);
  const env: NodeJS.ProcessEnv = {};
  // Only what this run sets: an operator's ACERELAY_* or ACEXY_* must not leak in.
  for (const [k, v] of Object.entries(process.env)) if (!/^(ACERELAY_|ACEXY_)/.test(k)) env[k] = v;
  Object.assign(env, {
    ACERELAY_ENGINE_URL: opts.engineUrl,
    ACERELAY_LISTEN: `127.0.0.1:${port}`,
    ACERELAY_DATA_DIR: join(dir, 'data'),
    // Cold-start trials use a fresh channel each: short linger keeps finished ones from piling up.
    ACERELAY_LINGER: '1s',
    BENCH_PROBE_FILE: probeFile,
    BENCH_PROBE_GC: '1',
  });
  const prof = opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [];
  // Extra V8/Node flags for investigations (e.g. --trace-gc), from the environment only.
  const extra = (process.env.BENCH_ACERELAY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const fd = logFd(dir, 'acerelay');
  const child = spawn(process.execPath, ['--expose-gc', ...extra, '--import', 'tsx', '--import', PROBE, ...prof, BIN, 'serve'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  await waitHttp(`${url}/healthz`);
  return { name: 'acerelay', child, group: { pids: [child.pid!] }, url, probeFile, stop: () => stopChild(child) };
}

/** The bare Node pipe proxy (bench/refs/pipe-proxy.ts) in front of the engine. */
export async function startPipe(dir: string, upstream: string): Promise<Service> {
  const probeFile = join(dir, 'pipe-probe.json');
  const fd = logFd(dir, 'pipe');
  const child = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', '--import', PROBE, join(ROOT, 'bench', 'refs', 'pipe-proxy.ts'), '0', upstream], {
    cwd: ROOT,
    env: { ...process.env, BENCH_PROBE_FILE: probeFile, BENCH_PROBE_GC: '1' },
    stdio: ['ignore', 'pipe', fd],
  });
  closeSync(fd);
  const first = await firstLine(child, 'pipe', dir);
  return { name: 'pipe', child, group: { pids: [child.pid!] }, url: first.url!, probeFile, stop: () => stopChild(child) };
}

export const NGINX_BIN = '/usr/sbin/nginx';

/** nginx as a plain reverse proxy (proxy_buffering off, HTTP/1.1 upstream), one worker. */
export async function startNginx(dir: string, upstream: string): Promise<Service | null> {
  if (!existsSync(NGINX_BIN)) return null;
  const port = await freePort();
  const prefix = join(dir, 'nginx');
  mkdirSync(join(prefix, 'logs'), { recursive: true });
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, nginxConfig(prefix, port, new URL(upstream)));
  const fd = logFd(dir, 'nginx');
  const child = spawn(NGINX_BIN, ['-p', prefix, '-c', conf, '-e', join(prefix, 'logs', 'error.log'), '-g', 'daemon off;'], {
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitHttp(`${url}/webui/api/service?method=get_version`, 10_000);
  } catch (err) {
    await stopChild(child, 2_000);
    const log = existsSync(join(prefix, 'logs', 'error.log')) ? readFileSync(join(prefix, 'logs', 'error.log'), 'utf8').slice(-500) : '';
    throw new Error(`nginx did not start: ${(err as Error).message} ${log}`);
  }
  // Workers are forked by the master: CPU and memory count across all of them.
  const pids = [child.pid!, ...childPids(child.pid!)];
  return { name: 'nginx', child, group: { pids }, url, stop: () => stopChild(child) };
}

/**
 * One worker, like one Node event loop; buffering off so bytes go through as they come
 * (the acexy-style setup people put in front of engines); keepalive to the upstream.
 */
export function nginxConfig(prefix: string, port: number, upstream: URL): string {
  return `worker_processes 1;
worker_rlimit_nofile 20000;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  upstream engine {
    server ${upstream.hostname}:${upstream.port};
    keepalive 32;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://engine;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`;
}

/** The load client: a forked Node process with an IPC channel. */
export function startLoadClient(dir: string, index = 0): ChildProcess {
  const fd = logFd(dir, `load-client-${index}`);
  const child = fork(join(ROOT, 'bench', 'load', 'client.ts'), [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  return child;
}

export { stopChild };

/**
 * Real nginx (Debian's nginx-light, installed by .ci/run) running the committed
 * deploy/nginx.conf on loopback: the instances' addresses, the listen port and the log path are
 * substituted, and a minimal main configuration (pid, error log, temp paths under a fresh
 * prefix) includes it, as /etc/nginx/nginx.conf includes conf.d.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventually } from '../support/stack.ts';
import { freePort } from '../support/ports.ts';

export const NGINX_BIN = '/usr/sbin/nginx';
export const COMMITTED = fileURLToPath(new URL('../../deploy/nginx.conf', import.meta.url));

export interface Nginx {
  url: string;
  proc: ChildProcess;
  prefix: string;
  errorLog(): string;
  accessLog(): string;
  stop(): Promise<void>;
}

/** The committed configuration with these instances (`host:port`, in order), this port and this log folder. */
export function substituted(text: string, instances: string[], port: number, logs: string): string {
  const servers = [...text.matchAll(/^(\s*)server\s+acerelay-\d+:8080\b([^;]*);/gm)];
  if (servers.length !== instances.length) throw new Error(`deploy/nginx.conf lists ${servers.length} servers; the test runs ${instances.length}`);
  let i = 0;
  let out = text.replace(/^(\s*)server\s+acerelay-\d+:8080\b([^;]*);/gm, (_m, indent: string, params: string) => `${indent}server ${instances[i++]}${params};`);
  const listens = out.match(/^\s*listen\s+8080;/gm) ?? [];
  if (listens.length !== 1) throw new Error('deploy/nginx.conf: expected one `listen 8080;`');
  out = out.replace(/^(\s*)listen\s+8080;/m, `$1listen 127.0.0.1:${port};`);
  if (!out.includes('/var/log/nginx/')) throw new Error('deploy/nginx.conf: expected its access log under /var/log/nginx/');
  return out.replaceAll('/var/log/nginx/', `${logs}/`);
}

export async function startNginx(instances: string[], opts: { workers?: number } = {}): Promise<Nginx> {
  if (!existsSync(NGINX_BIN)) throw new Error(`${NGINX_BIN} is missing (Debian: apt-get install nginx-light; .ci/run installs it)`);
  const prefix = mkdtempSync(join(tmpdir(), 'acerelay-nginx-'));
  // Run as root, nginx's workers are `nobody`: they must be able to enter the prefix.
  chmodSync(prefix, 0o755);
  const logs = join(prefix, 'logs');
  mkdirSync(logs, { recursive: true });
  const port = await freePort();
  writeFileSync(join(prefix, 'acerelay.conf'), substituted(readFileSync(COMMITTED, 'utf8'), instances, port, logs));
  writeFileSync(
    join(prefix, 'nginx.conf'),
    `worker_processes ${opts.workers ?? 2};
pid ${prefix}/nginx.pid;
error_log ${logs}/error.log info;
events { worker_connections 1024; }
http {
  client_body_temp_path ${prefix}/client_body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  include ${prefix}/acerelay.conf;
}
`,
  );
  const proc = spawn(NGINX_BIN, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-e', join(logs, 'error.log'), '-g', 'daemon off;'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const read = (name: string) => (existsSync(join(logs, name)) ? readFileSync(join(logs, name), 'utf8') : '');
  try {
    // nginx's own 404 (location /): it is up without touching an instance.
    await eventually(async () => {
      if (proc.exitCode !== null) throw new Error(`nginx exited ${proc.exitCode}`);
      return (await fetch(`${url}/nothing`).catch(() => null))?.status === 404;
    }, 10_000);
  } catch (err) {
    proc.kill('SIGKILL');
    throw new Error(`nginx did not start: ${stderr} ${read('error.log').slice(-1000)} (${(err as Error).message})`);
  }
  return {
    url,
    proc,
    prefix,
    errorLog: () => read('error.log'),
    accessLog: () => read('acerelay.access.log'),
    async stop() {
      // SIGTERM is nginx's fast shutdown: open streams are closed, the workers exit with the master.
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    },
  };
}

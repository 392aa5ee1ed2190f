/** What the figures were measured on: they mean nothing without it. */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { NGINX_BIN, ROOT } from './processes.ts';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string | null;
  commit: string | null;
  date: string;
}

/** A command's output (stdout, else stderr: nginx -v prints there), or null when it fails. */
function quiet(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return (r.stdout.trim() || r.stderr.trim()) ?? null;
}

export function describeMachine(): Machine {
  const nginx = existsSync(NGINX_BIN) ? quiet(NGINX_BIN, ['-v'])?.replace(/^nginx version:\s*/, '') ?? null : null;
  const commit = quiet('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = spawnSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 1024 ** 3),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    nginx,
    commit: commit ? `${commit}${dirty ? ' (+ uncommitted changes in src/)' : ''}` : null,
    date: new Date().toISOString(),
  };
}

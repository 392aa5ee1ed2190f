/** acerelay as a real child process (`node bin/acerelay.js …`), as users and CI run it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BIN = fileURLToPath(new URL('../../bin/acerelay.js', import.meta.url));

export interface Child {
  proc: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves with the first stderr/stdout line matching `re`. */
  waitFor(re: RegExp, ms?: number): Promise<string>;
}

export function runAcerelay(args: string[], env: Record<string, string | undefined> = {}): Child {
  const proc = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, ACERELAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'acerelay-data-')), ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watchChild(proc);
}

/** Any process spawned with piped stdout/stderr, watched like `runAcerelay`'s. */
export function watchChild(proc: ChildProcess): Child {
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: (line: string) => void }> = [];
  const scan = () => {
    for (const w of [...waiters]) {
      const m = (out + err).split('\n').find((l) => w.re.test(l));
      if (m !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    scan();
  });
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    scan();
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  return {
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(re, ms = 15_000) {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for ${re}; stderr: ${err.slice(-2000)}`)), ms);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
        scan();
      });
    },
  };
}

/**
 * `acerelay serve` on a free loopback port against an orchestrator (the simulator), on a data
 * dir the test keeps across restarts, polling the status quickly so recovery shows within a
 * test's patience. `extra` overrides or adds variables.
 */
export function serveAcerelay(orchUrl: string, dataDir: string, extra: Record<string, string> = {}): Child {
  return runAcerelay(['serve', '--listen', '127.0.0.1:0'], {
    ACERELAY_ORCH_URL: orchUrl,
    ACERELAY_DATA_DIR: dataDir,
    ACERELAY_LOG_LEVEL: 'info',
    ACERELAY_STATUS_INTERVAL: '2s',
    ACERELAY_STATUS_INTERVAL_DEGRADED: '1s',
    ...extra,
  });
}

/** The base URL a serving child logs once it listens. */
export async function listeningUrl(child: Child, ms?: number): Promise<string> {
  return JSON.parse(await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/, ms)).url as string;
}

/**
 * `docker run` of an emulated image: its ENTRYPOINT + CMD from its working directory, with
 * only its ENV (plus PATH and HOME) and its volumes mapped to folders here. Absolute paths in
 * the command that exist in the image are mapped into the image's folder.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { watchChild, type Child } from '../support/child.ts';
import type { Image } from './image-build.ts';

export interface RunOptions {
  /** Arguments replacing CMD, as in `docker run IMAGE args…`. */
  args?: string[];
  /** `-e` variables. */
  env?: Record<string, string>;
  /** `-v host:container`: container path → folder here. */
  volumes?: Record<string, string>;
}

function mapPath(image: Image, arg: string): string {
  return arg.startsWith('/') && existsSync(join(image.root, arg)) ? join(image.root, arg) : arg;
}

function mapEnv(image: Image, opts: RunOptions): NodeJS.ProcessEnv {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
  for (const [k, v] of Object.entries({ ...image.env, ...opts.env })) {
    let value = v;
    for (const [inContainer, here] of Object.entries(opts.volumes ?? {})) {
      if (value === inContainer || value.startsWith(`${inContainer}/`)) value = here + value.slice(inContainer.length);
    }
    env[k] = value;
  }
  return env;
}

export function runImage(image: Image, opts: RunOptions = {}): Child {
  const argv = opts.args ? [...(image.entrypoint ?? []), ...opts.args] : image.argv;
  if (argv.length === 0) throw new Error('the image has neither ENTRYPOINT nor CMD');
  const [cmd, ...rest] = argv.map((a) => mapPath(image, a));
  const proc = spawn(cmd!, rest, { cwd: join(image.root, posix.normalize(image.workdir)), env: mapEnv(image, opts), stdio: ['ignore', 'pipe', 'pipe'] });
  return watchChild(proc);
}

/** Runs the image's HEALTHCHECK command once, like docker does inside the container: its exit code. */
export function runHealthcheck(image: Image, opts: RunOptions = {}): Promise<number | null> {
  const argv = image.healthcheck?.argv;
  if (!argv) throw new Error('the image has no HEALTHCHECK');
  const [cmd, ...rest] = argv.map((a) => mapPath(image, a));
  const proc = spawn(cmd!, rest, { cwd: join(image.root, posix.normalize(image.workdir)), env: mapEnv(image, opts), stdio: 'ignore' });
  return new Promise((resolve) => proc.on('close', (code) => resolve(code)));
}

/**
 * `docker build` without docker: each stage becomes a folder standing for its filesystem. COPY
 * copies exactly what docker would (the context filtered by `.dockerignore`, or another stage's
 * files), RUN runs what can run outside a container (npm, rm and mkdir inside the stage) and
 * records the rest (apt-get, chown: they need the base image and root), and the final stage's
 * settings (ENV, USER, EXPOSE, VOLUME, HEALTHCHECK, ENTRYPOINT/CMD) come back for the test to
 * check and to start the image with. The base image itself is not there: its Node is this
 * machine's Node 20.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, copyFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { DockerIgnore } from './dockerignore.ts';
import { commandArgv, execForm, parseCopy, parseDockerfile, parseEnv, parseHealthcheck, substitute, words, type Healthcheck, type Stage } from './dockerfile.ts';

export interface StageResult {
  index: number;
  name: string | null;
  base: string;
  /** The stage's filesystem. */
  root: string;
  /** Context files the stage copied (context-relative). */
  fromContext: string[];
  /** RUN commands (or parts of `a && b`) that ran here, and those recorded but not run. */
  ran: string[];
  skipped: string[];
  /** Reused from an earlier build in this process (same instructions, same inputs). */
  cached: boolean;
  seconds: number;
  env: Record<string, string>;
  workdir: string;
  user: string | null;
  expose: string[];
  volumes: string[];
  healthcheck: Healthcheck | null;
  stopSignal: string | null;
  entrypoint: string[] | null;
  cmd: string[] | null;
}

export interface Image extends StageResult {
  stages: StageResult[];
  /** What `docker run IMAGE` runs: ENTRYPOINT + CMD. */
  argv: string[];
}

export interface BuildInput {
  context: string;
  dockerfile: string;
  dockerignore: string;
  /** Environment for RUN (npm needs its cache and the registry); npm_* and test variables are removed. */
  env?: NodeJS.ProcessEnv;
}

/** Stages that ran an install, by a hash of their instructions and inputs: docker's layer cache, in-process. */
const stageCache = new Map<string, StageResult>();

/** Context files (and symlinks) docker would send, context-relative with `/`. */
export function contextFiles(context: string, ignore: DockerIgnore): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(context, rel), { withFileTypes: true })) {
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      const excluded = ignore.excludes(path);
      if (entry.isDirectory()) {
        if (!excluded || ignore.hasExceptions) walk(path);
      } else if (!excluded) {
        out.push(path);
      }
    }
  };
  walk('');
  return out.sort();
}

function sanitizedEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) {
    if (/^npm_/i.test(k) || /^VITEST/.test(k) || ['NODE_ENV', 'NODE_OPTIONS', 'NODE_PATH', 'INIT_CWD', 'TEST'].includes(k)) continue;
    out[k] = v;
  }
  return out;
}

function inside(root: string, absolute: string): string {
  const clean = posix.normalize(absolute);
  if (!clean.startsWith('/')) throw new Error(`not an absolute path: ${absolute}`);
  return join(root, clean);
}

function copyEntry(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true });
  const st = lstatSync(from);
  if (st.isSymbolicLink()) {
    rmSync(to, { force: true });
    symlinkSync(readlinkSync(from), to);
  } else {
    copyFileSync(from, to);
    chmodSync(to, st.mode & 0o7777);
  }
}

function hashFiles(context: string, files: string[]): string {
  const h = createHash('sha256');
  for (const f of files) {
    h.update(f).update('\0');
    const st = lstatSync(join(context, f));
    h.update(st.isSymbolicLink() ? `link:${readlinkSync(join(context, f))}` : readFileSync(join(context, f))).update('\0');
  }
  return h.digest('hex');
}

/** The context files one COPY source names: the file itself, or everything under the directory. */
function sourceFiles(source: string, files: string[]): { files: string[]; isDir: boolean; rel: string } {
  if (/[*?[]/.test(source)) throw new Error(`COPY ${source}: wildcard sources are not emulated by test/deploy`);
  const rel = posix.normalize(source).replace(/^\.?\/+/, '').replace(/\/+$/, '');
  if (rel === '' || rel === '.') return { files, isDir: true, rel: '' };
  if (rel.startsWith('..')) throw new Error(`COPY ${source}: outside the build context`);
  if (files.includes(rel)) return { files: [rel], isDir: false, rel };
  const under = files.filter((f) => f.startsWith(`${rel}/`));
  if (under.length === 0) throw new Error(`COPY ${source}: not found in the build context (absent, or excluded by .dockerignore)`);
  return { files: under, isDir: true, rel };
}

function runShell(command: string, cwd: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`RUN ${command} exited ${code}:\n${out.slice(-4000)}`))));
  });
}

/** A path inside the working directory without globbing or expansion: what an emulated `rm` may remove. */
function plainRelative(p: string): boolean {
  const clean = posix.normalize(p);
  return !clean.startsWith('/') && !clean.startsWith('..') && !/[*?[$`~]/.test(clean);
}

export async function buildImage(input: BuildInput): Promise<Image> {
  const file = parseDockerfile(input.dockerfile);
  const ignore = new DockerIgnore(input.dockerignore);
  const files = contextFiles(input.context, ignore);
  const out = mkdtempSync(join(tmpdir(), 'acerelay-image-'));
  const runEnv = sanitizedEnv(input.env ?? process.env);
  const built: StageResult[] = [];
  const keys: string[] = [];
  const byName = (ref: string): { result: StageResult; key: string } => {
    const i = /^\d+$/.test(ref) ? Number(ref) : built.findIndex((s) => s.name === ref);
    if (i < 0 || i >= built.length) throw new Error(`COPY --from=${ref}: no earlier stage by that name`);
    return { result: built[i]!, key: keys[i]! };
  };

  for (const stage of file.stages) {
    const key = stageKey(stage, input.context, files, (ref) => byName(ref).key);
    keys.push(key);
    const cached = stageCache.get(key);
    if (cached && stage.index < file.stages.length - 1) {
      built.push({ ...cached, cached: true, seconds: 0 });
      continue;
    }
    const result = await buildStage(stage, join(out, `stage-${stage.index}`), input.context, files, byName, runEnv, file.globalArgs);
    built.push(result);
    if (result.ran.length > 0) stageCache.set(key, result);
  }
  const last = built.at(-1)!;
  const argv = last.entrypoint ? [...last.entrypoint, ...(last.cmd ?? [])] : (last.cmd ?? []);
  return { ...last, stages: built, argv };
}

function stageKey(stage: Stage, context: string, files: string[], keyOf: (ref: string) => string): string {
  const h = createHash('sha256').update(stage.base);
  for (const ins of stage.instructions) {
    h.update(`${ins.keyword} ${ins.args}\n`);
    if (ins.keyword !== 'COPY') continue;
    const copy = parseCopy(ins.args);
    if (copy.from !== null) h.update(keyOf(copy.from));
    else for (const s of copy.sources) h.update(hashFiles(context, sourceFiles(s, files).files));
  }
  return h.digest('hex');
}

async function buildStage(
  stage: Stage,
  dir: string,
  context: string,
  files: string[],
  byName: (ref: string) => { result: StageResult },
  runEnv: NodeJS.ProcessEnv,
  globalArgs: Record<string, string>,
): Promise<StageResult> {
  const started = Date.now();
  const root = join(dir, 'rootfs');
  mkdirSync(root, { recursive: true });
  const r: StageResult = {
    index: stage.index,
    name: stage.name,
    base: stage.base,
    root,
    fromContext: [],
    ran: [],
    skipped: [],
    cached: false,
    seconds: 0,
    env: {},
    workdir: '/',
    user: null,
    expose: [],
    volumes: [],
    healthcheck: null,
    stopSignal: null,
    entrypoint: null,
    cmd: null,
  };
  const args: Record<string, string> = {};
  const vars = () => ({ ...globalArgs, ...args, ...r.env });
  for (const ins of stage.instructions) {
    const text = ins.keyword === 'RUN' || ins.keyword === 'HEALTHCHECK' || ins.keyword === 'CMD' || ins.keyword === 'ENTRYPOINT' ? ins.args : substitute(ins.args, vars());
    switch (ins.keyword) {
      case 'ARG': {
        const [name, value] = text.split('=', 2);
        args[name!.trim()] = value ?? globalArgs[name!.trim()] ?? '';
        break;
      }
      case 'ENV':
        Object.assign(r.env, parseEnv(text));
        break;
      case 'LABEL':
        break;
      case 'WORKDIR':
        r.workdir = posix.resolve(r.workdir, text.trim());
        mkdirSync(inside(root, r.workdir), { recursive: true });
        break;
      case 'USER':
        r.user = text.trim();
        break;
      case 'EXPOSE':
        r.expose.push(...words(text));
        break;
      case 'VOLUME':
        r.volumes.push(...(execForm(text) ?? words(text)));
        break;
      case 'STOPSIGNAL':
        r.stopSignal = text.trim();
        break;
      case 'HEALTHCHECK':
        r.healthcheck = parseHealthcheck(text);
        break;
      case 'ENTRYPOINT':
        r.entrypoint = commandArgv(text);
        r.cmd = null; // a new ENTRYPOINT resets CMD, as in docker
        break;
      case 'CMD':
        r.cmd = commandArgv(text);
        break;
      case 'COPY':
        copy(text, r, root, context, files, byName);
        break;
      case 'RUN':
        await run(text, r, root, runEnv);
        break;
      default:
        throw new Error(`Dockerfile line ${ins.line}: ${ins.keyword} is not emulated`);
    }
  }
  r.seconds = (Date.now() - started) / 1000;
  return r;
}

function copy(text: string, r: StageResult, root: string, context: string, files: string[], byName: (ref: string) => { result: StageResult }): void {
  const c = parseCopy(text);
  const destAbs = posix.resolve(r.workdir, c.dest);
  const destIsDir = c.dest.endsWith('/') || c.sources.length > 1;
  if (c.from !== null) {
    const from = byName(c.from).result;
    for (const s of c.sources) {
      const src = inside(from.root, posix.resolve('/', s));
      if (!existsSync(src)) throw new Error(`COPY --from=${c.from} ${s}: not found in that stage`);
      const isDir = lstatSync(src).isDirectory();
      const target = inside(root, isDir || !destIsDir ? destAbs : posix.join(destAbs, posix.basename(s)));
      mkdirSync(isDir ? target : dirname(target), { recursive: true });
      cpSync(src, target, { recursive: true, verbatimSymlinks: true });
    }
    return;
  }
  for (const s of c.sources) {
    const found = sourceFiles(s, files);
    for (const f of found.files) {
      const rel = found.isDir ? (found.rel ? f.slice(found.rel.length + 1) : f) : posix.basename(f);
      const target = found.isDir || destIsDir ? posix.join(destAbs, rel) : destAbs;
      copyEntry(join(context, f), inside(root, target));
      r.fromContext.push(f);
    }
  }
}

async function run(text: string, r: StageResult, root: string, env: NodeJS.ProcessEnv): Promise<void> {
  if (execForm(text)) throw new Error(`RUN ${text}: the exec form is not emulated`);
  const cwd = inside(root, r.workdir);
  for (const part of text.split('&&').map((p) => p.trim())) {
    const w = words(part);
    if (w[0] === 'npm' && (w[1] === 'ci' || w[1] === 'install')) {
      await runShell(part, cwd, { ...env, ...r.env });
      r.ran.push(part);
    } else if (w[0] === 'rm' && /^-(rf|fr|r|f)$/.test(w[1] ?? '') && w.slice(2).every(plainRelative)) {
      for (const p of w.slice(2)) rmSync(join(cwd, posix.normalize(p)), { recursive: true, force: true });
      r.ran.push(part);
    } else if (w[0] === 'mkdir') {
      for (const p of w.slice(1).filter((x) => !x.startsWith('-'))) mkdirSync(inside(root, posix.resolve(r.workdir, p)), { recursive: true });
      r.ran.push(part);
    } else {
      r.skipped.push(part);
    }
  }
}

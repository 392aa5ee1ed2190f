/**
 * A Dockerfile read the way `docker build` reads it, for the instructions this project uses:
 * stages, ARG/ENV substitution, COPY (context or --from), RUN, WORKDIR, USER, EXPOSE, VOLUME,
 * HEALTHCHECK, STOPSIGNAL, ENTRYPOINT, CMD, LABEL. Anything else is an error, so a new
 * instruction in the Dockerfile makes the image test fail until the emulation knows it.
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  index: number;
  name: string | null;
  /** The FROM image, ARGs substituted. */
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Record<string, string>;
  stages: Stage[];
}

export const KNOWN = new Set(['FROM', 'ARG', 'ENV', 'WORKDIR', 'COPY', 'RUN', 'USER', 'EXPOSE', 'VOLUME', 'HEALTHCHECK', 'STOPSIGNAL', 'ENTRYPOINT', 'CMD', 'LABEL']);

/** Logical lines: comments dropped, `\` continuations joined (a comment inside one is dropped too). */
function logicalLines(text: string): Array<{ text: string; line: number }> {
  const out: Array<{ text: string; line: number }> = [];
  let pending: { text: string; line: number } | null = null;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (/^\s*#/.test(raw)) continue;
    if (pending === null && raw.trim() === '') continue;
    const continued = /\\\s*$/.test(raw);
    const part = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (pending) pending.text += ` ${part.trim()}`;
    else pending = { text: part.trim(), line: i + 1 };
    if (!continued) {
      out.push(pending);
      pending = null;
    }
  }
  if (pending) out.push(pending);
  return out;
}

/** `$NAME` and `${NAME}` (with `${NAME:-default}`) from `vars`; unknown names become ''. */
export function substitute(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, braced: string | undefined, def: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    const value = vars[name];
    return value !== undefined && value !== '' ? value : (def ?? '');
  });
}

export function parseDockerfile(text: string): Dockerfile {
  const globalArgs: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const { text: l, line } of logicalLines(text)) {
    const m = /^(\S+)\s*(.*)$/.exec(l)!;
    const keyword = m[1]!.toUpperCase();
    const args = m[2]!;
    if (!KNOWN.has(keyword)) throw new Error(`Dockerfile line ${line}: ${keyword} is not emulated by test/deploy`);
    if (keyword === 'FROM') {
      const f = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!f) throw new Error(`Dockerfile line ${line}: cannot read FROM ${args}`);
      stages.push({ index: stages.length, name: f[2] ?? null, base: substitute(f[1]!, globalArgs), instructions: [] });
      continue;
    }
    if (stages.length === 0) {
      if (keyword !== 'ARG') throw new Error(`Dockerfile line ${line}: ${keyword} before FROM`);
      const [name, value] = splitArg(args);
      globalArgs[name] = value ?? '';
      continue;
    }
    stages.at(-1)!.instructions.push({ keyword, args, line });
  }
  if (stages.length === 0) throw new Error('Dockerfile: no FROM');
  return { globalArgs, stages };
}

function splitArg(args: string): [string, string | undefined] {
  const i = args.indexOf('=');
  return i < 0 ? [args.trim(), undefined] : [args.slice(0, i).trim(), unquote(args.slice(i + 1).trim())];
}

function unquote(s: string): string {
  return /^".*"$|^'.*'$/.test(s) ? s.slice(1, -1) : s;
}

/** Words with shell-like quoting (ENV pairs, COPY sources). */
export function words(s: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g;
  for (const m of s.matchAll(re)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? m[3]!));
  return out;
}

/** `ENV A=1 B="two words"` or the old `ENV A 1`. */
export function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^[^\s=]+=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    if (!m) throw new Error(`cannot read ENV ${args}`);
    out[m[1]!] = m[2]!;
    return out;
  }
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (const m of args.matchAll(re)) out[m[1]!] = unquote(m[2]!).replace(/\\(.)/g, '$1');
  return out;
}

/** The exec form (`["node", "x.js"]`), or null for the shell form. */
export function execForm(args: string): string[] | null {
  const t = args.trim();
  if (!t.startsWith('[')) return null;
  const parsed: unknown = JSON.parse(t);
  if (!Array.isArray(parsed) || !parsed.every((x) => typeof x === 'string')) throw new Error(`not a JSON array of strings: ${t}`);
  return parsed as string[];
}

/** A command in either form, as the argv docker runs (shell form: `/bin/sh -c …`). */
export function commandArgv(args: string): string[] {
  return execForm(args) ?? ['/bin/sh', '-c', args.trim()];
}

export interface CopyArgs {
  from: string | null;
  flags: Record<string, string | true>;
  sources: string[];
  dest: string;
}

export function parseCopy(args: string): CopyArgs {
  const flags: Record<string, string | true> = {};
  let rest = args.trim();
  for (let m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest); m; m = /^--([a-z-]+)(?:=(\S+))?\s+/.exec(rest)) {
    flags[m[1]!] = m[2] ?? true;
    rest = rest.slice(m[0].length);
  }
  const list = execForm(rest) ?? words(rest);
  if (list.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  const from = typeof flags.from === 'string' ? flags.from : null;
  return { from, flags, sources: list.slice(0, -1), dest: list.at(-1)! };
}

export interface Healthcheck {
  options: Record<string, string>;
  /** null: HEALTHCHECK NONE. */
  argv: string[] | null;
}

export function parseHealthcheck(args: string): Healthcheck {
  const options: Record<string, string> = {};
  let rest = args.trim();
  for (let m = /^--([a-z-]+)=(\S+)\s+/.exec(rest); m; m = /^--([a-z-]+)=(\S+)\s+/.exec(rest)) {
    options[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  if (/^NONE$/i.test(rest)) return { options, argv: null };
  const cmd = /^CMD\s+(.*)$/i.exec(rest);
  if (!cmd) throw new Error(`cannot read HEALTHCHECK ${args}`);
  return { options, argv: commandArgv(cmd[1]!) };
}

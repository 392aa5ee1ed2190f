/**
 * The import arrows the layout forbids, checked over the import statements of `src/` (static
 * `import … from` and `export … from`, `import type`, `import('…')` in types, side-effect
 * imports), as TypeScript itself reads them (`ts.preProcessFile`), so comments and strings
 * never count.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import ts from 'typescript';

export interface ImportRule {
  /** The importing files: a folder under src/ (`src/machines/`). */
  from: string;
  /** Forbidden targets: folders or files under src/, or `packages` for anything not under src/. */
  forbidden: string[];
  why: string;
}

export const RULES: ImportRule[] = [
  { from: 'src/domain/', forbidden: ['src/!domain/', 'packages'], why: 'the vocabulary imports nothing but itself' },
  { from: 'src/machines/', forbidden: ['src/core/', 'src/adapters/', 'src/server/'], why: 'machines are pure: their hands are provided by core' },
  { from: 'src/adapters/', forbidden: ['src/core/'], why: 'adapters know the outside world, not the core that uses them' },
  { from: 'src/fanout/', forbidden: ['src/machines/', 'src/adapters/'], why: 'the byte path knows neither machines nor adapters' },
  { from: 'src/core/', forbidden: ['src/chaos/'], why: 'planted faults come in through the runtime, never from core' },
];

export interface Arrow {
  file: string;
  line: number;
  target: string;
}

export interface Violation extends Arrow {
  rule: ImportRule;
}

/** Every import of every file: `files` maps a repository path (`src/core/x.ts`) to its text. */
export function arrows(files: ReadonlyMap<string, string>): Arrow[] {
  const out: Arrow[] = [];
  for (const [file, text] of files) {
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      const spec = ref.fileName;
      const target = spec.startsWith('.') ? posix.normalize(posix.join(posix.dirname(file), spec)) : `package:${spec}`;
      out.push({ file, line: text.slice(0, ref.pos).split('\n').length, target });
    }
  }
  return out;
}

function forbids(pattern: string, target: string): boolean {
  if (pattern === 'packages') return target.startsWith('package:');
  // `src/!domain/`: anything under src/ but that folder.
  const not = /^src\/!(.+)$/.exec(pattern);
  if (not) return target.startsWith('src/') && !target.startsWith(`src/${not[1]}`);
  return target.startsWith(pattern);
}

export function violations(files: ReadonlyMap<string, string>, rules: ImportRule[] = RULES): Violation[] {
  const out: Violation[] = [];
  for (const arrow of arrows(files)) {
    for (const rule of rules) {
      if (arrow.file.startsWith(rule.from) && rule.forbidden.some((p) => forbids(p, arrow.target))) out.push({ ...arrow, rule });
    }
  }
  return out;
}

export function describeViolation(v: Violation): string {
  return `${v.file}:${v.line} → ${v.target} (${v.rule.from} must not import ${v.rule.forbidden.join(', ')}: ${v.rule.why})`;
}

/** The .ts files under `dir` of the repository at `root`, keyed by their repository path. */
export function sourceFiles(root: string, dir = 'src'): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) files.set(relative(root, path).split('\\').join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(join(root, dir));
  return files;
}

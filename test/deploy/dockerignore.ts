/**
 * `.dockerignore` with docker's own rules (moby/patternmatcher): patterns are cleaned paths
 * relative to the context, `*` and `?` stay within one path segment, `**` spans any number of
 * them, `!` re-includes, the last matching pattern wins, and a pattern that matches a
 * directory matches everything under it.
 */
import { posix } from 'node:path';

interface Pattern {
  text: string;
  exclusion: boolean;
  re: RegExp;
}

export class DockerIgnore {
  readonly patterns: readonly Pattern[];

  constructor(text: string) {
    const patterns: Pattern[] = [];
    for (const raw of text.split(/\r?\n/)) {
      let p = raw.trim();
      if (p === '' || p.startsWith('#')) continue;
      const exclusion = p.startsWith('!');
      if (exclusion) p = p.slice(1).trim();
      p = posix.normalize(p).replace(/^\/+/, '').replace(/\/+$/, '');
      if (p === '.' || p === '') continue;
      patterns.push({ text: p, exclusion, re: compile(p) });
    }
    this.patterns = patterns;
  }

  /** True when `.dockerignore` keeps `file` (a context-relative path with `/`) out of the context. */
  excludes(file: string): boolean {
    const parents = posix.dirname(file) === '.' ? [] : posix.dirname(file).split('/');
    let matched = false;
    for (const p of this.patterns) {
      // Only a pattern that could change the outcome is tried.
      if (p.exclusion !== matched) continue;
      let match = p.re.test(file);
      for (let i = 0; !match && i < parents.length; i++) match = p.re.test(parents.slice(0, i + 1).join('/'));
      if (match) matched = !p.exclusion;
    }
    return matched;
  }

  /** Whether some `!` pattern exists: then an excluded directory must still be walked. */
  get hasExceptions(): boolean {
    return this.patterns.some((p) => p.exclusion);
  }
}

function compile(pattern: string): RegExp {
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        i++;
        if (pattern[i + 1] === '/') i++;
        // `**` at the end takes everything; elsewhere any number of whole segments (even none).
        re += i + 1 >= pattern.length ? '.*' : '(.*/)?';
      } else {
        re += '[^/]*';
      }
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '\\' && i + 1 < pattern.length) {
      re += `\\${pattern[++i]}`;
    } else if (ch === '[' || ch === ']') {
      re += ch;
    } else if (/[.+()|{}^$]/.test(ch)) {
      re += `\\${ch}`;
    } else {
      re += ch;
    }
  }
  return new RegExp(`${re}$`);
}

/** The Dockerfile and .dockerignore readers the image test builds on: docker's rules, checked case by case. */
import { expect, test } from 'vitest';
import { DockerIgnore } from './dockerignore.ts';
import { commandArgv, parseCopy, parseDockerfile, parseEnv, parseHealthcheck } from './dockerfile.ts';

test('.dockerignore: a pattern matches from the context root and everything under what it matches; * stays in a segment, ** spans them', () => {
  const ig = new DockerIgnore('# comment\n\ndata\n*.log\n**/node_modules\n/coverage/\nsrc/**/*.tmp\n');
  expect(ig.excludes('data')).toBe(true);
  expect(ig.excludes('data/journal.db')).toBe(true);
  expect(ig.excludes('src/data/x.ts')).toBe(false);
  expect(ig.excludes('a.log')).toBe(true);
  expect(ig.excludes('src/a.log')).toBe(false);
  expect(ig.excludes('node_modules/x/index.js')).toBe(true);
  expect(ig.excludes('bench/node_modules/x')).toBe(true);
  expect(ig.excludes('coverage/index.html')).toBe(true);
  expect(ig.excludes('src/a/b/c.tmp')).toBe(true);
  expect(ig.excludes('src/c.tmp')).toBe(true);
  expect(ig.excludes('src/cli.ts')).toBe(false);
});

test('.dockerignore: ! re-includes, and the last matching pattern wins', () => {
  const ig = new DockerIgnore('docs\n!docs/keep.md\ndocs/keep.md.bak\n*.md\n!README.md\n');
  expect(ig.hasExceptions).toBe(true);
  expect(ig.excludes('docs/other.md')).toBe(true);
  expect(ig.excludes('docs/keep.md')).toBe(false);
  expect(ig.excludes('docs/keep.md.bak')).toBe(true);
  expect(ig.excludes('CHANGES.md')).toBe(true);
  expect(ig.excludes('README.md')).toBe(false);
  expect(new DockerIgnore('a/**\n!a/b\n').excludes('a/b')).toBe(false);
});

test('Dockerfile: stages with ARG-substituted bases, continuations with comments inside, both command forms, COPY flags, ENV pairs, HEALTHCHECK options', () => {
  const file = parseDockerfile(
    [
      '# syntax=docker/dockerfile:1',
      'ARG BASE=node:20-bookworm-slim',
      'FROM ${BASE} AS deps',
      'RUN apt-get update \\',
      '  # a comment inside the continuation',
      ' && apt-get install -y g++',
      'from $BASE',
      'COPY --from=deps --chown=node:node /app/node_modules ./node_modules',
      'ENV A=1 B="two words"',
      'HEALTHCHECK --interval=30s --timeout=5s CMD node /app/bin/healthcheck.js',
      'CMD ["serve"]',
    ].join('\n'),
  );
  expect(file.stages.map((s) => [s.name, s.base])).toEqual([
    ['deps', 'node:20-bookworm-slim'],
    [null, 'node:20-bookworm-slim'],
  ]);
  expect(file.stages[0]!.instructions).toEqual([{ keyword: 'RUN', args: 'apt-get update && apt-get install -y g++', line: 4 }]);
  const [copy, env, health, cmd] = file.stages[1]!.instructions;
  expect(parseCopy(copy!.args)).toEqual({ from: 'deps', flags: { from: 'deps', chown: 'node:node' }, sources: ['/app/node_modules'], dest: './node_modules' });
  expect(parseEnv(env!.args)).toEqual({ A: '1', B: 'two words' });
  expect(parseHealthcheck(health!.args)).toEqual({ options: { interval: '30s', timeout: '5s' }, argv: ['/bin/sh', '-c', 'node /app/bin/healthcheck.js'] });
  expect(commandArgv(cmd!.args)).toEqual(['serve']);
  expect(() => parseDockerfile('FROM x\nADD a b\n')).toThrow(/ADD is not emulated/);
});

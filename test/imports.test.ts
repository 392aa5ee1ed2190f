/**
 * The layout's import arrows (docs/architecture.md): the vocabulary imports nothing, machines
 * nothing from core, adapters or server, adapters nothing from core, the byte path nothing
 * from machines or adapters, and core nothing from the chaos harness.
 */
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { arrows, describeViolation, sourceFiles, violations } from './support/import-rules.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

test('no file under src/ imports across a forbidden arrow', () => {
  const files = sourceFiles(ROOT);
  expect(files.size).toBeGreaterThan(100);
  // The checker sees the imports it must judge (a parse that found none would pass anything).
  expect(arrows(files).filter((a) => a.file === 'src/machines/session.machine.ts').map((a) => a.target)).toContain('package:xstate');
  expect(violations(files).map(describeViolation)).toEqual([]);
});

test('a new forbidden arrow fails, naming the file, the line and the arrow', () => {
  const sample = new Map([
    ['src/machines/sample.machine.ts', "import { setup } from 'xstate';\nimport type { X } from '../core/session-registry.ts';\n"],
    ['src/domain/sample.ts', "export type { Y } from '../errors.ts';\nconst z: import('./ok.ts').Z = 1;\n"],
    ['src/adapters/engine/sample.ts', "import '../../core/side-effect.ts';\n"],
    ['src/fanout/sample.ts', "export * from '../machines/session.machine.ts';\n"],
    ['src/core/sample.ts', "// import { plant } from '../chaos/planted-faults.ts';\nimport type { PlantedFault } from '../chaos/planted-faults.ts';\n"],
    ['src/server/sample.ts', "import type { SessionRegistry } from '../core/session-registry.ts';\n"],
  ]);
  expect(violations(sample).map(describeViolation)).toEqual([
    expect.stringMatching(/^src\/machines\/sample\.machine\.ts:2 → src\/core\/session-registry\.ts \(src\/machines\//),
    expect.stringMatching(/^src\/domain\/sample\.ts:1 → src\/errors\.ts \(src\/domain\//),
    expect.stringMatching(/^src\/adapters\/engine\/sample\.ts:1 → src\/core\/side-effect\.ts \(src\/adapters\//),
    expect.stringMatching(/^src\/fanout\/sample\.ts:1 → src\/machines\/session\.machine\.ts \(src\/fanout\//),
    expect.stringMatching(/^src\/core\/sample\.ts:2 → src\/chaos\/planted-faults\.ts \(src\/core\//),
  ]);
});

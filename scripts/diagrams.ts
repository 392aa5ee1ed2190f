/**
 * `npm run diagrams`: writes docs/machines/<name>.dot and .svg from the machines themselves,
 * with the same generator the inspector serves. test/inspector/diagram/diagrams.test.ts fails when the
 * committed files differ from what the code generates now.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generateDiagrams } from '../src/inspector/diagram/machines.ts';

const dir = fileURLToPath(new URL('../docs/machines/', import.meta.url));
mkdirSync(dir, { recursive: true });
for (const d of await generateDiagrams()) {
  for (const w of d.warnings) process.stderr.write(`${d.name}: graphviz ${w}\n`);
  writeFileSync(`${dir}${d.name}.dot`, d.dot);
  writeFileSync(`${dir}${d.name}.svg`, d.svg);
  process.stdout.write(`docs/machines/${d.name}.dot, docs/machines/${d.name}.svg (${d.graph.states.length} states, ${d.graph.edges.length} transitions)\n`);
}

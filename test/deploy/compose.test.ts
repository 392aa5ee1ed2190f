/**
 * deploy/compose.yaml as acerelay will read it: the acerelay service's environment, with
 * compose's `${VAR:-default}` filled from a given shell, goes through acerelay's own
 * configuration loader; its port, volume and image agree with the Dockerfile.
 */
import { expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { parseDockerfile, parseEnv } from './dockerfile.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMPOSE = readFileSync(`${ROOT}deploy/compose.yaml`, 'utf8');

/** The block of `key:` under the `acerelay:` service (a line-based reading: the file keeps to plain block style). */
function serviceBlock(service: string, key: string): string[] {
  const lines = COMPOSE.split('\n');
  const s = lines.findIndex((l) => l === `  ${service}:` || l.startsWith(`  ${service}: `) || l.startsWith(`  ${service}:  `));
  expect(s, `service ${service}`).toBeGreaterThan(-1);
  const end = lines.findIndex((l, i) => i > s && /^ {0,2}\S/.test(l));
  const body = lines.slice(s + 1, end < 0 ? undefined : end);
  const k = body.findIndex((l) => new RegExp(`^    ${key}:`).test(l));
  if (k < 0) return [];
  const out: string[] = [];
  for (const l of body.slice(k + 1)) {
    if (/^ {0,4}\S/.test(l)) break;
    const t = l.replace(/\s+#.*$/, '').trim();
    if (t && !t.startsWith('#')) out.push(t);
  }
  return out;
}

function interpolate(value: string, shell: Record<string, string>): string {
  return value.replace(/\$\{([A-Z_]+)(?::-([^}]*))?\}/g, (_m, name: string, def: string | undefined) => shell[name] || (def ?? ''));
}

function environment(shell: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of serviceBlock('acerelay', 'environment')) {
    const m = /^([A-Z0-9_]+):\s*(.*)$/.exec(line);
    expect(m, line).not.toBeNull();
    env[m![1]!] = interpolate(m![2]!.replace(/^"(.*)"$/, '$1'), shell);
  }
  return env;
}

test('compose: acerelay reads the service’s environment (acexy’s names) without an error or an unknown variable; the API key comes from API_KEY', () => {
  const image = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
  const imageEnv = Object.assign({}, ...image.stages.at(-1)!.instructions.filter((i) => i.keyword === 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;

  const unset = loadConfig([], { ...imageEnv, ...environment({}) });
  expect(unset.config.orchUrl).toBe('http://orchestrator:8000');
  expect(unset.config.orchApiKey).toBeUndefined();
  expect(unset.config.listen).toEqual({ host: undefined, port: 8080 });
  expect(unset.config.maxStreamsPerEngine).toBe(1);
  expect(unset.config.dataDir).toBe('/data');
  // Only the empty key and token are remarked on (they mean "none"); nothing is unknown.
  expect(unset.warnings).toEqual(['ACEXY_ORCH_APIKEY is empty: treated as unset', 'ACERELAY_ADMIN_TOKEN is empty: treated as unset']);
  expect(unset.config.adminToken).toBeUndefined();

  const set = loadConfig([], { ...imageEnv, ...environment({ API_KEY: 'k-123', ACEXY_ORCH_URL: 'http://orch.lan:8000', ACERELAY_ADMIN_TOKEN: 't-456' }) });
  expect(set.config.orchApiKey).toBe('k-123');
  expect(set.config.orchUrl).toBe('http://orch.lan:8000');
  expect(set.config.adminToken).toBe('t-456');
  expect(set.warnings).toEqual([]);
});

test('compose: the port players use, the journal volume and the image agree with the Dockerfile', () => {
  expect(serviceBlock('acerelay', 'ports')).toEqual(['- "8080:8080"']);
  expect(serviceBlock('acerelay', 'volumes')).toEqual(['- acerelay-data:/data']);
  expect(COMPOSE).toMatch(/^    image: acerelay\b/m);
  expect(COMPOSE).toMatch(/^    stop_grace_period: 30s$/m);
  const dockerfile = readFileSync(`${ROOT}Dockerfile`, 'utf8');
  expect(dockerfile).toMatch(/^EXPOSE 8080$/m);
  expect(dockerfile).toMatch(/^VOLUME \["\/data"\]$/m);
});

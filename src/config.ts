/**
 * One parser for configuration: environment variables, their acexy aliases and CLI flags.
 * A flag beats the environment; an ACERELAY_* variable beats its acexy alias. Every problem
 * is reported with the name of the variable (or flag) that caused it.
 */
import { hostname } from 'node:os';
import { parseDuration, parseSize, formatDuration, formatSize, UnitError } from './units.ts';

export interface Listen {
  host: string | undefined;
  port: number;
}

export interface Config {
  listen: Listen;
  orchUrl: string | undefined;
  orchApiKey: string | undefined;
  engineUrl: string | undefined;
  maxStreamsPerEngine: number;
  emptyTimeoutMs: number;
  noResponseTimeoutMs: number;
  bufferBytes: number;
  memoryMaxBytes: number;
  holdMaxMs: number;
  queueMax: number;
  lingerMs: number;
  provisionConcurrency: number;
  dataDir: string;
  journalRetentionMs: number;
  journalMaxBytes: number;
  adminToken: string | undefined;
  logLevel: string;
  /** This instance's name: in every stream id it starts and in its stream_started labels. */
  instance: string;
  statusIntervalMs: number;
  statusIntervalDegradedMs: number;
  statusIntervalHeldMs: number;
  statusTimeoutMs: number;
  probeIntervalMs: number;
  orphanCheckIntervalMs: number;
  writeStallTimeoutMs: number;
  shutdownGraceMs: number;
  hlsSegmentMs: number;
  hlsWindow: number;
  hlsIdleMs: number;
  hlsFirstWaitMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
  }
}

type Parser = (text: string) => unknown;

interface VarSpec {
  key: keyof Config;
  name: string;
  aliases?: string[];
  default: string | undefined;
  /** How --help shows a default computed at start (e.g. the host name). */
  defaultText?: string;
  parse: Parser;
  help: string;
  secret?: boolean;
  /** An empty value (`VAR=` in a compose file) means unset, with a warning, instead of an error. */
  emptyIsUnset?: boolean;
  /** Shown in --help under "advanced": tuning knobs mostly for tests and the chaos harness. */
  advanced?: boolean;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function duration(text: string): number {
  return parseDuration(text);
}

function positiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new UnitError(`"${text}" must be longer than 0`);
  return ms;
}

function size(text: string): number {
  const n = parseSize(text);
  if (n < 188) throw new UnitError(`"${text}" is smaller than one TS packet (188 bytes)`);
  return n;
}

function positiveInt(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UnitError(`"${text}" is not a whole number ≥ 1`);
  return Number(text);
}

function url(text: string): string {
  let u: URL;
  try {
    u = new URL(text.trim());
  } catch {
    throw new UnitError(`"${text}" is not a URL (use e.g. http://orchestrator:8000)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UnitError(`"${text}" must be an http:// or https:// URL`);
  return u.toString().replace(/\/+$/, '');
}

function text(value: string): string {
  return value;
}

function nonEmpty(value: string): string {
  if (value.trim() === '') throw new UnitError('must not be empty');
  return value;
}

/**
 * An instance name goes into stream ids (`acerelay-<instance>-<uuid>`) and labels: letters,
 * digits, `.`, `_` and `-`, as in a host name, at most 63.
 */
const INSTANCE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

function instanceName(value: string): string {
  const v = value.trim();
  if (!INSTANCE.test(v)) throw new UnitError(`"${value}" is not an instance name (letters, digits, ".", "_", "-"; at most 63; e.g. acerelay-1)`);
  return v;
}

/** The host name as an instance name (a container's is its id, or what compose's `hostname:` says). */
export function defaultInstance(host: string = hostname()): string {
  const name = host.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 63);
  return name === '' ? 'acerelay' : name;
}

function logLevel(value: string): string {
  const v = value.trim().toLowerCase();
  if (!LOG_LEVELS.includes(v)) throw new UnitError(`"${value}" is not one of ${LOG_LEVELS.join(', ')}`);
  return v;
}

/** `:8080`, `8080`, `host:8080`, `[::]:8080`. */
export function parseListen(value: string): Listen {
  const v = value.trim();
  let host: string | undefined;
  let portText: string | undefined;
  if (/^\d+$/.test(v)) {
    portText = v;
  } else {
    const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(v);
    host = m?.[1] ?? m?.[2];
    portText = m?.[3];
  }
  const port = Number(portText);
  if (portText === undefined || !Number.isInteger(port) || port > 65535) {
    throw new UnitError(`"${value}" is not an address (use :8080, 8080, host:8080 or [::]:8080)`);
  }
  return { host: host ? host : undefined, port };
}

const SPECS: VarSpec[] = [
  { key: 'listen', name: 'ACERELAY_LISTEN', aliases: ['ACEXY_LISTEN_ADDR', 'ACEXY_ADDR'], default: ':8080', parse: parseListen, help: 'address to listen on: :8080, 8080, host:8080, [::]:8080' },
  { key: 'orchUrl', name: 'ACERELAY_ORCH_URL', aliases: ['ACEXY_ORCH_URL'], default: undefined, parse: url, help: 'orchestrator base URL; unset = single-engine mode' },
  { key: 'orchApiKey', name: 'ACERELAY_ORCH_APIKEY', aliases: ['ACEXY_ORCH_APIKEY'], default: undefined, parse: nonEmpty, help: "the orchestrator's API key (sent as Bearer; never logged); empty = unset", secret: true, emptyIsUnset: true },
  { key: 'engineUrl', name: 'ACERELAY_ENGINE_URL', default: undefined, parse: url, help: 'the single engine (default http://localhost:6878 without an orchestrator); with one, a fallback used only when set' },
  { key: 'maxStreamsPerEngine', name: 'ACERELAY_MAX_STREAMS_PER_ENGINE', aliases: ['ACEXY_MAX_STREAMS_PER_ENGINE'], default: '1', parse: positiveInt, help: 'engine sessions per engine' },
  { key: 'emptyTimeoutMs', name: 'ACERELAY_EMPTY_TIMEOUT', aliases: ['ACEXY_EMPTY_TIMEOUT'], default: '60s', parse: positiveDuration, help: 'upstream silence before the session restarts' },
  { key: 'noResponseTimeoutMs', name: 'ACERELAY_NO_RESPONSE_TIMEOUT', aliases: ['ACEXY_NO_RESPONSE_TIMEOUT'], default: '30s', parse: positiveDuration, help: 'engine start call and playback headers' },
  { key: 'bufferBytes', name: 'ACERELAY_BUFFER', aliases: ['ACEXY_BUFFER', 'ACEXY_BUFFER_SIZE'], default: '4MiB', parse: size, help: "one player's backlog bound" },
  { key: 'memoryMaxBytes', name: 'ACERELAY_MEMORY_MAX', default: '512MiB', parse: size, help: 'all backlogs together; past it the slowest players are dropped first' },
  { key: 'holdMaxMs', name: 'ACERELAY_HOLD_MAX', default: '60s', parse: positiveDuration, help: 'longest a player is held (200 + keep-alive) waiting for recovery' },
  { key: 'queueMax', name: 'ACERELAY_QUEUE_MAX', default: '100', parse: positiveInt, help: 'players held at once, whatever they wait for' },
  { key: 'lingerMs', name: 'ACERELAY_LINGER', default: '10s', parse: duration, help: 'keep an engine session after its last player leaves' },
  { key: 'provisionConcurrency', name: 'ACERELAY_PROVISION_CONCURRENCY', default: '2', parse: positiveInt, help: 'provisioning calls in flight while provisioning is possible' },
  { key: 'dataDir', name: 'ACERELAY_DATA_DIR', default: './data', parse: nonEmpty, help: 'the journal' },
  { key: 'journalRetentionMs', name: 'ACERELAY_JOURNAL_RETENTION', default: '7d', parse: positiveDuration, help: 'journal entries older than this are pruned' },
  { key: 'journalMaxBytes', name: 'ACERELAY_JOURNAL_MAX', default: '256MiB', parse: (t: string) => { const n = parseSize(t); if (n < 1024 * 1024) throw new UnitError(`"${t}" is less than 1MiB`); return n; }, help: 'the journal file is pruned (oldest first) to stay under this size' },
  { key: 'hlsSegmentMs', name: 'ACERELAY_HLS_SEGMENT', default: '2s', parse: positiveDuration, help: 'HLS target segment duration (segments are cut at the first keyframe at or after it)' },
  { key: 'hlsWindow', name: 'ACERELAY_HLS_WINDOW', default: '6', parse: positiveInt, help: 'HLS segments listed in the live playlist' },
  { key: 'hlsIdleMs', name: 'ACERELAY_HLS_IDLE', aliases: ['ACEXY_M3U8_STREAM_TIMEOUT'], default: '30s', parse: positiveDuration, help: "a channel's HLS viewers count as gone after this without a playlist or segment request" },
  { key: 'hlsFirstWaitMs', name: 'ACERELAY_HLS_FIRST_WAIT', default: '15s', parse: positiveDuration, help: 'longest a playlist request waits for the first segment (then 503 + Retry-After; the place in the queue is kept)' },
  { key: 'adminToken', name: 'ACERELAY_ADMIN_TOKEN', default: undefined, parse: nonEmpty, help: 'protects /api, /inspector, /metrics when set; empty = unset (open)', secret: true, emptyIsUnset: true },
  { key: 'instance', name: 'ACERELAY_INSTANCE', default: undefined, defaultText: 'the host name', parse: instanceName, help: 'this instance among several sharing one orchestrator: in its stream ids and stream_started labels' },
  { key: 'logLevel', name: 'ACERELAY_LOG_LEVEL', aliases: ['ACEXY_LOG_LEVEL'], default: 'info', parse: logLevel, help: `pino level: ${LOG_LEVELS.join(', ')}` },
  { key: 'statusIntervalMs', name: 'ACERELAY_STATUS_INTERVAL', default: '30s', parse: positiveDuration, help: 'orchestrator status poll while healthy', advanced: true },
  { key: 'statusIntervalDegradedMs', name: 'ACERELAY_STATUS_INTERVAL_DEGRADED', default: '10s', parse: positiveDuration, help: 'status poll while degraded', advanced: true },
  { key: 'statusIntervalHeldMs', name: 'ACERELAY_STATUS_INTERVAL_HELD', default: '2s', parse: positiveDuration, help: 'status poll while players are held (they resume as soon as a poll says so)', advanced: true },
  { key: 'statusTimeoutMs', name: 'ACERELAY_STATUS_TIMEOUT', default: '5s', parse: positiveDuration, help: 'a status answer slower than this counts as unknown', advanced: true },
  { key: 'probeIntervalMs', name: 'ACERELAY_PROBE_INTERVAL', default: '30s', parse: positiveDuration, help: 'least time between provisioning probes after a failed one', advanced: true },
  { key: 'orphanCheckIntervalMs', name: 'ACERELAY_ORPHAN_CHECK_INTERVAL', default: '30s', parse: positiveDuration, help: "how often streams of other (or dead) instances are checked for an engine session that is gone", advanced: true },
  { key: 'writeStallTimeoutMs', name: 'ACERELAY_WRITE_STALL_TIMEOUT', default: '30s', parse: positiveDuration, help: 'a player whose socket accepts nothing for this long is dropped', advanced: true },
  { key: 'shutdownGraceMs', name: 'ACERELAY_SHUTDOWN_GRACE', default: '10s', parse: positiveDuration, help: 'on SIGTERM, time to end sessions and deliver their events', advanced: true },
];

export function flagFor(name: string): string {
  return '--' + name.replace(/^ACERELAY_/, '').toLowerCase().replace(/_/g, '-');
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

export interface LoadedConfig {
  config: Config;
  warnings: string[];
}

/**
 * Parses flags (argv without the command) and environment into a Config.
 * Throws ConfigError naming the variable or flag on the first invalid value.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): LoadedConfig {
  const warnings: string[] = [];
  const flags = parseFlags(argv);
  const values: Record<string, unknown> = {};

  if (isTrue(env.ACEXY_M3U8)) warnings.push('ACEXY_M3U8 is not needed: HLS is always on at /ace/manifest.m3u8 (beside /ace/getstream)');
  if (env.DEBUG_MODE !== undefined || env.DEBUG_LOG_DIR !== undefined) {
    warnings.push('DEBUG_MODE/DEBUG_LOG_DIR are ignored: use the inspector (/inspector) and the journal instead');
  }
  const known = new Set(SPECS.map((s) => s.name));
  for (const name of Object.keys(env)) {
    if (name.startsWith('ACERELAY_') && !known.has(name)) {
      warnings.push(`unknown variable ${name} is ignored (see acerelay --help)`);
    }
  }

  for (const spec of SPECS) {
    const flag = flagFor(spec.name);
    let source = spec.name;
    let raw: string | undefined;
    if (flags.has(flag)) {
      raw = flags.get(flag);
      source = `${flag} (${spec.name})`;
    } else if (env[spec.name] !== undefined) {
      raw = env[spec.name];
    } else {
      for (const alias of spec.aliases ?? []) {
        if (env[alias] !== undefined) {
          raw = env[alias];
          source = alias;
          break;
        }
      }
    }
    if (raw !== undefined && spec.emptyIsUnset && raw.trim() === '') {
      warnings.push(`${source} is empty: treated as unset`);
      raw = undefined;
    }
    if (raw === undefined) raw = spec.default;
    if (raw === undefined) {
      values[spec.key] = undefined;
      continue;
    }
    try {
      values[spec.key] = spec.parse(raw);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      // A secret's value never reaches a message, not even a malformed one.
      throw new ConfigError(source, spec.secret ? 'invalid value' : why);
    }
  }

  for (const flag of flags.keys()) {
    if (!SPECS.some((s) => flagFor(s.name) === flag)) throw new ConfigError(flag, 'unknown flag (see acerelay --help)');
  }

  if (values.engineUrl === undefined) {
    const acexy = acexyEngineUrl(env);
    if (acexy) values.engineUrl = url(acexy);
    else if (values.orchUrl === undefined) values.engineUrl = 'http://localhost:6878';
  }
  values.instance ??= defaultInstance();
  return { config: values as unknown as Config, warnings };
}

function acexyEngineUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { ACEXY_SCHEME: scheme, ACEXY_HOST: host, ACEXY_PORT: port } = env;
  if (scheme === undefined && host === undefined && port === undefined) return undefined;
  if (port !== undefined && !/^\d+$/.test(port)) throw new ConfigError('ACEXY_PORT', `"${port}" is not a port number`);
  if (scheme !== undefined && !/^https?$/.test(scheme)) throw new ConfigError('ACEXY_SCHEME', `"${scheme}" must be http or https`);
  return `${scheme ?? 'http'}://${host ?? 'localhost'}:${port ?? '6878'}`;
}

function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new ConfigError(arg, 'unexpected argument (flags look like --name value)');
    const eq = arg.indexOf('=');
    if (eq > 0) {
      flags.set(arg.slice(0, eq), arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined || value.startsWith('--')) throw new ConfigError(arg, 'needs a value');
      flags.set(arg, value);
      i++;
    }
  }
  return flags;
}

/** The --help text: every variable with its flag, aliases and default. Secrets show only whether they are set. */
export function configHelp(env: NodeJS.ProcessEnv = {}): string {
  const lines: string[] = [];
  const row = (spec: VarSpec) => {
    const aliases = spec.aliases?.length ? ` (${spec.aliases.join(', ')})` : '';
    const current = env[spec.name] ?? spec.aliases?.map((a) => env[a]).find((v) => v !== undefined);
    const shown = spec.secret ? (current !== undefined ? 'set' : 'unset') : current !== undefined ? `now ${current}` : '';
    lines.push(`  ${flagFor(spec.name).padEnd(32)} ${spec.name}${aliases}`);
    lines.push(`  ${''.padEnd(32)} ${spec.help}; default ${spec.defaultText ?? spec.default ?? 'unset'}${shown ? `; ${shown}` : ''}`);
  };
  lines.push('Configuration (a flag beats its variable; ACERELAY_* beats the acexy alias):');
  SPECS.filter((s) => !s.advanced).forEach(row);
  lines.push('', 'Advanced (timings for tests and tuning):');
  SPECS.filter((s) => s.advanced).forEach(row);
  lines.push(
    '',
    'Also read: ACEXY_SCHEME + ACEXY_HOST + ACEXY_PORT (the engine URL), ACEXY_CONTAINER_ID (ignored),',
    'ACEXY_M3U8 (accepted with a warning: HLS is always on at /ace/manifest.m3u8), DEBUG_MODE/DEBUG_LOG_DIR (ignored with a warning).',
    'Durations: 500ms, 10s, 1m. Sizes: 4MiB, 4.2MiB, 4MB, bytes.',
  );
  return lines.join('\n');
}

/** A redacted, printable view of the config (for logs and /api): secrets become "set". */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of SPECS) {
    const v = config[spec.key];
    if (spec.secret) out[spec.name] = v === undefined ? 'unset' : 'set';
    else if (spec.key.endsWith('Ms') && typeof v === 'number') out[spec.name] = formatDuration(v);
    else if (spec.key.endsWith('Bytes') && typeof v === 'number') out[spec.name] = formatSize(v);
    else if (spec.key === 'listen') out[spec.name] = `${(v as Listen).host ?? ''}:${(v as Listen).port}`;
    else out[spec.name] = v;
  }
  return out;
}


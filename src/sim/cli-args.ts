import { UnitError, parseBitrate, parseDuration, parseSize } from '../units.ts';
import { PACKET_SIZE } from '../ts/packet.ts';
import type { SimOptions } from './options.ts';
import { FULL_HOUSE_ANSWERS, RESTART_ENGINE_MODES, UNKNOWN_CONTAINER_MODES, type Quirks } from './quirks.ts';

export class SimUsageError extends Error {
  override name = 'SimUsageError';
}

export const SIM_USAGE = `Usage: acerelay sim [flags]

A fake acestream-orchestrator plus fake AceStream engines on loopback.
The first line on stdout is JSON: {"orchestrator":"http://…","control":"http://…"}.

Flags:
  --port N                 orchestrator port (default 8000; 0 = any free port)
  --control-port N         port of the separate control API (default 0 = any)
  --host ADDR              listen address (default 127.0.0.1)
  --min-replicas N         engines running from the start and kept (default 1)
  --max-replicas N         max_replicas (default 10)
  --max-active-replicas N  the VPN build's engine port pool, MAX_ACTIVE_REPLICAS (default 20)
  --api-key KEY            require "Authorization: Bearer KEY" on protected endpoints
  --bitrate RATE           engine stream bit rate, e.g. 2.5M, 800k; 0 = unpaced (default 2.5M)
  --chunk SIZE             bytes per engine write: 1316, 16KiB, 64KiB, or packets as 7p (need
                           not be whole packets; default: what is due every 20 ms, whole packets)
  --provision-delay D      how long POST /provision/acestream blocks (default 500ms)
  --provision-fail-delay D how long an injected provisioning failure takes (default 200ms)
  --engine-ready-delay D   a new engine's API resets connections this long (default 1s)
  --start-delay D          how long a start's JSON answer takes (default 300ms)
  --idle-expiry D          an unread engine session ends after this (default 60s)
  --fail-delay D           how long a start of dead content takes to fail (default 4s)
  --no-vpn                 run without a VPN (no vpn_disconnected, quirk 7 succeeds)
  --auto-delete            delete idle engines beyond min-replicas after the grace period
  --grace-period D         the auto-delete grace period (default 30s)
  --breaker-threshold N    autoscaler failures that open the breaker (default 5)
  --breaker-recovery D     how long the breaker stays open (default 300s)
  --help                   this text

Real-orchestrator quirks (defaults as the real one; docs/orchestrator.md):
  --full-house ANSWER      a provision past max_replicas: general_error (the VPN build's 500,
                           default) or max_capacity (503, a well-behaved orchestrator)
  --no-leak-failed-creates a failed create gives its active-replicas slot back
  --unknown-container M    stream_started for an unknown container: by_host_port (filed under
                           the engine on that port, default) or sweep (ended after 5 s)
  --no-strict-urls         accept any string as stat_url/command_url, kept as sent
  --no-merge-labels        stream_started labels stay out of the engine's labels
  --engines-forwarded      /engines carries forwarded and vpn_container (later builds)
  --restart-engines M      same_ports (engines stop at once, come back on their ports under
                           new ids, default) or new_ports (kept through the downtime)
  --no-breaker-counts-autoscaler  the breaker ignores the autoscaler's failures too

Control API (POST JSON to <control>/__sim/…): vpn, circuit, capacity, provision, quirks,
orchestrator, engines/<container_id>; GET /__sim/state, /__sim/status-log.
`;

export interface SimArgs {
  help: boolean;
  options: SimOptions;
}

type Setter = (options: SimOptions, value: string) => void;

function integer(flag: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value.trim())) throw new SimUsageError(`${flag}: "${value}" is not a whole number`);
  const n = Number(value);
  if (n > max) throw new SimUsageError(`${flag}: ${n} is larger than ${max}`);
  return n;
}

function oneOf<T extends string>(flag: string, value: string, values: readonly T[]): T {
  if (!values.includes(value as T)) throw new SimUsageError(`${flag}: "${value}" is not one of ${values.join(', ')}`);
  return value as T;
}

function quirk<K extends keyof Quirks>(o: SimOptions, key: K, value: Quirks[K]): void {
  o.quirks = { ...o.quirks, [key]: value };
}

function unit<T>(flag: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof UnitError) throw new SimUsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

/** A write size: bytes (`1316`, `16KiB`) or whole packets (`7p`); at least one byte, at most 1 MiB. */
function chunkSize(flag: string, value: string): number {
  const packets = /^\s*(\d+)\s*p\s*$/i.exec(value);
  const bytes = packets ? Number(packets[1]) * PACKET_SIZE : unit(flag, value, parseSize);
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024 * 1024) throw new SimUsageError(`${flag}: "${value}" must be 1 byte to 1MiB (e.g. 1316, 16KiB, 7p)`);
  return bytes;
}

const VALUE_FLAGS: Record<string, Setter> = {
  '--port': (o, v) => (o.port = integer('--port', v, 65_535)),
  '--control-port': (o, v) => (o.controlPort = integer('--control-port', v, 65_535)),
  '--host': (o, v) => (o.host = v),
  '--min-replicas': (o, v) => (o.minReplicas = integer('--min-replicas', v)),
  '--max-replicas': (o, v) => (o.maxReplicas = integer('--max-replicas', v)),
  '--max-active-replicas': (o, v) => (o.maxActiveReplicas = integer('--max-active-replicas', v)),
  '--api-key': (o, v) => {
    if (v === '') throw new SimUsageError('--api-key: must not be empty');
    o.apiKey = v;
  },
  '--bitrate': (o, v) => (o.bitrate = unit('--bitrate', v, parseBitrate)),
  '--chunk': (o, v) => (o.chunkBytes = chunkSize('--chunk', v)),
  '--provision-delay': (o, v) => (o.provisionDelayMs = unit('--provision-delay', v, parseDuration)),
  '--provision-fail-delay': (o, v) => (o.provisionFailDelayMs = unit('--provision-fail-delay', v, parseDuration)),
  '--engine-ready-delay': (o, v) => (o.engineReadyDelayMs = unit('--engine-ready-delay', v, parseDuration)),
  '--start-delay': (o, v) => (o.startDelayMs = unit('--start-delay', v, parseDuration)),
  '--idle-expiry': (o, v) => (o.idleExpiryMs = unit('--idle-expiry', v, parseDuration)),
  '--fail-delay': (o, v) => (o.failDelayMs = unit('--fail-delay', v, parseDuration)),
  '--grace-period': (o, v) => (o.gracePeriodS = unit('--grace-period', v, parseDuration) / 1000),
  '--breaker-threshold': (o, v) => {
    const n = integer('--breaker-threshold', v);
    if (n < 1) throw new SimUsageError('--breaker-threshold: must be at least 1');
    o.breakerFailureThreshold = n;
  },
  '--breaker-recovery': (o, v) => (o.breakerRecoveryS = unit('--breaker-recovery', v, parseDuration) / 1000),
  '--full-house': (o, v) => quirk(o, 'full_house', oneOf('--full-house', v, FULL_HOUSE_ANSWERS)),
  '--unknown-container': (o, v) => quirk(o, 'unknown_container', oneOf('--unknown-container', v, UNKNOWN_CONTAINER_MODES)),
  '--restart-engines': (o, v) => quirk(o, 'restart_engines', oneOf('--restart-engines', v, RESTART_ENGINE_MODES)),
};

const BOOLEAN_FLAGS: Record<string, (o: SimOptions) => void> = {
  '--no-vpn': (o) => (o.vpnEnabled = false),
  '--auto-delete': (o) => (o.autoDelete = true),
  '--no-leak-failed-creates': (o) => quirk(o, 'leak_failed_creates', false),
  '--no-strict-urls': (o) => quirk(o, 'strict_urls', false),
  '--no-merge-labels': (o) => quirk(o, 'merge_labels', false),
  '--engines-forwarded': (o) => quirk(o, 'engines_forwarded', true),
  '--no-breaker-counts-autoscaler': (o) => quirk(o, 'breaker_counts_autoscaler', false),
};

/** Parses `acerelay sim` flags (`--flag value` or `--flag=value`); throws SimUsageError. */
export function parseSimArgs(argv: readonly string[]): SimArgs {
  const args = argv[0] === 'sim' ? argv.slice(1) : [...argv];
  const options: SimOptions = {};
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const boolFlag = BOOLEAN_FLAGS[name];
    if (boolFlag) {
      if (eq > 0) throw new SimUsageError(`${name}: takes no value`);
      boolFlag(options);
      continue;
    }
    const setter = VALUE_FLAGS[name];
    if (!setter) throw new SimUsageError(`${name}: unknown flag (see --help)`);
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else value = args[++i];
    if (value === undefined) throw new SimUsageError(`${name}: needs a value`);
    setter(options, value);
  }
  return { help, options };
}

import { UnitError, parseBitrate, parseDuration } from '../units.ts';
import type { SimOptions } from './options.ts';

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
  --api-key KEY            require "Authorization: Bearer KEY" on protected endpoints
  --bitrate RATE           engine stream bit rate, e.g. 2.5M, 800k; 0 = unpaced (default 2.5M)
  --provision-delay D      how long POST /provision/acestream blocks (default 500ms)
  --engine-ready-delay D   a new engine's API resets connections this long (default 1s)
  --start-delay D          how long a start's JSON answer takes (default 300ms)
  --idle-expiry D          an unread engine session ends after this (default 60s)
  --fail-delay D           how long a start of dead content takes to fail (default 4s)
  --no-vpn                 run without a VPN (no vpn_disconnected, quirk 7 succeeds)
  --auto-delete            delete idle engines beyond min-replicas after the grace period
  --grace-period D         the auto-delete grace period (default 30s)
  --help                   this text

Control API (POST JSON to <control>/__sim/…): vpn, circuit, capacity, provision,
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

function unit<T>(flag: string, value: string, parse: (v: string) => T): T {
  try {
    return parse(value);
  } catch (err) {
    if (err instanceof UnitError) throw new SimUsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

const VALUE_FLAGS: Record<string, Setter> = {
  '--port': (o, v) => (o.port = integer('--port', v, 65_535)),
  '--control-port': (o, v) => (o.controlPort = integer('--control-port', v, 65_535)),
  '--host': (o, v) => (o.host = v),
  '--min-replicas': (o, v) => (o.minReplicas = integer('--min-replicas', v)),
  '--max-replicas': (o, v) => (o.maxReplicas = integer('--max-replicas', v)),
  '--api-key': (o, v) => {
    if (v === '') throw new SimUsageError('--api-key: must not be empty');
    o.apiKey = v;
  },
  '--bitrate': (o, v) => (o.bitrate = unit('--bitrate', v, parseBitrate)),
  '--provision-delay': (o, v) => (o.provisionDelayMs = unit('--provision-delay', v, parseDuration)),
  '--engine-ready-delay': (o, v) => (o.engineReadyDelayMs = unit('--engine-ready-delay', v, parseDuration)),
  '--start-delay': (o, v) => (o.startDelayMs = unit('--start-delay', v, parseDuration)),
  '--idle-expiry': (o, v) => (o.idleExpiryMs = unit('--idle-expiry', v, parseDuration)),
  '--fail-delay': (o, v) => (o.failDelayMs = unit('--fail-delay', v, parseDuration)),
  '--grace-period': (o, v) => (o.gracePeriodS = unit('--grace-period', v, parseDuration) / 1000),
};

const BOOLEAN_FLAGS: Record<string, (o: SimOptions) => void> = {
  '--no-vpn': (o) => (o.vpnEnabled = false),
  '--auto-delete': (o) => (o.autoDelete = true),
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

import { SimInputError } from './errors.ts';
import type { Json } from './input.ts';

/**
 * Behaviours of the real acestream-orchestrator (October 2025) that a well-behaved one would
 * not have, each switchable. The defaults are the real orchestrator's; docs/orchestrator.md
 * explains each one. Names are the control API's (`POST /__sim/quirks`).
 */
export interface Quirks {
  /** What `/provision` answers when running engines ≥ max_replicas: the real VPN build's 500, or a 503 `max_capacity`. */
  full_house: 'general_error' | 'max_capacity';
  /** A create that fails after taking a port from the active-replicas pool never gives it back. */
  leak_failed_creates: boolean;
  /** A stream_started for an unknown container: filed under the engine on that host:port (kept), or ended by a sweep. */
  unknown_container: 'by_host_port' | 'sweep';
  /** stat_url / command_url must be http(s) URLs (else 422) and come back normalised. */
  strict_urls: boolean;
  /** stream_started labels are merged into its engine's labels in `/engines`. */
  merge_labels: boolean;
  /** `/engines` carries `forwarded` and `vpn_container` (later builds). */
  engines_forwarded: boolean;
  /** An orchestrator restart stops every engine at once and brings min_replicas back on the same ports, or (`new_ports`) keeps them through the downtime and replaces them on new ports. */
  restart_engines: 'same_ports' | 'new_ports';
  /** The breaker counts the autoscaler's failed creates (it never counts `/provision`'s). */
  breaker_counts_autoscaler: boolean;
}

export const FULL_HOUSE_ANSWERS = ['general_error', 'max_capacity'] as const;
export const UNKNOWN_CONTAINER_MODES = ['by_host_port', 'sweep'] as const;
export const RESTART_ENGINE_MODES = ['same_ports', 'new_ports'] as const;

export const REAL_QUIRKS: Readonly<Quirks> = {
  full_house: 'general_error',
  leak_failed_creates: true,
  unknown_container: 'by_host_port',
  strict_urls: true,
  merge_labels: true,
  engines_forwarded: false,
  restart_engines: 'same_ports',
  breaker_counts_autoscaler: true,
};

const ENUMS: Partial<Record<keyof Quirks, readonly string[]>> = {
  full_house: FULL_HOUSE_ANSWERS,
  unknown_container: UNKNOWN_CONTAINER_MODES,
  restart_engines: RESTART_ENGINE_MODES,
};

export const QUIRK_NAMES = Object.keys(REAL_QUIRKS) as (keyof Quirks)[];

/** Validates a partial set of quirks (control API body or `quirks` option); throws SimInputError naming the field. */
export function parseQuirks(obj: Json): Partial<Quirks> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (!QUIRK_NAMES.includes(key as keyof Quirks)) {
      throw new SimInputError(`unknown quirk "${key}" (expected ${QUIRK_NAMES.join(', ')})`);
    }
    const values = ENUMS[key as keyof Quirks];
    if (values) {
      if (typeof value !== 'string' || !values.includes(value)) throw new SimInputError(`${key} must be one of ${values.join(', ')}`);
    } else if (typeof value !== 'boolean') {
      throw new SimInputError(`${key} must be true or false`);
    }
    out[key] = value;
  }
  return out as Partial<Quirks>;
}

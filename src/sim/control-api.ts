import type { BreakerState } from './breaker.ts';
import { SimInputError } from './errors.ts';
import { asObject, optBool, optEnum, optNullableNumber, optNumber, rejectUnknownKeys, type Json } from './input.ts';
import { parseQuirks } from './quirks.ts';
import {
  ORCHESTRATOR_MODES,
  PROVISION_FAIL_CODES,
  type FakeOrchestrator,
  type OrchestratorMode,
  type OrchestratorModeSettings,
} from './orchestrator.ts';

/** What the control API drives: the orchestrator's state plus its listener's mode. */
export interface ControlTarget {
  readonly orch: FakeOrchestrator;
  setOrchestratorMode(mode: OrchestratorMode, ms: number | undefined): Promise<OrchestratorModeSettings>;
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half_open'];

function isClear(obj: Json): boolean {
  if (obj.mode === undefined) return false;
  if (obj.mode !== 'ok') throw new SimInputError('mode must be "ok" (to clear)');
  return true;
}

function vpn(target: ControlTarget, obj: Json): unknown {
  const orch = target.orch;
  rejectUnknownKeys(obj, ['connected', 'enabled', 'ms', 'mode']);
  if (isClear(obj)) {
    orch.setVpn({ connected: true }, undefined);
  } else {
    const connected = optBool(obj, 'connected');
    const enabled = optBool(obj, 'enabled');
    const ms = optNumber(obj, 'ms', { min: 0 });
    if (connected === undefined && enabled === undefined) throw new SimInputError('give connected and/or enabled');
    orch.setVpn({ ...(connected !== undefined ? { connected } : {}), ...(enabled !== undefined ? { enabled } : {}) }, ms);
  }
  return { ...orch.vpn, until: orch.vpnUntil };
}

function circuit(target: ControlTarget, obj: Json): unknown {
  const orch = target.orch;
  const breaker = orch.breaker;
  rejectUnknownKeys(obj, ['state', 'eta', 'failure_threshold', 'recovery_timeout', 'mode']);
  if (isClear(obj)) {
    breaker.set('closed', undefined, orch.now());
    breaker.failureThreshold = orch.opts.breakerFailureThreshold;
    breaker.recoveryTimeoutS = orch.opts.breakerRecoveryS;
  } else {
    const state = optEnum(obj, 'state', BREAKER_STATES);
    const threshold = optNumber(obj, 'failure_threshold', { min: 1, integer: true });
    const timeout = optNumber(obj, 'recovery_timeout', { min: 0 });
    if (!state && threshold === undefined && timeout === undefined) {
      throw new SimInputError('give state (closed, open or half_open) and/or failure_threshold, recovery_timeout');
    }
    if (obj.eta !== undefined && !state) throw new SimInputError('eta needs a state');
    if (threshold !== undefined) breaker.failureThreshold = threshold;
    if (timeout !== undefined) breaker.recoveryTimeoutS = timeout;
    if (state) breaker.set(state, optNullableNumber(obj, 'eta', { min: 0 }), orch.now());
  }
  return breaker.snapshot(orch.now());
}

function capacityView(target: ControlTarget): unknown {
  const orch = target.orch;
  return { ...orch.capacity, active_slots: orch.activeSlots() };
}

async function capacity(target: ControlTarget, obj: Json): Promise<unknown> {
  const orch = target.orch;
  rejectUnknownKeys(obj, ['max_replicas', 'min_replicas', 'max_active_replicas', 'leaked_slots', 'auto_delete', 'grace_period_s', 'mode']);
  if (isClear(obj)) {
    orch.capacity = { ...orch.initialCapacity };
    orch.setMaxActiveReplicas(orch.initialCapacity.max_active_replicas);
    orch.slots.leaked = 0;
  } else {
    const max = optNumber(obj, 'max_replicas', { min: 0, integer: true });
    const min = optNumber(obj, 'min_replicas', { min: 0, integer: true });
    const maxActive = optNumber(obj, 'max_active_replicas', { min: 0, integer: true });
    const leaked = optNumber(obj, 'leaked_slots', { min: 0, integer: true });
    const autoDelete = optBool(obj, 'auto_delete');
    const grace = optNumber(obj, 'grace_period_s', { min: 0 });
    orch.capacity = {
      max_replicas: max ?? orch.capacity.max_replicas,
      min_replicas: min ?? orch.capacity.min_replicas,
      max_active_replicas: orch.capacity.max_active_replicas,
      auto_delete: autoDelete ?? orch.capacity.auto_delete,
      grace_period_s: grace ?? orch.capacity.grace_period_s,
    };
    if (maxActive !== undefined) orch.setMaxActiveReplicas(maxActive);
    if (leaked !== undefined) orch.slots.leaked = leaked;
  }
  // Like the orchestrator reconciling at once on a new minimum (unless provisioning is blocked).
  if (!orch.vpnDown && orch.breaker.state === 'closed') await orch.ensureMinReplicas('autoscaler', orch.opts.engineReadyDelayMs);
  return capacityView(target);
}

function provision(target: ControlTarget, obj: Json): unknown {
  const orch = target.orch;
  rejectUnknownKeys(obj, ['fail', 'code', 'delay_ms', 'fail_delay_ms', 'autoscaler_fail', 'mode']);
  if (isClear(obj)) {
    orch.provisionFaults = orch.cleanFaults();
  } else {
    const fail = optNumber(obj, 'fail', { min: 0, integer: true });
    const code = optEnum(obj, 'code', PROVISION_FAIL_CODES);
    const delayMs = optNumber(obj, 'delay_ms', { min: 0 });
    const failDelayMs = optNumber(obj, 'fail_delay_ms', { min: 0 });
    const autoscalerFail = optNumber(obj, 'autoscaler_fail', { min: 0, integer: true });
    const f = orch.provisionFaults;
    orch.provisionFaults = {
      fail: fail ?? f.fail,
      code: code ?? f.code,
      delay_ms: delayMs ?? f.delay_ms,
      fail_delay_ms: failDelayMs ?? f.fail_delay_ms,
      autoscaler_fail: autoscalerFail ?? f.autoscaler_fail,
    };
  }
  return { ...orch.provisionFaults };
}

/** `POST /__sim/quirks`: switches the real orchestrator's behaviours; `{"mode":"ok"}` restores the startup ones. */
function quirks(target: ControlTarget, obj: Json): unknown {
  const orch = target.orch;
  if (isClear(obj)) {
    const { mode: _mode, ...rest } = obj;
    if (Object.keys(rest).length > 0) throw new SimInputError('mode "ok" takes no other field');
    orch.quirks = { ...orch.initialQuirks };
  } else {
    orch.quirks = { ...orch.quirks, ...parseQuirks(obj) };
  }
  return { ...orch.quirks };
}

async function orchestrator(target: ControlTarget, obj: Json): Promise<unknown> {
  rejectUnknownKeys(obj, ['mode', 'ms']);
  const mode = optEnum(obj, 'mode', ORCHESTRATOR_MODES);
  if (!mode) throw new SimInputError(`mode is required (one of ${ORCHESTRATOR_MODES.join(', ')})`);
  const ms = optNumber(obj, 'ms', { min: 0 });
  if (mode === 'slow' && ms === undefined) throw new SimInputError('slow needs ms (the delay)');
  const settings = await target.setOrchestratorMode(mode, ms);
  return { ...settings, incarnation: target.orch.incarnation };
}

async function engine(target: ControlTarget, containerId: string, body: unknown): Promise<unknown> {
  const managed = target.orch.findAny(containerId);
  if (!managed) throw new SimInputError(`unknown container ${containerId}`);
  if (managed.removedAt !== null) throw new SimInputError(`container ${containerId} was removed`);
  const settings = await managed.engine.setMode(body);
  return { container_id: managed.engine.containerId, ...settings };
}

/**
 * `POST /__sim/<path>` (and Simulator.control): applies one switch, returns the resulting
 * settings, throws SimInputError (HTTP 400) on invalid input.
 */
export async function applyControl(target: ControlTarget, path: string, body: unknown): Promise<unknown> {
  const clean = path.replace(/^\/+/, '').replace(/^__sim\//, '').replace(/\/+$/, '');
  const obj = asObject(body);
  if (clean === 'vpn') return vpn(target, obj);
  if (clean === 'circuit') return circuit(target, obj);
  if (clean === 'capacity') return capacity(target, obj);
  if (clean === 'provision') return provision(target, obj);
  if (clean === 'quirks') return quirks(target, obj);
  if (clean === 'orchestrator') return orchestrator(target, obj);
  const m = /^engines\/([^/]+)$/.exec(clean);
  if (m) return engine(target, decodeURIComponent(m[1]!), obj);
  throw new SimInputError(`unknown control path "${path}"`);
}

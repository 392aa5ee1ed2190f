import type http from 'node:http';
import type { SlotClaim } from './active-slots.ts';
import { checkAuth } from './auth.ts';
import { arrivalOf, sendJson, sendText } from './http-io.ts';
import type { FakeOrchestrator } from './orchestrator.ts';
import type { SimProvision } from './orchestrator-types.ts';
import { VPN_ETA_S, maxCapacityDetails } from './status.ts';
import { FieldChecker, parseJsonBody, validationBody } from './validation.ts';

function blocked(code: string, message: string, eta: number | null, canRetry: boolean) {
  return { detail: { error: 'provisioning_blocked', code, message, recovery_eta_seconds: eta, can_retry: canRetry, should_wait: true } };
}

function generalError(message: string) {
  return {
    detail: {
      error: 'provisioning_failed',
      code: 'general_error',
      message: `Failed to provision engine: ${message}`,
      recovery_eta_seconds: null,
      can_retry: false,
      should_wait: false,
    },
  };
}

/**
 * `POST /provision/acestream`: auth, body validation, the VPN and breaker gates, a full
 * house (quirk `full_house`), the VPN build's active-replicas pool, injected failures, then
 * (after the provision delay) a new engine. Every call is logged, whatever its answer. None
 * of its failures moves the breaker: only the autoscaler's do.
 */
export async function handleProvision(orch: FakeOrchestrator, req: http.IncomingMessage, res: http.ServerResponse, body: string | null): Promise<void> {
  // When the call arrived (what the caller decided on), even if a slow mode answers it later.
  const entry: SimProvision = { t: arrivalOf(req) ?? orch.now(), done_at: null, http_status: null, code: null, container_id: null, incarnation: orch.incarnation, reason: null };
  orch.provisions.push(entry);
  const answer = (status: number, code: string | null, payload: unknown, reason: string | null = null, text = false) => {
    // Dropped with its connection (orchestrator down or restarting): nobody hears the answer.
    if (entry.code === 'connection_dropped') return;
    entry.done_at = orch.now();
    entry.http_status = status;
    entry.code = code;
    entry.reason = reason;
    if (text) sendText(res, status, String(payload));
    else sendJson(res, status, payload);
  };

  const auth = checkAuth(req, orch.opts.apiKey);
  if (auth) return answer(auth.status, auth.code, auth.body);
  const parsed = parseJsonBody(body);
  if (!parsed.ok) return answer(422, 'validation_error', validationBody(parsed.issues));
  const check = new FieldChecker();
  const labels = check.stringMap(parsed.value, ['labels']);
  check.object(parsed.value, ['env'], false);
  check.string(parsed.value, ['image'], false, true);
  const hostPort = check.integer(parsed.value, ['host_port'], false, true);
  if (check.issues.length > 0) return answer(422, 'validation_error', validationBody(check.issues));

  const now = orch.now();
  if (orch.vpnDown) {
    return answer(503, 'vpn_disconnected', blocked('vpn_disconnected', 'VPN is disconnected; provisioning is blocked', VPN_ETA_S, true));
  }
  // half_open lets a trial call through (status says can_retry:true then); only open blocks.
  if (orch.breaker.state === 'open') {
    const eta = orch.breaker.etaSeconds(now);
    return answer(503, 'circuit_breaker', blocked('circuit_breaker', 'Circuit breaker is open; provisioning is blocked', eta, false));
  }
  const running = orch.running().length;
  if (running >= orch.capacity.max_replicas) {
    // Quirk 7: the real VPN build refuses a full house with a 500 naming the limit, the plain
    // build provisions anyway; `max_capacity` is what a well-behaved orchestrator would say.
    if (orch.quirks.full_house === 'max_capacity') {
      const d = maxCapacityDetails(running, orch.capacity);
      return answer(503, 'max_capacity', blocked('max_capacity', d.message, d.recovery_eta_seconds, false), 'full_house');
    }
    if (orch.vpn.enabled) {
      return answer(500, 'general_error', generalError(`Maximum active replicas limit reached (${orch.capacity.max_replicas})`), 'full_house');
    }
  }
  // The VPN build's port pool: taken now, like the allocator does before it calls Docker.
  const claim = orch.claimSlot();
  if (claim === 'full') return answer(500, 'general_error', generalError(orch.activeReplicasMessage()), 'active_replicas');
  await createAfterDelay(orch, entry, answer, claim, labels, hostPort);
}

type Answer = (status: number, code: string | null, payload: unknown, reason?: string | null, text?: boolean) => void;

async function createAfterDelay(
  orch: FakeOrchestrator,
  entry: SimProvision,
  answer: Answer,
  claim: SlotClaim | null,
  labels: Record<string, string>,
  hostPort: number | null,
): Promise<void> {
  const faults = orch.provisionFaults;
  const injected = faults.fail > 0 ? faults.code : null;
  if (injected) faults.fail -= 1;
  const incarnation = orch.incarnation;
  // Real failures answer fast (item 16); a success waits for the container.
  await orch.timers.sleep((injected ? faults.fail_delay_ms : orch.opts.provisionDelayMs) + faults.delay_ms);
  // An orchestrator restart in the meantime lost this call (its connection was dropped).
  if (orch.incarnation !== incarnation) return;

  switch (injected) {
    case 'general_error':
      // A Docker error after the port was taken: the slot may never come back.
      orch.failSlot(claim);
      return answer(500, 'general_error', generalError('simulated Docker error'), 'injected');
    case 'vpn_error':
      orch.failSlot(claim, false);
      return answer(
        503,
        'vpn_error',
        {
          detail: {
            error: 'provisioning_failed',
            code: 'vpn_error',
            message: 'VPN error during provisioning: simulated',
            recovery_eta_seconds: VPN_ETA_S,
            can_retry: true,
            should_wait: true,
          },
        },
        'injected',
      );
    case 'text500':
      orch.failSlot(claim, false);
      return answer(500, 'text500', 'Internal Server Error', 'injected', true);
    case 'string_detail':
      orch.failSlot(claim, false);
      return answer(503, 'string_detail', { detail: 'Provisioning temporarily unavailable: simulated Docker timeout' }, 'injected');
    default:
      break;
  }

  let managed;
  try {
    managed = await orch.createEngine('provision', {
      readyDelayMs: orch.opts.engineReadyDelayMs,
      labels,
      claim,
      ...(hostPort !== null ? { port: hostPort } : {}),
    });
  } catch (err) {
    orch.failSlot(claim);
    return answer(500, 'general_error', generalError(err instanceof Error ? err.message : String(err)));
  }
  entry.container_id = managed.engine.containerId;
  const port = managed.engine.port;
  answer(200, null, {
    container_id: managed.engine.containerId,
    container_name: managed.engine.containerName,
    host_http_port: port,
    container_http_port: port,
    container_https_port: port + 26_000 <= 65_535 ? port + 26_000 : port - 1,
  });
}

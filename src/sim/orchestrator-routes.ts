import type http from 'node:http';
import { markArrival, readBody, requestUrl, sendJson, sendText } from './http-io.ts';
import type { FakeOrchestrator, OrchestratorModeSettings } from './orchestrator.ts';
import { HEALTH_INTERVAL_MS, engineJson } from './engine-json.ts';
import type { StreamRecord } from './orchestrator-types.ts';
import { handleProvision } from './provision.ts';
import { FORWARDED_PORT, VPN_CONTAINER, blockedDetails, vpnHealth } from './status.ts';
import { handleStreamEnded, handleStreamStarted, logUnprocessedEvent, streamJson } from './stream-events.ts';
import { isoOffset, isoZ } from './timestamps.ts';

/** A truncated document served with 200 in `garbage` mode. */
const GARBAGE = '{"status":"healthy","engines":{"total":1,"running":';

export interface OrchestratorRouteContext {
  readonly orch: FakeOrchestrator;
  modeSettings(): OrchestratorModeSettings;
}

type Route = (ctx: OrchestratorRouteContext, req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string | null) => void | Promise<void>;

const status: Route = (ctx, _req, res) => {
  const orch = ctx.orch;
  const input = orch.statusInput();
  const body = orch.status();
  const blocked = blockedDetails(input);
  orch.statusLog.push({
    t: input.now,
    http_status: 200,
    fault: null,
    status: body.status as string,
    code: blocked?.code ?? null,
    eta: blocked?.recovery_eta_seconds ?? null,
    can_retry: blocked?.can_retry ?? null,
    can_provision: blocked === null,
    incarnation: orch.incarnation,
  });
  sendJson(res, 200, body);
};

const engines: Route = (ctx, _req, res) => {
  sendJson(res, 200, ctx.orch.running().map((m) => engineJson(ctx.orch, m)));
};

function engineById(ctx: OrchestratorRouteContext, res: http.ServerResponse, id: string): void {
  const m = ctx.orch.findRunning(id);
  sendJson(res, 200, m ? engineJson(ctx.orch, m) : { error: 'not found' });
}

const streams: Route = (ctx, _req, res, url) => {
  const wanted = url.searchParams.get('status');
  if (wanted !== null && wanted !== 'started' && wanted !== 'ended') {
    return sendJson(res, 422, {
      detail: [{ type: 'enum', loc: ['query', 'status'], msg: "Input should be 'started' or 'ended'", input: wanted, ctx: { expected: "'started' or 'ended'" } }],
    });
  }
  const container = url.searchParams.get('container_id');
  const list = [...ctx.orch.streams.values()].filter(
    (s: StreamRecord) => (wanted === null || s.status === wanted) && (container === null || s.container_id === container),
  );
  sendJson(res, 200, list.map(streamJson));
};

function streamStats(ctx: OrchestratorRouteContext, res: http.ServerResponse, id: string): void {
  const s = ctx.orch.streams.get(id);
  if (!s) return sendJson(res, 200, []);
  sendJson(res, 200, [{ ts: isoZ(ctx.orch.now()), status: s.status === 'started' ? 'dl' : 'ended' }]);
}

const vpn: Route = (ctx, _req, res) => {
  const v = ctx.orch.vpn;
  const now = isoOffset(ctx.orch.now());
  if (!v.enabled) {
    return sendJson(res, 200, {
      enabled: false,
      status: 'disabled',
      container_name: null,
      container: null,
      health: 'unknown',
      connected: false,
      forwarded_port: null,
      last_check: null,
      last_check_at: null,
    });
  }
  sendJson(res, 200, {
    enabled: true,
    status: 'running',
    container_name: VPN_CONTAINER,
    container: VPN_CONTAINER,
    health: vpnHealth(v),
    connected: v.connected,
    forwarded_port: v.connected ? FORWARDED_PORT : null,
    last_check: now,
    last_check_at: now,
  });
};

const health: Route = (ctx, _req, res) => {
  const orch = ctx.orch;
  const running = orch.running();
  const b = orch.breaker.snapshot(orch.now());
  const iso = (t: number | null) => (t === null ? null : isoOffset(t));
  sendJson(res, 200, {
    total_engines: running.length,
    healthy_engines: running.filter((m) => m.engine.health() === 'healthy').length,
    unhealthy_engines: running.filter((m) => m.engine.health() === 'unhealthy').length,
    marked_for_replacement: 0,
    minimum_required: orch.capacity.min_replicas,
    health_check_interval: HEALTH_INTERVAL_MS / 1000,
    circuit_breakers: {
      general: {
        state: b.state,
        failure_count: b.failure_count,
        failure_threshold: b.failure_threshold,
        last_failure_time: iso(b.last_failure_time),
        last_success_time: iso(b.last_success_time),
        recovery_timeout: b.recovery_timeout,
      },
      replacement: {
        state: 'closed',
        failure_count: 0,
        failure_threshold: 3,
        last_failure_time: null,
        last_success_time: iso(orch.opts.clock.now()),
        recovery_timeout: 180,
      },
    },
  });
};

const provision: Route = (ctx, req, res, _url, body) => handleProvision(ctx.orch, req, res, body);
const started: Route = (ctx, req, res, _url, body) => handleStreamStarted(ctx.orch, req, res, body);
const ended: Route = (ctx, req, res, _url, body) => handleStreamEnded(ctx.orch, req, res, body);

const ROUTES: Record<string, Partial<Record<'GET' | 'POST', Route>>> = {
  '/orchestrator/status': { GET: status },
  '/engines': { GET: engines },
  '/streams': { GET: streams },
  '/vpn/status': { GET: vpn },
  '/health/status': { GET: health },
  '/provision/acestream': { POST: provision },
  '/events/stream_started': { POST: started },
  '/events/stream_ended': { POST: ended },
};

/** Records what a broken orchestrator (error500 / garbage) did to a request. */
function logFault(ctx: OrchestratorRouteContext, path: string, body: string | null, httpStatus: number, fault: string): void {
  const orch = ctx.orch;
  const now = orch.now();
  if (path === '/orchestrator/status') {
    orch.statusLog.push({
      t: now,
      http_status: httpStatus,
      fault,
      status: null,
      code: null,
      eta: null,
      can_retry: null,
      can_provision: null,
      incarnation: orch.incarnation,
    });
  } else if (path === '/provision/acestream') {
    orch.provisions.push({ t: now, done_at: now, http_status: httpStatus, code: `orchestrator_${fault}`, container_id: null, incarnation: orch.incarnation, reason: null });
  } else if (path === '/events/stream_started') {
    logUnprocessedEvent(orch, 'stream_started', body, httpStatus);
  } else if (path === '/events/stream_ended') {
    logUnprocessedEvent(orch, 'stream_ended', body, httpStatus);
  }
}

/** The orchestrator's API with its run-time mode applied (slow, error500, garbage). */
export async function handleOrchestratorRequest(ctx: OrchestratorRouteContext, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = requestUrl(req);
  const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const orch = ctx.orch;
  if (path === '/orchestrator/status') orch.statusPolls += 1;
  markArrival(req, orch.now());
  const body = req.method === 'POST' ? await readBody(req) : null;
  const arrival = ctx.modeSettings();
  const incarnation = orch.incarnation;
  if (arrival.mode === 'slow' && arrival.ms) await orch.timers.sleep(arrival.ms);
  // A restart meanwhile killed the process that held this request: the new one never saw it.
  if (orch.incarnation !== incarnation) return void res.destroy();
  const mode = ctx.modeSettings().mode;
  if (mode === 'error500') {
    logFault(ctx, path, body, 500, 'error500');
    return sendText(res, 500, 'Internal Server Error');
  }
  if (mode === 'garbage') {
    logFault(ctx, path, body, 200, 'garbage');
    if (res.headersSent || res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(GARBAGE.length) });
    return void res.end(GARBAGE);
  }

  const route = ROUTES[path];
  if (route) {
    const handler = route[req.method as 'GET' | 'POST'];
    if (!handler) return sendJson(res, 405, { detail: 'Method Not Allowed' });
    return handler(ctx, req, res, url, body);
  }
  const parts = path.split('/').filter(Boolean);
  if (req.method === 'GET' && parts.length === 2 && parts[0] === 'engines') return engineById(ctx, res, decodeURIComponent(parts[1]!));
  if (req.method === 'GET' && parts.length === 3 && parts[0] === 'streams' && parts[2] === 'stats') {
    return streamStats(ctx, res, decodeURIComponent(parts[1]!));
  }
  sendJson(res, 404, { detail: 'Not Found' });
}

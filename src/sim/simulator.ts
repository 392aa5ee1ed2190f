import type http from 'node:http';
import type { Socket } from 'node:net';
import type { TimerHandle } from '../clock.ts';
import { applyControl } from './control-api.ts';
import { handleControlRequest, type ControlHttpTarget } from './control-routes.ts';
import { sendText } from './http-io.ts';
import { resolveSimOptions, type ResolvedSimOptions, type SimOptions } from './options.ts';
import {
  DEFAULT_ORCH_RESTART_MS,
  FakeOrchestrator,
  type OrchestratorMode,
  type OrchestratorModeSettings,
} from './orchestrator.ts';
import { handleOrchestratorRequest } from './orchestrator-routes.ts';
import type { StatusLogEntry } from './orchestrator-types.ts';
import type { Quirks } from './quirks.ts';
import { buildState, statusLogCopy, type SimState } from './state.ts';
import { SwitchableServer } from './switchable-server.ts';

/** A running simulator: the fake orchestrator, its engines and the control API. */
export class Simulator implements ControlHttpTarget {
  readonly orch: FakeOrchestrator;
  readonly options: ResolvedSimOptions;
  private readonly server: SwitchableServer;
  private readonly controlServer: SwitchableServer;
  private mode: OrchestratorModeSettings = { mode: 'ok', ms: null, until: null };
  private modeTimer: TimerHandle | null = null;
  private modeChain: Promise<unknown> = Promise.resolve();
  private closing: Promise<void> | null = null;
  private readonly controlSockets = new Set<Socket>();
  /** How the restart under way treats engines (the quirk as it was when it began). */
  private restartStyle: Quirks['restart_engines'] = 'same_ports';

  constructor(options: SimOptions = {}) {
    this.options = resolveSimOptions(options);
    this.orch = new FakeOrchestrator(this.options);
    this.server = new SwitchableServer((req, res) => this.onOrchestratorRequest(req, res), this.options.host);
    this.controlServer = new SwitchableServer((req, res) => this.onControlRequest(req, res), this.options.host);
  }

  /** Orchestrator base URL. */
  get url(): string {
    return `http://${urlHost(this.options.host)}:${this.server.port}`;
  }

  get controlUrl(): string {
    return `http://${urlHost(this.options.host)}:${this.controlServer.port}`;
  }

  async start(): Promise<void> {
    await this.orch.ensureMinReplicas('initial', 0);
    await this.server.listen(this.options.port);
    await this.controlServer.listen(this.options.controlPort);
    this.orch.startTicking();
  }

  private onOrchestratorRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    const path = req.url ?? '/';
    if (!path.startsWith('/__sim/')) {
      handleOrchestratorRequest({ orch: this.orch, modeSettings: () => this.mode }, req, res).catch((err: unknown) => fail(res, err));
      return;
    }
    // A control call on this port that takes the port down still gets its answer; then
    // its connection goes the way of the others.
    const socket = req.socket;
    this.controlSockets.add(socket);
    res.on('close', () => {
      this.controlSockets.delete(socket);
      if (this.mode.mode === 'down' || this.mode.mode === 'restart') socket.destroy();
    });
    handleControlRequest(this, req, res).catch((err: unknown) => fail(res, err));
  }

  private onControlRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    handleControlRequest(this, req, res).catch((err: unknown) => fail(res, err));
  }

  state(): SimState {
    return buildState(this.orch, this.mode);
  }

  statusLog(): StatusLogEntry[] {
    return statusLogCopy(this.orch.statusLog);
  }

  /** Same as `POST /__sim/<path>`; rejects with a SimInputError on invalid input. */
  control(path: string, body: unknown): Promise<unknown> {
    return applyControl(this, path, body);
  }

  setOrchestratorMode(mode: OrchestratorMode, ms: number | undefined): Promise<OrchestratorModeSettings> {
    const next = this.modeChain.then(() => this.applyMode(mode, ms));
    this.modeChain = next.catch(() => {});
    return next;
  }

  private async applyMode(mode: OrchestratorMode, ms: number | undefined): Promise<OrchestratorModeSettings> {
    if (this.closing) return this.mode;
    const orch = this.orch;
    orch.timers.clear(this.modeTimer);
    this.modeTimer = null;
    const prev = this.mode.mode;
    const duration = mode === 'restart' ? (ms ?? DEFAULT_ORCH_RESTART_MS) : ms;
    // slow's ms is the delay, not a duration.
    const timed = duration !== undefined && mode !== 'ok' && mode !== 'slow';
    this.mode = { mode, ms: duration ?? null, until: timed ? orch.now() + duration : null };
    if (prev === 'restart' && mode !== 'restart') {
      if (this.restartStyle === 'same_ports') await orch.boot();
      else await orch.forgetEverything();
    }
    if ((prev === 'down' || prev === 'restart') && mode !== 'down' && mode !== 'restart') await this.server.reopen();
    if (mode === 'down' || mode === 'restart') {
      this.server.refuse();
      this.server.destroyConnections(false, this.controlSockets);
      // Their connections are gone: for the caller these calls ended now, unanswered.
      for (const p of orch.provisions) {
        if (p.done_at !== null) continue;
        p.done_at = orch.now();
        p.code = 'connection_dropped';
      }
    }
    if (mode === 'restart' && prev !== 'restart') {
      this.restartStyle = orch.quirks.restart_engines;
      // SIGTERM: the real one stops every engine and wipes its database on the way down.
      if (this.restartStyle === 'same_ports') await orch.shutdown();
    }
    const snapshot = { ...this.mode };
    if (timed) {
      this.modeTimer = orch.timers.set(() => {
        this.modeTimer = null;
        void this.setOrchestratorMode('ok', undefined).catch(() => {});
      }, duration);
    }
    return snapshot;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.modeChain;
      await this.server.close();
      await this.controlServer.close();
      await this.orch.close();
    })();
    return this.closing;
  }
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function fail(res: http.ServerResponse, _err: unknown): void {
  if (!res.headersSent) sendText(res, 500, 'Internal Server Error');
  else res.destroy();
}

export async function startSimulator(options: SimOptions = {}): Promise<Simulator> {
  const sim = new Simulator(options);
  try {
    await sim.start();
  } catch (err) {
    await sim.close();
    throw err;
  }
  return sim;
}

/**
 * The session machine's hands: its actors and actions, provided per session over ports (the
 * broker, the engine, the upstream reader, the stream-event sink), so the machine stays pure
 * and tests run it with fakes on virtual time.
 */
import { fromCallback, fromPromise } from 'xstate';
import type { Logger } from '../log.ts';
import { sessionMachine, type SessionEvent, type StartOutput } from '../machines/session.machine.ts';
import type { StartedPlayback } from '../domain/stream.ts';
import type { BrokerUpdate, EngineBroker } from './engine-broker.ts';
import type { StartRequest } from '../adapters/engine/start.ts';
import type { StreamEventSink } from './stream-event-sink.ts';
import type { Channel } from '../fanout/channel.ts';
import type { ContentFailures } from './content-failures.ts';
import type { IdSource } from './ids.ts';
import { sessionGuards } from './session-guards.ts';

export interface EnginePort {
  start(engineBase: string, req: StartRequest, signal?: AbortSignal): Promise<StartedPlayback>;
  version(engineBase: string, signal?: AbortSignal): Promise<unknown>;
  stop(commandUrl: string, signal?: AbortSignal): Promise<boolean>;
}

export interface UpstreamArgs {
  sessionId: string;
  channel: Channel;
  playback: StartedPlayback;
  splice: boolean;
}

/** Opens the engine's TS body into the channel; reports UPSTREAM_SYNCED / UPSTREAM_FAILED. Returns what stops it. */
export type UpstreamPort = (args: UpstreamArgs, report: (event: SessionEvent) => void) => () => void;

/** The broker as a session uses it. */
export type BrokerPort = Pick<EngineBroker, 'request' | 'provision' | 'activate' | 'release' | 'reportFailure'>;

export interface SessionPorts {
  broker: BrokerPort;
  engine: EnginePort;
  upstream: UpstreamPort;
  events: StreamEventSink;
  ids: IdSource;
  contentFailures: ContentFailures;
  /** Makes everything recorded so far durable (the journal's flush); called before an engine start. */
  durable?: (() => void) | undefined;
  /** A session lost its upstream with players attached and restarts it. */
  onFailover?: (() => void) | undefined;
}

/** The session machine with its hands, for one session (its channel, its log). */
export function provideSession(ports: SessionPorts, channel: Channel, log: Logger) {
  const { broker, engine, upstream, events, ids } = ports;
  return sessionMachine.provide({
    guards: sessionGuards,
    actors: {
      acquire: fromCallback(({ input, sendBack }) =>
        broker.request({
          sessionId: input.sessionId,
          seq: input.seq,
          infohash: input.infohash,
          exclude: input.exclude,
          held: input.held,
          listener: (update) => sendBack(brokerEvent(update, ids.pid)),
        }),
      ),
      provision: fromPromise(async ({ input }) => ({ engine: await broker.provision(input.sessionId), pid: ids.pid() })),
      probeEngine: fromPromise(async ({ input, signal }) => {
        await engine.version(input.engine.base, signal);
      }),
      startEngine: fromPromise(async ({ input, signal }): Promise<StartOutput> => {
        // The transition into `starting` (engine and pid) is written down before the engine
        // hears of it: after a crash, recovery can find and stop a session it never saw start.
        await Promise.resolve();
        ports.durable?.();
        const playback = await engine.start(input.engine.base, { source: input.source, pid: input.pid, params: input.params }, signal);
        return { engineSession: playback, streamId: ids.stream() };
      }),
      readUpstream: fromCallback(({ input, sendBack }) =>
        upstream({ sessionId: input.sessionId, channel, playback: input.playback, splice: input.splice }, sendBack),
      ),
      stopEngine: fromPromise(async ({ input }) => {
        const url = input.playback?.commandUrl;
        if (!url) return;
        try {
          await engine.stop(url);
        } catch (err) {
          // The body is closed regardless; an engine that cannot be told ends idle sessions itself.
          log.warn({ err: (err as Error).message }, 'engine stop failed');
        }
      }),
    },
    actions: {
      activateSlot: ({ context }) => broker.activate(context.sessionId, context.streamId, context.infohash),
      releaseSlot: ({ context }) => broker.release(context.sessionId),
      reportEngineFailure: ({ context }) => {
        if (context.engine) broker.reportFailure(context.engine.containerId);
      },
      announceStarted: ({ context }) => {
        const e = context.engine;
        const p = context.playback;
        log.info({ engine: e?.containerId, infohash: context.infohash, stream: context.streamId }, 'engine session started');
        if (!e?.managed || !p || !context.streamId) return;
        events.started(
          {
            containerId: e.containerId,
            engine: { host: e.host, port: e.port },
            stream: { keyType: context.source.kind === 'id' ? 'content_id' : 'infohash', key: context.source.value },
            session: { playbackSessionId: p.playbackSessionId, statUrl: p.statUrl, commandUrl: p.commandUrl, isLive: p.isLive },
            streamId: context.streamId,
          },
          context.sessionId,
        );
      },
      announceEnded: ({ context }, params) => {
        if (params.reason === 'failover') ports.onFailover?.();
        if (!context.streamId) return;
        log.info({ stream: context.streamId, reason: params.reason }, 'engine session ended');
        if (!context.engine?.managed) return;
        events.ended({ containerId: context.engine.containerId, streamId: context.streamId, reason: params.reason }, context.sessionId);
      },
      rememberContentFailure: ({ context }) => {
        const message = context.failure?.message ?? 'the engine could not load this content';
        const keys = [`${context.source.kind}:${context.source.value}`];
        if (context.infohash) keys.push(`infohash:${context.infohash}`);
        ports.contentFailures.remember(keys, message);
      },
    },
  });
}

/** Broker answers as session events (the `acquire` actor's); `pid` goes with an engine. */
function brokerEvent(update: BrokerUpdate, pid: () => string): SessionEvent {
  if (update.type === 'wait') return { type: 'BROKER_WAIT', wait: update.wait };
  return update.grant.kind === 'engine'
    ? { type: 'BROKER_ENGINE', engine: update.grant.engine, pid: pid() }
    : { type: 'BROKER_PROVISION', probe: update.grant.probe };
}

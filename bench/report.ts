/** The results of a run and their markdown: absolute figures, ratios to nginx, the aims. */
import type { Machine } from './machine.ts';
import type { StreamsResult } from './measure.ts';
import type { TtfbResult } from './load/protocol.ts';
import type { ProfileSummary } from './profile-summary.ts';
import type { ChannelMemory } from './channel-memory.ts';
import { distribution, round } from './stats.ts';
import { renderGoals } from './goals.ts';

export interface BenchResults {
  machine: Machine;
  config: {
    mode: 'quick' | 'full';
    bitrate: number;
    windowMs: number;
    warmupMs: number;
    engineStartDelayMs: number;
    targets: string[];
    /** Engine write sizes of the paced phases (0: what is due every 20 ms). */
    chunks?: number[];
    loadClients?: number;
    /** Unmeasured traffic through each proxy before a phase's first run (absent: none, runs before 2026-11-30T11). */
    warmMs?: number;
    /** Interleaved rounds of acerelay and nginx per goal row (absent: 1, runs before 2026-11-30T13). */
    rounds?: number;
  };
  durationS: number;
  /** Best of the rounds per target (throughput under a shared machine is a floor). */
  unpaced: StreamsResult[];
  /** Every round's MB/s per target. */
  unpacedRounds: Record<string, number[]>;
  /** Every round's proxy CPU-s/GB per target (absent in results before 2026-11-30T14). */
  unpacedCpuRounds?: Record<string, number[]>;
  fanout: FanoutRow[];
  /** HLS clients on one channel through acerelay, with acerelay's TS fan-out of the same size (absent in older results). */
  hls?: HlsRow[];
  multi: MultiRow[];
  /** Per-channel memory against the replay window, per engine write size (absent in older results). */
  channelMemory?: ChannelMemory[];
  join: { trials: number; cold: Record<string, TtfbResult>; warm: TtfbResult | null } | null;
  profile: { label: string; run: StreamsResult; file: string; summary: ProfileSummary } | null;
  /** Each proxy's CPU (cores) with no player: the fixed cost under per-GB figures at few players. */
  idleCores: Record<string, number>;
  notes: string[];
}

export interface FanoutRow {
  /** The engine's write size in this phase (0: what is due every 20 ms; absent in older results). */
  chunkBytes?: number;
  players: number;
  results: StreamsResult[];
  /** A goal row measured in interleaved rounds: every round's CPU-s/GB per target (`results` keeps each one's lowest). */
  rounds?: Record<string, number[]>;
}

export interface HlsRow {
  /** The engine's write size in the phase it ran in (absent in older results). */
  chunkBytes?: number;
  clients: number;
  hls: StreamsResult;
  ts: StreamsResult | null;
}

export interface MultiRow {
  chunkBytes?: number;
  channels: number;
  perChannel: number;
  results: StreamsResult[];
  /** As FanoutRow's. */
  rounds?: Record<string, number[]>;
}

/** `1316 B`, `16 KiB`, `64 KiB`; 0 is the simulator's default. */
export function chunkLabel(bytes: number): string {
  if (bytes === 0) return 'what is due every 20 ms';
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

const dash = '—';

function fmt(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return dash;
  return String(round(v, digits));
}

function ratio(a: number | null | undefined, b: number | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return dash;
  return `${round(a / b, 2)}×`;
}

function nginxOf(rows: StreamsResult[]): StreamsResult | undefined {
  return rows.find((r) => r.target === 'nginx');
}

function notesOf(r: StreamsResult): string {
  const out = [...r.bottlenecks];
  if (r.open.failed > 0) out.push(`${r.open.failed} never started (${r.open.errors.join('; ')})`);
  if (r.window.ended > 0) out.push(`${r.window.ended} ended early (${r.window.endErrors.join('; ')})`);
  if (r.window.misaligned > 0) out.push(`${r.window.misaligned} packets without 0x47`);
  return out.join('; ');
}

/** Below this many players, memory per player is noise (GC timing, first-use growth). */
const MEMORY_MIN_PLAYERS = 100;

function streamRows(rows: StreamsResult[], lead: string): string[] {
  const ng = nginxOf(rows);
  return rows.map((r) => {
    const p = r.proxy;
    const mem = r.players >= MEMORY_MIN_PLAYERS;
    // A negative growth is GC timing, not memory handed back per player.
    const kib = (v: number | null | undefined) => (!mem ? dash : v !== null && v !== undefined && v < 0 ? '≈0' : fmt(v));
    const share = `${r.window.keepingUp}/${r.players}`;
    return `| ${lead} | ${r.target} | ${share} | ${fmt(r.window.lagMs.p99, 0)} | ${fmt(r.mbPerS)} | ${fmt(p?.cpuPerGB, 2)} | ${r.target === 'nginx' ? '1×' : ratio(p?.cpuPerGB, ng?.proxy?.cpuPerGB)} | ${mem ? fmt(p?.joinMsPerPlayer, 2) : dash} | ${kib(p?.rssPerPlayerKiB)} | ${kib(p?.heapPerPlayerKiB)} | ${fmt(p?.loopDelay?.p99, 1)} | ${fmt(r.clientCpuShare, 2)} | ${notesOf(r)} |`;
  });
}

const STREAM_HEAD = [
  '| players | target | players ≥ 99 % real time | lag p99 (ms) | MB/s delivered | proxy CPU-s per GB | CPU/GB × nginx | join CPU per player (ms) | RSS per player (KiB) | heap+ext per player, backlog excluded (KiB) | loop delay p99 (ms) | load client CPU (cores) | notes |',
  '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
];

/**
 * The page; `before` (the figures before issue 16) adds the goals table with before and after,
 * and `analysis` (bench/analysis.md, written by hand about a full run) follows that table.
 */
export function renderMarkdown(res: BenchResults, before: BenchResults | null = null, analysis: string | null = null): string {
  const m = res.machine;
  const c = res.config;
  const mbit = c.bitrate / 1e6;
  const L: string[] = [];
  L.push('# Benchmarks', '');
  L.push(`Latest \`npm run bench${c.mode === 'full' ? ' -- --full' : ''}\` (${c.mode}), ${m.date}, ${res.durationS} s.`, '');
  L.push(
    'Run it with `npm run bench` (quick: 1, 10 and 100 players at each of three engine write sizes), `npm run bench -- --full`',
    '(adds 500 and 1000 players and a second round of each goal row, about 27 minutes), and `--cpu-prof` to profile acerelay under the largest fan-out; `--help` lists',
    'the rest. Each run writes `bench/results/<timestamp>.json` and rewrites this page (`--render FILE` rewrites it from a results file).',
    '',
  );
  L.push(
    `**Machine:** ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}; nginx ${m.nginx ?? 'absent'}; acerelay ${m.commit ?? 'unknown commit'}.`,
    '',
  );
  L.push(
    '**What runs.** Every box is its own process on the same cores: the source (`acerelay sim`, one fake engine streaming real TS;',
    `paced runs are ${mbit} Mbit/s constant bit rate after a ~2 s start burst; the unpaced run sends content as fast as it is read),`,
    'acerelay (`acerelay serve`, single-engine mode), nginx (one worker, `proxy_buffering off`, HTTP/1.1 keep-alive upstream),',
    '*pipe* (a minimal Node `http` proxy: `upstream.pipe(res)`), and the load client (raw sockets; it counts bytes and time).',
    '',
    '**What is compared.** An engine session has one reader, so **the engine, nginx and pipe rows run one engine session per player**',
    '(N players on "one channel" are N ids carrying the same stream, each started with its own `pid`), while **acerelay reads one',
    'engine session per channel and fans it out**. Proxy CPU is utime+stime of the proxy\'s processes (nginx: master + worker) over',
    `the ${c.windowMs / 1000} s window, per GB delivered to players; the window opens ${c.warmupMs / 1000} s after the players' first bytes. *Join CPU per player* is`,
    'what the proxy spent from the players\' open to the window beyond the window\'s steady rate, per player: joining is a cost of its own',
    '(acerelay runs a player actor per connection, journals its transitions and sends each joiner the replay window), kept out of the',
    `per-GB figure by the wait and shown beside it (from ${MEMORY_MIN_PLAYERS} players on: below, it is within the noise of the rate). A player is at real time when it received ≥ 99 % of the bytes`,
    'the bit rate promises over the window; lag is how far behind its best position (wall time − stream time received) it fell.',
    'RSS per player is the growth of the proxy\'s RSS over its idle size, divided by players; heap+ext is the growth of V8 heap +',
    'external memory after a forced GC, minus the bytes queued in sockets (Node proxies only, via a bench-only preload); both are',
    `shown from ${MEMORY_MIN_PLAYERS} players on (below, GC timing and first-use growth are larger than what is measured). Per-channel memory`,
    '(replay window, PES hold-back) counts towards the players of that channel.',
    ...(c.warmMs
      ? [
          `Each proxy is measured warm: ${c.warmMs / 1000} s of traffic through it (10 channels × 10 players; unpaced: one stream), not measured,`,
          'before the first run of each phase (a Node proxy compiles its byte path while it runs: the first seconds measure V8\'s compiler).',
          'The preload forces a GC only before the players open and after the window (for memory), never at the start of a window.',
        ]
      : []),
    ...((c.rounds ?? 1) > 1
      ? [
          `The goal rows (one channel at 100+ players, 50 × 4) are measured in ${c.rounds} interleaved rounds of acerelay and nginx; each keeps its`,
          'round with the lowest CPU per GB (every round is listed under the goals; the engine and the pipe, no yardstick of these rows\' goals, run once):',
          'the same nginx row moves by up to half from run to run here.',
        ]
      : []),
    '',
    '**Why acerelay\'s lag is higher than the references\'.** acerelay holds back the frame being received (the open video PES)',
    'until it completes, so a failing upstream never leaves players with half a frame (`src/fanout/pes-tail.ts`): about one video',
    'frame of delay. A send then waits for a second frame (32 KiB, at most 50 ms: half the writes per player); on a live channel the',
    'read itself waits instead (`src/adapters/engine/read-pacer.ts`: the engine\'s bytes gather in the kernel for up to one 50 ms tick,',
    'are read once and sent at once). With many players one send goes to every socket in one event-loop turn, which shows in lag p99',
    'and loop delay. The references pass bytes as they come.',
    '',
  );
  const idle = Object.entries(res.idleCores);
  if (idle.length) {
    L.push(
      `**Idle CPU** (no player at all): ${idle.map(([k, v]) => `${k} ${fmt(v * 1000, 0)} ms/s`).join(', ')}. At 1–10 players this fixed cost is most of the per-GB figure.`,
      '',
    );
  }

  L.push(...renderGoals(res, before));
  if (analysis) L.push(analysis.trimEnd(), '');

  if (res.unpaced.length) {
    const ng = nginxOf(res.unpaced);
    const rounds = Math.max(...Object.values(res.unpacedRounds).map((v) => v.length), 1);
    L.push('## One unpaced stream', '');
    L.push(
      `Best of ${rounds} interleaved rounds per target (every round: ${Object.entries(res.unpacedRounds).map(([k, v]) => `${k} ${v.join(' / ')}`).join('; ')} MB/s${
        res.unpacedCpuRounds ? `; proxy CPU-s per GB: ${Object.entries(res.unpacedCpuRounds).map(([k, v]) => `${k} ${v.join(' / ')}`).join('; ')}` : ''
      }).`,
      'Three busy processes share two cores here, so the figure is as much the machine\'s as the proxy\'s; CPU per GB is the steadier one.',
      '',
    );
    L.push('| target | MB/s | × nginx | proxy CPU-s per GB | CPU/GB × nginx | source CPU (cores) | load client CPU (cores) | notes |', '|---|---:|---:|---:|---:|---:|---:|---|');
    for (const r of res.unpaced) {
      L.push(
        `| ${r.target} | ${fmt(r.mbPerS)} | ${ratio(r.mbPerS, ng?.mbPerS)} | ${fmt(r.proxy?.cpuPerGB, 2)} | ${r.proxy ? ratio(r.proxy.cpuPerGB, ng?.proxy?.cpuPerGB) : dash} | ${fmt(r.sourceCpuShare, 2)} | ${fmt(r.clientCpuShare, 2)} | ${notesOf(r)} |`,
      );
    }
    L.push('');
  }

  for (const chunk of chunksOf(res)) {
    const rows = res.fanout.filter((r) => (r.chunkBytes ?? 0) === chunk);
    if (rows.length === 0) continue;
    L.push(`## One channel at ${mbit} Mbit/s, engine writes of ${chunkLabel(chunk)}`, '', ...STREAM_HEAD);
    for (const row of rows) L.push(...streamRows(row.results, String(row.players)));
    L.push('');
  }

  if (res.hls?.length) {
    L.push(`## HLS: clients polling one channel at ${mbit} Mbit/s (acerelay), engine writes of ${chunkLabel(res.hls[0]!.chunkBytes ?? 0)}`, '');
    L.push(
      'Each client polls `/ace/manifest.m3u8` every half target duration (2 s segments, acerelay\'s default), starts at the newest',
      'segment and fetches every new one, in order, on its own keep-alive connection. A segment is *in time* when it is in hand within',
      'one target duration of the poll that first listed it; a client *got every segment in time* when, over the window, it missed',
      'none and none was late. The TS row beside it is acerelay\'s own fan-out to as many TS players on one channel.',
      '',
    );
    L.push(
      '| clients | every segment in time | missed | late | segments per client | in hand after listed, p50 / p99 (ms) | MB/s delivered | proxy CPU-s per GB | TS fan-out CPU-s per GB (same N) | HLS / TS | load client CPU (cores) | notes |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    );
    for (const row of res.hls) {
      const r = row.hls;
      const h = r.window.hls;
      L.push(
        `| ${row.clients} | ${r.window.keepingUp}/${r.players} | ${h?.missed ?? dash} | ${h?.late ?? dash} | ${fmt(h?.segmentsPerClient, 0)} | ${fmt(r.window.lagMs.p50, 0)} / ${fmt(r.window.lagMs.p99, 0)} | ${fmt(r.mbPerS)} | ${fmt(r.proxy?.cpuPerGB, 2)} | ${fmt(row.ts?.proxy?.cpuPerGB, 2)} | ${ratio(r.proxy?.cpuPerGB, row.ts?.proxy?.cpuPerGB)} | ${fmt(r.clientCpuShare, 2)} | ${notesOf(r)} |`,
      );
    }
    L.push('');
  }

  for (const row of res.multi) {
    L.push(`## ${row.channels} channels × ${row.perChannel} players at ${mbit} Mbit/s, engine writes of ${chunkLabel(row.chunkBytes ?? 0)}`, '', ...STREAM_HEAD);
    L.push(...streamRows(row.results, String(row.channels * row.perChannel)));
    L.push('');
  }

  if (res.channelMemory?.length) {
    L.push('## Per-channel memory', '');
    L.push(
      `One channel fed the simulator's ${mbit} Mbit/s stream in the engine's write sizes, 20 players taking everything, sampled after`,
      'every upstream write (in the bench process, on the byte path itself: `Channel.bufferedBytes` counts its slabs with the replay',
      'window in them, output waiting to be sent, the held-back frame and the partial packet). The window grows by a GOP and drops at',
      'each random-access point; the slabs it frees are kept for it to grow into again, so the channel holds about its largest window.',
      '',
    );
    L.push('| engine writes | largest window (KiB) | most held (KiB) | held ÷ window | mean window (KiB) | mean held (KiB) |', '|---|---:|---:|---:|---:|---:|');
    for (const m of res.channelMemory) {
      L.push(`| ${chunkLabel(m.chunkBytes)} | ${m.windowPeakKiB} | ${m.heldPeakKiB} | ${m.peakRatio} | ${m.windowMeanKiB} | ${m.heldMeanKiB} |`);
    }
    L.push('');
  }

  const j = res.join;
  if (j) {
    const engine = j.cold.engine ? distribution(j.cold.engine.ttfbMs) : null;
    L.push('## Time to first media byte', '');
    L.push(
      `Cold: a channel nobody watches (${j.trials} trials each). The engine row is the engine's own start time (start call + playback,`,
      `with the simulator answering the start in ${c.engineStartDelayMs} ms); the others go through the proxy, and "over the engine" is their overhead.`,
      '',
    );
    L.push('| target | cold p50 (ms) | cold p99 (ms) | over the engine, p50 (ms) | over the engine, p99 (ms) | failed |', '|---|---:|---:|---:|---:|---:|');
    for (const [name, t] of Object.entries(j.cold)) {
      const d = distribution(t.ttfbMs);
      const over = (a: number, b: number | undefined) => (name === 'engine' || b === undefined ? dash : fmt(a - b));
      L.push(`| ${name} | ${fmt(d.p50)} | ${fmt(d.p99)} | ${over(d.p50, engine?.p50)} | ${over(d.p99, engine?.p99)} | ${t.failed} |`);
    }
    L.push('');
    if (j.warm) {
      const w = distribution(j.warm.ttfbMs);
      L.push(
        `Warm join (acerelay, a player joining a live channel, ${w.n} joins): p50 ${fmt(w.p50)} ms, p99 ${fmt(w.p99)} ms, max ${fmt(w.max)} ms` +
          `${j.warm.failed ? `, ${j.warm.failed} failed` : ''}. The references have no warm join: every player is a new engine session.`,
        '',
      );
    }
  }

  L.push('## Aims (reported, not asserted)', '', '| aim | measured |', '|---|---|');
  for (const [aim, got] of aims(res)) L.push(`| ${aim} | ${got} |`);
  L.push('');

  if (res.profile) {
    const p = res.profile;
    L.push(`## Profile: acerelay, ${p.label} (V8 --cpu-prof)`, '');
    const paced = Number.isFinite(p.run.window.ratioP50);
    L.push(
      `Busy ${p.summary.busyMs} ms of the ${p.summary.totalMs} ms window (${round(p.summary.busyMs / Math.max(1, p.summary.totalMs), 2)} of a core; the main thread only). ` +
        `Run: ${fmt(p.run.mbPerS)} MB/s${paced ? `, ${p.run.window.keepingUp}/${p.run.players} at real time` : ''}, ${fmt(p.run.proxy?.cpuPerGB, 2)} CPU-s/GB (profiler on).`,
      '',
    );
    L.push('| self time by area | ms | % of busy |', '|---|---:|---:|');
    for (const s of p.summary.areas.slice(0, 10)) L.push(`| ${s.name} | ${s.ms} | ${s.pct} |`);
    L.push('', '| self time by function | ms | % of busy |', '|---|---:|---:|');
    for (const s of p.summary.self.slice(0, 12)) L.push(`| \`${s.name}\` | ${s.ms} | ${s.pct} |`);
    L.push('');
  }

  const notes = [...res.notes];
  const label = new Map<StreamsResult, string>();
  for (const r of res.unpaced) label.set(r, `${r.target} unpaced`);
  for (const row of res.fanout) for (const r of row.results) label.set(r, `${r.target} × ${r.players} (${chunkLabel(row.chunkBytes ?? 0)})`);
  for (const row of res.multi) for (const r of row.results) label.set(r, `${r.target} 50×4 (${chunkLabel(row.chunkBytes ?? 0)})`);
  for (const row of res.hls ?? []) {
    label.set(row.hls, `${row.hls.target} HLS × ${row.clients}`);
    if (row.ts && !label.has(row.ts)) label.set(row.ts, `${row.ts.target} × ${row.ts.players}`);
  }
  const all = [...label.keys()];
  const named = (rows: StreamsResult[], extra: (r: StreamsResult) => string = () => '') => rows.map((r) => `${label.get(r)}${extra(r)}`).join(', ');
  const clientBound = all.filter((r) => r.bottlenecks.includes('load client bound'));
  if (clientBound.length) notes.push(`Load client bound (≥ 85 % of a core) in: ${named(clientBound)}: those rows measure the client as much as the proxy.`);
  const sourceBound = all.filter((r) => r.bottlenecks.includes('source bound'));
  if (sourceBound.length) notes.push(`Source bound (the simulator ≥ 85 % of a core) in: ${named(sourceBound)}.`);
  const saturated = all.filter((r) => r.bottlenecks.includes('machine saturated'));
  if (saturated.length) notes.push(`Every core ≥ 95 % busy in: ${named(saturated)}.`);
  const background = all.filter((r) => r.backgroundCores >= 0.3);
  if (background.length) {
    notes.push(
      `Other processes shared the machine (≥ 0.3 cores outside the run) in: ${named(background, (r) => ` (${r.backgroundCores})`)}: ` +
        'throughput there is a floor, and per-GB CPU includes some contention.',
    );
  }
  if (notes.length) {
    L.push('## Notes', '');
    for (const n of notes) L.push(`- ${n}`);
    L.push('');
  }
  return `${L.join('\n')}\n`;
}

/** The write sizes of the paced phases, in run order. */
export function chunksOf(res: BenchResults): number[] {
  return [...new Set([...res.fanout.map((r) => r.chunkBytes ?? 0), ...res.multi.map((r) => r.chunkBytes ?? 0)])];
}

/** Results written before write sizes existed: one phase of what is due, `multi` a single row or null. */
export function normalizeResults(raw: unknown): BenchResults {
  const res = raw as BenchResults & { multi: MultiRow | MultiRow[] | null | undefined };
  const multi = res.multi == null ? [] : Array.isArray(res.multi) ? res.multi : [res.multi];
  return { ...res, multi, fanout: res.fanout.map((r) => ({ ...r, chunkBytes: r.chunkBytes ?? 0 })) };
}

function aims(res: BenchResults): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const relayUnpaced = res.unpaced.find((r) => r.target === 'acerelay');
  const nginxUnpaced = nginxOf(res.unpaced);
  out.push([
    'one stream at ≥ 1.0× nginx\'s throughput',
    relayUnpaced && nginxUnpaced ? `${ratio(relayUnpaced.mbPerS, nginxUnpaced.mbPerS)} (${fmt(relayUnpaced.mbPerS)} vs ${fmt(nginxUnpaced.mbPerS)} MB/s)` : 'not measured',
  ]);
  const thousand = res.fanout.find((r) => r.players === 1000)?.results.find((r) => r.target === 'acerelay');
  out.push([
    '1000 players on one channel, all at ≥ 99 % of real time',
    thousand ? `${thousand.window.keepingUp}/1000, lag p99 ${fmt(thousand.window.lagMs.p99, 0)} ms${thousand.bottlenecks.length ? ` (${thousand.bottlenecks.join(', ')})` : ''}` : 'not run (quick run; use --full)',
  ]);
  const cpuRatios: string[] = [];
  for (const row of [...res.fanout, ...res.multi.map((m) => ({ players: m.channels * m.perChannel, results: m.results, multi: true }))]) {
    const a = row.results.find((r) => r.target === 'acerelay')?.proxy?.cpuPerGB;
    const n = nginxOf(row.results)?.proxy?.cpuPerGB;
    if (a !== undefined && n !== undefined) cpuRatios.push(`${'multi' in row ? '50×4' : row.players}: ${ratio(a, n)}`);
  }
  out.push(['proxy CPU per delivered GB ≤ 0.5× nginx\'s in the fan-out scenarios', cpuRatios.length ? cpuRatios.join(', ') : 'not measured']);
  const warm = res.join?.warm ? distribution(res.join.warm.ttfbMs) : null;
  out.push(['warm join p99 under 50 ms', warm ? `${fmt(warm.p99)} ms (p50 ${fmt(warm.p50)} ms)` : 'not measured']);
  const biggest = [...res.fanout].reverse().find((r) => r.players >= 100)?.results.find((r) => r.target === 'acerelay');
  out.push([
    'under 100 KiB of memory per player beyond its backlog',
    biggest?.proxy
      ? `${fmt(biggest.proxy.heapPerPlayerKiB)} KiB heap+ext, ${fmt(biggest.proxy.rssPerPlayerKiB)} KiB RSS per player at ${biggest.players} players (backlog ${fmt(biggest.proxy.backlogMiB, 2)} MiB in all)`
      : 'not measured',
  ]);
  return out;
}

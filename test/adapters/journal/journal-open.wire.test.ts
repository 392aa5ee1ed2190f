/**
 * A journal that cannot be read or cannot be opened, with acerelay as a real child process and
 * the simulator as the orchestrator: an unreadable file is set aside and a fresh one carries
 * the next crash's recovery; a missing one is retried while acerelay streams, shown by
 * /readyz and /metrics, and once it opens it holds what happened meanwhile.
 */
import { afterEach, expect, test } from 'vitest';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAcerelay, type Child } from '../../support/child.ts';
import { startSimulator, type Simulator } from '../../../src/sim/index.ts';
import { CONTENT, bytes, eventually, play } from '../../support/stack.ts';
import { DAMAGE, addFinishedSessions, confirmedStarts, holdJournal } from './journal-files.ts';

const children: Child[] = [];
let sim: Simulator | null = null;
const held: Array<{ release(): void }> = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.proc.kill('SIGKILL');
  for (const h of held.splice(0)) h.release();
  await sim?.close();
  sim = null;
});

function start(dataDir: string, extra: Record<string, string> = {}): Child {
  const child = runAcerelay(['serve', '--listen', '127.0.0.1:0'], {
    ACERELAY_ORCH_URL: sim!.url,
    ACERELAY_DATA_DIR: dataDir,
    ACERELAY_LOG_LEVEL: 'info',
    ACERELAY_STATUS_INTERVAL: '2s',
    ACERELAY_STATUS_INTERVAL_DEGRADED: '1s',
    ...extra,
  });
  children.push(child);
  return child;
}

async function baseUrl(child: Child): Promise<string> {
  return JSON.parse(await child.waitFor(/"url":"http:\/\/127\.0\.0\.1:\d+"/)).url as string;
}

const startSim = async () => {
  sim = await startSimulator({ port: 0, minReplicas: 2, maxReplicas: 4, startDelayMs: 100, provisionDelayMs: 200, engineReadyDelayMs: 200 });
  return sim;
};
const accepted = () => sim!.state().events.filter((e) => e.type === 'stream_started' && e.http_status === 200).map((e) => e.stream_id);
const stillStarted = () => sim!.state().streams.filter((s) => s.status === 'started').length;
const engineSessions = () => sim!.state().engines.flatMap((e) => e.sessions);
const asideFiles = (dir: string) => readdirSync(dir).filter((f) => /^journal\.db\.corrupt-\d+$/.test(f));

/** The pino lines of a child, parsed. */
const logLines = (child: Child) =>
  child
    .stderr()
    .concat(child.stdout())
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

async function readyz(url: string): Promise<{ status: number; code: string | null; retryAfter: string | null }> {
  const res = await fetch(`${url}/readyz`);
  const body = (await res.json()) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code ?? null, retryAfter: res.headers.get('retry-after') };
}

async function finishedSessions(url: string): Promise<Array<{ id: string; state: string }>> {
  return ((await (await fetch(`${url}/api/sessions`)).json()) as { finished: Array<{ id: string; state: string }> }).finished;
}

async function metric(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** Kills `child` like kill -9, starts the next run on `data`, and waits until every stream is ended and every engine session stopped, once. */
async function killAndRecover(child: Child, data: string, players: Array<Promise<unknown>>): Promise<Child> {
  child.proc.kill('SIGKILL');
  await child.exited;
  await Promise.all(players);
  expect(stillStarted()).toBeGreaterThan(0);
  const next = start(data);
  await baseUrl(next);
  await eventually(() => stillStarted() === 0, 20_000);
  for (const s of sim!.state().streams) expect(s.ended_by).toBe('event');
  for (const s of engineSessions()) expect([s.stopped_at !== null, s.stop_calls]).toEqual([true, 1]);
  return next;
}

test.each(DAMAGE)('a journal file %s: set aside at start, logged as an error; the fresh one carries a kill -9 of that run to its recovery', async (_name, damage) => {
  await startSim();
  const data = mkdtempSync(join(tmpdir(), 'acerelay-unreadable-'));
  addFinishedSessions(data, 1800);
  damage(join(data, 'journal.db'));
  const size = statSync(join(data, 'journal.db')).size;

  const first = start(data);
  const url = await baseUrl(first);
  const aside = asideFiles(data);
  expect(aside).toHaveLength(1);
  expect(statSync(join(data, aside[0]!)).size).toBe(size);
  expect(logLines(first).filter((l) => l.movedTo === join(data, aside[0]!)).map((l) => l.level)).toEqual([50]);
  await eventually(async () => (await readyz(url)).status === 200, 10_000);
  expect(await metric(url, 'acerelay_journal_available')).toBe(1);

  const players = [0, 1].map((i) => play(`${url}/ace/getstream?id=${CONTENT[i]}`, { maxMs: 60_000 }));
  // The fresh journal is the one in use: the starts are confirmed in it.
  await eventually(() => accepted().length === 2 && confirmedStarts(data) === 2, 20_000);
  const second = await killAndRecover(first, data, players);
  // Nothing more to set aside.
  expect(asideFiles(data)).toHaveLength(1);
  expect(logLines(second).filter((l) => l.movedTo !== undefined)).toEqual([]);
}, 90_000);

test('a data directory that cannot be made: streams are served, /readyz says journal_unavailable, the gauge 0; once it can be, the journal opens with what happened meanwhile, and a kill -9 after that is recovered', async () => {
  await startSim();
  const blocker = join(mkdtempSync(join(tmpdir(), 'acerelay-nodir-')), 'blocker');
  writeFileSync(blocker, 'a file where the data directory’s parent should be');
  const data = join(blocker, 'data');

  const first = start(data, { ACERELAY_LINGER: '1s' });
  const url = await baseUrl(first);
  const notReady = await readyz(url);
  expect(notReady.status).toBe(503);
  expect(notReady.code).toBe('journal_unavailable');
  expect(Number(notReady.retryAfter)).toBeGreaterThanOrEqual(1);
  expect(await metric(url, 'acerelay_journal_available')).toBe(0);
  expect(await metric(url, 'acerelay_journal_errors_total')).toBeGreaterThanOrEqual(1);
  expect(logLines(first).filter((l) => l.attempt === 1).map((l) => l.level)).toEqual([50]);

  // Streaming does not wait for the journal.
  const player = play(`${url}/ace/getstream?id=${CONTENT[0]}`, { maxMs: 60_000 });
  await eventually(async () => ((await metric(url, 'acerelay_bytes_out_total')) ?? 0) > 200_000, 20_000);
  expect(accepted()).toHaveLength(1);
  // A session that ends meanwhile is in the history (from memory).
  await play(`${url}/ace/getstream?id=${CONTENT[1]}`, { until: bytes(100_000) });
  const [ended] = await eventually(async () => ((await finishedSessions(url)).length === 1 ? finishedSessions(url) : null), 10_000);

  rmSync(blocker);
  mkdirSync(blocker);
  // Tried again with backoff (1, 2, 4, 8 s…): it opens within one more step.
  await eventually(async () => (await readyz(url)).status === 200, 20_000, 250);
  expect(await metric(url, 'acerelay_journal_available')).toBe(1);
  // What happened meanwhile is in it: the live session with its start's outcome, and the
  // ended one, now in the history read from the journal.
  expect(confirmedStarts(data)).toBe(2);
  expect((await finishedSessions(url)).filter((s) => s.id === ended!.id).map((s) => s.state)).toEqual([ended!.state]);
  await killAndRecover(first, data, [player]);
}, 90_000);

test('a journal another process holds at start: not set aside; acerelay serves, and when it is released the journal opens and the run it shows as killed is recovered then', async () => {
  await startSim();
  const data = mkdtempSync(join(tmpdir(), 'acerelay-held-'));
  const first = start(data);
  const url = await baseUrl(first);
  const player = play(`${url}/ace/getstream?id=${CONTENT[0]}`, { maxMs: 60_000 });
  await eventually(() => accepted().length === 1 && confirmedStarts(data) === 1, 20_000);
  first.proc.kill('SIGKILL');
  await first.exited;
  await player;

  const hold = holdJournal(data);
  held.push(hold);
  const second = start(data);
  const url2 = await baseUrl(second);
  expect((await readyz(url2)).code).toBe('journal_unavailable');
  // It is tried again, and the killed run's stream stays as it was meanwhile.
  await second.waitFor(/"attempt":2/, 10_000);
  expect(stillStarted()).toBe(1);
  expect(asideFiles(data)).toEqual([]);

  held.splice(held.indexOf(hold), 1);
  hold.release();
  await eventually(() => stillStarted() === 0, 30_000);
  for (const s of engineSessions()) expect([s.stopped_at !== null, s.stop_calls]).toEqual([true, 1]);
  await eventually(async () => (await readyz(url2)).status === 200, 10_000);
  expect(asideFiles(data)).toEqual([]);
  // Journaling goes on after the file's history (numbers continue past it): a new stream's
  // start is confirmed in it, and no write fails.
  const errors = await metric(url2, 'acerelay_journal_errors_total');
  const next = play(`${url2}/ace/getstream?id=${CONTENT[1]}`, { maxMs: 60_000 });
  await eventually(() => confirmedStarts(data) === 2, 20_000);
  expect(await metric(url2, 'acerelay_journal_errors_total')).toBe(errors);
  second.proc.kill('SIGKILL');
  await next;
}, 90_000);

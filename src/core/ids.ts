/** Identifiers, injectable so pure tests get stable ones. */
import { randomBytes, randomUUID } from 'node:crypto';

export interface IdSource {
  session(): string;
  player(): string;
  /** A fresh engine `pid`: each upstream session needs its own or a second channel cuts the first. */
  pid(): string;
  /** `labels.stream_id` of stream_started: `acerelay-<instance>-<uuid>` (`acerelay-<uuid>` without an instance). */
  stream(): string;
}

export const randomIds: IdSource = {
  session: () => `s-${randomUUID()}`,
  player: () => `p-${randomUUID()}`,
  pid: () => randomBytes(16).toString('hex'),
  stream: () => `acerelay-${randomUUID()}`,
};

/**
 * Ids of one instance among several sharing an orchestrator. Its stream ids name it, and their
 * UUID is a version 7 one (it begins with the wall-clock millisecond), so every instance orders
 * the streams listed on one engine alike, oldest first (engine-crowding.ts).
 */
export function instanceIds(instance: string): IdSource {
  return { ...randomIds, stream: () => `acerelay-${instance}-${uuidV7()}` };
}

/** RFC 9562 version 7: 48 bits of Unix milliseconds, then random bits. */
export function uuidV7(nowMs: number = Date.now()): string {
  const b = randomBytes(16);
  b.writeUIntBE(nowMs, 0, 6);
  b[6] = (b[6]! & 0x0f) | 0x70;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * What an `acerelay-` stream id says: the instance that started it (null for the ids of a
 * version without instances) and its UUID. Null for any other id (another client's stream).
 */
export function parseStreamId(id: string): { instance: string | null; uuid: string } | null {
  if (!id.startsWith('acerelay-')) return null;
  const uuid = id.slice(-36);
  if (!UUID.test(uuid)) return null;
  const head = id.slice('acerelay-'.length, -36);
  if (head === '') return { instance: null, uuid };
  if (!head.endsWith('-') || head.length < 2) return null;
  return { instance: head.slice(0, -1), uuid };
}

/** Counting ids for tests and traces. */
export function countingIds(): IdSource {
  const n = { s: 0, p: 0, pid: 0, st: 0 };
  return {
    session: () => `s${++n.s}`,
    player: () => `p${++n.p}`,
    pid: () => `pid${++n.pid}`,
    stream: () => `acerelay-${++n.st}`,
  };
}

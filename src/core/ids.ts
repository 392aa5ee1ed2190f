/** Identifiers, injectable so pure tests get stable ones. */
import { randomBytes, randomUUID } from 'node:crypto';

export interface IdSource {
  session(): string;
  player(): string;
  /** A fresh engine `pid`: each upstream session needs its own or a second channel cuts the first. */
  pid(): string;
  /** `labels.stream_id` of stream_started: `acerelay-<uuid>`. */
  stream(): string;
}

export const randomIds: IdSource = {
  session: () => `s-${randomUUID()}`,
  player: () => `p-${randomUUID()}`,
  pid: () => randomBytes(16).toString('hex'),
  stream: () => `acerelay-${randomUUID()}`,
};

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

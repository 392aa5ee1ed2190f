/**
 * What a player asked for, validated: the content (id or infohash), the pass-through
 * parameters, and the session key that decides which players share one engine session.
 */
import { AcerelayError } from '../errors.ts';
import type { Source } from '../domain/stream.ts';

export interface StreamRequest {
  source: Source;
  /** Parameters passed to the engine as given; part of the session key. */
  params: Record<string, string>;
  key: string;
}

/**
 * The most pass-through parameters a player may send, measured as their URL-encoded query
 * string (`name=value&…`, sorted: the session key's tail). The key is copied into logs, the
 * journal and the engine's start URL; real engines take a handful of short parameters.
 */
export const PASS_THROUGH_MAX_BYTES = 2048;

/** acerelay's own parameters: accepted and never passed on (acexy clients send pid/sid). */
const OURS = new Set(['id', 'infohash', 'pid', 'sid', 'format']);
const UNSUPPORTED = new Set(['url', 'magnet', 'content_id']);
const HEX40 = /^[0-9a-f]{40}$/i;

type Query = Record<string, string | string[] | undefined>;

export function parseStreamRequest(query: Query): StreamRequest {
  for (const name of UNSUPPORTED) {
    if (query[name] !== undefined) throw new AcerelayError('unsupported_source', `"${name}" is not supported; use id or infohash`);
  }
  const id = single(query, 'id');
  const infohash = single(query, 'infohash');
  if (id !== undefined && infohash !== undefined) throw new AcerelayError('conflicting_source');
  if (id === undefined && infohash === undefined) throw new AcerelayError('missing_source');
  let source: Source;
  if (infohash !== undefined) {
    if (!HEX40.test(infohash)) throw new AcerelayError('invalid_infohash', `infohash must be 40 hexadecimal characters, got "${clip(infohash)}"`);
    source = { kind: 'infohash', value: infohash.toLowerCase() };
  } else {
    if (!HEX40.test(id!)) throw new AcerelayError('invalid_id', `id must be a 40-character hexadecimal content id, got "${clip(id!)}"`);
    source = { kind: 'id', value: id!.toLowerCase() };
  }
  const params: Record<string, string> = {};
  for (const name of Object.keys(query).sort()) {
    if (OURS.has(name) || name === '') continue;
    const value = single(query, name);
    if (value !== undefined) params[name] = value;
  }
  const size = Buffer.byteLength(passThroughQuery(params));
  if (size > PASS_THROUGH_MAX_BYTES) {
    throw new AcerelayError(
      'invalid_parameter',
      `the pass-through parameters take ${size} bytes URL-encoded; at most ${PASS_THROUGH_MAX_BYTES} are accepted`,
    );
  }
  return { source, params, key: sessionKey(source, params) };
}

/** Players with the same content and the same pass-through parameters share a session. */
export function sessionKey(source: Source, params: Record<string, string>): string {
  const tail = passThroughQuery(params);
  return `${source.kind}:${source.value}${tail ? `?${tail}` : ''}`;
}

/** `a=1&b=2`: the pass-through parameters, sorted and URL-encoded. */
function passThroughQuery(params: Record<string, string>): string {
  return Object.keys(params)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(params[k]!)}`)
    .join('&');
}

function single(query: Query, name: string): string | undefined {
  const v = query[name];
  if (Array.isArray(v)) {
    if (name === 'id' || name === 'infohash') throw new AcerelayError('conflicting_source', `"${name}" is given more than once`);
    throw new AcerelayError('invalid_parameter', `"${name}" is given more than once`);
  }
  return v;
}

function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

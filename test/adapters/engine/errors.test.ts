/**
 * The engine adapter's decisions, one table: which errors are worth another try (the stop
 * janitor), which mean the content cannot load (the session machine), which mean the engine
 * forgot the session (the upstream reader), and the upstream failure code each is reported as.
 */
import { expect, test } from 'vitest';
import {
  EngineBadResponseError,
  type EngineError,
  EngineContentError,
  EngineHttpError,
  EngineSessionGoneError,
  EngineTimeoutError,
  EngineUnreachableError,
  bodyFailureOf,
  isContentFailure,
  isSessionGone,
  isTransient,
  upstreamFailureOf,
} from '../../../src/adapters/engine/errors.ts';
import { serializeEvent } from '../../../src/core/inspection-hub.ts';

const TABLE: Array<[EngineError, { transient: boolean; content: boolean; gone: boolean }]> = [
  [new EngineUnreachableError('refused'), { transient: true, content: false, gone: false }],
  [new EngineTimeoutError('slow'), { transient: true, content: false, gone: false }],
  [new EngineHttpError(500, 'sick'), { transient: true, content: false, gone: false }],
  [new EngineBadResponseError('garbage'), { transient: false, content: false, gone: false }],
  [new EngineContentError('failed to load content'), { transient: false, content: true, gone: false }],
  [new EngineSessionGoneError('unknown playback session id'), { transient: false, content: false, gone: true }],
];

for (const [err, want] of TABLE) {
  const code = err.code;
  test(code, () => {
    expect({ transient: isTransient(err), content: isContentFailure(err), gone: isSessionGone(err) }).toEqual(want);
    expect(upstreamFailureOf(err)).toBe(code);
    const journaled = JSON.parse(JSON.stringify(serializeEvent({ type: 'xstate.error.actor', error: err }))).error;
    expect(isContentFailure(journaled)).toBe(want.content);
  });
}

test('a playback failure that is not an engine error is ENGINE_PLAYBACK_FAILED; a body timeout is a stall', () => {
  expect(upstreamFailureOf(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ENGINE_PLAYBACK_FAILED');
  expect(bodyFailureOf(Object.assign(new Error('x'), { code: 'ENGINE_BODY_TIMEOUT' }))).toBe('ENGINE_STALLED');
  expect(bodyFailureOf(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe('ENGINE_BODY_ERROR');
  expect([isTransient(new Error('x')), isContentFailure(null), isSessionGone(undefined)]).toEqual([false, false, false]);
});

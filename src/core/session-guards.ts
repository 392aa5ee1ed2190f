/**
 * The session machine's decisions about its actors' errors, taken by the adapters that raised
 * them (the machine names the guards; it never reads an adapter's codes). Provided with the
 * actors, and to replay: an error read back from the journal is decided alike.
 */
import { isAuthRefusal, shouldWait } from '../adapters/orchestrator/errors.ts';
import { isContentFailure } from '../adapters/engine/errors.ts';

const errorOf = (event: unknown): unknown => (event as { error?: unknown }).error;

export const sessionGuards = {
  provisionShouldWait: ({ event }: { event: unknown }) => shouldWait(errorOf(event)),
  provisionAuthRefused: ({ event }: { event: unknown }) => isAuthRefusal(errorOf(event)),
  contentFailed: ({ event }: { event: unknown }) => isContentFailure(errorOf(event)),
};

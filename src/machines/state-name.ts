/**
 * The state name people, the API and the journal use for a machine's StateValue: the path
 * (`running.streaming`, `acquiring.waiting`), except that a held player is named by why it is
 * held (`waiting_vpn`, not `held.waiting_vpn`): those names are the public ones.
 */
import type { StateValue } from '../domain/journal.ts';

export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value)[0] ?? ['unknown', undefined];
  if (child === undefined) return parent;
  // `routing` only picks the held substate: a snapshot never rests there.
  if (parent === 'held' && typeof child === 'string') return child === 'routing' ? 'held' : child;
  return `${parent}.${stateName(child)}`;
}

/**
 * The version of each machine's stored format: its id, its state names and values, the events
 * it processes with their payloads (done-event outputs included) and its input. Each `created`
 * entry carries it (`facts.machine_version`); a crash recovery replays only entries of the
 * version running now, and recovers the others from their recorded facts (`facts.recovery`).
 * Bump a number with any change that would make an older journal replay differently.
 */
import type { MachineKind } from '../domain/journal.ts';

export const MACHINE_VERSIONS: Readonly<Record<MachineKind, number>> = { session: 1, player: 1 };

/** Entries written before versions were stamped: the machines as they were then, version 1. */
export const UNSTAMPED_VERSION = 1;

/**
 * What the kernel says about a process and the machine: CPU seconds from /proc/<pid>/stat
 * (utime + stime of every thread), RSS from /proc/<pid>/status, and the machine's busy share
 * from /proc/stat. Read from outside, so the process under test runs no measuring code.
 */
import { readFileSync, readdirSync } from 'node:fs';

/** Clock ticks per second of /proc times (USER_HZ: 100 on every Linux this runs on). */
const TICKS = 100;

/** CPU seconds (user + system) the process used so far; null once it is gone. */
export function cpuSeconds(pid: number): number | null {
  const fields = statFields(pid);
  if (!fields) return null;
  // Fields after "(comm)": index 0 is the state (field 3), so utime (14) is 11 and stime (15) 12.
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** User and system CPU seconds the process used so far; null once it is gone. */
export function cpuSplit(pid: number): { user: number; sys: number } | null {
  const fields = statFields(pid);
  if (!fields) return null;
  return { user: Number(fields[11]) / TICKS, sys: Number(fields[12]) / TICKS };
}

/** Resident set size in bytes; null once the process is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** The direct children of a process (nginx's workers under its master). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const fields = statFields(Number(name));
    // Field 4 (ppid) is index 1 after "(comm)".
    if (fields && Number(fields[1]) === pid) out.push(Number(name));
  }
  return out;
}

/** A group of processes measured together (nginx: master + workers). */
export interface ProcGroup {
  pids: number[];
}

export function groupCpu(g: ProcGroup): number {
  let sum = 0;
  for (const pid of g.pids) sum += cpuSeconds(pid) ?? 0;
  return sum;
}

/** The group's system CPU seconds (the kernel's side: syscalls, TCP, softirqs run on its behalf). */
export function groupSys(g: ProcGroup): number {
  let sum = 0;
  for (const pid of g.pids) sum += cpuSplit(pid)?.sys ?? 0;
  return sum;
}

export function groupRss(g: ProcGroup): number {
  let sum = 0;
  for (const pid of g.pids) sum += rssBytes(pid) ?? 0;
  return sum;
}

export interface MachineCpu {
  busy: number;
  total: number;
}

/** Cumulative machine CPU ticks (all cores): busy and total. */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/** Share of all cores busy between two readings (0..1). */
export function busyShare(a: MachineCpu, b: MachineCpu): number {
  const total = b.total - a.total;
  return total > 0 ? (b.busy - a.busy) / total : 0;
}

function statFields(pid: number): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: split after the last ')'.
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

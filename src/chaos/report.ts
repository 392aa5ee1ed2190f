/** The harness's report for people: each invariant with its checks, then the shrunk run. */
import type { ChaosReport } from './harness.ts';

export function formatReport(r: ChaosReport): string {
  const lines: string[] = [];
  lines.push(`acerelay chaos (${r.profile}) — seed ${r.seed}: ${r.runs} runs (${r.executions} executions with shrinking), ${r.commands} commands,`);
  lines.push(`  ${r.players} players (at most ${r.peakPlayers} at once), ${(r.virtualMs / 1000).toFixed(0)} s of simulated time in ${(r.realMs / 1000).toFixed(1)} s`);
  lines.push('');
  for (const t of r.tallies) {
    lines.push(`  ${t.violations === 0 ? 'ok  ' : 'FAIL'} ${String(t.id).padStart(2)}. ${t.name} — ${t.checks} checks${t.violations ? `, ${t.violations} violations` : ''}`);
  }
  if (r.failure) {
    lines.push('', `The shortest run found that breaks an invariant (${r.failure.commands.length} commands):`);
    r.failure.commands.forEach((c, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${c}`));
    lines.push('', 'What broke:');
    for (const res of r.failure.results.filter((x) => x.violations.length)) {
      lines.push(`  ${res.id}. ${res.name}`);
      for (const v of res.violations.slice(0, 8)) lines.push(`     - ${v}`);
      if (res.violations.length > 8) lines.push(`     … and ${res.violations.length - 8} more`);
    }
  }
  if (r.error) lines.push('', `The harness itself failed: ${r.error}`);
  if (r.replay) lines.push('', `Replay exactly this run: ${r.replay}`);
  lines.push('', r.ok ? 'No invariant broke.' : 'An invariant broke.');
  return lines.join('\n');
}

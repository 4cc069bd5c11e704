import type { ChaosResult, PhaseResult } from './scenario.js';

/** Invariants a phase passes: no wrong answer, no crash, recovered in time, by itself where it should. */
export function phaseInvariants(p: PhaseResult): { ok: boolean; text: string } {
  const failures: string[] = [];
  if (p.answers.wrong > 0) failures.push(`${p.answers.wrong} wrong answers`);
  if (p.crashes.length > 0) failures.push(`crashed: ${p.crashes.join(', ')}`);
  if (p.kind !== 'baseline' && p.recoveredMs === undefined) failures.push('did not recover');
  if (p.recoveredBySelf === false) failures.push('not by itself');
  const recovery =
    p.kind === 'baseline'
      ? ''
      : p.recoveredMs === undefined
        ? ''
        : `recovered in ${(p.recoveredMs / 1000).toFixed(1)} s${p.restartedByHarness ? ' (restarted by the harness)' : ' by itself'}`;
  return failures.length === 0 ? { ok: true, text: `ok${recovery ? `: ${recovery}` : ''}` } : { ok: false, text: `**FAIL**: ${failures.join('; ')}` };
}

/** True when every invariant held: each phase's, and the final checks. */
export function allInvariantsHold(result: ChaosResult): boolean {
  const s = result.stored;
  return (
    result.phases.every((p) => phaseInvariants(p).ok) &&
    s.lost.length === 0 &&
    s.stale.length === 0 &&
    s.resurrected.length === 0 &&
    s.unanswered === 0 &&
    result.replicasAgree.ok &&
    result.allReadyAtEnd
  );
}

const sample = (ids: string[]) => (ids.length === 0 ? '0' : `**${ids.length}** (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', ...' : ''})`);

export function chaosMarkdown(result: ChaosResult, context: { title: string; setup: string[]; command: string; date: string }): string {
  const lines = [
    `# ${context.title}`,
    '',
    `Run ${context.date} with \`${context.command}\` (${result.totals.wallSeconds} s).`,
    '',
    ...context.setup.map((s) => `- ${s}`),
    '',
    '## Faults and answers',
    '',
    "Answers are booked to the phase in which their query was sent: from the fault's injection until the cluster recovered, plus a few seconds of settled load. " +
      '*complete*: not flagged partial; *checked*: how many answers were compared with the brute-force reference (rule below); *wrong*: checked and not explainable (complete or partial). ' +
      '*refused*: `busy`/`too_large`; *failed*: no answer (timeout, no responders, other errors).',
    '',
    '| phase | evidence | complete | partial | refused | failed | wrong | checked | answer ms p50 / p99 / max | writes acked / failed (faces) | invariants |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
    ...result.phases.map((p) => {
      const a = p.answers;
      return `| ${p.phase} | ${[p.evidence, p.leaders && `before: ${p.leaders}`].filter(Boolean).join('; ')} | ${a.exact} | ${a.partial} | ${a.refused} | ${a.failed} | ${a.wrong} | ${a.checked} | ${p.latencyMs.p50} / ${p.latencyMs.p99} / ${p.latencyMs.max} | ${p.writes.acknowledged} / ${p.writes.failed} | ${phaseInvariants(p).text} |`;
    }),
    '',
    '## After the run',
    '',
    '| check | result |',
    '|---|---|',
    `| acknowledged live faces present with their latest vector (${result.stored.live}) | lost: ${sample(result.stored.lost)} |`,
    `| an older vector of a live face still found | ${sample(result.stored.stale)} |`,
    `| deleted faces (${result.stored.deleted}) come back | ${sample(result.stored.resurrected)} |`,
    `| faces with a failed write (either outcome allowed) | ${result.stored.uncertain} (${result.stored.uncertainPresent} present at the end) |`,
    `| check queries without a complete answer | ${result.stored.unanswered} |`,
    `| replicas of each shard agree | ${result.replicasAgree.ok ? 'yes' : '**no**'}: ${result.replicasAgree.detail} |`,
    `| every process ready at the end, no help after its fault | ${result.allReadyAtEnd ? 'yes' : '**no**'} |`,
    `| **all invariants** | ${allInvariantsHold(result) ? 'hold' : '**FAIL**'} |`,
    '',
    `Totals: ${result.totals.queries} queries (${result.totals.answersChecked} answers checked), ${result.totals.writesAcknowledged} write requests acknowledged and ${result.totals.writesFailed} failed, ${result.totals.faces} face ids written.`,
    '',
    '## Examples (first few a phase)',
    '',
    ...result.phases.flatMap((p) => (p.examples.length ? [`- ${p.phase}:`, ...p.examples.map((e) => `  - ${e.replace(/\s+/g, ' ').slice(0, 300)}`)] : [])),
    '',
  ];
  return lines.join('\n');
}

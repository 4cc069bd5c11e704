// "Who is this" for one face of a photo search. The gateway sends the verdict at every threshold
// (`who`: libs/persons whoIsSteps, the CLI's `query --who` rule); the page only picks the step at its slider.

/** The verdict at `threshold`: the last step whose threshold is at or below it; below the first step, or with none, unknown. */
export function verdictAt(steps, threshold) {
  let verdict = { kind: 'unknown' };
  for (const step of steps ?? []) {
    if (step.threshold > threshold) break;
    verdict = step.verdict;
  }
  return verdict;
}

/** The verdict in words: the person, the contenders, or unknown and why. */
export function whoText(verdict, threshold) {
  if (verdict.kind === 'match') return `${verdict.person} (nearest at ${verdict.distance.toFixed(3)}, ${verdict.votes} vote${verdict.votes === 1 ? '' : 's'})`;
  if (verdict.kind === 'ambiguous') return `ambiguous: ${verdict.persons.join(' or ')}`;
  return `unknown (no person within ${threshold.toFixed(2)})`;
}

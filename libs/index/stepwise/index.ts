/**
 * Work written as a generator of steps (`*...Steps`) can run in slices between event-loop
 * tasks (face-index/maintenance-job.ts) or, through this, to its end at once.
 */
export function runToEnd<T>(steps: Generator<void, T, void>): T {
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/** Recall of one answer list against another, both given as neighbour ids per query. */

/**
 * Mean over the queries that have a `truth` list (and pass `only`) of the share of
 * truth's first k ids that `got`'s first k contain; NaN when no query counts. A query
 * with no answer in `got` counts as 0.
 */
export function recallAt(
  got: readonly (readonly string[] | undefined)[],
  truth: readonly (readonly string[] | undefined)[],
  k: number,
  only: (q: number) => boolean = () => true,
): number {
  let sum = 0;
  let counted = 0;
  truth.forEach((want, q) => {
    if (!want || !only(q)) return;
    const top = new Set(want.slice(0, k));
    const answer = got[q] ?? [];
    sum += top.size ? answer.slice(0, k).filter((id) => top.has(id)).length / top.size : 1;
    counted++;
  });
  return counted ? sum / counted : NaN;
}

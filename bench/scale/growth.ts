/** How a cost grows with the number of faces, between two measured sizes. */

/**
 * The exponent e with cost ∝ n^e between (n1, cost1) and (n2, cost2):
 * log(cost2 / cost1) / log(n2 / n1). NaN when either cost is missing or not positive.
 */
export function growthExponent(n1: number, cost1: number | undefined, n2: number, cost2: number | undefined): number {
  if (cost1 === undefined || cost2 === undefined || !(cost1 > 0) || !(cost2 > 0) || n1 === n2) return NaN;
  return Math.log(cost2 / cost1) / Math.log(n2 / n1);
}

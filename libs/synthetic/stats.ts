/** Summary statistics of a set of descriptors, to compare synthetic data with real face-api output. */

export interface Spread {
  min: number;
  median: number;
  max: number;
  count: number;
}

export interface DescriptorStats {
  norms: Spread;
  /** Euclidean distances between descriptors of different people. */
  differentPeople: Spread;
  /** Euclidean distances between two descriptors of the same person. */
  samePerson: Spread;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { min: NaN, median: NaN, max: NaN, count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1], count: sorted.length };
}

export function euclidean(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

export function norm(a: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * a[i];
  return Math.sqrt(sum);
}

/**
 * `vectors[i]` belongs to person `person[i]`. Different-people distances over every pair
 * (or the first `maxPairs` pairs in a fixed order), same-person over pairs sharing a person.
 */
export function descriptorStats(vectors: readonly ArrayLike<number>[], person: readonly (string | number)[], maxPairs = 200_000): DescriptorStats {
  const different: number[] = [];
  const same: number[] = [];
  for (let i = 0; i < vectors.length && different.length + same.length < maxPairs; i++) {
    for (let j = i + 1; j < vectors.length; j++) {
      (person[i] === person[j] ? same : different).push(euclidean(vectors[i], vectors[j]));
    }
  }
  return { norms: spread(vectors.map(norm)), differentPeople: spread(different), samePerson: spread(same) };
}

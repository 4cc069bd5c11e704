/**
 * The leading principal axes of a set of vectors, from their covariance: what the int8
 * pre-filter codes (libs/index/face-index/int8-filter.ts) and the KD-tree partition
 * splits on (kd-partition.ts). Face descriptors concentrate their variance there.
 */

/** Orthogonal-iteration rounds: the axes need not be exact (any orthonormal rows keep the bound valid), only good. */
const AXIS_ITERATIONS = 16;

/**
 * The top `rows` principal axes of the covariance (n x n, symmetric) by orthogonal
 * iteration, as orthonormal rows of `basis`; returns the variance along the first
 * (its Rayleigh quotient). ~25 ms at 128 x 32, where a full Jacobi eigen decomposition
 * took ~250 ms (too long for the write that triggers learning); a step per round.
 */
export function* topAxes(covariance: Float64Array, n: number, basis: Float64Array, rows: number): Generator<void, number, void> {
  // Start: the coordinate axes with the largest variances (deterministic, never orthogonal to everything).
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => covariance[b * n + b] - covariance[a * n + a]);
  basis.fill(0);
  for (let i = 0; i < rows; i++) basis[i * n + order[i]] = 1;
  const next = new Float64Array(rows * n);
  for (let iteration = 0; iteration < AXIS_ITERATIONS; iteration++) {
    yield; // one round a maintenance step
    for (let i = 0; i < rows; i++) {
      const b = i * n;
      for (let r = 0; r < n; r++) {
        let sum = 0;
        const c = r * n;
        for (let d = 0; d < n; d++) sum += covariance[c + d] * basis[b + d];
        next[b + r] = sum;
      }
    }
    basis.set(next);
    orthonormalize(basis, rows, n);
  }
  let variance = 0;
  for (let r = 0; r < n; r++) {
    let sum = 0;
    for (let d = 0; d < n; d++) sum += covariance[r * n + d] * basis[d];
    variance += basis[r] * sum;
  }
  return variance;
}

/** Modified Gram-Schmidt (twice) on the rows of basis (rows x n): orthonormal to ~1e-15. */
function orthonormalize(basis: Float64Array, rows: number, n: number): void {
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < i; j++) {
        let dot = 0;
        for (let d = 0; d < n; d++) dot += basis[i * n + d] * basis[j * n + d];
        for (let d = 0; d < n; d++) basis[i * n + d] -= dot * basis[j * n + d];
      }
      let norm = 0;
      for (let d = 0; d < n; d++) norm += basis[i * n + d] ** 2;
      norm = Math.sqrt(norm);
      if (!(norm > 0)) {
        // Degenerate (e.g. constant data): any unit vector orthogonal to the others would do; a zero row bounds nothing but is safe.
        for (let d = 0; d < n; d++) basis[i * n + d] = 0;
        continue;
      }
      for (let d = 0; d < n; d++) basis[i * n + d] /= norm;
    }
  }
}

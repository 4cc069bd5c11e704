/**
 * The benchmark data model of design.md ("Benchmark data"): synthetic 128-d face
 * descriptors whose statistics imitate real face-api descriptors.
 *
 *   descriptor = mean + centre(identity) + photo noise
 *
 * - `mean`: one fixed vector shared by everybody (real descriptors are far from the
 *   origin: norm ~1.4-1.5 while people differ by ~0.7).
 * - identity centres: an anisotropic Gaussian, variance of principal axis i
 *   proportional to exp(-i / SPECTRUM_DECAY), so ~70% of the centres' variance lies in
 *   the top 16 axes; the axes are turned by a few random Householder reflections so
 *   they are not the coordinate axes (as with real descriptors).
 * - photo noise: isotropic, so two photos of one person are ~0.3-0.4 apart.
 *
 * Queries are fresh photos: of enrolled identities (their nearest neighbour is the same
 * person) and of people who are not enrolled (their nearest neighbour is a stranger at
 * ~0.5-0.6): the two cases an index must handle, the second being the hard one for
 * approximate search.
 */
import { FACE_DIMENSIONS } from '../index/vector/index.js';
import { gaussian, seededRandom } from '../index/seeded-random/index.js';

export interface FaceModelOptions {
  seed: number;
  /** Norm of the shared mean vector (default 1.36: descriptor norms come out ~1.45). */
  meanNorm?: number;
  /** Total variance of identity centres (default 0.185: median different-person distance ~0.7). */
  centreVariance?: number;
  /** Per-axis standard deviation of photo noise (default 0.022: same-person distance ~0.35). */
  photoSd?: number;
  /** e-folding length of the centre spectrum in axes (default 13.3: ~70% of the variance in 16 axes). */
  spectrumDecay?: number;
}

export const DEFAULT_FACE_MODEL = { meanNorm: 1.36, centreVariance: 0.185, photoSd: 0.022, spectrumDecay: 13.3 } as const;

const REFLECTIONS = 4;

export class FaceModel {
  readonly dims = FACE_DIMENSIONS;
  private readonly normal: () => number;
  private readonly mean: Float64Array;
  private readonly axisSd: Float64Array;
  /** Unit vectors of the Householder reflections, REFLECTIONS x dims. */
  private readonly reflections: Float64Array;
  private readonly photoSd: number;
  private readonly scratch: Float64Array;

  constructor(options: FaceModelOptions) {
    const dims = this.dims;
    const random = seededRandom(options.seed);
    this.normal = gaussian(random);
    const meanNorm = options.meanNorm ?? DEFAULT_FACE_MODEL.meanNorm;
    const centreVariance = options.centreVariance ?? DEFAULT_FACE_MODEL.centreVariance;
    const decay = options.spectrumDecay ?? DEFAULT_FACE_MODEL.spectrumDecay;
    this.photoSd = options.photoSd ?? DEFAULT_FACE_MODEL.photoSd;

    this.mean = this.unitVector();
    for (let d = 0; d < dims; d++) this.mean[d] *= meanNorm;
    const weights = new Float64Array(dims);
    let total = 0;
    for (let d = 0; d < dims; d++) total += weights[d] = Math.exp(-d / decay);
    this.axisSd = new Float64Array(dims);
    for (let d = 0; d < dims; d++) this.axisSd[d] = Math.sqrt((centreVariance * weights[d]) / total);
    this.reflections = new Float64Array(REFLECTIONS * dims);
    for (let r = 0; r < REFLECTIONS; r++) this.reflections.set(this.unitVector(), r * dims);
    this.scratch = new Float64Array(dims);
  }

  /** Share of the centres' variance in the top `axes` principal axes. */
  varianceShare(axes: number): number {
    let top = 0;
    let total = 0;
    for (let d = 0; d < this.dims; d++) {
      const v = this.axisSd[d] ** 2;
      total += v;
      if (d < axes) top += v;
    }
    return top / total;
  }

  /** Draws a new identity: writes its centre (mean included) to out[offset..]. */
  identity(out: Float32Array, offset = 0): void {
    const dims = this.dims;
    const x = this.scratch;
    for (let d = 0; d < dims; d++) x[d] = this.normal() * this.axisSd[d];
    for (let r = 0; r < REFLECTIONS; r++) {
      const base = r * dims;
      let dot = 0;
      for (let d = 0; d < dims; d++) dot += x[d] * this.reflections[base + d];
      for (let d = 0; d < dims; d++) x[d] -= 2 * dot * this.reflections[base + d];
    }
    for (let d = 0; d < dims; d++) out[offset + d] = this.mean[d] + x[d];
  }

  /** Draws a photo of the identity whose centre is centres[centreOffset..]. */
  photo(centres: Float32Array, centreOffset: number, out: Float32Array, offset = 0): void {
    for (let d = 0; d < this.dims; d++) out[offset + d] = centres[centreOffset + d] + this.normal() * this.photoSd;
  }

  private unitVector(): Float64Array {
    const v = new Float64Array(this.dims);
    let norm = 0;
    for (let d = 0; d < this.dims; d++) norm += (v[d] = this.normal()) ** 2;
    norm = Math.sqrt(norm);
    for (let d = 0; d < this.dims; d++) v[d] /= norm;
    return v;
  }
}

export interface BenchmarkDataOptions extends Omit<FaceModelOptions, 'seed'> {
  faces: number;
  identities: number;
  queries: number;
  seed?: number;
  /** Share of queries that are fresh photos of enrolled identities (default 0.5). */
  enrolledShare?: number;
}

export interface BenchmarkData {
  /** faces x 128 float32, rows grouped by identity. */
  vectors: Float32Array;
  /** `person-<identity>/photo-<n>` per row. */
  ids: string[];
  /** Identity index of each row. */
  identity: Int32Array;
  /** queries x 128 float32: fresh photos, never rows of `vectors`. */
  queries: Float32Array;
  /** Per query: the enrolled identity's name (`person-<identity>`), or null for someone not enrolled. */
  queryIdentity: (string | null)[];
}

export function identityName(identity: number): string {
  return `person-${String(identity).padStart(7, '0')}`;
}

/**
 * The benchmark data set: `faces` photos of `identities` people (as even a split as
 * possible, at least one each), and `queries` fresh photos, `enrolledShare` of them of
 * enrolled people (chosen uniformly), the rest of new people. Same options, same bytes.
 */
export function benchmarkData(options: BenchmarkDataOptions): BenchmarkData {
  const { faces, identities, queries } = options;
  if (!Number.isInteger(faces) || faces < 1) throw new RangeError(`faces must be a positive integer, got ${faces}`);
  if (!Number.isInteger(identities) || identities < 1 || identities > faces)
    throw new RangeError(`identities must be an integer in 1..faces, got ${identities}`);
  if (!Number.isInteger(queries) || queries < 0) throw new RangeError(`queries must be a non-negative integer, got ${queries}`);
  const seed = options.seed ?? 1;
  const model = new FaceModel({ ...options, seed });
  const pick = seededRandom(seed ^ 0x5bd1e995);
  const dims = model.dims;
  const centres = new Float32Array(identities * dims);
  for (let p = 0; p < identities; p++) model.identity(centres, p * dims);

  const vectors = new Float32Array(faces * dims);
  const identity = new Int32Array(faces);
  const ids = new Array<string>(faces);
  let row = 0;
  for (let p = 0; p < identities; p++) {
    const photos = Math.floor(((p + 1) * faces) / identities) - Math.floor((p * faces) / identities);
    const name = identityName(p);
    for (let n = 0; n < photos; n++, row++) {
      model.photo(centres, p * dims, vectors, row * dims);
      identity[row] = p;
      ids[row] = `${name}/photo-${n}`;
    }
  }

  const enrolledShare = options.enrolledShare ?? 0.5;
  const queryVectors = new Float32Array(queries * dims);
  const queryIdentity: (string | null)[] = [];
  const stranger = new Float32Array(dims);
  for (let q = 0; q < queries; q++) {
    if (pick() < enrolledShare) {
      const p = Math.floor(pick() * identities);
      model.photo(centres, p * dims, queryVectors, q * dims);
      queryIdentity.push(identityName(p));
    } else {
      model.identity(stranger, 0);
      model.photo(stranger, 0, queryVectors, q * dims);
      queryIdentity.push(null);
    }
  }
  return { vectors, ids, identity, queries: queryVectors, queryIdentity };
}

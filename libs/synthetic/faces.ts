import { FACE_DIMENSIONS } from '../index/vector/index.js';
import { gaussian, seededRandom } from '../index/seeded-random/index.js';

export interface SyntheticFaces {
  vectors: Float32Array;
  ids: string[];
  /** Identity index of each row. */
  identity: Int32Array;
}

/**
 * Face-like vectors: identity centres from an anisotropic Gaussian (a decaying spectrum,
 * so a few axes carry most of the variance, as real descriptors do), and several
 * photos per identity scattered around their centre.
 */
export function syntheticFaces(options: {
  identities: number;
  photosPerIdentity: number;
  seed: number;
  photoSpread?: number;
  idPrefix?: string;
}): SyntheticFaces {
  const normal = gaussian(seededRandom(options.seed));
  const spread = options.photoSpread ?? 0.025; // per-axis sd: same-person distance ~ 0.025 * sqrt(2 * 128) = 0.4
  const axisScale = new Float64Array(FACE_DIMENSIONS);
  for (let d = 0; d < FACE_DIMENSIONS; d++) axisScale[d] = 0.13 * Math.exp(-d / 24) + 0.02;
  const rows = options.identities * options.photosPerIdentity;
  const vectors = new Float32Array(rows * FACE_DIMENSIONS);
  const identity = new Int32Array(rows);
  const ids: string[] = [];
  const centre = new Float64Array(FACE_DIMENSIONS);
  let row = 0;
  for (let p = 0; p < options.identities; p++) {
    for (let d = 0; d < FACE_DIMENSIONS; d++) centre[d] = normal() * axisScale[d];
    for (let photo = 0; photo < options.photosPerIdentity; photo++, row++) {
      for (let d = 0; d < FACE_DIMENSIONS; d++) vectors[row * FACE_DIMENSIONS + d] = centre[d] + normal() * spread;
      identity[row] = p;
      ids.push(`${options.idPrefix ?? 'person'}-${p}/photo-${photo}`);
    }
  }
  return { vectors, ids, identity };
}

/** Uniform noise vectors in [-0.5, 0.5): the hardest case for a KD-tree, a fair check for exactness. */
export function uniformVectors(count: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const out = new Float32Array(count * FACE_DIMENSIONS);
  for (let i = 0; i < out.length; i++) out[i] = random() - 0.5;
  return out;
}

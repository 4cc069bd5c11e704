/**
 * FaceIndexState (what a snapshot stores) out of a RowStore and its IVF lists, and the
 * checks that a state is whole before an index adopts it.
 */
import { IvfQuantizer } from '../ann/index.js';
import type { IvfLayout, IvfLists } from './ivf-lists.js';
import type { FaceIndexState } from './options.js';
import { INT16_ROW_MAX } from '../simd-kernel/index.js';
import type { RowStore } from './row-store.js';

/** Live faces in row order, and the IVF with each row's list: see `FaceIndex.exportState`. */
export function exportState(store: RowStore, ivfLists: IvfLists): FaceIndexState {
  const dims = store.dimensions;
  const faces = store.size;
  const vectors = new Float32Array(faces * dims);
  const ids = new Array<string>(faces);
  const metas = new Array<unknown>(faces);
  const ivf = ivfLists.ivf;
  const rowLists = ivf === undefined ? undefined : new Int32Array(faces);
  const { deleted, rowCount } = store;
  const { listedRows, assignedRows, rowList } = ivfLists;
  let out = 0;
  let listed = 0;
  let runStart = 0; // rows runStart..row-1 are live and copied as one block
  let runOut = 0;
  for (let row = 0; row <= rowCount; row++) {
    if (row === rowCount || deleted[row] !== 0) {
      if (row > runStart) store.readRows(runStart, row - runStart, vectors, runOut * dims);
      runStart = row + 1;
      runOut = out;
      continue;
    }
    ids[out] = store.idAt(row);
    metas[out] = store.metaAt(row);
    if (rowLists !== undefined) rowLists[out] = row < assignedRows ? rowList[row] : -1;
    if (row < listedRows) listed++;
    out++;
  }
  const state: FaceIndexState = { dimensions: dims, vectors, ids, metas };
  // Only k-means lists are kept in a snapshot; an index with a KD-tree partition trains one again on import.
  if (ivf instanceof IvfQuantizer) state.ivf = { ...ivf.exportState(), listedRows: listed, rowLists: rowLists! };
  return state;
}

/**
 * Checks `state` against an index of `dims` dimensions (RangeError when it does not
 * fit) and reads its IVF layout when `withIvf` (the index uses IVF lists) and it has one.
 */
export function checkState(state: FaceIndexState, dims: number, withIvf: boolean, forceJs: boolean): IvfLayout | undefined {
  if (state.dimensions !== dims) throw new RangeError(`state holds ${state.dimensions}-d vectors, the index ${dims}-d`);
  const faces = state.ids.length;
  if (state.vectors.length !== faces * dims) throw new RangeError(`state holds ${state.vectors.length} floats for ${faces} faces`);
  if (state.metas.length !== faces) throw new RangeError(`state holds ${state.metas.length} metas for ${faces} faces`);
  const bad = firstUnstorable(state.vectors);
  if (bad >= 0) {
    throw new RangeError(
      `state vector ${Math.floor(bad / dims)} (${state.ids[Math.floor(bad / dims)]}) component ${bad % dims} is ${state.vectors[bad]} (must be finite and within ±${INT16_ROW_MAX})`,
    );
  }
  const s = state.ivf;
  if (s === undefined || !withIvf) return undefined;
  const ivf = IvfQuantizer.fromState(dims, s, forceJs);
  const lists = ivf.lists;
  if (s.rowLists.length !== faces || !Number.isInteger(s.listedRows) || s.listedRows < 0 || s.listedRows > faces)
    throw new RangeError('state: IVF rows do not match the faces');
  const listStart = new Int32Array(lists + 1);
  let previous = 0;
  for (let row = 0; row < s.listedRows; row++) {
    const l = s.rowLists[row];
    if (!(l >= previous && l < lists)) throw new RangeError(`state: row ${row} (list ${l}) breaks the list order`);
    listStart[l + 1]++;
    previous = l;
  }
  for (let l = 0; l < lists; l++) listStart[l + 1] += listStart[l];
  const listedRows = s.listedRows;
  let assignedRows = listedRows;
  while (assignedRows < faces && s.rowLists[assignedRows] >= 0 && s.rowLists[assignedRows] < lists) assignedRows++;
  return { ivf, listStart, listedRows, assignedRows };
}

/** Index of the first value the rows cannot store (not finite, or past INT16_ROW_MAX), or -1. */
function firstUnstorable(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) if (!(Math.abs(values[i]) <= INT16_ROW_MAX)) return i;
  return -1;
}

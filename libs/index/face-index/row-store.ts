/**
 * The rows of a FaceIndex: every row-ordered column (the vectors, as int16 codes at a
 * fixed scale in the arena: libs/index/simd-kernel/int16.ts; deleted flags, metas, each row's
 * slot and IVF list, and the pre-filter's codes) and the ids, kept by slot (id-table.ts).
 * A vector is stored rounded to the nearest multiple of INT16_ROW_SCALE (2^-14, within
 * 3.1e-5), in a quarter of the bytes of the float32 row and the int8 codes it replaces;
 * searches are exact over the stored values. Writes append a row; replacing or
 * deleting a face only flags its row. The moves here (compaction, permutations) keep
 * every column in step; the IVF merge (ivf-lists.ts) moves the same columns. A face's
 * slot stays with it while its row moves, so moving rows never touches the ids.
 */
import { INT16_ROW_SCALE, Int16RowArena, int16RowCode } from '../simd-kernel/index.js';
import { codedSquaredDistanceWithin } from '../exact-distance/index.js';
import { IdTable } from './id-table.js';
import type { Int8Filter } from './int8-filter.js';
import type { FaceIndexState } from './options.js';

const INITIAL_CAPACITY = 64;

export class RowStore {
  readonly dimensions: number;
  /** Owns the rows' codes (WebAssembly memory when the SIMD kernel runs) and their distance kernel. */
  readonly arena: Int16RowArena;
  /** The arena's codes, `stride` a row; taken again after the arena grows. */
  rows: Int16Array;
  /** Codes a row (dims rounded up to a multiple of 8). */
  readonly stride: number;
  /** One row's stored vector (`forEachFace`). */
  private readonly decoded: Float32Array;
  deleted: Uint8Array;
  metas: unknown[] = [];
  /** IVF list of each row, -1 for rows not yet assigned. */
  rowList: Int32Array;
  /**
   * The int8 pre-filter (undefined when off); its codes exist for every row once `ready`.
   * Created by prefilter.ts; kept here because its codes move with the rows.
   */
  filter: Int8Filter | undefined;
  /**
   * Ids by slot, and id -> slot: a slot stays with the face while its row moves (merges,
   * sorts, compaction), so moving rows updates typed arrays, never the ids.
   */
  readonly ids = new IdTable();
  /** Row of each slot in use. */
  slotRow: Int32Array;
  /** Slot of each live row (stale for dead rows). */
  rowSlot: Int32Array;
  private freeSlots: Int32Array;
  private freeSlotCount = 0;
  private nextSlot = 0;
  rowCount = 0;
  deletedRows = 0;

  constructor(dimensions: number, forceJs: boolean) {
    this.dimensions = dimensions;
    this.arena = new Int16RowArena(dimensions, INITIAL_CAPACITY, { forceJs });
    this.rows = this.arena.codes;
    this.stride = this.arena.rowDims;
    this.decoded = new Float32Array(dimensions);
    this.deleted = new Uint8Array(INITIAL_CAPACITY);
    this.rowList = new Int32Array(INITIAL_CAPACITY).fill(-1);
    this.slotRow = new Int32Array(INITIAL_CAPACITY);
    this.rowSlot = new Int32Array(INITIAL_CAPACITY);
    this.freeSlots = new Int32Array(INITIAL_CAPACITY);
    this.ids.ensureSlots(INITIAL_CAPACITY);
  }

  /** The id of a live row. */
  idAt(row: number): string {
    return this.ids.idOf(this.rowSlot[row]);
  }

  /** Orders two rows by their ids (the tie-break of equal distances), like `a < b` on the strings. */
  readonly compareRowIds = (rowA: number, rowB: number): number => this.ids.compare(this.rowSlot[rowA], this.rowSlot[rowB]);

  has(id: string): boolean {
    return this.ids.find(id) >= 0;
  }

  /** Live faces (deleted and replaced rows excluded). */
  get size(): number {
    return this.ids.count;
  }

  /** Rows the columns hold room for. */
  get capacity(): number {
    return this.deleted.length;
  }

  /** The pre-filter when its codes are kept for every row (and so must move with them). */
  get codes(): Int8Filter | undefined {
    return this.filter?.ready ? this.filter : undefined;
  }

  /** Every live face, in row order (what a snapshot writes), with its stored vector: a buffer reused for the next face (copy it to keep it). */
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void {
    for (let row = 0; row < this.rowCount; row++) {
      if (this.deleted[row]) continue;
      this.arena.readRows(row, 1, this.decoded);
      visit(this.idAt(row), this.decoded, this.metas[row]);
    }
  }

  /** The stored vectors of rows [first, first + count) into out[at..] (IVF training and assignment, pre-filter learning). */
  readRows(first: number, count: number, out: Float32Array | Float64Array, at = 0): void {
    this.arena.readRows(first, count, out, at);
  }

  /**
   * Squared distance of the row's stored vector to queries[queryOffset..] in float64, in
   * dimension order (the oracle's bits); may give up past `bound` (see squaredDistanceWithin).
   */
  distanceWithin(row: number, queries: Float32Array, queryOffset: number, bound: number): number {
    return codedSquaredDistanceWithin(this.rows, row * this.stride, INT16_ROW_SCALE, queries, queryOffset, this.dimensions, bound);
  }

  /**
   * Appends a row for the face (flagging the row it replaces, if any) and returns it.
   * There must be room for one more row (`capacity`); the pre-filter's codes are the caller's.
   * A component that is not finite or past ±INT16_ROW_MAX is a RangeError naming it, and nothing changes.
   */
  append(id: string, vector: Float32Array, meta: unknown): number {
    // First: it checks the vector, and writes only the row past the last.
    this.arena.setRow(this.rowCount, vector);
    let slot = this.ids.find(id);
    if (slot >= 0) this.markDeleted(this.slotRow[slot]);
    else {
      slot = this.freeSlotCount > 0 ? this.freeSlots[--this.freeSlotCount] : this.nextSlot++;
      this.ids.insert(id, slot);
    }
    const row = this.rowCount++;
    this.deleted[row] = 0;
    this.rowList[row] = -1;
    this.metas[row] = meta;
    this.slotRow[slot] = row;
    this.rowSlot[row] = slot;
    return row;
  }

  /** Flags the face's row as dead; true when the id was present. */
  remove(id: string): boolean {
    const slot = this.ids.remove(id);
    if (slot < 0) return false;
    this.markDeleted(this.slotRow[slot]);
    this.freeSlots[this.freeSlotCount++] = slot;
    return true;
  }

  /**
   * Replaces every row by the state's faces (vectors and ids copied, metas adopted; a
   * later id replaces an earlier one). `rowLists`: the IVF list of rows 0..n-1 (the rest
   * unassigned). There must be room for the faces (`capacity`).
   */
  adopt(state: FaceIndexState, rowLists: Int32Array | undefined): void {
    const faces = state.ids.length;
    for (let row = 0; row < faces; row++) this.arena.setRow(row, state.vectors, row * this.dimensions);
    this.deleted.fill(0);
    this.rowList.fill(-1);
    if (rowLists !== undefined) this.rowList.set(rowLists, 0);
    this.metas = state.metas;
    this.ids.clear();
    this.freeSlotCount = 0;
    this.nextSlot = 0;
    this.rowCount = faces;
    this.deletedRows = 0;
    for (let row = 0; row < faces; row++) {
      const meta = this.metas[row];
      if (meta === null) this.metas[row] = undefined;
      const id = state.ids[row];
      let slot = this.ids.find(id);
      if (slot >= 0) this.markDeleted(this.slotRow[slot]);
      else this.ids.insert(id, (slot = this.nextSlot++));
      this.slotRow[slot] = row;
      this.rowSlot[row] = slot;
    }
  }

  private markDeleted(row: number): void {
    if (this.deleted[row] !== 0) return;
    this.deleted[row] = 1;
    this.metas[row] = undefined;
    this.deletedRows++;
  }

  /** Room for `capacity` rows in every column (the arena and the pre-filter's codes too). */
  grow(capacity: number): void {
    this.arena.ensureRowCapacity(capacity);
    this.rows = this.arena.codes;
    this.filter?.ensureRowCapacity(capacity);
    const deleted = new Uint8Array(capacity);
    deleted.set(this.deleted.subarray(0, this.rowCount));
    this.deleted = deleted;
    const rowList = new Int32Array(capacity).fill(-1);
    rowList.set(this.rowList.subarray(0, this.rowCount));
    this.rowList = rowList;
    const grown = (old: Int32Array) => {
      const out = new Int32Array(capacity);
      out.set(old);
      return out;
    };
    this.slotRow = grown(this.slotRow);
    this.rowSlot = grown(this.rowSlot);
    this.freeSlots = grown(this.freeSlots);
    this.ids.ensureSlots(capacity);
  }

  /**
   * Slides live rows down over deleted ones, keeping their order (and so the IVF lists:
   * ivf-lists.ts recounts them first, `layoutWithoutDeleted`).
   */
  compact(): void {
    if (this.deletedRows === 0) return;
    const filter = this.codes;
    let write = 0;
    for (let read = 0; read < this.rowCount; read++) {
      if (this.deleted[read] !== 0) continue;
      if (write !== read) {
        this.metas[write] = this.metas[read];
        this.rowList[write] = this.rowList[read];
        const slot = this.rowSlot[read];
        this.rowSlot[write] = slot;
        this.slotRow[slot] = write;
      }
      write++;
    }
    // The same moves for the row codes and the pre-filter's, a run of live rows at a time.
    let to = 0;
    let runStart = -1;
    for (let read = 0; read <= this.rowCount; read++) {
      if (read < this.rowCount && this.deleted[read] === 0) {
        if (runStart < 0) runStart = read;
      } else if (runStart >= 0) {
        if (to !== runStart) {
          this.arena.copyRows(to, runStart, read);
          filter?.copyRows(to, runStart, read);
        }
        to += read - runStart;
        runStart = -1;
      }
    }
    this.deleted.fill(0, 0, this.rowCount);
    this.rowList.fill(-1, write, this.rowCount);
    this.metas.length = write;
    this.rowCount = write;
    this.deletedRows = 0;
  }

  /** Moves row order[pos] to position pos for every pos. */
  applyOrder(order: Int32Array): void {
    const rowCount = this.rowCount;
    this.arena.permuteRows(order, rowCount);
    this.codes?.permuteRows(order, rowCount);
    const metas = new Array<unknown>(rowCount);
    const rowList = new Int32Array(this.rowList.length).fill(-1);
    const deleted = new Uint8Array(this.deleted.length);
    const rowSlot = new Int32Array(this.rowSlot.length);
    const slotRow = this.slotRow;
    for (let pos = 0; pos < rowCount; pos++) {
      const row = order[pos];
      metas[pos] = this.metas[row];
      rowList[pos] = this.rowList[row];
      deleted[pos] = this.deleted[row];
      rowSlot[pos] = this.rowSlot[row];
      if (deleted[pos] === 0) slotRow[rowSlot[pos]] = pos;
    }
    this.metas = metas;
    this.rowList = rowList;
    this.deleted = deleted;
    this.rowSlot = rowSlot;
  }

  /**
   * Stores rows in a KD-tree's leaf order (`order`, no deleted rows, no IVF lists, no
   * pre-filter codes) so each leaf reads one contiguous block of memory.
   */
  reorderLikeTree(order: Int32Array): void {
    this.arena.permuteRows(order, this.rowCount);
    const metas: unknown[] = new Array<unknown>(this.rowCount);
    const rowSlot = new Int32Array(this.rowSlot.length);
    for (let pos = 0; pos < this.rowCount; pos++) {
      const row = order[pos];
      metas[pos] = this.metas[row];
      rowSlot[pos] = this.rowSlot[row];
      this.slotRow[rowSlot[pos]] = pos;
    }
    this.rowSlot = rowSlot;
    this.metas = metas;
  }
}

/** The vector as an index stores it (each component rounded to the nearest multiple of INT16_ROW_SCALE): what searches measure distances to. */
export function storedVector(vector: Float32Array): Float32Array {
  return vector.map((x) => int16RowCode(x) * INT16_ROW_SCALE);
}

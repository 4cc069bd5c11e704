/**
 * The rows of a FaceIndex and every per-row column that moves with them. A vector is
 * stored as int16 codes at a fixed scale in the arena (libs/index/simd-kernel/int16.ts):
 * rounded to the nearest multiple of INT16_ROW_SCALE (2^-14, within 3.1e-5), in a
 * quarter of the bytes of the float32 row; searches are exact over the stored values.
 * Writes append a row; replacing or deleting a face only flags its row.
 *
 * The store's own columns are the vectors, the deleted flags, the metas and each row's
 * slot; other parts attach theirs (the IVF's list of each row, the pre-filter's codes:
 * libs/index/row-columns). Every move (growth, compaction, a merge's block moves, a
 * sort) is carried out here on all columns at once: a part that needs rows moved hands
 * the store a plan (`MovePlan`, or an order for `permute`). A face's slot stays with it
 * while its row moves, so moving rows never touches the ids.
 */
import { INT16_ROW_SCALE, Int16RowArena, int16RowCode } from '../simd-kernel/index.js';
import { codedSquaredDistanceWithin } from '../exact-distance/index.js';
import { NumberColumn, ValueColumn, type RowColumn } from '../row-columns/index.js';
import { IdTable } from './id-table.js';
import type { FaceIndexState, IdFilter, ListedFace } from './options.js';
import { SmallestSlots } from './smallest-slots.js';

const INITIAL_CAPACITY = 64;

/** One block move of a plan: `count` rows from rows `from..` (or, `aside`, from aside slots `from..`) to rows `to..`. */
export interface BlockMove {
  readonly to: number;
  readonly from: number;
  readonly count: number;
  readonly aside: boolean;
}

/**
 * Rows moved in blocks, carried out on every column in order: first the rows of
 * `aside` are copied aside (slot i holds aside[i]), then each move. Afterwards the store
 * holds `rowCount` rows; every row dropped (not moved into 0..rowCount-1) must be deleted.
 */
export interface MovePlan {
  readonly aside: Int32Array;
  readonly moves: readonly BlockMove[];
  readonly rowCount: number;
}

export class RowStore {
  readonly dimensions: number;
  /** Owns the rows' codes (WebAssembly memory when the SIMD kernel runs) and their distance kernel. */
  readonly arena: Int16RowArena;
  /** Codes a row (dims rounded up to a multiple of 8). */
  readonly stride: number;
  /** One row's stored vector (`forEachFace`). */
  private readonly decoded: Float32Array;
  private readonly deletedColumn = new NumberColumn(new Uint8Array(INITIAL_CAPACITY));
  private readonly metaColumn = new ValueColumn<unknown>();
  /** Slot of each live row (stale for dead rows). */
  private readonly rowSlot = new NumberColumn(new Int32Array(INITIAL_CAPACITY));
  /** Every column, the store's own first, then those attached. */
  private readonly columns: RowColumn[];
  /**
   * Ids by slot, and id -> slot: a slot stays with the face while its row moves (merges,
   * sorts, compaction), so moving rows updates typed arrays, never the ids.
   */
  private readonly ids = new IdTable();
  /** Row of each slot in use. */
  private slotRow = new Int32Array(INITIAL_CAPACITY);
  private freeSlots = new Int32Array(INITIAL_CAPACITY);
  private freeSlotCount = 0;
  private nextSlot = 0;
  private rows = 0;
  private deadRows = 0;

  constructor(dimensions: number, forceJs: boolean) {
    this.dimensions = dimensions;
    this.arena = new Int16RowArena(dimensions, INITIAL_CAPACITY, { forceJs });
    this.stride = this.arena.rowDims;
    this.decoded = new Float32Array(dimensions);
    this.columns = [this.arena, this.deletedColumn, this.metaColumn, this.rowSlot];
    this.ids.ensureSlots(INITIAL_CAPACITY);
  }

  /** Rows written (live and dead). */
  get rowCount(): number {
    return this.rows;
  }

  /** Rows flagged dead (deleted or replaced) and not yet compacted away. */
  get deletedRows(): number {
    return this.deadRows;
  }

  /** 1 for each dead row; a new array after the store grows (take it again then). */
  get deleted(): Uint8Array {
    return this.deletedColumn.values;
  }

  /** Live faces (deleted and replaced rows excluded). */
  get size(): number {
    return this.ids.count;
  }

  /** Rows the columns hold room for. */
  get capacity(): number {
    return this.deletedColumn.values.length;
  }

  /** Bytes of the rows, flags and ids (attached columns count their own). */
  get bytes(): number {
    return this.arena.bytes + this.deleted.byteLength + this.ids.bytes;
  }

  /** The id of a live row. */
  idAt(row: number): string {
    return this.ids.idOf(this.rowSlot.values[row]);
  }

  /** The meta of a live row. */
  metaAt(row: number): unknown {
    return this.metaColumn.at(row);
  }

  /** Orders two rows by their ids (the tie-break of equal distances), like `a < b` on the strings. */
  readonly compareRowIds = (rowA: number, rowB: number): number => {
    const rowSlot = this.rowSlot.values;
    return this.ids.compare(rowSlot[rowA], rowSlot[rowB]);
  };

  has(id: string): boolean {
    return this.ids.find(id) >= 0;
  }

  /** The meta of a live face by id (undefined: none, or no such face). */
  metaOf(id: string): unknown {
    const slot = this.ids.find(id);
    return slot < 0 ? undefined : this.metaColumn.at(this.slotRow[slot]);
  }

  /** A column that moves with the rows from now on (grown to the store's capacity). */
  attach(column: RowColumn): void {
    column.ensureRowCapacity(this.capacity);
    this.columns.push(column);
  }

  /** The column no longer moves with the rows. */
  detach(column: RowColumn): void {
    const at = this.columns.indexOf(column);
    if (at >= 0) this.columns.splice(at, 1);
  }

  /** Every live face, in row order (what a snapshot writes), with its stored vector: a buffer reused for the next face (copy it to keep it). */
  forEachFace(visit: (id: string, vector: Float32Array, meta: unknown) => void): void {
    const deleted = this.deleted;
    for (let row = 0; row < this.rows; row++) {
      if (deleted[row]) continue;
      this.arena.readRows(row, 1, this.decoded);
      visit(this.idAt(row), this.decoded, this.metaColumn.at(row));
    }
  }

  /**
   * The first `limit` live faces by id (string order) that pass `filter`, and whether more
   * pass. Ids are compared in place: only the ids answered are built as strings.
   */
  listIds(filter: IdFilter, limit: number): { faces: ListedFace[]; more: boolean } {
    const { prefix, after, where } = filter;
    const ids = this.ids;
    const kept = new SmallestSlots(limit, (a, b) => ids.compare(a, b));
    const deleted = this.deleted;
    const rowSlot = this.rowSlot.values;
    let passed = 0;
    for (let row = 0; row < this.rows; row++) {
      if (deleted[row]) continue;
      const slot = rowSlot[row];
      if (prefix !== undefined && !ids.startsWith(slot, prefix)) continue;
      if (after !== undefined && ids.compareWith(slot, after) <= 0) continue;
      if (where && !where(this.metaColumn.at(row))) continue;
      passed++;
      kept.offer(slot);
    }
    const faces = kept.sorted().map((slot) => ({ id: ids.idOf(slot), meta: this.metaColumn.at(this.slotRow[slot]) }));
    return { faces, more: passed > faces.length };
  }

  /** The meta of every live face (undefined: none), in row order. */
  forEachMeta(visit: (meta: unknown) => void): void {
    const deleted = this.deleted;
    for (let row = 0; row < this.rows; row++) if (!deleted[row]) visit(this.metaColumn.at(row));
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
    return codedSquaredDistanceWithin(this.arena.codes, row * this.stride, INT16_ROW_SCALE, queries, queryOffset, this.dimensions, bound);
  }

  /**
   * Appends a row for the face (flagging the row it replaces, if any) and returns it;
   * attached columns write the new row themselves. There must be room for one more row
   * (`capacity`). A component that is not finite or past ±INT16_ROW_MAX is a
   * RangeError naming it, and nothing changes.
   */
  append(id: string, vector: Float32Array, meta: unknown): number {
    // First: it checks the vector, and writes only the row past the last.
    this.arena.setRow(this.rows, vector);
    let slot = this.ids.find(id);
    if (slot >= 0) this.markDeleted(this.slotRow[slot]);
    else {
      slot = this.freeSlotCount > 0 ? this.freeSlots[--this.freeSlotCount] : this.nextSlot++;
      this.ids.insert(id, slot);
    }
    const row = this.rows++;
    this.deleted[row] = 0;
    this.metaColumn.set(row, meta);
    this.slotRow[slot] = row;
    this.rowSlot.values[row] = slot;
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
   * Replaces every row by the state's faces (rows or vectors and ids copied, metas adopted; a
   * later id replaces an earlier one). There must be room for the faces (`capacity`);
   * attached columns take theirs from the state themselves.
   */
  adopt(state: FaceIndexState): void {
    const faces = state.ids.length;
    const { dimensions: dims, stride } = this;
    const { rows, vectors } = state;
    if (rows !== undefined) {
      // The codes rows hold: copied as they are (checkState checked their range).
      const codes = this.arena.codes;
      if (stride === dims) codes.set(rows.subarray(0, faces * dims));
      else for (let row = 0; row < faces; row++) codes.set(rows.subarray(row * dims, (row + 1) * dims), row * stride);
    } else for (let row = 0; row < faces; row++) this.arena.setRow(row, vectors!, row * dims);
    this.deletedColumn.fill(0, this.capacity);
    this.metaColumn.adopt(state.metas);
    this.ids.clear();
    this.freeSlotCount = 0;
    this.nextSlot = 0;
    this.rows = faces;
    this.deadRows = 0;
    const rowSlot = this.rowSlot.values;
    // Ids of one byte a unit, most often: the arena's room for them, at once.
    let units = 0;
    for (let row = 0; row < faces; row++) units += state.ids[row].length;
    this.ids.reserve(faces, units);
    for (let row = 0; row < faces; row++) {
      if (state.metas[row] === null) this.metaColumn.set(row, undefined);
      let slot = this.ids.findOrInsert(state.ids[row], this.nextSlot);
      if (slot >= 0) this.markDeleted(this.slotRow[slot]);
      else slot = this.nextSlot++;
      this.slotRow[slot] = row;
      rowSlot[row] = slot;
    }
  }

  private markDeleted(row: number): void {
    if (this.deleted[row] !== 0) return;
    this.deleted[row] = 1;
    this.metaColumn.set(row, undefined);
    this.deadRows++;
  }

  /** Room for `capacity` rows in every column, the ids' slots too. */
  grow(capacity: number): void {
    if (capacity <= this.capacity) return;
    for (const column of this.columns) column.ensureRowCapacity(capacity);
    const grown = (old: Int32Array) => {
      const out = new Int32Array(capacity);
      out.set(old);
      return out;
    };
    this.slotRow = grown(this.slotRow);
    this.freeSlots = grown(this.freeSlots);
    this.ids.ensureSlots(capacity);
  }

  /** Carries out `plan` (see MovePlan) on every column, then points each moved face's slot at its new row. */
  carryOut(plan: MovePlan): void {
    const { aside, moves } = plan;
    for (const column of this.columns) {
      if (aside.length > 0) column.takeRows(aside, aside.length);
      for (const move of moves) {
        if (move.aside) column.putRows(move.from, move.to, move.count);
        else column.copyRows(move.to, move.from, move.from + move.count);
      }
      if (aside.length > 0) column.releaseTaken();
    }
    let lowest = plan.rowCount;
    for (const move of moves) lowest = Math.min(lowest, move.to);
    this.dropTail(plan.rowCount);
    this.pointSlotsAt(lowest);
  }

  /** Moves row order[pos] to pos for every pos < rowCount in every column (a sort; no row is dropped). */
  permute(order: Int32Array): void {
    for (const column of this.columns) column.permuteRows(order, this.rows);
    this.pointSlotsAt(0);
  }

  /** Slides live rows down over deleted ones, keeping their order (and so the IVF lists: ivf-lists.ts recounts them first, `layoutWithoutDeleted`). */
  compact(): void {
    if (this.deadRows === 0) return;
    const deleted = this.deleted;
    const moves: BlockMove[] = [];
    let to = 0;
    let runStart = -1;
    for (let row = 0; row <= this.rows; row++) {
      if (row < this.rows && deleted[row] === 0) {
        if (runStart < 0) runStart = row;
      } else if (runStart >= 0) {
        if (to !== runStart) moves.push({ to, from: runStart, count: row - runStart, aside: false });
        to += row - runStart;
        runStart = -1;
      }
    }
    this.carryOut({ aside: new Int32Array(0), moves, rowCount: to });
  }

  /** Rows from `rowCount` on are gone (each was dead). */
  private dropTail(rowCount: number): void {
    this.deadRows -= this.rows - rowCount;
    this.deletedColumn.fill(rowCount, this.rows);
    this.metaColumn.truncate(rowCount);
    this.rows = rowCount;
  }

  /** slotRow for the live rows from `first` on, after they moved. */
  private pointSlotsAt(first: number): void {
    const deleted = this.deleted;
    const rowSlot = this.rowSlot.values;
    for (let row = first; row < this.rows; row++) if (deleted[row] === 0) this.slotRow[rowSlot[row]] = row;
  }
}

/** The vector as an index stores it (each component rounded to the nearest multiple of INT16_ROW_SCALE): what searches measure distances to. */
export function storedVector(vector: Float32Array): Float32Array {
  return vector.map((x) => int16RowCode(x) * INT16_ROW_SCALE);
}

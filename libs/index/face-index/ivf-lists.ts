/**
 * The IVF lists over a RowStore's rows (approximate search). The rows are, in order:
 *   0..listedRows-1              sorted by list (list l = listStart[l]..listStart[l+1]-1)
 *   listedRows..assignedRows-1   recent rows, each assigned to a list (rowList), unsorted
 *   assignedRows..rowCount-1     at most a batch of rows not assigned yet
 * This class keeps that layout: training (at once, or in steps while the current lists
 * keep serving), assigning, merging the recent rows into the sorted lists, sorting every
 * row by list, and walking the rows an approximate query reads. When these run is
 * FaceIndex's call (index.ts).
 */
import { IvfQuantizer } from '../ann/ivf.js';
import type { RowStore } from './row-store.js';
import { PROBE_SHARE_AT_EFFORT_1 } from './options.js';

/** New rows are assigned to their IVF lists in batches of this many (one kernel batch). */
export const ANN_ASSIGN_BATCH = 256;

/** An IVF and its layout, read from a snapshot (state.ts). */
export interface IvfLayout {
  ivf: IvfQuantizer;
  listStart: Int32Array;
  listedRows: number;
  assignedRows: number;
}

export class IvfLists {
  private readonly store: RowStore;
  /** Below this many rows there is no IVF (Infinity: never one). */
  readonly minRows: number;
  private readonly listsPerSqrtRow: number;
  ivf: IvfQuantizer | undefined;
  /** Rows 0..listedRows-1 are sorted by list; list l is rows listStart[l]..listStart[l+1]-1. */
  listedRows = 0;
  /** Rows listedRows..assignedRows-1 know their list (rowList) but are not sorted; later rows do not. */
  assignedRows = 0;
  listStart: Int32Array = new Int32Array(1);
  private probeScratch = new Int32Array(64);
  /** Per list: 1 while it is probed by the current query (filters the recent rows). */
  private probeMark = new Uint8Array(0);
  /** The job's list of each row (row-indexed, like rowList), while a retraining runs (`retrainSteps`). */
  private jobLists: Int32Array | undefined;

  constructor(store: RowStore, minRows: number, listsPerSqrtRow: number) {
    this.store = store;
    this.minRows = minRows;
    this.listsPerSqrtRow = listsPerSqrtRow;
  }

  /** Lists probed by an approximate search at `effort`; 0 when it would probe every list (or there is no IVF): exact. */
  probesFor(effort: number): number {
    if (this.ivf === undefined) return 0;
    const wanted = Math.max(1, Math.ceil(effort * PROBE_SHARE_AT_EFFORT_1 * this.ivf.lists));
    return wanted < this.ivf.lists ? wanted : 0;
  }

  /** Scratch for `count` probed lists (reused across searches). */
  probeLists(count: number): Int32Array {
    if (this.probeScratch.length < count) this.probeScratch = new Int32Array(count);
    return this.probeScratch;
  }

  /** One mark per list, all 0 (callers put them back to 0 after use). */
  probeMarks(): Uint8Array {
    if (this.probeMark.length < this.ivf!.lists) this.probeMark = new Uint8Array(this.ivf!.lists);
    return this.probeMark;
  }

  /**
   * The rows an approximate query reads, as ranges to `visit`: its n probed lists
   * (lists[0..n), in list order), then the recent rows (assigned, not yet merged) of
   * those lists in runs of consecutive rows, then every row not assigned yet (at most
   * one batch).
   */
  forProbedRows(lists: Int32Array, n: number, visit: (start: number, end: number) => void): void {
    const { listStart, listedRows, assignedRows } = this;
    const { rowCount, rowList } = this.store;
    for (let i = 0; i < n; i++) {
      const start = listStart[lists[i]];
      const end = listStart[lists[i] + 1];
      if (start < end) visit(start, end);
    }
    if (assignedRows > listedRows) {
      const mark = this.probeMarks();
      for (let i = 0; i < n; i++) mark[lists[i]] = 1;
      let runStart = -1;
      for (let row = listedRows; row < assignedRows; row++) {
        if (mark[rowList[row]] !== 0) {
          if (runStart < 0) runStart = row;
        } else if (runStart >= 0) {
          visit(runStart, row);
          runStart = -1;
        }
      }
      if (runStart >= 0) visit(runStart, assignedRows);
      for (let i = 0; i < n; i++) mark[lists[i]] = 0;
    }
    if (assignedRows < rowCount) visit(assignedRows, rowCount);
  }

  /** No IVF: every row unassigned. */
  drop(): void {
    this.ivf = undefined;
    this.listedRows = 0;
    this.assignedRows = 0;
    this.listStart = new Int32Array(1);
    this.store.rowList.fill(-1, 0, this.store.rowCount);
  }

  /** Takes an IVF and its layout read from a snapshot (the rows' lists already in the store), or none. */
  adopt(layout: IvfLayout | undefined): void {
    this.ivf = layout?.ivf;
    this.listStart = layout?.listStart ?? new Int32Array(1);
    this.listedRows = layout?.listedRows ?? 0;
    this.assignedRows = layout?.assignedRows ?? 0;
  }

  /** Room for `capacity` rows (the retraining's lists, while one runs). */
  ensureRowCapacity(capacity: number): void {
    if (this.jobLists !== undefined) {
      const jobLists = new Int32Array(capacity).fill(-1);
      jobLists.set(this.jobLists.subarray(0, this.store.rowCount));
      this.jobLists = jobLists;
    }
  }

  /** A retraining was cancelled: its lists are dropped. */
  retrainCancelled(): void {
    this.jobLists = undefined;
  }

  /**
   * The layout as it will be once `RowStore.compact` dropped the deleted rows (which
   * keeps the live rows' order): call just before it.
   */
  layoutWithoutDeleted(): void {
    const ivf = this.ivf;
    if (ivf === undefined) return;
    const { deleted, rowList } = this.store;
    const counts = new Int32Array(ivf.lists + 1);
    const { listedRows, assignedRows } = this;
    let newListed = 0;
    let newAssigned = 0;
    const end = Math.max(listedRows, assignedRows);
    for (let row = 0; row < end; row++) {
      if (deleted[row] !== 0) continue;
      if (row < listedRows) {
        counts[rowList[row] + 1]++;
        newListed++;
      }
      if (row < assignedRows) newAssigned++;
    }
    for (let l = 0; l < ivf.lists; l++) counts[l + 1] += counts[l];
    this.listStart = counts;
    this.listedRows = newListed;
    this.assignedRows = newAssigned;
  }

  private listsFor(live: number): number {
    return Math.max(8, Math.min(8192, Math.round(Math.sqrt(live) * this.listsPerSqrtRow)));
  }

  /** Trains a new quantizer on the live rows, assigns every row and sorts all rows by list (deleted rows last). */
  trainAndSort(): void {
    const store = this.store;
    const rowCount = store.rowCount;
    const lists = this.listsFor(rowCount - store.deletedRows);
    this.ivf = IvfQuantizer.train(store, rowCount, store.dimensions, { lists, forceJs: !store.arena.simd }, store.deleted);
    this.ivf.assign(store, 0, rowCount, store.rowList);
    this.sortByList();
  }

  /**
   * Training in steps (the job): sample and train (IvfQuantizer.trainSteps), assign
   * every row to the new lists a batch at a time (into jobLists: the current lists keep
   * serving), then switch: adopt the new quantizer and sort the rows by list in one
   * pass. Rows do not move while it runs (merges and compaction wait), writes only
   * append or flag rows.
   */
  *retrainSteps(): Generator<void, void, void> {
    const store = this.store;
    const lists = this.listsFor(store.size);
    const ivf = yield* IvfQuantizer.trainSteps(store, store.rowCount, store.dimensions, { lists, forceJs: !store.arena.simd }, store.deleted);
    this.jobLists = new Int32Array(store.rowList.length).fill(-1);
    let done = 0;
    while (done < store.rowCount) {
      yield;
      const end = Math.min(store.rowCount, done + ANN_ASSIGN_BATCH);
      ivf.assign(store, done, end, this.jobLists);
      done = end;
    }
    store.rowList.set(this.jobLists.subarray(0, store.rowCount));
    this.jobLists = undefined;
    this.ivf = ivf;
    this.sortByList();
  }

  /** Stable counting sort of every row by rowList (all assigned); deleted rows last, unlisted. */
  private sortByList(): void {
    const ivf = this.ivf!;
    const store = this.store;
    const rowCount = store.rowCount;
    const { deleted, rowList } = store;

    // Stable counting sort of rows by list; deleted rows (if any) go last, unlisted.
    const listCount = ivf.lists;
    const starts = new Int32Array(listCount + 1);
    let liveRows = 0;
    for (let row = 0; row < rowCount; row++) {
      if (deleted[row] !== 0) continue;
      starts[rowList[row] + 1]++;
      liveRows++;
    }
    for (let l = 0; l < listCount; l++) starts[l + 1] += starts[l];
    const order = new Int32Array(rowCount);
    const next = starts.slice(0, listCount);
    let tail = liveRows;
    for (let row = 0; row < rowCount; row++) {
      if (deleted[row] !== 0) order[tail++] = row;
      else order[next[rowList[row]]++] = row;
    }
    store.applyOrder(order);
    this.listStart = starts;
    this.listedRows = liveRows;
    this.assignedRows = rowCount;
  }

  /** Assigns the rows not yet assigned to their lists. */
  assignPending(): void {
    const store = this.store;
    if (this.ivf === undefined || this.assignedRows >= store.rowCount) return;
    if (this.assignedRows < this.listedRows) this.assignedRows = this.listedRows;
    this.ivf.assign(store, this.assignedRows, store.rowCount, store.rowList);
    this.assignedRows = store.rowCount;
  }

  /**
   * Merges the recent rows (all assigned) into the sorted lists, dropping the deleted
   * ones among them. The recent rows are sorted by list into a side buffer, then the
   * lists are walked from the last down, each slid right (memmove) by the number of
   * recent rows of the lists before it, with its own recent rows put after it. Rows
   * only move right and the highest destinations are written first, so nothing is
   * overwritten before it is moved. Costs one memmove of the rows, no training.
   */
  mergeRecent(): void {
    const ivf = this.ivf!;
    const store = this.store;
    const stride = store.stride;
    const listCount = ivf.lists;
    const first = this.listedRows;
    const rowCount = store.rowCount;
    const { rowList, deleted, rowSlot, slotRow } = store;
    const rows = store.rows;
    const metas = store.metas;
    // Counting sort of the live recent rows into the side buffer.
    const sideStart = new Int32Array(listCount + 1);
    let dropped = 0;
    for (let row = first; row < rowCount; row++) {
      if (deleted[row] !== 0) dropped++;
      else sideStart[rowList[row] + 1]++;
    }
    for (let l = 0; l < listCount; l++) sideStart[l + 1] += sideStart[l];
    const recent = sideStart[listCount];
    const sideRows = new Int16Array(recent * stride);
    const sideMetas = new Array<unknown>(recent);
    const sideSlots = new Int32Array(recent);
    const filter = store.codes;
    filter?.sideBegin(recent);
    const next = sideStart.slice(0, listCount);
    for (let row = first; row < rowCount; row++) {
      if (deleted[row] !== 0) continue;
      const p = next[rowList[row]]++;
      sideRows.set(rows.subarray(row * stride, (row + 1) * stride), p * stride);
      filter?.toSide(row, p);
      sideMetas[p] = metas[row];
      sideSlots[p] = rowSlot[row];
    }
    const listStart = this.listStart;
    const merged = new Int32Array(listCount + 1);
    merged.set(listStart);
    const newRowCount = first + recent;
    merged[listCount] = newRowCount;
    for (let l = listCount - 1; l >= 0; l--) {
      const shift = sideStart[l];
      const from = listStart[l];
      const size = listStart[l + 1] - from;
      const to = from + shift;
      merged[l] = to;
      if (shift > 0 && size > 0) {
        rows.copyWithin(to * stride, from * stride, (from + size) * stride);
        if (filter !== undefined) filter.copyRows(to, from, from + size);
        deleted.copyWithin(to, from, from + size);
        rowSlot.copyWithin(to, from, from + size);
        for (let i = size - 1; i >= 0; i--) {
          metas[to + i] = metas[from + i];
        }
        for (let row = to; row < to + size; row++) if (deleted[row] === 0) slotRow[rowSlot[row]] = row;
      }
      const sideFrom = sideStart[l];
      const sideEnd = sideStart[l + 1];
      if (sideEnd > sideFrom) {
        const at = to + size;
        rows.set(sideRows.subarray(sideFrom * stride, sideEnd * stride), at * stride);
        filter?.fromSide(sideFrom, at, sideEnd - sideFrom);
        deleted.fill(0, at, at + sideEnd - sideFrom);
        for (let i = sideFrom; i < sideEnd; i++) {
          const row = at + i - sideFrom;
          metas[row] = sideMetas[i];
          rowSlot[row] = sideSlots[i];
          slotRow[sideSlots[i]] = row;
        }
      }
      if (shift + size + sideEnd - sideFrom > 0) rowList.fill(l, to, to + size + sideEnd - sideFrom);
      if (shift === 0) break; // lists before l neither move nor receive rows
    }
    deleted.fill(0, newRowCount, rowCount);
    rowList.fill(-1, newRowCount, rowCount);
    metas.length = newRowCount;
    store.deletedRows -= dropped;
    store.rowCount = newRowCount;
    this.listStart = merged;
    this.listedRows = newRowCount;
    this.assignedRows = newRowCount;
    filter?.sideEnd();
  }
}

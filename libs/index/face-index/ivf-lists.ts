/**
 * The IVF lists over a RowStore's rows (approximate search). The rows are, in order:
 *   0..listedRows-1              sorted by list (list l = listStart[l]..listStart[l+1]-1)
 *   listedRows..assignedRows-1   recent rows, each assigned to a list (rowList), unsorted
 *   assignedRows..rowCount-1     at most a batch of rows not assigned yet
 * This class keeps that layout: training (at once, or in steps while the current lists
 * keep serving), assigning, merging the recent rows into the sorted lists, sorting every
 * row by list, and walking the rows an approximate query reads. It owns the list of
 * each row (a column attached to the store, so it moves with the rows) and computes
 * list starts and move plans; the store moves the rows. When these run is the maintenance rule's
 * call (maintenance-rule.ts), carried out by FaceIndex (index.ts).
 */
import { IvfQuantizer, KdPartition, type ListPartition, type PartitionKind } from '../ann/index.js';
import { NumberColumn } from '../row-columns/index.js';
import { runToEnd } from '../stepwise/index.js';
import type { BlockMove, RowStore } from './row-store.js';
import { PROBE_SHARE_AT_EFFORT_1 } from './options.js';

/** New rows are assigned to their IVF lists in batches of this many (one kernel batch). */
export const ANN_ASSIGN_BATCH = 256;

/** An IVF and its layout, read from a snapshot (state.ts). */
export interface IvfLayout {
  ivf: ListPartition;
  listStart: Int32Array;
  listedRows: number;
  assignedRows: number;
}

export class IvfLists {
  private readonly store: RowStore;
  /** Below this many rows there is no IVF (Infinity: never one). */
  readonly minRows: number;
  private readonly listsPerSqrtRow: number;
  /** What cuts the rows into lists: k-means centroids, or a KD-tree over principal axes. */
  readonly partition: PartitionKind;
  ivf: ListPartition | undefined;
  /** Rows 0..listedRows-1 are sorted by list; list l is rows listStart[l]..listStart[l+1]-1. */
  listedRows = 0;
  /** Rows listedRows..assignedRows-1 know their list (rowList) but are not sorted; later rows do not. */
  assignedRows = 0;
  listStart: Int32Array = new Int32Array(1);
  /** IVF list of each row (-1 or stale past assignedRows). */
  private readonly rowLists: NumberColumn<Int32Array>;
  private probeScratch = new Int32Array(64);
  /** Per list: 1 while it is probed by the current query (filters the recent rows). */
  private probeMark = new Uint8Array(0);
  /** The job's list of each row (like rowLists), while a retraining runs (`retrainSteps`): attached to the store meanwhile. */
  private jobLists: NumberColumn<Int32Array> | undefined;

  constructor(store: RowStore, minRows: number, listsPerSqrtRow: number, partition: PartitionKind = 'kmeans') {
    this.store = store;
    this.minRows = minRows;
    this.listsPerSqrtRow = listsPerSqrtRow;
    this.partition = partition;
    this.rowLists = new NumberColumn(new Int32Array(store.capacity), -1);
    store.attach(this.rowLists);
  }

  /** The IVF list of each row below assignedRows (a snapshot writes them). */
  get rowList(): Int32Array {
    return this.rowLists.values;
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
    const rowCount = this.store.rowCount;
    const rowList = this.rowLists.values;
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
    this.rowLists.fill(0, this.store.rowCount);
  }

  /** Takes an IVF and its layout read from a snapshot, with the list of rows 0..layout.assignedRows-1, or none (the store has adopted the snapshot's rows). */
  adopt(layout: IvfLayout | undefined, rowLists: Int32Array | undefined): void {
    this.rowLists.fill(0, this.store.capacity);
    if (layout !== undefined && rowLists !== undefined) this.rowLists.values.set(rowLists.subarray(0, layout.assignedRows));
    this.ivf = layout?.ivf;
    this.listStart = layout?.listStart ?? new Int32Array(1);
    this.listedRows = layout?.listedRows ?? 0;
    this.assignedRows = layout?.assignedRows ?? 0;
  }

  /** A retraining was cancelled: its lists are dropped. */
  retrainCancelled(): void {
    if (this.jobLists !== undefined) this.store.detach(this.jobLists);
    this.jobLists = undefined;
  }

  /**
   * The layout as it will be once `RowStore.compact` dropped the deleted rows (which
   * keeps the live rows' order): call just before it.
   */
  layoutWithoutDeleted(): void {
    const ivf = this.ivf;
    if (ivf === undefined) return;
    const deleted = this.store.deleted;
    const rowList = this.rowLists.values;
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
    this.ivf = runToEnd(this.trainSteps(this.listsFor(rowCount - store.deletedRows)));
    this.ivf.assign(store, 0, rowCount, this.rowLists.values);
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
    const ivf = yield* this.trainSteps(this.listsFor(store.size));
    const jobLists = new NumberColumn(new Int32Array(store.capacity), -1);
    this.jobLists = jobLists;
    store.attach(jobLists);
    let done = 0;
    while (done < store.rowCount) {
      yield;
      const end = Math.min(store.rowCount, done + ANN_ASSIGN_BATCH);
      ivf.assign(store, done, end, jobLists.values);
      done = end;
    }
    this.rowLists.values.set(jobLists.values.subarray(0, store.rowCount));
    this.retrainCancelled();
    this.ivf = ivf;
    this.sortByList();
  }

  /** A new partition of every live row into about `lists` lists, in steps. */
  private trainSteps(lists: number): Generator<void, ListPartition, void> {
    const store = this.store;
    return this.partition === 'kdtree'
      ? KdPartition.trainSteps(store, store.rowCount, store.dimensions, { lists }, store.deleted)
      : IvfQuantizer.trainSteps(store, store.rowCount, store.dimensions, { lists, forceJs: !store.arena.simd }, store.deleted);
  }

  /** Stable counting sort of every row by rowList (all assigned); deleted rows last, unlisted. */
  private sortByList(): void {
    const ivf = this.ivf!;
    const store = this.store;
    const rowCount = store.rowCount;
    const deleted = store.deleted;
    const rowList = this.rowLists.values;

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
    store.permute(order);
    this.listStart = starts;
    this.listedRows = liveRows;
    this.assignedRows = rowCount;
  }

  /** Assigns the rows not yet assigned to their lists. */
  assignPending(): void {
    const store = this.store;
    if (this.ivf === undefined || this.assignedRows >= store.rowCount) return;
    if (this.assignedRows < this.listedRows) this.assignedRows = this.listedRows;
    this.ivf.assign(store, this.assignedRows, store.rowCount, this.rowLists.values);
    this.assignedRows = store.rowCount;
  }

  /**
   * Merges the recent rows (all assigned) into the sorted lists, dropping the deleted
   * ones among them. The plan: the live recent rows are set aside sorted by list, then
   * the lists are walked from the last down, each slid right (memmove) by the number of
   * recent rows of the lists before it, with its own recent rows put after it. Rows
   * only move right and the highest destinations are written first, so nothing is
   * overwritten before it is moved. Costs one memmove of the rows, no training; the
   * store carries it out on every column (the rows' lists move with them).
   */
  mergeRecent(): void {
    const listCount = this.ivf!.lists;
    const first = this.listedRows;
    const store = this.store;
    const rowCount = store.rowCount;
    const deleted = store.deleted;
    const rowList = this.rowLists.values;
    // Counting sort of the live recent rows: their aside slots.
    const asideStart = new Int32Array(listCount + 1);
    for (let row = first; row < rowCount; row++) if (deleted[row] === 0) asideStart[rowList[row] + 1]++;
    for (let l = 0; l < listCount; l++) asideStart[l + 1] += asideStart[l];
    const recent = asideStart[listCount];
    const aside = new Int32Array(recent);
    const next = asideStart.slice(0, listCount);
    for (let row = first; row < rowCount; row++) if (deleted[row] === 0) aside[next[rowList[row]]++] = row;
    const listStart = this.listStart;
    const merged = new Int32Array(listCount + 1);
    merged.set(listStart);
    const newRowCount = first + recent;
    merged[listCount] = newRowCount;
    const moves: BlockMove[] = [];
    for (let l = listCount - 1; l >= 0; l--) {
      const shift = asideStart[l];
      const from = listStart[l];
      const size = listStart[l + 1] - from;
      const to = from + shift;
      merged[l] = to;
      if (shift > 0 && size > 0) moves.push({ to, from, count: size, aside: false });
      const added = asideStart[l + 1] - asideStart[l];
      if (added > 0) moves.push({ to: to + size, from: asideStart[l], count: added, aside: true });
      if (shift === 0) break; // lists before l neither move nor receive rows
    }
    store.carryOut({ aside, moves, rowCount: newRowCount });
    this.listStart = merged;
    this.listedRows = newRowCount;
    this.assignedRows = newRowCount;
  }
}

/**
 * Per-row columns: anything that keeps one entry per row of a face index (its int16
 * vectors, deleted flags, metas, IVF list of each row, the pre-filter's codes) and so
 * must move when rows move. Each column implements `RowColumn`; the index's row store
 * (libs/index/face-index/row-store.ts) carries out every move (compaction, merges,
 * sorts, growth) on all its columns at once, so adding a column is one class and one
 * `attach`, not an edit to every move. hnswlib keeps its record layout in one place the
 * same way (`hnswalg.h`).
 */

/** The five moves a row store makes. */
export interface RowColumn {
  /** Room for at least `rows` rows; rows held are kept. */
  ensureRowCapacity(rows: number): void;
  /** Moves rows like `copyWithin(to, from, end)`. */
  copyRows(to: number, from: number, end: number): void;
  /** Moves row order[pos] to pos for every pos < rowCount (order a permutation of 0..rowCount-1). */
  permuteRows(order: Int32Array, rowCount: number): void;
  /** Copies rows[0..count) aside, slot i holding rows[i] (a merge parks rows before moving blocks over them). */
  takeRows(rows: Int32Array, count: number): void;
  /** Writes aside slots [slot, slot + count) to rows [row, row + count). */
  putRows(slot: number, row: number, count: number): void;
  /** Frees what `takeRows` kept. */
  releaseTaken(): void;
}

/** A typed array a column keeps its rows in, `width` values a row. */
export type RowValues = Int8Array | Uint8Array | Int16Array | Int32Array | Float32Array;

/**
 * The aside buffer of a typed-array column: `take` copies rows out, `put` writes them
 * back. A column whose values live in several arrays keeps one per array.
 */
export class AsideRows<T extends RowValues> {
  private aside: T | undefined;

  /** Copies rows[0..count) of `values` (`width` a row) aside. */
  take(values: T, width: number, rows: Int32Array, count: number): void {
    const aside = new (values.constructor as new (length: number) => T)(count * width);
    if (width === 1) for (let i = 0; i < count; i++) aside[i] = values[rows[i]];
    else for (let i = 0; i < count; i++) aside.set(values.subarray(rows[i] * width, (rows[i] + 1) * width), i * width);
    this.aside = aside;
  }

  /** Writes aside slots [slot, slot + count) to rows [row, row + count) of `values`. */
  put(values: T, width: number, slot: number, row: number, count: number): void {
    values.set(this.aside!.subarray(slot * width, (slot + count) * width), row * width);
  }

  release(): void {
    this.aside = undefined;
  }
}

/** Moves row order[pos] of `values` (`width` a row) to pos for every pos < rowCount, through a copy of those rows. */
export function permuteTypedRows(values: RowValues, width: number, order: Int32Array, rowCount: number): void {
  const source = values.slice(0, rowCount * width);
  if (width === 1) for (let pos = 0; pos < rowCount; pos++) values[pos] = source[order[pos]];
  else for (let pos = 0; pos < rowCount; pos++) values.set(source.subarray(order[pos] * width, (order[pos] + 1) * width), pos * width);
}

/** A column of one number a row in a typed array it owns; rows past those written read as `empty`. */
export class NumberColumn<T extends Uint8Array | Int32Array> implements RowColumn {
  private valuesArray: T;
  private readonly empty: number;
  private readonly aside = new AsideRows<T>();

  constructor(values: T, empty = 0) {
    this.valuesArray = values;
    this.empty = empty;
    if (empty !== 0) values.fill(empty);
  }

  /** The values; a new array after `ensureRowCapacity` grows it (take it again then). */
  get values(): T {
    return this.valuesArray;
  }

  ensureRowCapacity(rows: number): void {
    if (rows <= this.valuesArray.length) return;
    const grown = new (this.valuesArray.constructor as new (length: number) => T)(rows);
    if (this.empty !== 0) grown.fill(this.empty, this.valuesArray.length);
    grown.set(this.valuesArray);
    this.valuesArray = grown;
  }

  copyRows(to: number, from: number, end: number): void {
    this.valuesArray.copyWithin(to, from, end);
  }

  permuteRows(order: Int32Array, rowCount: number): void {
    permuteTypedRows(this.valuesArray, 1, order, rowCount);
  }

  takeRows(rows: Int32Array, count: number): void {
    this.aside.take(this.valuesArray, 1, rows, count);
  }

  putRows(slot: number, row: number, count: number): void {
    this.aside.put(this.valuesArray, 1, slot, row, count);
  }

  releaseTaken(): void {
    this.aside.release();
  }

  /** Sets rows [from, end) to `value` (the empty value when omitted). */
  fill(from: number, end: number, value = this.empty): void {
    this.valuesArray.fill(value, from, end);
  }
}

/** A column of any value a row (the faces' metas), in a plain array. */
export class ValueColumn<T> implements RowColumn {
  private valuesArray: T[] = [];
  private aside: T[] = [];

  get values(): readonly T[] {
    return this.valuesArray;
  }

  at(row: number): T {
    return this.valuesArray[row];
  }

  set(row: number, value: T): void {
    this.valuesArray[row] = value;
  }

  /** Adopts `values` (not copied) as rows 0..values.length-1. */
  adopt(values: T[]): void {
    this.valuesArray = values;
  }

  /** Drops rows from `rowCount` on (so their values can be collected). */
  truncate(rowCount: number): void {
    if (this.valuesArray.length > rowCount) this.valuesArray.length = rowCount;
  }

  ensureRowCapacity(): void {
    // A plain array grows as it is written.
  }

  copyRows(to: number, from: number, end: number): void {
    this.valuesArray.copyWithin(to, from, end);
  }

  permuteRows(order: Int32Array, rowCount: number): void {
    const values = this.valuesArray;
    const permuted = new Array<T>(rowCount);
    for (let pos = 0; pos < rowCount; pos++) permuted[pos] = values[order[pos]];
    for (let pos = rowCount; pos < values.length; pos++) permuted[pos] = values[pos];
    this.valuesArray = permuted;
  }

  takeRows(rows: Int32Array, count: number): void {
    this.aside = new Array<T>(count);
    for (let i = 0; i < count; i++) this.aside[i] = this.valuesArray[rows[i]];
  }

  putRows(slot: number, row: number, count: number): void {
    for (let i = 0; i < count; i++) this.valuesArray[row + i] = this.aside[slot + i];
  }

  releaseTaken(): void {
    this.aside = [];
  }
}

/**
 * Face ids by slot, packed into one byte arena, and the id -> slot lookup, instead of a
 * JS string a face plus a Map entry and a row array slot (measured ~100 bytes a face
 * for 22-character ids; here ~40). An id whose UTF-16 code units all fit a byte takes
 * one byte a unit, any other two (UTF-16LE), so every string, lone surrogates included,
 * comes back exactly as it went in. Lookups hash and compare code units in place: no
 * string is built to find a slot. The table is open addressing (linear probing) over
 * slots, at most three quarters full; removed ids leave tombstones until the next rehash and
 * their bytes until the arena is compacted.
 */

import { grownCapacity } from '../simd-kernel/index.js';

const EMPTY = -1;
const REMOVED = -2;
const MIN_TABLE = 16;
const MIN_ARENA = 1024;

export class IdTable {
  private arena = Buffer.alloc(MIN_ARENA);
  /** Arena bytes written (live ids and garbage). */
  private used = 0;
  /** Arena bytes of removed ids. */
  private garbage = 0;
  /** Per slot: where its id starts in the arena. */
  private start = new Uint32Array(0);
  /** Per slot: code units << 1 | (1 when stored two bytes a unit). */
  private shape = new Uint32Array(0);
  /** Per slot: the id's hash. */
  private hashes = new Uint32Array(0);
  /** Slot + its hash's home; EMPTY or REMOVED. */
  private table = new Int32Array(MIN_TABLE).fill(EMPTY);
  /** Table entries that are not EMPTY (live and REMOVED). */
  private filled = 0;
  /** Ids held. */
  count = 0;

  /** Bytes held (arena, per-slot columns, table). */
  get bytes(): number {
    return this.arena.byteLength + this.start.byteLength + this.shape.byteLength + this.hashes.byteLength + this.table.byteLength;
  }

  /** Room for slots 0..slots-1. */
  ensureSlots(slots: number): void {
    if (slots <= this.start.length) return;
    const grow = <T extends Uint32Array>(old: T): T => {
      const out = new Uint32Array(slots) as T;
      out.set(old);
      return out;
    };
    this.start = grow(this.start);
    this.shape = grow(this.shape);
    this.hashes = grow(this.hashes);
  }

  /** The slot holding `id`, or -1. */
  find(id: string): number {
    const at = this.locate(id);
    return at < 0 ? -1 : this.table[at];
  }

  /** Stores `id` (not held yet) in `slot` (within ensureSlots, not in use). */
  insert(id: string, slot: number): void {
    if (slot >= this.start.length) throw new RangeError(`slot ${slot} beyond the ${this.start.length} slots made room for`);
    if (4 * (this.filled + 1) > 3 * this.table.length) this.rehash(this.count + 1);
    const hash = hashOf(id);
    this.write(id, slot);
    this.hashes[slot] = hash;
    const mask = this.table.length - 1;
    let i = hash & mask;
    while (this.table[i] >= 0) i = (i + 1) & mask;
    if (this.table[i] === EMPTY) this.filled++;
    this.table[i] = slot;
    this.count++;
  }

  /**
   * `find` and, when not held, `insert` into `slot`, hashing and probing once (a bulk
   * load's path): the slot that held `id` already, or -1 when it was stored in `slot`.
   */
  findOrInsert(id: string, slot: number): number {
    if (slot >= this.start.length) throw new RangeError(`slot ${slot} beyond the ${this.start.length} slots made room for`);
    if (4 * (this.filled + 1) > 3 * this.table.length) this.rehash(this.count + 1);
    const hash = hashOf(id);
    const mask = this.table.length - 1;
    let free = -1;
    let i = hash & mask;
    for (; ; i = (i + 1) & mask) {
      const held = this.table[i];
      if (held === EMPTY) break;
      if (held === REMOVED) {
        if (free < 0) free = i;
      } else if (this.hashes[held] === hash && this.holds(held, id)) return held;
    }
    if (free < 0) {
      free = i;
      this.filled++;
    }
    this.write(id, slot);
    this.hashes[slot] = hash;
    this.table[free] = slot;
    this.count++;
    return -1;
  }

  /** Room for `ids` more ids of about `bytes` bytes in all without growing the table or the arena on the way (a bulk load). */
  reserve(ids: number, bytes: number): void {
    if (4 * (this.filled + ids) > 3 * this.table.length) this.rehash(this.count + ids);
    if (this.used + bytes > this.arena.length) this.makeRoom(bytes);
  }

  /** Forgets `id`; returns the slot it held, or -1 when it was not held. */
  remove(id: string): number {
    const at = this.locate(id);
    if (at < 0) return -1;
    const slot = this.table[at];
    this.table[at] = REMOVED;
    this.count--;
    this.garbage += this.byteLength(slot);
    return slot;
  }

  /** The table position holding `id`, or -1. */
  private locate(id: string): number {
    const hash = hashOf(id);
    const mask = this.table.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const slot = this.table[i];
      if (slot === EMPTY) return -1;
      if (slot !== REMOVED && this.hashes[slot] === hash && this.holds(slot, id)) return i;
    }
  }

  /** The id in `slot`. */
  idOf(slot: number): string {
    const at = this.start[slot];
    const shape = this.shape[slot];
    const units = shape >>> 1;
    return shape & 1 ? this.arena.toString('utf16le', at, at + 2 * units) : this.arena.toString('latin1', at, at + units);
  }

  /** Orders the ids of two slots as `a < b` orders strings (UTF-16 code units), without building them. */
  compare(slotA: number, slotB: number): number {
    const unitsA = this.shape[slotA] >>> 1;
    const unitsB = this.shape[slotB] >>> 1;
    const n = Math.min(unitsA, unitsB);
    for (let u = 0; u < n; u++) {
      const a = this.unitAt(slotA, u);
      const b = this.unitAt(slotB, u);
      if (a !== b) return a < b ? -1 : 1;
    }
    return unitsA - unitsB;
  }

  /** Whether the id of `slot` starts with `prefix`, compared in place (no string built). */
  startsWith(slot: number, prefix: string): boolean {
    return this.shape[slot] >>> 1 >= prefix.length && this.leadsWith(slot, prefix);
  }

  /** Orders the id of `slot` against `other` as `a < b` orders strings, in place. */
  compareWith(slot: number, other: string): number {
    const shape = this.shape[slot];
    const units = shape >>> 1;
    const n = Math.min(units, other.length);
    const at = this.start[slot];
    const arena = this.arena;
    const wide = shape & 1;
    for (let u = 0; u < n; u++) {
      const a = wide ? arena[at + 2 * u] | (arena[at + 2 * u + 1] << 8) : arena[at + u];
      const b = other.charCodeAt(u);
      if (a !== b) return a < b ? -1 : 1;
    }
    return units - other.length;
  }

  clear(): void {
    this.used = 0;
    this.garbage = 0;
    this.count = 0;
    this.filled = 0;
    this.table = new Int32Array(MIN_TABLE).fill(EMPTY);
    if (this.arena.length > MIN_ARENA) this.arena = Buffer.alloc(MIN_ARENA);
  }

  private unitAt(slot: number, u: number): number {
    const at = this.start[slot];
    return this.shape[slot] & 1 ? this.arena[at + 2 * u] | (this.arena[at + 2 * u + 1] << 8) : this.arena[at + u];
  }

  private byteLength(slot: number): number {
    const shape = this.shape[slot];
    return (shape >>> 1) << (shape & 1);
  }

  private holds(slot: number, id: string): boolean {
    return this.shape[slot] >>> 1 === id.length && this.leadsWith(slot, id);
  }

  /** Whether the first units of the id of `slot` (it has at least `text.length`) are `text`'s; one narrow-or-wide branch a slot. */
  private leadsWith(slot: number, text: string): boolean {
    const at = this.start[slot];
    const arena = this.arena;
    if (this.shape[slot] & 1) {
      for (let u = 0; u < text.length; u++) if ((arena[at + 2 * u] | (arena[at + 2 * u + 1] << 8)) !== text.charCodeAt(u)) return false;
    } else {
      for (let u = 0; u < text.length; u++) if (arena[at + u] !== text.charCodeAt(u)) return false;
    }
    return true;
  }

  /** Appends the id's code units to the arena for `slot`. */
  private write(id: string, slot: number): void {
    let wide = 0;
    for (let u = 0; u < id.length; u++) if (id.charCodeAt(u) > 0xff) wide = 1;
    const bytes = id.length << wide;
    if (this.used + bytes > this.arena.length) this.makeRoom(bytes);
    const at = this.used;
    if (wide) this.arena.write(id, at, bytes, 'utf16le');
    else for (let u = 0; u < id.length; u++) this.arena[at + u] = id.charCodeAt(u);
    this.start[slot] = at;
    this.shape[slot] = (id.length << 1) | wide;
    this.used += bytes;
  }

  /** Packs the live ids into a fresh arena when removed ids take half of it, else doubles it. */
  private makeRoom(bytes: number): void {
    if (this.garbage * 2 > this.used) {
      const arena = Buffer.alloc(Math.max(MIN_ARENA, 2 * (this.used - this.garbage + bytes)));
      let at = 0;
      for (const slot of this.table) {
        if (slot < 0) continue;
        const from = this.start[slot];
        const n = this.byteLength(slot);
        this.arena.copy(arena, at, from, from + n);
        this.start[slot] = at;
        at += n;
      }
      this.arena = arena;
      this.used = at;
      this.garbage = 0;
      return;
    }
    const arena = Buffer.alloc(grownCapacity(this.arena.length, this.used + bytes));
    this.arena.copy(arena, 0, 0, this.used);
    this.arena = arena;
  }

  /** A fresh table for `live` entries (at most two thirds full), without tombstones. */
  private rehash(live: number): void {
    let size = MIN_TABLE;
    while (2 * size < 3 * live) size *= 2;
    const table = new Int32Array(size).fill(EMPTY);
    const mask = size - 1;
    for (const slot of this.table) {
      if (slot < 0) continue;
      let i = this.hashes[slot] & mask;
      while (table[i] !== EMPTY) i = (i + 1) & mask;
      table[i] = slot;
    }
    this.table = table;
    this.filled = this.count;
  }
}

/** FNV-1a over the code units and the length. */
function hashOf(id: string): number {
  let h = 0x811c9dc5 ^ id.length;
  for (let u = 0; u < id.length; u++) {
    h ^= id.charCodeAt(u);
    h = Math.imul(h, 0x01000193);
  }
  // Finalizer (murmur3's): FNV's low bits, the ones the mask keeps, mix poorly alone.
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * The `limit` smallest slots under an order (a bounded max-heap of slot numbers): what
 * listing ids page by page keeps while it scans every row, so a page of 100 out of a
 * million ids builds 100 strings, not a million.
 */
export class SmallestSlots {
  private readonly heap: Int32Array;
  private count = 0;

  constructor(
    readonly limit: number,
    private readonly compare: (slotA: number, slotB: number) => number,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    this.heap = new Int32Array(limit);
  }

  /** Keeps `slot` when fewer than `limit` are kept or it orders before the largest kept. */
  offer(slot: number): void {
    const heap = this.heap;
    if (this.count < this.limit) {
      let i = this.count++;
      heap[i] = slot;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (this.compare(heap[parent], heap[i]) >= 0) break;
        const kept = heap[parent];
        heap[parent] = heap[i];
        heap[i] = kept;
        i = parent;
      }
      return;
    }
    if (this.compare(slot, heap[0]) >= 0) return;
    heap[0] = slot;
    this.siftDown(0, this.count);
  }

  /** The kept slots in ascending order. */
  sorted(): number[] {
    return Array.from(this.heap.subarray(0, this.count)).sort(this.compare);
  }

  private siftDown(from: number, end: number): void {
    const heap = this.heap;
    let i = from;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= end) return;
      const right = left + 1;
      const larger = right < end && this.compare(heap[right], heap[left]) > 0 ? right : left;
      if (this.compare(heap[larger], heap[i]) <= 0) return;
      const kept = heap[larger];
      heap[larger] = heap[i];
      heap[i] = kept;
      i = larger;
    }
  }
}

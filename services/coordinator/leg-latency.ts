/**
 * Recent reply times of one leg target (a shard, or a group of shards), for deciding
 * when a leg is late enough to hedge. A fixed ring of the last samples; its 99th
 * percentile is recomputed every RECOMPUTE_EVERY samples into a scratch array kept
 * with it, so recording a sample allocates nothing and costs O(1) on average.
 */
const WINDOW = 256;
const RECOMPUTE_EVERY = 32;

export class LegLatency {
  private readonly samples = new Float64Array(WINDOW);
  private readonly scratch = new Float64Array(WINDOW);
  private count = 0;
  private next = 0;
  private sinceRecompute = 0;
  private p99Ms = Number.NaN;

  record(ms: number): void {
    if (!(ms >= 0)) return;
    this.samples[this.next] = ms;
    this.next = (this.next + 1) % WINDOW;
    if (this.count < WINDOW) this.count++;
    // The first samples count at once (a fresh target has no history); later ones in steps.
    if (++this.sinceRecompute >= RECOMPUTE_EVERY || this.count <= RECOMPUTE_EVERY) this.recompute();
  }

  /** The 99th percentile of the recent samples; NaN before any. */
  p99(): number {
    return this.p99Ms;
  }

  private recompute(): void {
    this.sinceRecompute = 0;
    const view = this.scratch.subarray(0, this.count);
    view.set(this.samples.subarray(0, this.count));
    view.sort();
    this.p99Ms = view[Math.min(this.count - 1, Math.floor(this.count * 0.99))];
  }
}

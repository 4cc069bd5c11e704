/**
 * Maintenance that runs in small steps (IVF training: `IvfLists.retrainSteps`): one step
 * per write, slices between event-loop tasks from an unref'd `setImmediate` (unless
 * background maintenance is off), or as much as `FaceIndex.maintenanceStep` asks for.
 * Nothing runs while maintenance is paused.
 */

/** Milliseconds of training work per background slice (between event-loop tasks). */
export const JOB_SLICE_MS = 8;

export class MaintenanceJob {
  /** Set by `FaceIndex.pauseMaintenance` (bulk loading): no step runs until it is cleared. */
  paused = false;
  /** IVF training in progress: rows do not move (no merge, no compaction) until it is done. */
  private job: Generator<void, void, void> | undefined;
  private timer: ReturnType<typeof setImmediate> | undefined;
  private readonly background: boolean;

  constructor(background: boolean) {
    this.background = background;
  }

  /** Whether a job is in progress. */
  get pending(): boolean {
    return this.job !== undefined;
  }

  /** Starts `steps` (call only when none is pending) and schedules background slices. */
  start(steps: Generator<void, void, void>): void {
    this.job = steps;
    this.schedule();
  }

  /** Runs steps for about `budgetMs` (at least one); true while work remains. See `FaceIndex.maintenanceStep`. */
  step(budgetMs: number): boolean {
    const job = this.job;
    if (job === undefined) return false;
    if (this.paused) return true;
    const until = performance.now() + budgetMs;
    do {
      if (job.next().done) {
        if (this.job === job) this.job = undefined;
        return false;
      }
    } while (performance.now() < until);
    return true;
  }

  /** Stops the job where it is (if any). */
  cancel(): void {
    if (this.job === undefined) return;
    const job = this.job;
    this.job = undefined;
    job.return();
    if (this.timer !== undefined) clearImmediate(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (!this.background || this.timer !== undefined || this.job === undefined) return;
    this.timer = setImmediate(() => {
      this.timer = undefined;
      if (this.paused) return; // resumeMaintenance decides what happens to the job
      if (this.step(JOB_SLICE_MS)) this.schedule();
    });
    this.timer.unref();
  }
}

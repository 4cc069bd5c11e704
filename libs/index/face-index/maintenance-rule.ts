/**
 * When FaceIndex maintenance runs, as a pure rule: counts in (what the index's parts
 * hold now), the next action out. FaceIndex (index.ts) carries each action out, reads
 * the counts again and asks for the next one, until none is due: an action changes
 * what the next decision reads (a compaction moves rows, a training step may finish
 * a training). Each occasion numbers its actions in the order they run (WRITE,
 * REBUILD, RESUME); the rule only answers actions numbered after the one just carried
 * out, so a run ends.
 */
import { ANN_ASSIGN_BATCH } from './ivf-lists.js';

/**
 * Rows after the sorted lists ("recent" rows, each already assigned to its list and
 * skipped by approximate queries unless its list is probed) tolerated before they are
 * merged into the sorted lists (or deltaLimit, when larger). A merge moves every row
 * once (memmove), so it runs every ANN_FOLD_FRACTION of growth.
 */
export const ANN_FOLD_FRACTION = 0.1;
/**
 * The IVF is retrained (new centroids, in steps: see `FaceIndex.maintenanceStep`) once the index
 * holds this many times the rows it was trained on. Measured at 250,000 faces (effort 1):
 * lists trained at a quarter of the rows recall@1 0.985, at half 0.99+, fresh 0.996.
 */
export const ANN_RETRAIN_GROWTH = 2;
/** Tree mode: delta rows tolerated before a write rebuilds the tree (or deltaLimit, when larger). */
export const DELTA_FRACTION_OF_TREE = 0.1;
/** Dead (deleted or replaced) rows tolerated before they are compacted away (or deltaLimit, when larger). */
export const DELETED_FRACTION_OF_ROWS = 0.25;

/** What the index's parts hold when the rule is asked (FaceIndex reads them). */
export interface MaintenanceCounts {
  /** Maintenance is paused (a bulk load): writes call for none. */
  paused: boolean;
  /** Training or pre-filter learning in steps is under way: rows do not move meanwhile. */
  jobPending: boolean;
  /** Rows are searched through a KD-tree (then there are no IVF lists and no pre-filter). */
  usesTree: boolean;
  /** Rows, dead ones included. */
  rowCount: number;
  /** Deleted and replaced rows not compacted away yet. */
  deletedRows: number;
  /** Live faces: rowCount - deletedRows. */
  live: number;
  /** Rows covered by the KD-tree. */
  treeRows: number;
  /** The deltaLimit option. */
  deltaLimit: number;
  /** Below this many live faces there are no IVF lists (Infinity: never any). */
  minRows: number;
  /** IVF lists exist. */
  hasLists: boolean;
  /** Rows the lists were trained on (0 without lists). */
  trainedRows: number;
  /** Rows sorted by list. */
  listedRows: number;
  /** Rows assigned to a list (the sorted ones and the recent ones). */
  assignedRows: number;
  /** The pre-filter would learn if asked after a rebuild or a bulk load (`Prefilter.learnDue(true)`). */
  prefilterLearnDue: boolean;
}

/**
 * 'write': after an upsert, a delete or an import. 'rebuild': `rebuild()`. 'resume':
 * the end of a bulk load; 'resume-in-steps': the same with a first training in steps.
 * Resume and rebuild cancel any job before asking, so jobPending is false then.
 */
export type MaintenanceOccasion = 'write' | 'rebuild' | 'resume' | 'resume-in-steps';

/**
 * 'rebuild': run the rebuild occasion (tree mode). 'compact': drop dead rows.
 * 'build-tree': a KD-tree over every row. 'drop': cancel any job and drop the IVF.
 * 'train': train the IVF and sort every row, at once. 'step': one step of the job.
 * 'start-training': a job that retrains the IVF, then learns the pre-filter when due.
 * 'start-learning': a job that only learns the pre-filter. 'assign': assign the pending
 * rows. 'merge': assign the pending rows, then merge the recent rows into the sorted
 * lists. 'refresh-prefilter': learn the pre-filter at once when due (off under its minimum).
 */
export type MaintenanceAction =
  'rebuild' | 'compact' | 'build-tree' | 'drop' | 'train' | 'step' | 'start-training' | 'start-learning' | 'assign' | 'merge' | 'refresh-prefilter';

/**
 * Each occasion's actions, numbered in the order they run; actions that share a number
 * are alternatives (at most one of them runs). The rule answers only actions numbered
 * after the one just carried out, so a run ends.
 */
type ActionOrder = Readonly<Partial<Record<MaintenanceAction, number>>>;
const WRITE = { rebuild: 1, compact: 2, drop: 3, step: 3, 'start-training': 3, assign: 4, merge: 5 } as const satisfies ActionOrder;
const REBUILD = { compact: 1, 'build-tree': 2, drop: 2, train: 2, merge: 2, 'refresh-prefilter': 3 } as const satisfies ActionOrder;
const RESUME = {
  rebuild: 1,
  compact: 2,
  drop: 3,
  merge: 3,
  train: 4,
  'start-training': 4,
  'start-learning': 4,
  'refresh-prefilter': 5,
} as const satisfies ActionOrder;

/**
 * The next action `occasion` calls for, given the counts now and the action just
 * carried out (`after`, undefined at the start); undefined when the occasion's
 * maintenance is done.
 */
export function nextMaintenance(counts: MaintenanceCounts, occasion: MaintenanceOccasion, after?: MaintenanceAction): MaintenanceAction | undefined {
  switch (occasion) {
    case 'write':
      return onWrite(counts, numberOf(WRITE, after, occasion));
    case 'rebuild':
      return onRebuild(counts, numberOf(REBUILD, after, occasion));
    default:
      return onResume(counts, numberOf(RESUME, after, occasion), after === 'train', occasion === 'resume-in-steps');
  }
}

/** The number of `after` in `order`, 0 at the start of a run. */
function numberOf(order: ActionOrder, after: MaintenanceAction | undefined, occasion: MaintenanceOccasion): number {
  if (after === undefined) return 0;
  const number = order[after];
  if (number === undefined) throw new RangeError(`'${after}' is not an action of '${occasion}'`);
  return number;
}

/** Dead rows tolerated before compaction. */
function deadRowLimit(c: MaintenanceCounts): number {
  return Math.max(c.deltaLimit, c.rowCount * DELETED_FRACTION_OF_ROWS);
}

/** The index outgrew the rows its lists were trained on. */
function retrainDue(c: MaintenanceCounts): boolean {
  return c.live >= c.trainedRows * ANN_RETRAIN_GROWTH;
}

/**
 * A write (`done`: the number in WRITE of the action just carried out): maintenance
 * only when not paused. Tree mode: a rebuild past the delta or dead-row limit. IVF mode:
 * compaction (not while a job runs: rows stay put), then the lists' upkeep: dropped
 * under minRows, else the job advanced a step or a (re)training started, never both;
 * then a batch of pending rows assigned, and the recent rows merged past
 * ANN_FOLD_FRACTION of the listed rows or deltaLimit (not while a job runs).
 */
function onWrite(c: MaintenanceCounts, done: number): MaintenanceAction | undefined {
  if (c.paused) return undefined;
  if (c.usesTree) {
    const deltaRows = c.rowCount - c.treeRows;
    const due = deltaRows > Math.max(c.deltaLimit, c.treeRows * DELTA_FRACTION_OF_TREE) || c.deletedRows > deadRowLimit(c);
    return done < WRITE.rebuild && due ? 'rebuild' : undefined;
  }
  if (done < WRITE.compact && !c.jobPending && c.deletedRows > deadRowLimit(c)) return 'compact';
  const keepsLists = c.live >= c.minRows;
  if (done < WRITE.step) {
    // One of: the lists dropped, the job advanced, a (re)training started.
    if (!keepsLists) return c.hasLists || c.jobPending ? 'drop' : undefined;
    if (c.jobPending) return 'step';
    if (!c.hasLists || retrainDue(c)) return 'start-training';
  }
  if (!keepsLists || !c.hasLists) return undefined;
  if (done < WRITE.assign && c.rowCount - c.assignedRows >= ANN_ASSIGN_BATCH) return 'assign';
  if (done < WRITE.merge && !c.jobPending && c.rowCount - c.listedRows > Math.max(c.deltaLimit, c.listedRows * ANN_FOLD_FRACTION)) return 'merge';
  return undefined;
}

/**
 * `rebuild()` (`done`: the number in REBUILD of the action just carried out): every
 * dead row compacted away; then the tree built over every row, or the lists dropped
 * under minRows, trained (none yet, or outgrown), or given the recent rows; then the
 * pre-filter refreshed.
 */
function onRebuild(c: MaintenanceCounts, done: number): MaintenanceAction | undefined {
  if (done < REBUILD.compact && c.deletedRows > 0) return 'compact';
  if (done < REBUILD['build-tree']) {
    // One of: the tree built, or the lists dropped, trained or given the recent rows.
    if (c.usesTree) return 'build-tree';
    const keepsLists = c.live >= c.minRows;
    if (!keepsLists && c.hasLists) return 'drop';
    if (keepsLists && (!c.hasLists || retrainDue(c))) return 'train';
    if (keepsLists && c.rowCount > c.listedRows) return 'merge';
  }
  return done < REBUILD['refresh-prefilter'] && !c.usesTree ? 'refresh-prefilter' : undefined;
}

/**
 * The end of a bulk load (`done`: the number in RESUME of the action just carried out;
 * `trained`: that action was 'train'). Tree mode: a rebuild. IVF mode: dead rows
 * compacted past the usual limit; under minRows the lists dropped and the pre-filter
 * refreshed; without lists a first training (in steps, or at once and the pre-filter
 * refreshed); with lists the rows written since merged in, then a job when due: a
 * retraining (the pre-filter learns after it, its codes then in the final row order) or
 * a pre-filter learning.
 */
function onResume(c: MaintenanceCounts, done: number, trained: boolean, inSteps: boolean): MaintenanceAction | undefined {
  if (c.usesTree) return done < RESUME.rebuild ? 'rebuild' : undefined;
  if (done < RESUME.compact && c.deletedRows > deadRowLimit(c)) return 'compact';
  const keepsLists = c.live >= c.minRows;
  if (done < RESUME.drop) {
    // One of: the lists dropped, the rows written since merged in.
    if (!keepsLists && c.hasLists) return 'drop';
    if (keepsLists && c.hasLists && c.rowCount > c.listedRows) return 'merge';
  }
  if (done < RESUME.train && keepsLists && !c.jobPending) {
    // One of: a first training (at once, or in steps), a retraining in steps, a pre-filter learning in steps.
    if (!c.hasLists) return inSteps ? 'start-training' : 'train';
    if (retrainDue(c)) return 'start-training';
    if (c.prefilterLearnDue) return 'start-learning';
  }
  // The pre-filter learns here only when no job will: under minRows, or after a training at once.
  return done < RESUME['refresh-prefilter'] && (!keepsLists || trained) ? 'refresh-prefilter' : undefined;
}

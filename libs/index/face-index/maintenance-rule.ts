/**
 * When FaceIndex maintenance runs, as a pure rule: counts in (what the index's parts
 * hold now), the next action out. FaceIndex (index.ts) carries each action out, reads
 * the counts again and asks for the next one, until none is due: an action changes
 * what the next decision reads (a compaction moves rows, a training step may finish
 * a training). Each occasion has a fixed order of actions (ORDER); the rule only
 * answers actions after the one just carried out, so a run ends.
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

/** The order each occasion's actions run in (any of them may be skipped). */
const ORDER: Readonly<Record<MaintenanceOccasion, readonly MaintenanceAction[]>> = {
  write: ['rebuild', 'compact', 'drop', 'step', 'start-training', 'assign', 'merge'],
  rebuild: ['compact', 'build-tree', 'drop', 'train', 'merge', 'refresh-prefilter'],
  resume: ['rebuild', 'compact', 'drop', 'train', 'merge', 'start-training', 'start-learning', 'refresh-prefilter'],
  'resume-in-steps': ['rebuild', 'compact', 'drop', 'train', 'merge', 'start-training', 'start-learning', 'refresh-prefilter'],
};

/**
 * The next action `occasion` calls for, given the counts now and the action just
 * carried out (`after`, undefined at the start): the first due action after it in
 * ORDER, or undefined when the occasion's maintenance is done.
 */
export function nextMaintenance(counts: MaintenanceCounts, occasion: MaintenanceOccasion, after?: MaintenanceAction): MaintenanceAction | undefined {
  const order = ORDER[occasion];
  const from = after === undefined ? 0 : order.indexOf(after) + 1;
  if (from === 0 && after !== undefined) throw new RangeError(`'${after}' is not an action of '${occasion}'`);
  for (let i = from; i < order.length; i++) {
    const action = order[i];
    const due =
      occasion === 'write'
        ? dueOnWrite(action, counts, after)
        : occasion === 'rebuild'
          ? dueOnRebuild(action, counts, after)
          : dueOnResume(action, counts, after, occasion === 'resume-in-steps');
    if (due) return action;
  }
  return undefined;
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
 * A write: maintenance only when not paused. Tree mode: a rebuild past the delta or
 * dead-row limit. IVF mode: compaction (not while a job runs: rows stay put), then the
 * lists' upkeep: dropped under minRows, else the job advanced one step or a (re)training
 * started, never both; then a batch of pending rows assigned, and the recent rows merged
 * past ANN_FOLD_FRACTION of the listed rows (not while a job runs).
 */
function dueOnWrite(action: MaintenanceAction, c: MaintenanceCounts, after: MaintenanceAction | undefined): boolean {
  if (c.paused) return false;
  if (c.usesTree) {
    const deltaRows = c.rowCount - c.treeRows;
    return action === 'rebuild' && (deltaRows > Math.max(c.deltaLimit, c.treeRows * DELTA_FRACTION_OF_TREE) || c.deletedRows > deadRowLimit(c));
  }
  const keepsLists = c.live >= c.minRows;
  switch (action) {
    case 'compact':
      return !c.jobPending && c.deletedRows > deadRowLimit(c);
    case 'drop':
      return !keepsLists && (c.hasLists || c.jobPending);
    case 'step':
      return keepsLists && c.jobPending;
    case 'start-training':
      return keepsLists && after !== 'step' && !c.jobPending && (!c.hasLists || retrainDue(c));
    case 'assign':
      return keepsLists && c.hasLists && c.rowCount - c.assignedRows >= ANN_ASSIGN_BATCH;
    case 'merge':
      return keepsLists && c.hasLists && !c.jobPending && c.rowCount - c.listedRows > Math.max(c.deltaLimit, c.listedRows * ANN_FOLD_FRACTION);
    default:
      return false;
  }
}

/**
 * `rebuild()`: every dead row compacted away; then the tree built over every row, or
 * the lists dropped under minRows, trained (none yet, or outgrown), or given the recent
 * rows; then the pre-filter refreshed.
 */
function dueOnRebuild(action: MaintenanceAction, c: MaintenanceCounts, after: MaintenanceAction | undefined): boolean {
  const keepsLists = c.live >= c.minRows;
  switch (action) {
    case 'compact':
      return c.deletedRows > 0;
    case 'build-tree':
      return c.usesTree;
    case 'drop':
      return !c.usesTree && !keepsLists && c.hasLists;
    case 'train':
      return !c.usesTree && keepsLists && (!c.hasLists || retrainDue(c));
    case 'merge':
      return !c.usesTree && keepsLists && c.hasLists && after !== 'train' && c.rowCount > c.listedRows;
    case 'refresh-prefilter':
      return !c.usesTree;
    default:
      return false;
  }
}

/**
 * The end of a bulk load. Tree mode: a rebuild. IVF mode: dead rows compacted past the
 * usual limit; under minRows the lists dropped and the pre-filter refreshed; without
 * lists a first training (in steps, or at once and the pre-filter refreshed); with lists
 * the rows written since merged in, then a job when due: a retraining (the pre-filter
 * learns after it, its codes then in the final row order) or a pre-filter learning.
 */
function dueOnResume(action: MaintenanceAction, c: MaintenanceCounts, after: MaintenanceAction | undefined, inSteps: boolean): boolean {
  if (c.usesTree) return action === 'rebuild';
  const keepsLists = c.live >= c.minRows;
  // Lists that were there before this resume (not just trained): they take the new rows, and a job when due.
  const hadLists = keepsLists && c.hasLists && after !== 'train';
  switch (action) {
    case 'compact':
      return c.deletedRows > deadRowLimit(c);
    case 'drop':
      return !keepsLists && c.hasLists;
    case 'train':
      return keepsLists && !c.hasLists && !inSteps;
    case 'merge':
      return hadLists && c.rowCount > c.listedRows;
    case 'start-training':
      return !c.jobPending && (hadLists ? retrainDue(c) : keepsLists && !c.hasLists && inSteps);
    case 'start-learning':
      return !c.jobPending && hadLists && c.prefilterLearnDue;
    case 'refresh-prefilter':
      return !keepsLists || after === 'train';
    default:
      return false;
  }
}

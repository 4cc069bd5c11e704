import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ANN_FOLD_FRACTION,
  ANN_RETRAIN_GROWTH,
  DELETED_FRACTION_OF_ROWS,
  DELTA_FRACTION_OF_TREE,
  nextMaintenance,
  type MaintenanceAction,
  type MaintenanceCounts,
  type MaintenanceOccasion,
} from '../../libs/index/face-index/maintenance-rule.js';
import { ANN_ASSIGN_BATCH } from '../../libs/index/face-index/ivf-lists.js';

/**
 * An IVF index with nothing due: 100,000 rows all listed and assigned, lists trained on
 * 60,000 (retraining at 120,000), no dead rows. Each case changes a few counts; `live`
 * follows rowCount - deletedRows unless a case sets it.
 */
const BASE: MaintenanceCounts = {
  paused: false,
  jobPending: false,
  usesTree: false,
  rowCount: 100_000,
  deletedRows: 0,
  live: 100_000,
  treeRows: 0,
  deltaLimit: 4096,
  minRows: 20_000,
  hasLists: true,
  trainedRows: 60_000,
  listedRows: 100_000,
  assignedRows: 100_000,
  prefilterLearnDue: false,
};

function counts(changes: Partial<MaintenanceCounts>): MaintenanceCounts {
  const c = { ...BASE, ...changes };
  if (changes.live === undefined) c.live = c.rowCount - c.deletedRows;
  return c;
}

/** No lists, no job, under minRows: nothing for the lists to do. */
const NO_LISTS = { hasLists: false, trainedRows: 0, listedRows: 0, assignedRows: 0 };
/** A KD-tree over 10,000 rows, deltaLimit 500: rebuilt past 1,000 delta rows (10% of the tree) or a quarter of the rows dead (2,750 of 11,000). */
const TREE = { usesTree: true, minRows: Infinity, ...NO_LISTS, deltaLimit: 500, treeRows: 10_000, rowCount: 10_000 };
/** The dead-row limit at BASE's 100,000 rows: a quarter of them. */
const DEAD_LIMIT = 100_000 * DELETED_FRACTION_OF_ROWS;
/** Rows the lists were trained on times ANN_RETRAIN_GROWTH: live rows from which a retraining is due. */
const RETRAIN_AT = 60_000 * ANN_RETRAIN_GROWTH;
/** Recent rows tolerated after 90,000 listed rows (ANN_FOLD_FRACTION of them: more than deltaLimit). */
const FOLD_LIMIT = 90_000 * ANN_FOLD_FRACTION;

interface Case {
  name: string;
  occasion: MaintenanceOccasion;
  counts: Partial<MaintenanceCounts>;
  after?: MaintenanceAction;
  expected: MaintenanceAction | undefined;
}

const WRITE: Case[] = [
  { name: 'nothing due', occasion: 'write', counts: {}, expected: undefined },
  { name: 'dead rows at the limit', occasion: 'write', counts: { deletedRows: DEAD_LIMIT }, expected: undefined },
  { name: 'dead rows past the limit', occasion: 'write', counts: { deletedRows: DEAD_LIMIT + 1 }, expected: 'compact' },
  {
    name: 'dead rows past a quarter but within deltaLimit',
    occasion: 'write',
    counts: { deletedRows: DEAD_LIMIT + 1, deltaLimit: 30_000 },
    expected: undefined,
  },
  {
    name: 'dead rows past the limit while a job runs: the job steps, rows stay put',
    occasion: 'write',
    counts: { deletedRows: DEAD_LIMIT + 1, jobPending: true },
    expected: 'step',
  },
  {
    name: 'paused: nothing, however much is due',
    occasion: 'write',
    counts: { paused: true, deletedRows: DEAD_LIMIT + 1, jobPending: true, assignedRows: 0 },
    expected: undefined,
  },
  { name: 'under minRows with lists', occasion: 'write', counts: { rowCount: 19_999, listedRows: 19_999, assignedRows: 19_999 }, expected: 'drop' },
  { name: 'under minRows, a job running', occasion: 'write', counts: { rowCount: 19_999, ...NO_LISTS, jobPending: true }, expected: 'drop' },
  { name: 'under minRows without lists', occasion: 'write', counts: { rowCount: 19_999, ...NO_LISTS }, expected: undefined },
  {
    name: 'under minRows: no merge however many recent rows',
    occasion: 'write',
    counts: { rowCount: 19_999, listedRows: 0, assignedRows: 0 },
    expected: 'drop',
  },
  { name: 'after the drop: nothing more', occasion: 'write', counts: { rowCount: 19_999, ...NO_LISTS }, after: 'drop', expected: undefined },
  { name: 'at minRows without lists: a first training', occasion: 'write', counts: { rowCount: 20_000, ...NO_LISTS }, expected: 'start-training' },
  {
    name: 'at minRows with lists',
    occasion: 'write',
    counts: { rowCount: 20_000, listedRows: 20_000, assignedRows: 20_000, trainedRows: 20_000 },
    expected: undefined,
  },
  { name: 'a compaction, then the first training', occasion: 'write', counts: { rowCount: 25_000, ...NO_LISTS }, after: 'compact', expected: 'start-training' },
  {
    name: 'just under the retraining growth',
    occasion: 'write',
    counts: { rowCount: RETRAIN_AT - 1, listedRows: RETRAIN_AT - 1, assignedRows: RETRAIN_AT - 1 },
    expected: undefined,
  },
  {
    name: 'at the retraining growth',
    occasion: 'write',
    counts: { rowCount: RETRAIN_AT, listedRows: RETRAIN_AT, assignedRows: RETRAIN_AT },
    expected: 'start-training',
  },
  {
    name: 'the growth counts live rows, not dead ones',
    occasion: 'write',
    counts: { rowCount: RETRAIN_AT, deletedRows: 1, listedRows: RETRAIN_AT, assignedRows: RETRAIN_AT },
    expected: undefined,
  },
  { name: 'a job running: one step', occasion: 'write', counts: { jobPending: true }, expected: 'step' },
  {
    name: 'a job running past the growth: a step, no new job',
    occasion: 'write',
    counts: { jobPending: true, rowCount: RETRAIN_AT, listedRows: RETRAIN_AT },
    expected: 'step',
  },
  {
    name: 'a step that ended the job: no new one in the same write',
    occasion: 'write',
    counts: { rowCount: RETRAIN_AT, listedRows: RETRAIN_AT, assignedRows: RETRAIN_AT },
    after: 'step',
    expected: undefined,
  },
  { name: 'a step, the job still running: no merge', occasion: 'write', counts: { jobPending: true, listedRows: 90_000 }, after: 'step', expected: undefined },
  { name: 'a step that ended the job: the merge due', occasion: 'write', counts: { listedRows: 90_000 }, after: 'step', expected: 'merge' },
  { name: 'pending rows one short of a batch', occasion: 'write', counts: { assignedRows: 100_000 - ANN_ASSIGN_BATCH + 1 }, expected: undefined },
  { name: 'pending rows a full batch', occasion: 'write', counts: { assignedRows: 100_000 - ANN_ASSIGN_BATCH }, expected: 'assign' },
  { name: 'a batch pending while a job runs: the step first', occasion: 'write', counts: { jobPending: true, assignedRows: 0 }, expected: 'step' },
  {
    name: 'a batch pending after the step',
    occasion: 'write',
    counts: { jobPending: true, assignedRows: 100_000 - ANN_ASSIGN_BATCH },
    after: 'step',
    expected: 'assign',
  },
  {
    name: 'a retraining started: the batch is still assigned',
    occasion: 'write',
    counts: { jobPending: true, assignedRows: 100_000 - ANN_ASSIGN_BATCH },
    after: 'start-training',
    expected: 'assign',
  },
  {
    name: 'a retraining started: no merge (rows stay put)',
    occasion: 'write',
    counts: { jobPending: true, rowCount: 100_000, listedRows: 50_000 },
    after: 'start-training',
    expected: undefined,
  },
  { name: 'recent rows at the fold limit', occasion: 'write', counts: { rowCount: 90_000 + FOLD_LIMIT, listedRows: 90_000 }, expected: undefined },
  { name: 'recent rows past the fold limit', occasion: 'write', counts: { rowCount: 90_000 + FOLD_LIMIT + 1, listedRows: 90_000 }, expected: 'merge' },
  {
    name: 'recent rows past the fold limit, a batch pending: assigned first',
    occasion: 'write',
    counts: { rowCount: 90_000 + FOLD_LIMIT + 1, listedRows: 90_000, assignedRows: 90_000 },
    expected: 'assign',
  },
  {
    name: 'the merge after the assignment',
    occasion: 'write',
    counts: { rowCount: 90_000 + FOLD_LIMIT + 1, listedRows: 90_000 },
    after: 'assign',
    expected: 'merge',
  },
  {
    name: 'recent rows past deltaLimit, which is larger than the fold fraction',
    occasion: 'write',
    counts: { rowCount: 24_097, listedRows: 20_000, trainedRows: 20_000 },
    expected: 'merge',
  },
  { name: 'recent rows at deltaLimit', occasion: 'write', counts: { rowCount: 24_096, listedRows: 20_000, trainedRows: 20_000 }, expected: undefined },
  {
    name: 'recent rows past the fold limit while a job runs',
    occasion: 'write',
    counts: { jobPending: true, listedRows: 50_000 },
    after: 'step',
    expected: undefined,
  },
  { name: 'tree: delta at the limit', occasion: 'write', counts: { ...TREE, rowCount: 11_000 }, expected: undefined },
  { name: 'tree: delta past the limit', occasion: 'write', counts: { ...TREE, rowCount: 11_001 }, expected: 'rebuild' },
  { name: 'tree: delta past deltaLimit, within 10% of the tree', occasion: 'write', counts: { ...TREE, rowCount: 10_501 }, expected: undefined },
  { name: 'tree: a small tree, delta past deltaLimit', occasion: 'write', counts: { ...TREE, treeRows: 100, rowCount: 601 }, expected: 'rebuild' },
  { name: 'tree: dead rows at the limit', occasion: 'write', counts: { ...TREE, rowCount: 11_000, deletedRows: 2_750 }, expected: undefined },
  { name: 'tree: dead rows past the limit', occasion: 'write', counts: { ...TREE, rowCount: 11_000, deletedRows: 2_751 }, expected: 'rebuild' },
  { name: 'tree: after the rebuild, nothing', occasion: 'write', counts: { ...TREE, rowCount: 11_001 }, after: 'rebuild', expected: undefined },
  { name: 'tree: paused', occasion: 'write', counts: { ...TREE, rowCount: 11_001, paused: true }, expected: undefined },
];

const REBUILD: Case[] = [
  { name: 'one dead row: compacted', occasion: 'rebuild', counts: { deletedRows: 1 }, expected: 'compact' },
  { name: 'nothing to do but the pre-filter', occasion: 'rebuild', counts: {}, expected: 'refresh-prefilter' },
  { name: 'paused does not matter', occasion: 'rebuild', counts: { paused: true, deletedRows: 1 }, expected: 'compact' },
  { name: 'recent rows merged', occasion: 'rebuild', counts: { listedRows: 99_999 }, after: 'compact', expected: 'merge' },
  { name: 'the pre-filter after the merge', occasion: 'rebuild', counts: {}, after: 'merge', expected: 'refresh-prefilter' },
  { name: 'no lists: trained', occasion: 'rebuild', counts: { ...NO_LISTS }, expected: 'train' },
  { name: 'just under the growth: merged, not trained', occasion: 'rebuild', counts: { rowCount: RETRAIN_AT - 1, listedRows: 100_000 }, expected: 'merge' },
  { name: 'at the growth: trained', occasion: 'rebuild', counts: { rowCount: RETRAIN_AT, listedRows: 100_000 }, expected: 'train' },
  { name: 'trained: no merge, the pre-filter', occasion: 'rebuild', counts: { listedRows: 99_000 }, after: 'train', expected: 'refresh-prefilter' },
  { name: 'under minRows with lists: dropped', occasion: 'rebuild', counts: { rowCount: 19_999, listedRows: 19_999 }, expected: 'drop' },
  { name: 'under minRows without lists: the pre-filter only', occasion: 'rebuild', counts: { rowCount: 19_999, ...NO_LISTS }, expected: 'refresh-prefilter' },
  { name: 'tree: compacted, then built', occasion: 'rebuild', counts: { ...TREE, deletedRows: 5 }, expected: 'compact' },
  { name: 'tree: built after the compaction', occasion: 'rebuild', counts: { ...TREE }, after: 'compact', expected: 'build-tree' },
  { name: 'tree: built with nothing to compact', occasion: 'rebuild', counts: { ...TREE }, expected: 'build-tree' },
  { name: 'tree: nothing after the build', occasion: 'rebuild', counts: { ...TREE }, after: 'build-tree', expected: undefined },
];

const RESUME: Case[] = [
  { name: 'nothing due', occasion: 'resume', counts: {}, expected: undefined },
  { name: 'dead rows at the limit: kept', occasion: 'resume', counts: { deletedRows: DEAD_LIMIT }, expected: undefined },
  { name: 'dead rows past the limit: compacted', occasion: 'resume', counts: { deletedRows: DEAD_LIMIT + 1 }, expected: 'compact' },
  { name: 'rows written during the load: merged', occasion: 'resume', counts: { listedRows: 99_999, assignedRows: 50_000 }, expected: 'merge' },
  { name: 'merged, past the growth: a retraining in steps', occasion: 'resume', counts: { rowCount: RETRAIN_AT }, after: 'merge', expected: 'start-training' },
  {
    name: 'merged, under the growth: a pre-filter learning in steps',
    occasion: 'resume',
    counts: { prefilterLearnDue: true },
    after: 'merge',
    expected: 'start-learning',
  },
  {
    name: 'past the growth, learning due too: the retraining (it learns after)',
    occasion: 'resume',
    counts: { rowCount: RETRAIN_AT, listedRows: RETRAIN_AT, prefilterLearnDue: true },
    expected: 'start-training',
  },
  { name: 'just under the growth, no learning due', occasion: 'resume', counts: { rowCount: RETRAIN_AT - 1, listedRows: RETRAIN_AT - 1 }, expected: undefined },
  {
    name: 'a retraining started: no learning job too',
    occasion: 'resume',
    counts: { jobPending: true, prefilterLearnDue: true },
    after: 'start-training',
    expected: undefined,
  },
  { name: 'under minRows with lists: dropped', occasion: 'resume', counts: { rowCount: 19_999 }, expected: 'drop' },
  { name: 'dropped: the pre-filter', occasion: 'resume', counts: { rowCount: 19_999, ...NO_LISTS }, after: 'drop', expected: 'refresh-prefilter' },
  { name: 'under minRows without lists: the pre-filter', occasion: 'resume', counts: { rowCount: 19_999, ...NO_LISTS }, expected: 'refresh-prefilter' },
  {
    name: 'under minRows: no learning job',
    occasion: 'resume',
    counts: { rowCount: 19_999, ...NO_LISTS, prefilterLearnDue: true },
    expected: 'refresh-prefilter',
  },
  { name: 'no lists: trained at once', occasion: 'resume', counts: { ...NO_LISTS }, expected: 'train' },
  { name: 'no lists, in steps: a training job', occasion: 'resume-in-steps', counts: { ...NO_LISTS }, expected: 'start-training' },
  { name: 'in steps, with lists: merged as usual', occasion: 'resume-in-steps', counts: { listedRows: 99_999 }, expected: 'merge' },
  {
    name: 'the training job started: nothing more',
    occasion: 'resume-in-steps',
    counts: { ...NO_LISTS, jobPending: true },
    after: 'start-training',
    expected: undefined,
  },
  {
    name: 'trained at once: the pre-filter, no merge and no job',
    occasion: 'resume',
    counts: { listedRows: 99_000, prefilterLearnDue: true, rowCount: RETRAIN_AT },
    after: 'train',
    expected: 'refresh-prefilter',
  },
  { name: 'tree: a rebuild', occasion: 'resume', counts: { ...TREE }, expected: 'rebuild' },
  { name: 'tree, in steps: a rebuild', occasion: 'resume-in-steps', counts: { ...TREE, deletedRows: 9_000 }, expected: 'rebuild' },
  { name: 'tree: nothing after the rebuild', occasion: 'resume', counts: { ...TREE, deletedRows: 9_000 }, after: 'rebuild', expected: undefined },
];

for (const [group, cases] of [
  ['write', WRITE],
  ['rebuild', REBUILD],
  ['resume', RESUME],
] as const) {
  test(`maintenance rule, ${group}: each threshold at and past its edge`, () => {
    for (const c of cases) {
      assert.equal(nextMaintenance(counts(c.counts), c.occasion, c.after), c.expected, `${c.occasion}: ${c.name}${c.after ? ` (after ${c.after})` : ''}`);
    }
  });
}

test('tree edges are where DELTA_FRACTION_OF_TREE and DELETED_FRACTION_OF_ROWS put them', () => {
  assert.equal(10_000 * DELTA_FRACTION_OF_TREE, 1_000);
  assert.equal(11_000 * DELETED_FRACTION_OF_ROWS, 2_750);
});

test('an action not of the occasion is an error (a run would never end)', () => {
  assert.throws(() => nextMaintenance(BASE, 'write', 'train'), RangeError);
  assert.throws(() => nextMaintenance(BASE, 'rebuild', 'step'), RangeError);
});

test('a run ends: fed back its own answers with counts that never change, each occasion stops', () => {
  const shapes: Partial<MaintenanceCounts>[] = [
    {},
    { ...NO_LISTS },
    { jobPending: true, deletedRows: DEAD_LIMIT + 1, assignedRows: 0, listedRows: 0 },
    { rowCount: 19_999, jobPending: true },
    { ...TREE, rowCount: 20_000, deletedRows: 9_000 },
  ];
  for (const occasion of ['write', 'rebuild', 'resume', 'resume-in-steps'] as const) {
    for (const shape of shapes) {
      const c = counts(shape);
      const seen: MaintenanceAction[] = [];
      let action: MaintenanceAction | undefined;
      while ((action = nextMaintenance(c, occasion, action)) !== undefined) {
        assert.ok(!seen.includes(action), `${occasion} ${JSON.stringify(shape)}: ${action} twice`);
        seen.push(action);
      }
    }
  }
});

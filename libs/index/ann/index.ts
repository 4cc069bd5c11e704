/**
 * The partitions approximate search reads: what cuts an index's rows into lists
 * (list-partition.ts), k-means centroids (ivf.ts, the default) and a KD-tree over the
 * leading principal axes (kd-partition.ts), and the principal axes themselves
 * (principal-axes.ts, also what the int8 pre-filter codes).
 */
export { IvfQuantizer, float32RowReader, type IvfState, type IvfTrainingOptions, type RowReader } from './ivf.js';
export { KdPartition, type KdPartitionOptions } from './kd-partition.js';
export type { ListPartition, PartitionKind } from './list-partition.js';
export { topAxes } from './principal-axes.js';

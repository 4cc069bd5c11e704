/**
 * FaceIndex's public option, search, stats and state types, and the defaults and
 * tuning constants that define what those options mean.
 */
import type { IvfState, PartitionKind } from '../ann/index.js';

export interface Neighbor {
  id: string;
  /** Euclidean distance (square root of the squared distance). */
  distance: number;
  meta?: unknown;
}

/**
 * 'tree': KD-tree plus flat-scanned delta. 'flat': no tree, every row scanned.
 * 'auto' (default): the tree only for low dimensions, where it measured faster.
 */
export type SearchStrategy = 'auto' | 'tree' | 'flat';

export interface FaceIndexOptions {
  /** Floats per vector (default 128). */
  dimensions?: number;
  /** Most rows per KD-tree leaf (default 32). */
  leafSize?: number;
  /**
   * Tree mode: delta rows tolerated before `upsert` rebuilds (default 4096, or 10% of
   * the tree when larger). IVF mode: recent rows tolerated before they are merged into
   * the sorted lists (this, or 10% of the listed rows when larger). Both modes: dead rows
   * tolerated before compaction (this, or a quarter of the rows when larger).
   */
  deltaLimit?: number;
  /** Default 'auto'; 'tree' and 'flat' force one path. */
  strategy?: SearchStrategy;
  /**
   * Distance kernel of flat scans: 'auto' (default) = WebAssembly SIMD where available
   * (pre-selection, then exact float64 re-check: results identical), 'js' = plain JS.
   */
  kernel?: 'auto' | 'js';
  /**
   * The structure behind `search(..., { approximate: true })`: an inverted file (IVF,
   * k-means lists; rows kept sorted by list, newer rows assigned to a list but kept
   * after the sorted ones until the next merge). Trained in steps once `minRows` faces
   * are held (or at once by `rebuild()`), retrained in steps as the index doubles;
   * `false` turns it off (approximate requests are then answered exactly). Not used
   * with a KD-tree (strategy 'tree', or under 17 dims).
   */
  approximate?: false | ApproximateOptions;
  /**
   * IVF training (the first one, and retraining as the index grows) runs in small steps:
   * one per write, and (default true) more between event-loop tasks from an unref'd
   * `setImmediate`, ~JOB_SLICE_MS at a time. False: only writes and `maintenanceStep`
   * advance it.
   */
  backgroundMaintenance?: boolean;
  /**
   * Exact lower-bound pre-filter (default true where WebAssembly SIMD runs, 16+ dims,
   * no KD-tree), from FILTER_MIN_ROWS faces on: every row also kept as int8 codes of its
   * first `prefilterAxes` principal coordinates (+8 bytes a row; +22% of the int16 rows
   * at 128 dims) and 4-bit codes of the first 32 of them, which approximate search ranks
   * on (+6%); searches scan the codes and compute the exact distance only for rows whose
   * lower bound can beat the current k-th distance (see int8-filter.ts). Results are
   * identical either way; false saves the memory and scans the rows instead.
   */
  prefilter?: boolean;
  /**
   * Principal axes coded for the pre-filter's first stage (default 48, rounded up to a
   * multiple of 16; used when the vectors have at least twice as many dimensions).
   * 0: one stage (the rows themselves scanned, approximate search without a
   * shortlist), 72 bytes a row less.
   */
  prefilterAxes?: number;
  /**
   * Approximate search with the pre-filter's principal-axes codes: rows of the probed
   * lists are ranked on 4-bit codes of 32 principal axes and only a shortlist of the best
   * gets the exact distance (default true). false: every probed row goes through the
   * rows' kernel (the pre-filter's exact path), slower and a little more accurate.
   */
  shortlist?: boolean;
  /** Rows in the shortlist at effort 1 (default 256; scaled by effort, at least k). */
  shortlistRows?: number;
}

export interface ApproximateOptions {
  /** Below this many rows there is no IVF and approximate requests are answered exactly (default 20,000). */
  minRows?: number;
  /** Lists per sqrt(rows) at training (default DEFAULT_LISTS_PER_SQRT_ROW = 2: 1,000 lists trained on 250,000 rows). */
  listsPerSqrtRow?: number;
  /**
   * What cuts the rows into lists: 'kmeans' (default; two-level k-means centroids,
   * libs/index/ann/ivf.ts) or 'kdtree' (a KD-tree over the 16 leading principal axes,
   * lists a power of two, visited best-bin-first: libs/index/ann/kd-partition.ts; not
   * kept in snapshots, trained again on import). bench/search/partition.ts compares them.
   */
  partition?: PartitionKind;
}

export interface SearchOptions {
  /** Search only the IVF lists nearest to each query (plus faces added since the last fold). Default false: exact. */
  approximate?: boolean;
  /**
   * Approximate only: how much work to spend, default 1 (recall@1 >= 0.99 on the
   * benchmark data, in one index or split over shards). The lists probed per query are effort x
   * 5/32 of the lists (at least 1; effort >= 6.4 probes every list: exact), and the rows given the
   * exact distance after ranking on principal axes (`shortlist`) are effort x 256 (at
   * least k). Time per query grows about linearly with effort; misses shrink (effort
   * 0.5: recall@1 0.965, 1: 0.993, 2: 1.000 at 1,000,000 faces in one index: bench/results).
   */
  effort?: number;
}

export interface FaceIndexStats {
  /** Live faces. */
  faces: number;
  /** Rows covered by the KD-tree (0 without a tree). */
  treeRows: number;
  /** Rows after the tree, scanned exhaustively (live or dead). */
  deltaRows: number;
  /** Dead rows (deleted or replaced) not yet compacted away. */
  deletedRows: number;
  /** Approximate memory: typed arrays plus id strings at 2 bytes a character. */
  bytes: number;
  /** Which kernel flat scans use. */
  kernel: 'wasm-simd' | 'js';
  /** IVF lists (0 without an IVF). */
  lists: number;
  /** Rows sorted into the IVF lists; rows after them are searched exhaustively by approximate queries too. */
  listedRows: number;
  /** Whether searches run through the int8 pre-filter now (see FaceIndexOptions.prefilter). */
  prefilter: boolean;
  /** Rows the pre-filter examined, all searches so far (one per row per query). */
  prefilterScanned: number;
  /** ... and of those, the rows it passed on to the exact distance. */
  prefilterCandidates: number;
}

/**
 * Everything an index holds, in row order (what a snapshot stores): loading it needs no
 * training and no sorting. Only live faces; `exportState` copies, `importState` adopts.
 */
export interface FaceIndexState {
  dimensions: number;
  /**
   * The faces' vectors, row order: either `rows`, the int16 codes the index stores
   * (faces x dimensions, value = code x 2^-14: what `exportState` gives, adopted with a
   * copy), or `vectors`, faces x dimensions floats (rounded to those codes on import).
   */
  rows?: Int16Array;
  vectors?: Float32Array;
  ids: string[];
  /** One per face; undefined (or null, from JSON) for none. */
  metas: unknown[];
  /** The IVF, when there is one: rows 0..listedRows-1 are sorted by list. */
  ivf?: FaceIndexIvfState;
  /** The int8 pre-filter's parameters and every row's codes, when it was ready: importing them skips learning and coding. */
  prefilter?: FaceIndexPrefilterState;
}

/** What the pre-filter learned (int8-filter.ts) and the codes of every face, in row order. */
export interface FaceIndexPrefilterState {
  /** Principal axes of the prefix stage, and int8 codes a row (prefixDims rounded up to 16). */
  prefixDims: number;
  codeDims: number;
  /** Axes of the 4-bit ranker (its codes: rankAxes / 2 bytes a row). */
  rankAxes: number;
  /** Live rows the parameters were learned on. */
  learnedRows: number;
  /** The spread the prefix stage's scale was set from. */
  prefixSd: number;
  /** dimensions floats: the mean subtracted before projecting. */
  offset: Float64Array;
  /** prefixDims x dimensions: the principal axes (orthonormal rows). */
  basis: Float64Array;
  /** rankAxes x 16: the ranker's levels, ascending per axis. */
  levels: Float64Array;
  /** faces x codeDims prefix codes, faces misses, faces x rankAxes / 2 packed 4-bit codes. */
  codes: Int8Array;
  residuals: Float32Array;
  rankCodes: Uint8Array;
}

export interface FaceIndexIvfState extends IvfState {
  /** Rows 0..listedRows-1 are sorted by list (non-decreasing `rowLists`). */
  listedRows: number;
  /** IVF list of every row, -1 for a row (after listedRows) not assigned yet. */
  rowLists: Int32Array;
}

export const DEFAULT_DIMENSIONS = 128;
export const DEFAULT_LEAF_SIZE = 32;
export const DEFAULT_DELTA_LIMIT = 4096;
/**
 * 'auto' uses the KD-tree only up to this many dimensions. Measured on clustered data
 * (100k rows, k = 1 and 10, one query and batches of 64): the tree is 1-2.5x faster at
 * 8-16 dimensions, ties or loses at 32, and loses at 64 and 128 (where it prunes
 * almost nothing and the batched flat scan reads each row once for four queries).
 */
export const TREE_MAX_DIMENSIONS = 16;
export const DEFAULT_ANN_MIN_ROWS = 20_000;
/**
 * IVF lists per sqrt(rows). Fewer, larger lists cost fewer centroid distances a query
 * for about the same rows read at the same recall. Measured at 250,000 faces (2,000
 * queries, batches of 16, CPU time, interleaved in one process, three data seeds): 4 per
 * sqrt (1,600 lists) probing 1/8: 0.31-0.42 ms a query, recall@1 0.987-0.993; 2 (800
 * lists) probing 9/64: 0.30-0.33 ms, 0.989-0.993; 1 (400 lists): recall@1 0.969.
 */
export const DEFAULT_LISTS_PER_SQRT_ROW = 2;
/**
 * IVF lists probed at effort 1, as a share of the lists. Measured the way the cluster
 * searches (1,000,000 benchmark faces in 4 indexes split by shard hash, merged top-10,
 * 2,000 queries, seeds 1 and 2; CPU ms a query for all four): 4 lists per sqrt probing
 * 1/8: 1.41-1.49 ms, recall@1 0.9935/0.9960, @10 0.982/0.984; 2 per sqrt probing 9/64:
 * 1.30-1.35 ms, 0.9915/0.9950, 0.977/0.981; probing 5/32: 1.34-1.40 ms, 0.9940/0.9960,
 * 0.982/0.985 (the default: recall@1 clear of 0.99 on both seeds).
 */
export const PROBE_SHARE_AT_EFFORT_1 = 5 / 32;
/**
 * Approximate search, shortlist: rows given the exact distance at effort 1 (scaled by
 * effort, at least k), ranked on 4-bit codes of 32 principal axes. Measured at 250,000
 * faces, effort 1 (1,000 benchmark queries, CPU time, runs interleaved in one process):
 * 128: 0.33 ms a query, recall@1 0.989; 192: 0.38 ms, 0.992; 256: 0.41 ms, 0.993. The
 * int8 codes the 4-bit ones replaced reached 0.993 at 128, at 0.46-0.59 ms in the same
 * runs (more bytes and instructions a row, and a heap push per candidate).
 */
export const SHORTLIST_AT_EFFORT_1 = 256;

/** Which live ids `FaceIndex.listIds` answers: those starting with `prefix`, after `after` (string order), whose meta `where` accepts. */
export interface IdFilter {
  prefix?: string;
  after?: string;
  where?: (meta: unknown) => boolean;
}

/** A listed face: its id and its meta (undefined: none). */
export interface ListedFace {
  id: string;
  meta: unknown;
}

/**
 * The KD-tree strategy of exact search (FaceIndexOptions.strategy 'tree', and 'auto'
 * under TREE_MAX_DIMENSIONS): a KD-tree (libs/index/kdtree) over rows 0..rows-1, the
 * rows after them (the "delta") scanned until the next rebuild folds them in. In 128
 * dimensions the tree prunes too little to beat a flat scan (bench/results), so by
 * default an index has none; this class is the whole of it, so the rest of the index
 * has no tree branches beyond holding one or not.
 */
import { KDTree } from '../../kdtree/index.js';
import type { TopK } from '../../topk/index.js';
import type { RowStore } from '../row-store.js';

export class TreeCover {
  private readonly dims: number;
  private readonly leafSize: number;
  private tree: KDTree | undefined;
  /** The covered rows' stored vectors as float32, in the tree's leaf order (what the tree reads). */
  private vectors: Float32Array | undefined;
  private coveredRows = 0;

  constructor(dims: number, leafSize: number) {
    this.dims = dims;
    this.leafSize = leafSize;
  }

  /** Rows 0..rows-1 are covered by the tree. */
  get rows(): number {
    return this.coveredRows;
  }

  get bytes(): number {
    return (this.tree?.bytes ?? 0) + (this.vectors?.byteLength ?? 0);
  }

  /**
   * A tree over every row of the store (compacted: no dead rows). The store's rows are
   * put in the tree's leaf order, so each leaf reads one contiguous block of memory,
   * and the tree is told its order is now the identity.
   */
  build(store: RowStore): void {
    const vectors = new Float32Array(store.rowCount * this.dims);
    store.readRows(0, store.rowCount, vectors);
    const tree = new KDTree(vectors, store.rowCount, this.dims, { leafSize: this.leafSize });
    store.permute(tree.order);
    store.readRows(0, store.rowCount, vectors);
    tree.adoptIdentityOrder();
    this.tree = tree;
    this.vectors = vectors;
    this.coveredRows = store.rowCount;
  }

  /** No tree (every row is delta) until the next `build`. */
  clear(): void {
    this.tree = undefined;
    this.vectors = undefined;
    this.coveredRows = 0;
  }

  /** The covered live rows nearest to queries[queryOffset..] into the selector. */
  search(queries: Float32Array, queryOffset: number, selector: TopK, deleted: Uint8Array): void {
    this.tree?.search(this.vectors!, queries, queryOffset, selector, deleted);
  }
}

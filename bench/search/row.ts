/** One row of the search benchmark's table (search.md) and of search.json. */
export interface Row {
  system: string;
  mode: string;
  faces: number;
  queries: number;
  qps: number;
  facesPerSecond: number;
  p50Ms?: number;
  p99Ms?: number;
  recall1?: number;
  recall10?: number;
  recall1NotEnrolled?: number;
  buildSeconds?: number;
  memoryBytes?: number;
  note?: string;
}

/** The fastest row of a system whose mode matches, among those at recall@1 >= minRecall (a row without recall counts as exact). */
export function best(rows: Row[], system: string, mode: RegExp, minRecall = 0): Row | undefined {
  return rows.filter((r) => r.system === system && mode.test(r.mode) && (r.recall1 ?? 1) >= minRecall).sort((a, b) => b.qps - a.qps)[0];
}

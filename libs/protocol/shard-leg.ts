import { z } from 'zod';

/** What one shard replica answers to a scatter leg (`faces.shard.<i>.query`). */
export const ShardNeighbor = z.strictObject({
  id: z.string(),
  distance: z.number(),
  meta: z.unknown().optional(),
});

export const ShardReply = z.strictObject({
  shard: z.number().int().min(0),
  faces: z.number().int().min(0),
  appliedSeq: z.number().int().min(0),
  results: z.array(z.array(ShardNeighbor)),
});
export type ShardReply = z.infer<typeof ShardReply>;

/**
 * Read-your-writes on a scatter leg, in headers: `applied-seq` = wait until this
 * replica applied its own log up to N; `stream-seq` = wait until it applied every record
 * of its log at or below stream sequence N; `wait-ms` = how long it may wait before it
 * answers `behind`.
 */
export interface LegWait {
  appliedSeq?: number;
  streamSeq?: number;
  waitMs: number;
}

export function legWaitHeaders(wait: LegWait, set: (key: string, value: string) => void): void {
  if (wait.appliedSeq !== undefined) set('applied-seq', String(wait.appliedSeq));
  if (wait.streamSeq !== undefined) set('stream-seq', String(wait.streamSeq));
  set('wait-ms', String(wait.waitMs));
}

export function parseLegWait(headers: { get(key: string): string } | undefined): LegWait | undefined {
  if (!headers) return undefined;
  const num = (key: string) => {
    const raw = headers.get(key);
    if (!raw) return undefined;
    const n = Number(raw);
    return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
  };
  const appliedSeq = num('applied-seq');
  const streamSeq = num('stream-seq');
  if (appliedSeq === undefined && streamSeq === undefined) return undefined;
  return { appliedSeq, streamSeq, waitMs: Math.min(num('wait-ms') ?? 1000, 120_000) };
}

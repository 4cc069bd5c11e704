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

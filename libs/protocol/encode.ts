import { z } from 'zod';

/** `faces.encode`: the body is an image file (jpg, png, webp); the reply lists its faces. */
export const EncodedFaceReply = z.strictObject({
  box: z.strictObject({ x: z.number(), y: z.number(), width: z.number(), height: z.number() }),
  score: z.number(),
  vector: z.array(z.number()),
});

export const EncodeReply = z.strictObject({
  faces: z.array(EncodedFaceReply),
  backend: z.string(),
  tookMs: z.number(),
});
export type EncodeReply = z.infer<typeof EncodeReply>;

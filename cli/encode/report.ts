import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { EncodeSummary } from '../../libs/face-encoder/index.js';

/** `--report FILE`: what an encode run did, for people and for scripts. */
export const EncodeReport = z.object({
  images: z.number().int(),
  faces: z.number().int(),
  skipped: z.array(z.object({ path: z.string(), reason: z.string() })),
  seconds: z.number(),
  backend: z.string(),
  /** Images left alone because an earlier run did them (`--resume`). */
  resumed: z.number().int(),
  /** Faces the cluster refused (id, reason): found, but not stored. */
  rejected: z.array(z.string()),
  /** Present (true) when Ctrl-C stopped the run: `images` not done are left for `--resume`. */
  interrupted: z.literal(true).optional(),
});
export type EncodeReport = z.infer<typeof EncodeReport>;

export function toReport(summary: EncodeSummary, rejected: string[]): EncodeReport {
  return {
    images: summary.images,
    faces: summary.faces,
    skipped: summary.skipped.map(({ path, reason }) => ({ path, reason })),
    seconds: Math.round(summary.seconds * 1000) / 1000,
    backend: summary.backend,
    resumed: summary.resumed,
    rejected,
    ...(summary.interrupted ? { interrupted: true as const } : {}),
  };
}

export async function writeReport(file: string, report: EncodeReport): Promise<void> {
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
}

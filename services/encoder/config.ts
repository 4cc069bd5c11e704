import { z } from 'zod';
import { CommonEnv, parseEnv } from '../../libs/config/env.js';
import { BACKEND_ORDER } from './backend.js';

export const EncoderEnv = z.object({
  ...CommonEnv,
  /** Force a TensorFlow backend; default: the best one that loads. */
  ENCODER_BACKEND: z.enum(BACKEND_ORDER as [string, ...string[]]).optional(),
  /** Detections under this confidence are dropped. */
  MIN_SCORE: z.coerce.number().gt(0).max(1).default(0.5),
  /** Images over this many pixels are refused before decoding. */
  MAX_PIXELS: z.coerce.number().int().min(1).default(40_000_000),
});
export type EncoderConfig = z.infer<typeof EncoderEnv>;

export function loadEncoderConfig(env: NodeJS.ProcessEnv = process.env): EncoderConfig {
  return parseEnv('encoder', EncoderEnv, env);
}

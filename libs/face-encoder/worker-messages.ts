import type { BackendName } from './backend.js';
import type { ImageEncodeOptions, ImageResult } from './encode-image.js';

/** What the pool and its workers (threads or processes) say to each other. */

export type ToWorker = { type: 'encode'; id: number; bytes: Uint8Array; options: ImageEncodeOptions } | { type: 'stats'; id: number };

export type FromWorker =
  | { type: 'ready'; backend: BackendName; loadSeconds: number }
  | { type: 'failed'; message: string }
  | { type: 'result'; id: number; result: ImageResult }
  | { type: 'error'; id: number; message: string }
  | { type: 'stats'; id: number; numTensors: number };

/** Passed at start (workerData for a thread, an env var for a process). */
export interface WorkerSetup {
  backend?: BackendName;
}

export const WORKER_SETUP_ENV = 'FACESHARD_ENCODER_WORKER_SETUP';

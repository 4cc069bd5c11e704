import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BackendName } from './backend.js';
import type { ImageEncodeOptions, ImageEncoder, ImageResult } from './encode-image.js';
import { WORKER_SETUP_ENV, type FromWorker, type ToWorker, type WorkerSetup } from './worker-messages.js';

/**
 * W encoder workers, each with its own TensorFlow engine and models (loaded once).
 *
 * `thread` (worker_threads, the default) or `process` (child processes). Both run the same
 * code. On wasm, 2 workers on 2 cores, five bench runs (bench/results/encode.md) had each
 * mode win some, within +-10% of each other: no measurable difference. Threads are the
 * default because they start faster and use less memory (one Node, one sharp, one libuv
 * pool); processes isolate a native crash to one worker, if that matters more. A worker
 * that dies is replaced (its images fail; the caller decides whether to retry them).
 */

export type WorkerMode = 'thread' | 'process';
export const WORKER_MODES: readonly WorkerMode[] = ['thread', 'process'];

export interface WorkerPoolOptions {
  workers: number;
  mode?: WorkerMode;
  backend?: BackendName;
  /** Images handed to one worker at once: 2 lets it decode the next while it detects. */
  perWorker?: number;
  /**
   * Images taken at most (being encoded or waiting for a worker); past it `encode` is refused
   * at once. Default: twice the capacity, what the encoder service's callers can hold (its job
   * lanes and its `faces.encode` turns, `capacity` each). A caller past it is a bug, never
   * a reason for the pool to hold image bytes without end.
   */
  maxPending?: number;
}

interface Channel {
  post(message: ToWorker): void;
  onMessage(handler: (message: FromWorker) => void): void;
  onExit(handler: (reason: string) => void): void;
  terminate(): Promise<void>;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  channel: Channel;
  busy: number;
  pending: Map<number, Pending>;
  dead?: string;
}

/** `encode` refused because the pool holds `maxPending` images already. */
export class EncoderPoolFullError extends Error {
  override name = 'EncoderPoolFullError';
}

const workerFile = fileURLToPath(new URL('./encoder-worker.js', import.meta.url));

export async function startWorkerPool(
  options: WorkerPoolOptions,
): Promise<ImageEncoder & { mode: WorkerMode; workers: number; loadSeconds: number; restarts(): number }> {
  const mode = options.mode ?? 'thread';
  const perWorker = options.perWorker ?? 2;
  if (!(Number.isInteger(options.workers) && options.workers >= 1)) throw new RangeError(`workers must be a whole number >= 1, got ${options.workers}`);
  const capacity = options.workers * perWorker;
  const maxPending = options.maxPending ?? 2 * capacity;
  if (!(Number.isInteger(maxPending) && maxPending >= capacity))
    throw new RangeError(`maxPending must be a whole number >= the pool's capacity ${capacity}, got ${maxPending}`);
  const setup: WorkerSetup = { backend: options.backend };
  const started = performance.now();

  const slots: Slot[] = [];
  const channels: Channel[] = []; // every worker ever started, for close()
  const queue: Array<{ message: ToWorker; pending: Pending }> = [];
  let nextId = 1;
  let closing = false;
  let replacing = 0;
  let restarts = 0;

  /** One worker; resolves once its models are loaded. A worker that dies later is replaced. */
  const startSlot = (): Promise<{ slot: Slot; backend: BackendName }> => {
    const channel = mode === 'thread' ? threadChannel(setup) : processChannel(setup);
    channels.push(channel);
    const slot: Slot = { channel, busy: 0, pending: new Map() };
    let ready = false;
    return new Promise((resolve, reject) => {
      channel.onMessage((message) => {
        if (message.type === 'ready') {
          ready = true;
          return resolve({ slot, backend: message.backend });
        }
        if (message.type === 'failed') return reject(new Error(`encoder worker failed to start: ${message.message}`));
        const pending = slot.pending.get(message.id);
        if (!pending) return;
        slot.pending.delete(message.id);
        if (message.type === 'result') {
          slot.busy--;
          pending.resolve(message.result);
          dispatch();
        } else if (message.type === 'error') {
          slot.busy--;
          pending.reject(new Error(message.message));
          dispatch();
        } else pending.resolve(message.numTensors);
      });
      channel.onExit((reason) => {
        if (slot.dead) return; // a thread reports 'error' and then 'exit'
        slot.dead = reason;
        reject(new Error(`encoder worker exited before it was ready: ${reason}`));
        for (const pending of slot.pending.values()) pending.reject(new Error(`encoder worker died: ${reason}`));
        slot.pending.clear();
        if (closing) return;
        // Killed mid-image (a native crash, the OOM killer): start another, or the pool would
        // shrink with every crash until every job failed on it.
        if (ready) void replace(slot);
        failQueueIfNoWorker(reason);
      });
    });
  };

  const replace = async (dead: Slot) => {
    replacing++;
    try {
      const { slot } = await startSlot();
      if (closing) return;
      slots[slots.indexOf(dead)] = slot;
      restarts++;
      dispatch();
    } catch {
      // It cannot start again (models, backend): the pool goes on with the workers it has.
    } finally {
      replacing--;
      failQueueIfNoWorker(dead.dead ?? 'worker exited');
    }
  };

  function failQueueIfNoWorker(reason: string): void {
    if (closing || replacing > 0 || !slots.every((s) => s.dead)) return;
    for (const item of queue.splice(0)) item.pending.reject(new Error(`every encoder worker died: ${reason}`));
  }

  let backends: BackendName[];
  try {
    // Each joins as soon as it is ready, so one that dies meanwhile is found and replaced.
    backends = await Promise.all(Array.from({ length: options.workers }, () => startSlot().then((s) => (slots.push(s.slot), s.backend))));
  } catch (error) {
    closing = true;
    await Promise.allSettled(channels.map((c) => c.terminate()));
    throw error;
  }
  const loadSeconds = (performance.now() - started) / 1000;

  function dispatch(): void {
    while (queue.length) {
      const free = slots.filter((s) => !s.dead && s.busy < perWorker).sort((a, b) => a.busy - b.busy)[0];
      if (!free) return;
      const item = queue.shift()!;
      free.busy++;
      free.pending.set((item.message as { id: number }).id, item.pending);
      free.channel.post(item.message);
    }
  }

  return {
    backend: backends[0],
    mode,
    workers: options.workers,
    loadSeconds,
    capacity,
    restarts: () => restarts,
    encode(bytes: Uint8Array, encodeOptions: ImageEncodeOptions): Promise<ImageResult> {
      if (closing) return Promise.reject(new Error('encoder pool is closed'));
      if (replacing === 0 && slots.every((s) => s.dead)) return Promise.reject(new Error('every encoder worker died'));
      const pending = queue.length + slots.reduce((sum, s) => sum + (s.dead ? 0 : s.busy), 0);
      if (pending >= maxPending) {
        return Promise.reject(
          new EncoderPoolFullError(
            `the encoder pool holds ${pending} images (${queue.length} waiting for ${options.workers} worker(s)), its bound maxPending ${maxPending}: take at most that many at once (the pool's capacity is ${capacity})`,
          ),
        );
      }
      return new Promise((resolve, reject) => {
        queue.push({ message: { type: 'encode', id: nextId++, bytes, options: encodeOptions }, pending: { resolve: resolve as (v: unknown) => void, reject } });
        dispatch();
      });
    },
    tensorCounts() {
      return Promise.all(
        slots
          .filter((s) => !s.dead)
          .map(
            (slot) =>
              new Promise<number>((resolve, reject) => {
                const id = nextId++;
                slot.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
                slot.channel.post({ type: 'stats', id });
              }),
          ),
      );
    },
    async close() {
      closing = true;
      await Promise.allSettled(channels.map((c) => c.terminate()));
    },
  };
}

function threadChannel(setup: WorkerSetup): Channel {
  const worker = new Worker(workerFile, { workerData: setup });
  let exited = false;
  return {
    post: (message) => worker.postMessage(message),
    onMessage: (handler) => worker.on('message', handler),
    onExit: (handler) => {
      worker.on('error', (error) => handler(error.message));
      worker.on('exit', (code) => {
        exited = true;
        handler(`exit code ${code}`);
      });
    },
    terminate: async () => {
      if (!exited) await worker.terminate();
    },
  };
}

function processChannel(setup: WorkerSetup): Channel {
  // advanced serialization: typed arrays cross as bytes, not as JSON number lists.
  const child: ChildProcess = fork(workerFile, [], {
    serialization: 'advanced',
    execArgv: [], // never inherit --inspect or test-runner flags from the parent
    env: { ...process.env, [WORKER_SETUP_ENV]: JSON.stringify(setup) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return {
    post: (message) => child.send(message),
    onMessage: (handler) => child.on('message', (m) => handler(m as FromWorker)),
    onExit: (handler) => {
      child.on('error', (error) => handler(error.message));
      child.on('exit', (code, signal) => handler(signal ? `killed by ${signal}` : `exit code ${code}`));
    },
    terminate: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

import { parentPort, workerData } from 'node:worker_threads';
import { loadFaceApi } from './backend.js';
import { inProcessEncoder } from './in-process-encoder.js';
import { WORKER_SETUP_ENV, type FromWorker, type ToWorker, type WorkerSetup } from './worker-messages.js';

/**
 * One encoder worker: a worker thread or a child process (the pool decides), with its
 * own TensorFlow engine and its own copy of the models, loaded once.
 */

const send: (message: FromWorker) => void = parentPort ? (message) => parentPort!.postMessage(message) : (message) => process.send!(message);
const setup: WorkerSetup = parentPort ? (workerData as WorkerSetup) : (JSON.parse(process.env[WORKER_SETUP_ENV] ?? '{}') as WorkerSetup);

async function main(): Promise<void> {
  let encoder;
  try {
    encoder = await inProcessEncoder({ backend: setup.backend });
  } catch (error) {
    send({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    return;
  }
  const api = await loadFaceApi({ backend: encoder.backend });
  const onMessage = (message: ToWorker) => {
    if (message.type === 'stats') {
      void encoder.tensorCounts().then(([numTensors]) => send({ type: 'stats', id: message.id, numTensors }));
      return;
    }
    encoder.encode(message.bytes, message.options).then(
      (result) => send({ type: 'result', id: message.id, result }),
      (error: unknown) => send({ type: 'error', id: message.id, message: error instanceof Error ? error.message : String(error) }),
    );
  };
  if (parentPort) parentPort.on('message', onMessage);
  else {
    process.on('message', onMessage);
    process.on('disconnect', () => process.exit(0)); // the parent is gone
    // Ctrl-C reaches the whole process group: the parent decides when its workers stop
    // (it lets the images in flight finish first), and ends them with SIGTERM.
    process.on('SIGINT', () => undefined);
  }
  send({ type: 'ready', backend: encoder.backend, loadSeconds: api.loadSeconds });
}

void main();

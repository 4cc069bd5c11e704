import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FaceApi, Tf, TfWasmBackend } from './face-api-types.js';

/**
 * Loads face-api on the fastest tfjs backend this machine can run, once per process.
 *
 * Order: tfjs-node-gpu -> tfjs-node -> wasm -> cpu. The two native packages download
 * libtensorflow when installed, so they are optional and usually absent; the wasm binaries
 * ship inside @tensorflow/tfjs-backend-wasm and are loaded from node_modules, never a CDN.
 */

export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
export const BACKEND_ORDER: readonly BackendName[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export interface SkippedBackend {
  backend: BackendName;
  reason: string;
}

export interface FaceApiRuntime {
  faceapi: FaceApi;
  tf: Tf;
  backend: BackendName;
  /** Better backends that were tried first, and why each could not be used. */
  skipped: SkippedBackend[];
  modelDir: string;
  /** Seconds spent choosing the backend and loading the models. */
  loadSeconds: number;
}

export interface LoadFaceApiOptions {
  /** Use exactly this backend; failing to load it is an error rather than a fallback. */
  backend?: BackendName;
  /** Defaults to the `model/` folder shipped in @vladmandic/face-api. */
  modelDir?: string;
}

export class BackendError extends Error {
  override name = 'BackendError';
}

const require = createRequire(import.meta.url);

let loading: { promise: Promise<FaceApiRuntime>; requested?: BackendName } | undefined;

export function isBackendName(value: string): value is BackendName {
  return (BACKEND_ORDER as readonly string[]).includes(value);
}

export function defaultModelDir(): string {
  return path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/**
 * face-api plus the backend it runs on. Memoized: tfjs has one global engine per process, so
 * every caller shares the first load. Asking later for a different forced backend is an error.
 */
export async function loadFaceApi(options: LoadFaceApiOptions = {}): Promise<FaceApiRuntime> {
  if (options.backend !== undefined && !isBackendName(options.backend)) {
    throw new BackendError(`unknown backend "${String(options.backend)}" (expected one of ${BACKEND_ORDER.join(', ')})`);
  }
  if (!loading) {
    const promise = load(options);
    loading = { promise, requested: options.backend };
    // A failed load leaves nothing behind, so a later call (say with another backend) may retry.
    promise.catch(() => {
      if (loading?.promise === promise) loading = undefined;
    });
    return promise;
  }
  const runtime = await loading.promise;
  if (options.backend && options.backend !== runtime.backend) {
    throw new BackendError(`face-api is already running on the ${runtime.backend} backend in this process; cannot switch to ${options.backend}`);
  }
  if (options.modelDir && path.resolve(options.modelDir) !== runtime.modelDir) {
    throw new BackendError(`face-api models are already loaded from ${runtime.modelDir}; cannot load them from ${options.modelDir}`);
  }
  return runtime;
}

async function load(options: LoadFaceApiOptions): Promise<FaceApiRuntime> {
  const started = performance.now();
  const modelDir = path.resolve(options.modelDir ?? defaultModelDir());
  const candidates = options.backend ? [options.backend] : BACKEND_ORDER;
  const skipped: SkippedBackend[] = [];
  for (const backend of candidates) {
    let faceapi: FaceApi;
    try {
      faceapi = await startBackend(backend);
    } catch (error) {
      const reason = describeLoadFailure(error);
      if (options.backend) throw new BackendError(`backend ${backend} could not be loaded: ${reason}`);
      skipped.push({ backend, reason });
      continue;
    }
    // Model files are not a backend problem: a missing one is fatal whatever the backend.
    await loadModels(faceapi, modelDir);
    const loadSeconds = (performance.now() - started) / 1000;
    return { faceapi, tf: faceapi.tf, backend, skipped, modelDir, loadSeconds };
  }
  const reasons = skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ');
  throw new BackendError(`no tfjs backend could be loaded (${reasons})`);
}

/** Requires the matching face-api bundle and makes its tfjs use `backend`. */
async function startBackend(backend: BackendName): Promise<FaceApi> {
  switch (backend) {
    case 'tensorflow-gpu':
      return startNative('@tensorflow/tfjs-node-gpu', '@vladmandic/face-api/dist/face-api.node-gpu.js');
    case 'tensorflow':
      return startNative('@tensorflow/tfjs-node', '@vladmandic/face-api/dist/face-api.node.js');
    case 'wasm': {
      const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      const wasm = require('@tensorflow/tfjs-backend-wasm') as TfWasmBackend;
      // usePlatformFetch=false: Node's fetch cannot read file paths, so tfjs reads them with fs.
      wasm.setWasmPaths(wasmDir + path.sep, false);
      const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
      await useBackend(faceapi.tf, 'wasm', `the .wasm binaries in ${wasmDir} could not be instantiated`);
      return faceapi;
    }
    case 'cpu': {
      // The wasm bundle is plain @tensorflow/tfjs underneath, which always has the cpu backend.
      const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
      await useBackend(faceapi.tf, 'cpu', 'the pure-JS cpu backend failed to start');
      return faceapi;
    }
  }
}

async function startNative(tfPackage: string, bundle: string): Promise<FaceApi> {
  // libtensorflow's C++ start-up chatter goes to stderr unless told otherwise.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  require(tfPackage); // fails fast (not installed, or libtensorflow/CUDA missing) before the bundle loads
  const faceapi = require(bundle) as FaceApi;
  await useBackend(faceapi.tf, 'tensorflow', `${tfPackage} loaded but its tensorflow backend did not start`);
  return faceapi;
}

async function useBackend(tf: Tf, name: string, failure: string): Promise<void> {
  // Prod mode silences tfjs's console advice ("install tfjs-node ...") and skips debug checks.
  tf.enableProdMode();
  // setBackend reports failure as `false`; with prod mode on, tfjs logs nothing about why.
  if (!(await tf.setBackend(name))) throw new Error(failure);
  await tf.ready();
  if (tf.getBackend() !== name) throw new Error(`${failure} (tfjs is on ${tf.getBackend()})`);
}

async function loadModels(faceapi: FaceApi, modelDir: string): Promise<void> {
  const manifests = [
    'ssd_mobilenetv1_model-weights_manifest.json',
    'tiny_face_detector_model-weights_manifest.json',
    'face_landmark_68_model-weights_manifest.json',
    'face_recognition_model-weights_manifest.json',
  ];
  const missing = manifests.filter((file) => !existsSync(path.join(modelDir, file)));
  if (missing.length) throw new BackendError(`face-api model files missing in ${modelDir}: ${missing.join(', ')}`);
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
  // The tiny detector is 190 KB: loading it always lets any job ask for `--detector tiny`.
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
  await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
}

function describeLoadFailure(error: unknown): string {
  const err = error as NodeJS.ErrnoException;
  const message = err instanceof Error ? err.message : String(error);
  if (err?.code === 'MODULE_NOT_FOUND') {
    const missing = /Cannot find module '([^']+)'/.exec(message)?.[1];
    if (missing) return `${missing} is not installed`;
  }
  // Native load errors can be long (dlopen paths); the first line says what went wrong.
  return message.split('\n')[0] ?? message;
}

import { loadFaceApi, type BackendName } from './backend.js';
import { detectFaces } from './detect-faces.js';
import { decodeForDetection, imageErrorResult, type ImageEncoder, type ImageResult } from './encode-image.js';

/**
 * face-api in this process. Detection is serialized (one TensorFlow engine per process);
 * decoding is not, so with `capacity` images in flight the next one is decoded on a libuv
 * thread while this thread runs the networks.
 */
export async function inProcessEncoder(options: { backend?: BackendName } = {}): Promise<ImageEncoder> {
  const api = await loadFaceApi({ backend: options.backend });
  let detecting: Promise<unknown> = Promise.resolve();
  return {
    backend: api.backend,
    capacity: 2,
    async encode(bytes, encodeOptions): Promise<ImageResult> {
      let pixels;
      try {
        pixels = await decodeForDetection(bytes, encodeOptions);
      } catch (error) {
        return imageErrorResult(error);
      }
      const run = detecting.then(() => detectFaces(api, pixels, encodeOptions));
      detecting = run.catch(() => undefined);
      const detected = await run;
      return { ok: true, faces: detected.map((f) => ({ box: f.box, score: f.score, vector: f.descriptor })) };
    },
    async tensorCounts() {
      await detecting;
      return [api.tf.memory().numTensors];
    },
    async close() {
      await detecting;
    },
  };
}

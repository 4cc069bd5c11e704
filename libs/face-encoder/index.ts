/**
 * Images in, 128-d face encodings out: face-api on the best tfjs backend this machine has,
 * image decoding with its limits, whole datasets (a folder or a zip) and single photos, in
 * this process or in a pool of workers. It knows nothing of NATS: the encoder service and
 * `faceshard encode` put its results on the wire.
 */
export { BACKEND_ORDER, isBackendName, loadFaceApi, type BackendName, type FaceApiRuntime, type SkippedBackend } from './backend.js';
export { DEFAULT_MAX_PIXELS, ImageError } from './decode-image.js';
export { DETECTORS, DEFAULT_DETECTOR, DEFAULT_MIN_FACE_SIZE, DEFAULT_MIN_SCORE, type DetectorName } from './detect-faces.js';
export { formatBytes, type ImageEncodeOptions, type ImageEncoder, type ImageResult } from './encode-image.js';
export { encodeDataset, NO_FACE_REASON, type EncodedFace, type EncodeSummary, type SkippedImage } from './encode-dataset.js';
export { encodeDirectory, encodeImageFile, type QueryFace } from './encode-directory.js';
export { inProcessEncoder } from './in-process-encoder.js';
export { EncoderPoolFullError, startWorkerPool, WORKER_MODES, type WorkerMode } from './worker-pool.js';

/**
 * The small part of face-api and tfjs the encoder uses, typed by hand.
 *
 * The node bundles (face-api.node*.js) are CommonJS loaded through createRequire, so their
 * shipped .d.ts files do not apply; these interfaces describe exactly what we call.
 */

/** A face rectangle in image pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** An opaque tfjs tensor: we only create, pass on and dispose them. */
export interface TensorHandle {
  readonly shape: number[];
  dispose(): void;
}

export interface TfMemory {
  numTensors: number;
  numBytes: number;
}

export interface Tf {
  readonly version_core: string;
  tensor3d(values: Uint8Array, shape: [number, number, number], dtype: 'int32'): TensorHandle;
  memory(): TfMemory;
  getBackend(): string;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  enableProdMode(): void;
}

/** The wasm backend package: only where its .wasm binaries live. */
export interface TfWasmBackend {
  setWasmPaths(prefix: string, usePlatformFetch?: boolean): void;
}

export interface FaceApiNet {
  loadFromDisk(modelDir: string): Promise<void>;
  readonly isLoaded: boolean;
}

export interface SsdMobilenetv1OptionsInit {
  minConfidence?: number;
  maxResults?: number;
}

export interface TinyFaceDetectorOptionsInit {
  /** Divisible by 32; smaller is faster and misses small faces. face-api's default is 416. */
  inputSize?: number;
  scoreThreshold?: number;
}

/** An instance of faceapi.SsdMobilenetv1Options or TinyFaceDetectorOptions, passed back to detectAllFaces untouched. */
export type DetectorOptions = object;

/** One result of detectAllFaces().withFaceLandmarks().withFaceDescriptors(). */
export interface FaceApiResult {
  detection: { score: number; box: Box };
  descriptor: Float32Array;
}

export interface FaceApi {
  readonly version: string;
  /** The tfjs the bundle was built against (its re-exported namespace). */
  readonly tf: Tf;
  readonly nets: {
    ssdMobilenetv1: FaceApiNet;
    tinyFaceDetector: FaceApiNet;
    faceLandmark68Net: FaceApiNet;
    faceRecognitionNet: FaceApiNet;
  };
  SsdMobilenetv1Options: new (init: SsdMobilenetv1OptionsInit) => DetectorOptions;
  TinyFaceDetectorOptions: new (init: TinyFaceDetectorOptionsInit) => DetectorOptions;
  detectAllFaces(input: TensorHandle, options: DetectorOptions): { withFaceLandmarks(): { withFaceDescriptors(): Promise<FaceApiResult[]> } };
}

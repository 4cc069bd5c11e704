/**
 * Whether this runtime runs WebAssembly SIMD: every kernel asks before choosing between
 * its SIMD and plain JS forms. On its own so the kernels need not import index.ts (which
 * re-exports them).
 */
import { simdProbeBytes } from './wasm.js';

/** The slice of the WebAssembly API used here (the project's lib settings do not declare it). */
interface WasmValidator {
  validate(bytes: Uint8Array): boolean;
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmValidator }).WebAssembly;

let simdSupported: boolean | undefined;

/** Whether this runtime validates WebAssembly SIMD (checked once). */
export function wasmSimdSupported(): boolean {
  if (simdSupported === undefined) {
    try {
      simdSupported = wasmApi !== undefined && wasmApi.validate(simdProbeBytes());
    } catch {
      simdSupported = false;
    }
  }
  return simdSupported === true;
}

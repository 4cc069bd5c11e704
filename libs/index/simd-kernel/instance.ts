/**
 * Instances of generated kernel modules: each module compiled once per shape (`key`),
 * every instance with its own memory. The slice of the WebAssembly API used here is
 * declared locally (the project's lib settings do not declare it).
 */

export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const wasmApi = (globalThis as unknown as { WebAssembly?: WasmApi }).WebAssembly;

/** Bytes of a WebAssembly memory page. */
export const WASM_PAGE = 65536;

/** Grows `memory` (never shrinks it) to hold at least `bytes`; grown pages are zero. Views of the old buffer are detached when it grows. */
export function growMemoryTo(memory: WasmMemory, bytes: number): void {
  const pages = Math.ceil(bytes / WASM_PAGE);
  const current = memory.buffer.byteLength / WASM_PAGE;
  if (pages > current) memory.grow(pages - current);
}

const modules = new Map<string, object>();

/** A new instance of the module `bytes()` builds (compiled on the first call for `key`): its memory and exports. */
export function instantiateKernel(key: string, bytes: () => Uint8Array): { memory: WasmMemory; exports: Record<string, unknown> } {
  let module = modules.get(key);
  if (!module) modules.set(key, (module = new wasmApi!.Module(bytes())));
  const instance = new wasmApi!.Instance(module, {});
  return { memory: instance.exports.memory as WasmMemory, exports: instance.exports };
}

/** A WasmMemory stand-in over a plain ArrayBuffer, for the JS fallback: growing copies (and detaches old views, like wasm). */
export function copyingMemory(): WasmMemory {
  let buffer = new ArrayBuffer(0);
  return {
    get buffer() {
      return buffer;
    },
    grow(pages: number): number {
      const before = buffer.byteLength / WASM_PAGE;
      const next = new ArrayBuffer(buffer.byteLength + pages * WASM_PAGE);
      new Uint8Array(next).set(new Uint8Array(buffer));
      buffer = next;
      return before;
    },
  };
}

import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Multi-threaded wasm (tfjs-backend-wasm's threaded-simd build) measured against the
 * single-threaded simd build, one 512x512 portrait encoded 12 times in a fresh process each.
 *
 * tfjs turns threads off in Node (WASM_HAS_MULTITHREAD_SUPPORT is false when IS_NODE, tfjs
 * issue #3830). Forcing the flag alone fails: the build starts its pthread workers from Blob
 * URLs, which Node's worker_threads cannot load. The probe below records those Blobs and
 * hands the workers real files instead, so the threaded build does start; what it then
 * reports (threads, ms per image) is what the bench prints.
 */
export interface WasmProbe {
  threaded: boolean;
  started: boolean;
  threads: number;
  msPerImage: number;
  detail?: string;
}

const PROBE = String.raw`
const fs = require('fs'), os = require('os'), path = require('path'), wt = require('worker_threads');
const [, , root, mode, imageFile] = process.argv;
const req = require('module').createRequire(path.join(root, 'package.json'));
if (mode === 'threaded') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faceshard-tfwasm-'));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const SHIM = "var require$$0=require('fs');var require$$1=require('path');var require$$3=require('perf_hooks');var require$$4=require('os');var commonjsGlobal=globalThis;var _scriptDir=undefined;\n";
  class RecordingBlob extends globalThis.Blob { constructor(parts, opts) { super(parts, opts); this.parts = parts; } }
  globalThis.Blob = RecordingBlob;
  let n = 0;
  const fileFor = (blob) => { if (!blob.file) { blob.file = path.join(dir, 'blob' + n++ + '.js'); const text = blob.parts.join(''); fs.writeFileSync(blob.file, text.startsWith('var WasmBackendModuleThreadedSimd') ? SHIM + text : text); } return blob.file; };
  const create = URL.createObjectURL;
  URL.createObjectURL = (blob) => (blob instanceof RecordingBlob ? fileFor(blob) : create(blob));
  const post = wt.Worker.prototype.postMessage;
  wt.Worker.prototype.postMessage = function (msg, ...rest) { if (msg && msg.cmd === 'load' && msg.urlOrBlob instanceof RecordingBlob) msg = { ...msg, urlOrBlob: fileFor(msg.urlOrBlob) }; return post.call(this, msg, ...rest); };
}
const wasm = req('@tensorflow/tfjs-backend-wasm');
wasm.setWasmPaths(path.dirname(req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + path.sep, false);
const faceapi = req('@vladmandic/face-api/dist/face-api.node-wasm.js');
const tf = faceapi.tf;
if (mode === 'threaded') { tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true); wasm.setThreadsCount(os.availableParallelism()); }
tf.enableProdMode();
(async () => {
  const started = await tf.setBackend('wasm');
  if (!started) { console.log(JSON.stringify({ started: false, threads: 0, msPerImage: 0, detail: 'setBackend returned false' })); process.exit(0); }
  const md = path.join(path.dirname(req.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.ssdMobilenetv1.loadFromDisk(md); await faceapi.nets.faceLandmark68Net.loadFromDisk(md); await faceapi.nets.faceRecognitionNet.loadFromDisk(md);
  const { data, info } = await req('sharp')(imageFile).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const options = new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 });
  const times = [];
  for (let i = 0; i < 12; i++) {
    const t0 = performance.now();
    const t = tf.tensor3d(data, [info.height, info.width, 3], 'int32');
    await faceapi.detectAllFaces(t, options).withFaceLandmarks().withFaceDescriptors();
    t.dispose();
    times.push(performance.now() - t0);
  }
  const steady = times.slice(4);
  console.log(JSON.stringify({ started: true, threads: wasm.getThreadsCount(), msPerImage: steady.reduce((a, b) => a + b) / steady.length }));
  process.exit(0);
})().catch((e) => { console.log(JSON.stringify({ started: false, threads: 0, msPerImage: 0, detail: String((e && e.message) || e) })); process.exit(0); });
`;

export async function probeWasm(imageFile: string, workDir: string): Promise<WasmProbe[]> {
  const require = createRequire(import.meta.url);
  const root = path.dirname(require.resolve('@vladmandic/face-api/package.json')).replace(/node_modules.*$/, '');
  const script = path.join(workDir, 'wasm-probe.cjs');
  await writeFile(script, PROBE);
  const results: WasmProbe[] = [];
  for (const mode of ['single', 'threaded'] as const) {
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [script, root, mode, imageFile], { timeout: 120_000 });
      const parsed = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Omit<WasmProbe, 'threaded'>;
      results.push({ threaded: mode === 'threaded', ...parsed });
    } catch (error) {
      results.push({
        threaded: mode === 'threaded',
        started: false,
        threads: 0,
        msPerImage: 0,
        detail: error instanceof Error ? error.message.split('\n')[0] : String(error),
      });
    }
  }
  return results;
}

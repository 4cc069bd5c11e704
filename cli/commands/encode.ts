import os from 'node:os';
import { randomUUID } from 'node:crypto';
import { FaceshardClient } from '../../libs/nats/client/index.js';
import {
  isBackendName,
  type BackendName,
  DETECTORS,
  type DetectorName,
  encodeDirectory,
  type EncodeSummary,
  WORKER_MODES,
  type WorkerMode,
} from '../../libs/face-encoder/index.js';
import { idPrefixProblem } from '../../libs/protocol/id-prefix.js';
import { openDoneMarks } from '../../services/encoder/done-marks.js';
import type { PersonSource } from '../../libs/persons/index.js';
import { datasetIdPrefix, datasetLocationKind } from '../encode/dataset-location.js';
import { checkPersonFolders, personsLine, personSourceOf, withPersons } from '../encode/persons.js';
import { publishEncodeJobs } from '../encode/job-publisher.js';
import { EncodeInterrupt, INTERRUPTED_EXIT_CODE, resumeCommand } from '../encode/encode-interrupt.js';
import { createProgress } from '../encode/progress.js';
import { ThumbnailTally } from '../encode/thumbnail-tally.js';
import { toReport, writeReport } from '../encode/report.js';
import { intOption, natsOption, numberOption, parseCommandArgs, UsageError } from '../args.js';
import { connectClient } from '../connect-client.js';

/** Flags shared by `encode` and `query` (a query photo is read the way the dataset was). */
export const encoderOptions = {
  'min-score': { type: 'string' },
  backend: { type: 'string' },
  detector: { type: 'string' },
  'min-face-size': { type: 'string' },
  'max-faces-per-image': { type: 'string' },
} as const;

export interface EncodeSettings {
  minScore?: number;
  backend?: BackendName;
  detector?: DetectorName;
  minFaceSize?: number;
  maxFaces?: number;
}

export function encodeSettings(values: {
  'min-score'?: string;
  backend?: string;
  detector?: string;
  'min-face-size'?: string;
  'max-faces-per-image'?: string;
}): EncodeSettings {
  if (values.backend !== undefined && !isBackendName(values.backend)) {
    throw new UsageError(`--backend must be one of tensorflow-gpu, tensorflow, wasm, cpu; got "${values.backend}"`);
  }
  if (values.detector !== undefined && !(DETECTORS as readonly string[]).includes(values.detector)) {
    throw new UsageError(`--detector must be one of ${DETECTORS.join(', ')}; got "${values.detector}"`);
  }
  const settings: EncodeSettings = {
    minScore: numberOption('min-score', values['min-score'], 0, 1),
    backend: values.backend,
    detector: values.detector as DetectorName | undefined,
    minFaceSize: values['min-face-size'] === undefined ? undefined : intOption('min-face-size', values['min-face-size'], 0, 0, 100_000),
    maxFaces: values['max-faces-per-image'] === undefined ? undefined : intOption('max-faces-per-image', values['max-faces-per-image'], 1, 1, 10_000),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined)) as EncodeSettings;
}

export interface LocalRunSettings extends EncodeSettings {
  /** Worker threads/processes; 0: this process. Default: one per core. */
  workers?: number;
  workerMode?: WorkerMode;
  /** Skip images an earlier run finished (recorded in the cluster's done-marks bucket). */
  resume?: boolean;
  /** Ids are `<idPrefix>/<path inside>#<face>`; default: the dataset's own name. */
  idPrefix?: string;
  /** Aborted: stop taking images, store what is in flight (Ctrl-C). */
  stop?: AbortSignal;
  /** Each face's meta.person: one name for the run, or the photo's folder. */
  person?: PersonSource;
  /** Store each stored face's thumbnail (default true; `--no-thumbnails`). */
  thumbnails?: boolean;
}

/** `stillQueued`: with --queue, jobs out but not done when an interrupted run stopped waiting. */
export type EncodeOutcome = EncodeSummary & { rejected: string[]; stillQueued?: number };

/** Encode every face of a folder or zip and ingest it; returns the summary for callers that compose it. */
export async function encodeAndIngest(location: string, client: FaceshardClient, settings: LocalRunSettings): Promise<EncodeOutcome> {
  const progress = createProgress({ label: 'encoding' });
  const rejected: string[] = [];
  const idPrefix = settings.idPrefix ?? datasetIdPrefix(location);
  const marks = await openDoneMarks(client.nc, client.subjects, idPrefix);
  const done = settings.resume ? await marks.loadDonePaths() : undefined;
  const run = randomUUID();
  const thumbnails = new ThumbnailTally();
  try {
    const summary = await encodeDirectory(location, {
      ...settings,
      thumbnails: settings.thumbnails ?? true,
      workers: settings.workers ?? os.availableParallelism(),
      idPrefix,
      alreadyDone: done ? (path) => done.has(path) : undefined,
      onEncoderReady: (encoder) => {
        const workers = 'workers' in encoder ? `${String(encoder.workers)} worker ${String((encoder as { mode?: string }).mode)}(s)` : 'this process';
        process.stderr.write(`encoding ${location} on the ${encoder.backend} backend in ${workers}${done ? `; ${done.size} image(s) already done` : ''}\n`);
      },
      onProgress: (n, total) => progress.update(n, total),
      onFaces: async (faces) => {
        const reply = await client.ingestMany(withPersons(faces, settings.person));
        for (const r of reply.rejected) rejected.push(`${faces[r.index].id}: ${r.reason}`);
        // After the faces: a thumbnail without its face would be served for nothing.
        const refused = new Set(reply.rejected.map((r) => r.index));
        await thumbnails.store(
          client,
          faces.filter((f, i) => f.thumbnail && !refused.has(i)).map((f) => ({ id: f.id, webp: f.thumbnail! })),
        );
      },
      // Only after the ingest above was acknowledged: what --resume may skip next time.
      // An image that could not be read is not marked, so a later --resume tries it again.
      onImagesDone: async (images) => {
        await Promise.all(
          images
            .filter((i) => i.skipped?.kind !== 'unreadable')
            .map((i) => marks.mark({ path: i.path, run, faces: i.faces, ...(i.skipped ? { skipped: i.skipped.reason } : {}) })),
        );
      },
    });
    return { ...summary, rejected };
  } finally {
    progress.finish();
    thumbnails.report();
  }
}

export function printEncodeSummary(location: string, s: EncodeOutcome): void {
  const noFace = s.skipped.filter((k) => k.kind === 'no_face');
  const refused = s.skipped.filter((k) => k.kind === 'refused');
  const unreadable = s.skipped.filter((k) => k.kind !== 'no_face' && k.kind !== 'refused');
  const resumed = s.resumed ? `, ${s.resumed} already done (resumed)` : '';
  const refusedText = refused.length ? `, ${refused.length} refused` : '';
  console.log(
    `encoded ${s.images} image(s) in ${location}: ${s.faces - s.rejected.length} face(s) stored, ${noFace.length} without a face, ${unreadable.length} unreadable${refusedText}${resumed} ` +
      `(${s.seconds.toFixed(1)} s, ${((s.images - s.resumed) / Math.max(s.seconds, 1e-9)).toFixed(2)} images/s, backend ${s.backend})`,
  );
  for (const k of noFace) console.log(`  no face found: ${k.path}`);
  for (const k of unreadable) console.log(`  unreadable: ${k.path}: ${k.reason}`);
  for (const k of refused) console.log(`  refused: ${k.path}: ${k.reason}`);
  for (const r of s.rejected) console.log(`  rejected by the cluster: ${r}`);
}

/** What an interrupted run stored, and the command that goes on from there. */
export function printInterrupted(location: string, s: EncodeOutcome, resume: string): void {
  const before = s.resumed ? ` (${s.resumed} more were done before)` : '';
  console.log(
    `interrupted: ${s.faces - s.rejected.length} face(s) from ${s.imagesDone} image(s) of ${s.images} in ${location} stored and marked done${before}`,
  );
  if (s.stillQueued)
    console.log(`${s.stillQueued} image(s) still wait in the encode queue: encoder workers will finish them (--resume skips what is done by then)`);
  console.log(`resume with: ${resume}`);
}

/** Encode takes a folder or a zip; a missing path or a single photo gets told what to do instead. */
async function checkLocation(location: string): Promise<void> {
  const kind = await datasetLocationKind(location);
  if (kind === 'missing') throw new UsageError(`${location}: no such file or folder`);
  if (kind === 'image') {
    throw new UsageError(
      `faceshard encode takes a folder or a .zip of images, and ${location} is one photo: to look for its faces in the cluster, run faceshard query ${location}`,
    );
  }
  if (kind === 'other') throw new UsageError(`${location}: not a folder or a .zip of images`);
}

function idPrefixOf(location: string, given: string | undefined): string {
  const prefix = given ?? datasetIdPrefix(location);
  const problem = idPrefixProblem(prefix, given !== undefined ? { flag: true } : { nameOf: 'dataset' });
  if (problem) throw new UsageError(problem);
  return prefix;
}

export async function encodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('encode', argv, {
    ...natsOption,
    ...encoderOptions,
    workers: { type: 'string' },
    'worker-mode': { type: 'string' },
    report: { type: 'string' },
    resume: { type: 'boolean', default: false },
    queue: { type: 'boolean', default: false },
    'id-prefix': { type: 'string' },
    person: { type: 'string' },
    'person-from-folder': { type: 'boolean', default: false },
    'no-thumbnails': { type: 'boolean', default: false },
  });
  if (positionals.length !== 1) throw new UsageError('faceshard encode PATH: give exactly one folder or .zip of images');
  const location = positionals[0];
  await checkLocation(location);
  const idPrefix = idPrefixOf(location, values['id-prefix']);
  const person = personSourceOf(values);
  const persons = await checkPersonFolders(location, person);
  const settings = encodeSettings(values);
  const workers = intOption('workers', values.workers, os.availableParallelism(), 0, 1024);
  const workerMode = values['worker-mode'] ?? 'thread';
  if (!(WORKER_MODES as readonly string[]).includes(workerMode))
    throw new UsageError(`--worker-mode must be one of ${WORKER_MODES.join(', ')}; got "${workerMode}"`);
  if (values.queue && (values.workers !== undefined || values['worker-mode'] !== undefined || values.backend !== undefined)) {
    throw new UsageError('--workers, --worker-mode and --backend choose how this machine encodes; with --queue the encoder workers do (configure them by env)');
  }

  const client = await connectClient(values, 'writer');
  const interrupt = new EncodeInterrupt();
  try {
    const common = { ...settings, resume: values.resume, idPrefix, person, stop: interrupt.signal, thumbnails: !values['no-thumbnails'] };
    const outcome: EncodeOutcome = values.queue
      ? await publishEncodeJobs(location, client, { ...common, progress: createProgress({ label: 'queued images done' }) })
      : await encodeAndIngest(location, client, { ...common, workers, workerMode: workerMode as WorkerMode });
    if (values.report) await writeReport(values.report, toReport(outcome, outcome.rejected));
    if (outcome.interrupted) {
      printInterrupted(location, outcome, resumeCommand(['encode', ...argv]));
      return INTERRUPTED_EXIT_CODE;
    }
    printEncodeSummary(location, outcome);
    const personsSummary = personsLine(persons, person);
    if (personsSummary) console.log(personsSummary);
    return outcome.rejected.length ? 1 : 0;
  } finally {
    interrupt.dispose();
    await client.close();
  }
}

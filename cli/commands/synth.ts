import { benchmarkData } from '../../libs/synthetic/face-model.js';
import { writeBenchmarkFiles } from '../../libs/synthetic/write-files.js';
import { intOption, parseCommandArgs, UsageError } from '../args.js';

const USAGE = 'faceshard synth --faces N --identities M --queries Q --out DIR [--seed S] [--enrolled-share F]';

/**
 * `faceshard synth`: a synthetic benchmark data set (design.md "Benchmark data") as
 * faces.npy, ids.txt, queries.npy and queries.json in DIR.
 */
export async function synthCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs('synth', argv, {
    faces: { type: 'string' },
    identities: { type: 'string' },
    queries: { type: 'string' },
    out: { type: 'string' },
    seed: { type: 'string' },
    'enrolled-share': { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`${USAGE}: unexpected argument "${positionals[0]}"`);
  if (values.faces === undefined || values.out === undefined) throw new UsageError(`${USAGE}: --faces and --out are required`);
  const faces = intOption('faces', values.faces, 0, 1, 100_000_000);
  const identities = intOption('identities', values.identities, Math.max(1, Math.round(faces / 5)), 1, faces);
  const queries = intOption('queries', values.queries, 1000, 0, 10_000_000);
  const seed = intOption('seed', values.seed, 1, 0, 2 ** 32 - 1);
  let enrolledShare = 0.5;
  if (values['enrolled-share'] !== undefined) {
    enrolledShare = Number(values['enrolled-share']);
    if (!(enrolledShare >= 0 && enrolledShare <= 1)) throw new UsageError(`--enrolled-share must be a number from 0 to 1, got "${values['enrolled-share']}"`);
  }
  const started = performance.now();
  const data = benchmarkData({ faces, identities, queries, seed, enrolledShare });
  const files = await writeBenchmarkFiles(values.out, data);
  const enrolled = data.queryIdentity.filter((q) => q !== null).length;
  const seconds = (performance.now() - started) / 1000;
  console.log(`wrote ${faces} faces of ${identities} people to ${files.faces} (ids in ${files.ids})`);
  console.log(
    `wrote ${queries} queries to ${files.queries}: ${enrolled} enrolled, ${queries - enrolled} not enrolled (${files.queriesJson}) in ${seconds.toFixed(1)} s`,
  );
  return 0;
}

/**
 * The data set as a user brings it: `faceshard synth` in a process of its own writes
 * faces.npy, ids.txt, queries.npy and queries.json, so the bench never holds the faces.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../cli/faceshard.js', import.meta.url));
/** GNU time, to read the synth process's peak memory; without it that figure is left out. */
const GNU_TIME = '/usr/bin/time';

export interface SynthRun {
  dir: string;
  seconds: number;
  /** Peak resident memory of the synth process (it builds the whole matrix in memory). */
  maxRssBytes?: number;
}

export interface SynthSpec {
  faces: number;
  queries: number;
  /** Share of the queries that are fresh photos of enrolled people; the rest are of people not enrolled. */
  enrolledShare: number;
  seed: number;
}

export async function synthFiles(dir: string, spec: SynthSpec): Promise<SynthRun> {
  const args = [
    CLI,
    'synth',
    '--faces',
    String(spec.faces),
    '--queries',
    String(spec.queries),
    '--enrolled-share',
    String(spec.enrolledShare),
    '--seed',
    String(spec.seed),
    '--out',
    dir,
  ];
  const rssFile = path.join(path.dirname(dir), `${path.basename(dir)}.maxrss`);
  const timed = existsSync(GNU_TIME);
  const [command, commandArgs] = timed ? [GNU_TIME, ['-f', '%M', '-o', rssFile, process.execPath, ...args]] : [process.execPath, args];
  const started = performance.now();
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, commandArgs, { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`faceshard synth exited with ${signal ?? code}`))));
  });
  const seconds = (performance.now() - started) / 1000;
  let maxRssBytes: number | undefined;
  if (timed) {
    // GNU time reports kilobytes on the file's last line.
    const kb = Number((await readFile(rssFile, 'utf8')).trim().split('\n').at(-1));
    if (Number.isFinite(kb)) maxRssBytes = kb * 1024;
    await rm(rssFile, { force: true });
  }
  return { dir, seconds, maxRssBytes };
}

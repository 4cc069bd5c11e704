/**
 * <data-dir>/cluster.json: how a running `faceshard up` is reached (written once its
 * nats-server listens, removed on a clean stop). Client commands find the local cluster
 * through it; `faceshard down` finds the pid to stop.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const CLUSTER_FILE_NAME = 'cluster.json';

/** `faceshard up`'s data dir, and where client commands look for a running cluster, when --data-dir is not given. */
export const DEFAULT_DATA_DIR = '.faceshard';

export const ClusterFile = z.object({
  natsUrl: z.string().regex(/^nats:\/\//, 'must be a nats:// URL'),
  prefix: z.string().min(1),
  /** Absent when the cluster runs without authentication (--no-auth). */
  credentials: z.object({ reader: z.string().min(1), writer: z.string().min(1), admin: z.string().min(1) }).optional(),
  pid: z.number().int().positive(),
  startedAt: z.iso.datetime(),
});
export type ClusterFile = z.infer<typeof ClusterFile>;

export class ClusterFileError extends Error {
  override name = 'ClusterFileError';
}

export function clusterFilePath(dataDir: string): string {
  return path.join(path.resolve(dataDir), CLUSTER_FILE_NAME);
}

/** Written whole or not at all (a reader never sees half a file). */
export function writeClusterFile(dataDir: string, cluster: ClusterFile): void {
  const file = clusterFilePath(dataDir);
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, JSON.stringify(ClusterFile.parse(cluster), null, 2) + '\n');
  renameSync(partial, file);
}

/** The data dir's cluster.json, undefined when there is none; a malformed one is an error naming the file. */
export function readClusterFile(dataDir: string): ClusterFile | undefined {
  const file = clusterFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClusterFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ClusterFileError(`${file} is not valid JSON (${(err as Error).message}); delete it if no cluster runs on ${path.dirname(file)}`);
  }
  const parsed = ClusterFile.safeParse(json);
  if (!parsed.success) throw new ClusterFileError(`${file} is not a faceshard cluster file: ${z.prettifyError(parsed.error).replace(/\n/g, '; ')}`);
  return parsed.data;
}

/** Removes cluster.json when it still describes process `pid` (a newer cluster's file is left alone). */
export function removeClusterFile(dataDir: string, pid: number): void {
  try {
    if (readClusterFile(dataDir)?.pid !== pid) return;
  } catch {
    // malformed: not ours to judge here
    return;
  }
  rmSync(clusterFilePath(dataDir), { force: true });
}

import { fileURLToPath } from 'node:url';

export type ServiceKind = 'coordinator' | 'shard' | 'encoder' | 'gateway';

/**
 * glibc's malloc for shard processes (deploy/k8s sets the same): blocks of 128 KiB and
 * more always come from mmap and go back to the system when freed. By default the
 * threshold rises to the size of the largest block freed (up to 32 MiB), so the bulk
 * load's ~600 KB log records end up in the heap and stay resident as free holes. Measured
 * at 1,000,000 faces (two shard processes, after the load and a snapshot, two runs each):
 * malloc heap 41-52 MiB a process against 59-80, resident 932-995 MiB against 986-1,021.
 */
export const SHARD_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: '131072' } as const;

/**
 * How to run one service as its own process: `node <dist>/services/<kind>/main.js`
 * with its configuration in env, exactly what a container runs (for shards, with
 * SHARD_MALLOC_ENV unless the environment sets those variables).
 */
export function serviceProcess(
  kind: ServiceKind,
  env: Record<string, string>,
  parentEnv: NodeJS.ProcessEnv = process.env,
): { command: string; args: string[]; env: Record<string, string> } {
  const main = fileURLToPath(new URL(`../../../services/${kind}/main.js`, import.meta.url));
  const malloc = kind === 'shard' ? Object.fromEntries(Object.entries(SHARD_MALLOC_ENV).filter(([key]) => parentEnv[key] === undefined)) : {};
  return { command: process.execPath, args: [main], env: { ...malloc, ...env } };
}

/** What a benchmark report says about the machine it ran on and the build it measured. */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { findNatsServer, natsServerVersion } from '../libs/local/nats-server/index.js';

export interface MachineFacts {
  cores: number;
  loadavgAtStart: number[];
  loadavg: number[];
  node: string;
  natsServer: string | null;
}

/** The machine now, with the load average taken when the run began. */
export function machineFacts(loadavgAtStart: number[]): MachineFacts {
  const binary = findNatsServer();
  return {
    cores: os.cpus().length,
    loadavgAtStart,
    loadavg: os.loadavg(),
    node: process.version,
    natsServer: binary ? (natsServerVersion(binary) ?? null) : null,
  };
}

/** The commit measured: BENCH_PRODUCT_COMMIT when set (a tree exported from git), else HEAD, flagged when services/ or libs/ differ from it. */
export function productCommit(): string {
  if (process.env.BENCH_PRODUCT_COMMIT) return process.env.BENCH_PRODUCT_COMMIT;
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no', '--', 'services', 'libs'], { encoding: 'utf8' }).trim();
  return head + (changed ? ' (with uncommitted changes in services/ or libs/)' : '');
}

/**
 * A CPU quota per process, as a small pod has: one cgroup per process under
 * <cpu hierarchy>/faceshard-bench/<name>, the quota written, the pid moved in.
 * cgroup v2 when its cpu controller is available; else the v1 cpu controller (the same
 * CFS bandwidth limit: hosts with the hybrid layout mount cpu only on v1 and leave v2
 * without controllers). Neither: CgroupCpuUnavailable, with the reason.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class CgroupCpuUnavailable extends Error {}

export interface CpuThrottling {
  periods: number;
  throttledPeriods: number;
  throttledUs: number;
}

export interface CpuGroup {
  name: string;
  dir: string;
  /** Moves the process (all its threads) into this group. */
  add(pid: number): void;
  throttling(): CpuThrottling;
}

export interface CpuCgroups {
  version: 'v2' | 'v1';
  root: string;
  /** A group named `name` limited to `cores` (0.1 = a tenth of one core, over 100 ms periods). */
  create(name: string, cores: number): CpuGroup;
  /** Moves any process still inside back to the top and removes every group made here. */
  removeAll(): void;
}

const PERIOD_US = 100_000;
const BENCH_DIR = 'faceshard-bench';

function mounts(): { dir: string; type: string; options: string[] }[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' '))
    .map(([, dir, type, options]) => ({ dir, type, options: options.split(',') }));
}

function statFields(file: string): Record<string, number> {
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '))
      .map(([key, value]) => [key, Number(value)]),
  );
}

/** Where and how to cap CPU on this host; throws CgroupCpuUnavailable saying why not. */
export function openCpuCgroups(): CpuCgroups {
  const all = mounts();
  const v2 = all.find((m) => m.type === 'cgroup2');
  const v2Controllers = v2 ? readFileSync(path.join(v2.dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/) : [];
  if (v2 && v2Controllers.includes('cpu')) return cgroups('v2', v2.dir);
  const v1 = all.find((m) => m.type === 'cgroup' && m.options.includes('cpu'));
  if (v1) return cgroups('v1', v1.dir);
  const why = v2 ? `cgroup v2 is mounted at ${v2.dir} without the cpu controller (controllers: ${v2Controllers.join(' ') || 'none'})` : 'no cgroup v2 mount';
  throw new CgroupCpuUnavailable(`cannot cap CPU per process: ${why}, and no cgroup v1 cpu controller is mounted`);
}

function cgroups(version: 'v2' | 'v1', mount: string): CpuCgroups {
  const root = path.join(mount, BENCH_DIR);
  const created: string[] = [];
  try {
    mkdirSync(root, { recursive: true });
    // v2: a child's cpu.max exists only when each parent enables cpu for its children.
    if (version === 'v2') {
      writeFileSync(path.join(mount, 'cgroup.subtree_control'), '+cpu');
      writeFileSync(path.join(root, 'cgroup.subtree_control'), '+cpu');
    }
    // The whole bench group otherwise weighs as much as one process at the top: with other
    // work on the host its replicas would get less than their quotas (a pod's request guards against that).
    if (version === 'v2') writeFileSync(path.join(root, 'cpu.weight'), '10000');
    else writeFileSync(path.join(root, 'cpu.shares'), String(1024 * 64));
  } catch (err) {
    throw new CgroupCpuUnavailable(`cannot create cgroups under ${root} (${version}): ${(err as Error).message}`);
  }
  const group = (name: string, dir: string): CpuGroup => ({
    name,
    dir,
    add: (pid) => writeFileSync(path.join(dir, 'cgroup.procs'), String(pid)),
    throttling: () => {
      const s = statFields(path.join(dir, 'cpu.stat'));
      return version === 'v2'
        ? { periods: s.nr_periods, throttledPeriods: s.nr_throttled, throttledUs: s.throttled_usec }
        : { periods: s.nr_periods, throttledPeriods: s.nr_throttled, throttledUs: s.throttled_time / 1000 };
    },
  });
  return {
    version,
    root,
    create(name, cores) {
      const dir = path.join(root, name);
      mkdirSync(dir);
      created.push(dir);
      const quota = String(Math.round(cores * PERIOD_US));
      if (version === 'v2') writeFileSync(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
      else {
        writeFileSync(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        writeFileSync(path.join(dir, 'cpu.cfs_quota_us'), quota);
      }
      return group(name, dir);
    },
    removeAll() {
      for (const dir of [...created.reverse(), root]) {
        if (!existsSync(dir)) continue;
        const procs = readFileSync(path.join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
        for (const pid of procs) {
          try {
            writeFileSync(path.join(mount, 'cgroup.procs'), pid);
          } catch {
            // exited meanwhile
          }
        }
        if (dir === root && readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory())) continue; // groups not made by this run
        rmdirSync(dir);
      }
      created.length = 0;
    },
  };
}

import { spawnSync } from 'node:child_process';

/** The Python the benchmarks' peers run on: BENCH_PYTHON first, then python3 on PATH, then Debian's. */
const CANDIDATES = [process.env.BENCH_PYTHON, 'python3', '/usr/bin/python3'].filter((x): x is string => !!x);

/** The first candidate that can import `modules` (e.g. 'numpy, faiss'); undefined when none can. */
export function pythonWith(modules: string): string | undefined {
  return CANDIDATES.find((exe) => spawnSync(exe, ['-c', `import ${modules}`], { encoding: 'utf8' }).status === 0);
}

/** Disk a directory takes, as `du` counts it (allocated blocks, not file lengths). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Bytes allocated under `dir` (du -s --block-size=1); 0 when it does not exist. */
export function diskBytes(dir: string): number {
  if (!existsSync(dir)) return 0;
  const out = execFileSync('du', ['-s', '--block-size=1', dir], { encoding: 'utf8' });
  return Number(out.split('\t')[0]);
}

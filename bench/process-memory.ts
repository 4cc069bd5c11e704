/** Memory of other processes on this machine, from /proc (Linux); NaN where it cannot be read. */
import { readFileSync } from 'node:fs';

/** Resident set size of `pid`, in bytes. */
export function residentBytes(pid: number): number {
  return procKilobytes(`/proc/${pid}/status`, /VmRSS:\s+(\d+)/);
}

/**
 * Proportional set size: RSS with each shared page (the node binary's text, mapped by
 * every node process) split among its mappers, so a sum over processes counts it once.
 */
export function proportionalBytes(pid: number): number {
  return procKilobytes(`/proc/${pid}/smaps_rollup`, /\nPss:\s+(\d+)/);
}

function procKilobytes(file: string, field: RegExp): number {
  try {
    const kb = field.exec(readFileSync(file, 'utf8'))?.[1];
    return kb ? Number(kb) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

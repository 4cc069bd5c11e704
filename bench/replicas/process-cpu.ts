/** CPU seconds a process has used (user + system, from /proc/<pid>/stat), and finding nats-server's pid. */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) in parentheses; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** The pid of the nats-server whose command line mentions `dataDir` (its store and log are there). */
export function natsServerPid(dataDir: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes('nats-server') && cmdline.includes(dataDir)) return Number(entry);
    } catch {
      // exited meanwhile
    }
  }
  throw new Error(`no nats-server process found for ${dataDir}`);
}

import { createProgressBar, formatDuration } from './progress-bar.js';

/**
 * Progress for a long encode: a bar with rate and ETA on a terminal, and a log line every
 * `intervalMs` otherwise (a pod's log, CI), so a run of hours is never silent.
 */
export interface Progress {
  update(done: number, total: number): void;
  /** Says at once why the count stands still (a full queue); once per new text, undefined clears it. */
  note(text: string | undefined): void;
  finish(): void;
}

export function createProgress(options: { label?: string; stream?: NodeJS.WriteStream; intervalMs?: number } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const label = options.label ?? 'encoding';
  let noted: string | undefined;
  const note = (text: string | undefined, clearLine: () => void) => {
    if (text === noted) return;
    noted = text;
    if (text === undefined) return;
    clearLine();
    stream.write(`${label}: ${text}\n`);
  };
  if (stream.isTTY) {
    const bar = createProgressBar({ label: options.label, stream });
    // The bar redraws itself on the next update, below the note.
    return { update: bar.update, finish: bar.finish, note: (text) => note(text, bar.finish) };
  }
  const intervalMs = options.intervalMs ?? 10_000;
  const started = performance.now();
  let last = -Infinity;
  let latest: [number, number] | undefined;
  let written: [number, number] | undefined;
  const write = (done: number, total: number) => {
    written = [done, total];
    stream.write(`${progressLine(label, done, total, (performance.now() - started) / 1000)}\n`);
  };
  return {
    // The first update (the total is known), one every intervalMs, and the last one.
    update(done, total) {
      latest = [done, total];
      const now = performance.now();
      if (now - last < intervalMs) return;
      last = now;
      write(done, total);
    },
    note: (text) => note(text, () => undefined),
    finish() {
      if (latest && (written?.[0] !== latest[0] || written?.[1] !== latest[1])) write(...latest);
    },
  };
}

/** `encoding: 412/1000 images (41%), 3.2 images/s, eta 3m04s` */
export function progressLine(label: string, done: number, total: number, elapsedSeconds: number): string {
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const percent = total > 0 ? Math.floor((100 * done) / total) : 100;
  const eta = rate > 0 && done < total ? `, eta ${formatDuration((total - done) / rate)}` : '';
  return `${label}: ${done}/${total} images (${percent}%), ${rate.toFixed(1)} images/s${eta}`;
}

/** A one-line progress bar on a terminal's stderr; does nothing when stderr is not a TTY. */

export interface ProgressBar {
  update(done: number, total: number): void;
  /** Clears the bar so the next output starts on a clean line. */
  finish(): void;
}

export interface ProgressBarOptions {
  label?: string;
  stream?: NodeJS.WriteStream;
  /** Redraws at most this often; the final update is always drawn. */
  minIntervalMs?: number;
}

export function createProgressBar(options: ProgressBarOptions = {}): ProgressBar {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return { update() {}, finish() {} };

  const label = options.label ?? 'encoding';
  const minIntervalMs = options.minIntervalMs ?? 100;
  const started = performance.now();
  let lastDraw = -Infinity;
  let drawn = false;

  return {
    update(done, total) {
      const now = performance.now();
      if (now - lastDraw < minIntervalMs && done < total) return;
      lastDraw = now;
      drawn = true;
      const line = renderLine(label, done, total, (now - started) / 1000, stream.columns ?? 80);
      stream.write(`\r${line}\x1b[K`);
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}

/** `encoding [#######.........]  412/1000  41%  3.2/s  eta 3m04s`, fitted to the width. */
export function renderLine(label: string, done: number, total: number, elapsedSeconds: number, columns: number): string {
  const fraction = total > 0 ? Math.min(done / total, 1) : 1;
  const rate = elapsedSeconds > 0 ? done / elapsedSeconds : 0;
  const eta = rate > 0 && done < total ? ` eta ${formatDuration((total - done) / rate)}` : '';
  const stats = ` ${done}/${total} ${Math.floor(fraction * 100)}% ${rate.toFixed(1)}/s${eta}`;
  const barWidth = Math.max(columns - label.length - stats.length - 4, 0);
  if (barWidth < 5) return `${label}${stats}`.slice(0, Math.max(columns - 1, 0));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${stats}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

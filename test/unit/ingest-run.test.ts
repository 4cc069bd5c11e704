import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IngestProgress } from '../../cli/ingest/progress.js';
import { stoppedReport, withFromRow } from '../../cli/ingest/report.js';
import { runIngest } from '../../cli/ingest/run.js';
import type { FaceBatch, FaceRow } from '../../libs/face-files/index.js';
import type { IngestReply } from '../../libs/protocol/index.js';

/** Batches of `size` rows numbered from `fromRow + 1`; rows listed in `bad` are row errors. */
async function* batchesOf(rows: number, size: number, fromRow = 0, bad: number[] = []): AsyncGenerator<FaceBatch> {
  for (let start = fromRow + 1; start <= rows; start += size) {
    const batch: FaceBatch = { faces: [], errors: [] };
    for (let row = start; row < Math.min(start + size, rows + 1); row++) {
      if (bad.includes(row)) batch.errors.push({ row, reason: 'bad' });
      else batch.faces.push({ row, id: `f/${row - 1}`, vector: new Float32Array(128) });
    }
    yield batch;
  }
}

const accept = async (faces: FaceRow[]): Promise<IngestReply> => ({ accepted: faces.length, rejected: [], seq: {} });

describe('runIngest', () => {
  test('a whole file: every row read and acknowledged, rejections named by row', async () => {
    const progress = new IngestProgress();
    const send = async (faces: FaceRow[]): Promise<IngestReply> => ({
      accepted: faces.length - 1,
      rejected: [{ index: 1, reason: 'refused by the shard' }],
      seq: {},
    });
    const outcome = await runIngest(batchesOf(10, 4, 0, [6]), send, progress);
    assert.deepEqual(outcome, { interrupted: false });
    assert.equal(progress.lastRowRead, 10);
    assert.equal(progress.acknowledgedThrough, 10);
    assert.equal(progress.accepted, 6);
    assert.deepEqual(
      progress.errors.map((e) => [e.row, e.reason]),
      [
        [2, 'refused by the shard'],
        [6, 'bad'],
        [7, 'refused by the shard'],
        [10, 'refused by the shard'],
      ],
    );
  });

  test('the cluster refusing a batch part-way ends the run with how far it got', async () => {
    const progress = new IngestProgress();
    let calls = 0;
    const send = async (faces: FaceRow[]) => {
      if (++calls === 3) throw new Error('no responders');
      return accept(faces);
    };
    const outcome = await runIngest(batchesOf(10_000, 1000), send, progress);
    assert.equal(outcome.failure?.message, 'no responders');
    assert.equal(outcome.interrupted, false);
    assert.equal(progress.lastRowRead, 3000, 'the refused batch was read');
    assert.equal(progress.acknowledgedThrough, 2000);
    assert.equal(progress.accepted, 2000);
    const [first, resume] = stoppedReport('stopped', 'faces.npy', progress, ['ingest', 'faces.npy']);
    assert.equal(
      first,
      'stopped: read rows 1-3000 of faces.npy; the cluster acknowledged every row through 2000 (2000 faces stored); the first row not acknowledged is 2001',
    );
    assert.match(resume, /^resume with: .+ ingest faces\.npy --from-row 2000$/);
  });

  test('stop (Ctrl-C) lets the batch in flight be answered and reads no more', async () => {
    const progress = new IngestProgress(500);
    const stop = new AbortController();
    let sent = 0;
    const send = async (faces: FaceRow[]) => {
      if (++sent === 2) stop.abort();
      return accept(faces);
    };
    const outcome = await runIngest(batchesOf(5000, 1000, 500), send, progress, { stop: stop.signal });
    assert.deepEqual(outcome, { interrupted: true });
    assert.equal(sent, 2);
    assert.equal(progress.lastRowRead, 2500);
    assert.equal(progress.acknowledgedThrough, 2500);
    assert.equal(progress.accepted, 2000);
    assert.match(
      stoppedReport('interrupted', 'faces.npy', progress, ['ingest', 'faces.npy', '--from-row', '500'])[0],
      /^interrupted: read rows 501-2500 of faces\.npy; the cluster acknowledged every row through 2500 \(2000 faces stored\); the first row not acknowledged is 2501$/,
    );
  });

  test('inFlight 4: up to four batches at once, answered in file order; a refusal counts only the batches before it', async () => {
    const progress = new IngestProgress();
    let running = 0;
    let most = 0;
    let calls = 0;
    const send = async (faces: FaceRow[]) => {
      const call = ++calls;
      running++;
      most = Math.max(most, running);
      // Later batches answer first: the order of answers must not move acknowledgedThrough past a gap.
      await new Promise((resolve) => setTimeout(resolve, call === 5 ? 30 : 40 - call * 5));
      running--;
      if (call === 5) throw new Error('busy');
      return accept(faces);
    };
    const outcome = await runIngest(batchesOf(12_000, 1000), send, progress, { inFlight: 4 });
    assert.equal(most, 4, 'four batches were in flight at once');
    assert.equal(outcome.failure?.message, 'busy');
    assert.equal(progress.acknowledgedThrough, 4000, 'batches 6-8 answered, but after the refused 5th: not counted');
    assert.equal(progress.accepted, 4000);
    assert.equal(running, 0, 'every batch in flight was waited for');
    assert.ok(progress.lastRowRead >= 5000 && progress.lastRowRead <= 8000, `read through ${progress.lastRowRead}`);

    const whole = new IngestProgress();
    const all = await runIngest(batchesOf(12_000, 1000), async (faces) => (await new Promise((r) => setTimeout(r, 5)), accept(faces)), whole, { inFlight: 4 });
    assert.deepEqual(all, { interrupted: false });
    assert.equal(whole.acknowledgedThrough, 12_000);
    assert.equal(whole.accepted, 12_000);
  });

  test('a batch of row errors only is answered without asking the cluster', async () => {
    const progress = new IngestProgress();
    let sent = 0;
    await runIngest(batchesOf(4, 2, 0, [1, 2]), async (faces) => (sent++, accept(faces)), progress);
    assert.equal(sent, 1);
    assert.equal(progress.acknowledgedThrough, 4);
  });

  test('a file that fails before its first batch throws as it is', async () => {
    // eslint-disable-next-line require-yield
    async function* broken(): AsyncGenerator<FaceBatch> {
      throw new Error('faces.npy: not a .npy file');
    }
    await assert.rejects(runIngest(broken(), accept, new IngestProgress()), /not a \.npy file/);
  });
});

describe('stoppedReport', () => {
  test('nothing acknowledged says so, and resumes from where it started', () => {
    const lines = stoppedReport('stopped', 'f.jsonl', new IngestProgress(7), ['ingest', 'f.jsonl', '--from-row=7']);
    assert.equal(lines[0], 'stopped: read no rows of f.jsonl; the cluster acknowledged none; the first row not acknowledged is 8');
    assert.match(lines[1], / ingest f\.jsonl --from-row 7$/);
  });

  test('withFromRow replaces an earlier --from-row, in either spelling', () => {
    assert.deepEqual(withFromRow(['ingest', 'a.npy', '--from-row', '5', '--ids', 'x'], 9), ['ingest', 'a.npy', '--ids', 'x', '--from-row', '9']);
    assert.deepEqual(withFromRow(['ingest', 'a.npy', '--from-row=5'], 9), ['ingest', 'a.npy', '--from-row', '9']);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../cli/args.js';
import { encodeSettings } from '../../cli/commands/encode.js';
import { JobOptions } from '../../libs/protocol/encode-jobs.js';
import { loadEncoderConfig } from '../../services/encoder/config.js';
import { doneKey } from '../../services/encoder/done-marks.js';
import { createProgress, progressLine } from '../../cli/encode/progress.js';
import { toReport } from '../../cli/encode/report.js';

describe('encode flags', () => {
  it('parses the detector and face filters, and names a bad value', () => {
    assert.deepEqual(encodeSettings({ detector: 'tiny', 'min-score': '0.7', 'min-face-size': '40', 'max-faces-per-image': '3', backend: 'wasm' }), {
      detector: 'tiny',
      minScore: 0.7,
      minFaceSize: 40,
      maxFaces: 3,
      backend: 'wasm',
    });
    assert.deepEqual(encodeSettings({}), {});
    assert.throws(
      () => encodeSettings({ detector: 'mtcnn' }),
      (e: unknown) => e instanceof UsageError && /--detector must be one of ssd, tiny/.test(e.message),
    );
    assert.throws(() => encodeSettings({ 'max-faces-per-image': '0' }), /--max-faces-per-image must be a whole number from 1/);
    assert.throws(() => encodeSettings({ 'min-face-size': '-1' }), /--min-face-size/);
    assert.throws(() => encodeSettings({ backend: 'cuda' }), /--backend must be one of/);
  });

  it('job options on the wire are checked strictly', () => {
    assert.ok(JobOptions.safeParse({ detector: 'ssd', minScore: 0.5, maxFaces: 2 }).success);
    assert.ok(!JobOptions.safeParse({ detector: 'ssd', extra: 1 }).success);
    assert.ok(!JobOptions.safeParse({ minScore: 0 }).success);
  });
});

describe('encoder service env', () => {
  it('has defaults for every knob and refuses bad values by name', () => {
    const config = loadEncoderConfig({});
    assert.equal(config.ENCODER_DETECTOR, 'ssd');
    assert.equal(config.ENCODER_WORKERS, 1);
    assert.equal(config.ENCODER_WORKER_MODE, 'thread');
    assert.equal(config.ENCODER_JOBS, true);
    assert.equal(config.ENCODE_ACK_WAIT_S, 60);
    assert.equal(config.MIN_FACE_SIZE, 0);
    assert.equal(config.MAX_FACES_PER_IMAGE, undefined);
    assert.equal(loadEncoderConfig({ ENCODER_JOBS: 'false', ENCODER_WORKERS: '4' }).ENCODER_JOBS, false);
    assert.throws(() => loadEncoderConfig({ ENCODER_DETECTOR: 'yolo' }), /ENCODER_DETECTOR/);
    assert.throws(() => loadEncoderConfig({ ENCODE_ACK_WAIT_S: '0' }), /ENCODE_ACK_WAIT_S/);
    assert.equal(config.ENCODE_MAX_DELIVER, 5);
    assert.equal(config.ENCODE_JOB_TIMEOUT_S, 600);
    assert.equal(loadEncoderConfig({ ENCODE_MAX_DELIVER: '2' }).ENCODE_MAX_DELIVER, 2);
    assert.throws(() => loadEncoderConfig({ ENCODE_MAX_DELIVER: '1' }), /ENCODE_MAX_DELIVER/, 'one delivery would give every job up unseen');
    assert.throws(() => loadEncoderConfig({ ENCODE_MAX_DELIVER: '2.5' }), /ENCODE_MAX_DELIVER/);
    assert.throws(() => loadEncoderConfig({ ENCODE_JOB_TIMEOUT_S: '0' }), /ENCODE_JOB_TIMEOUT_S/);
  });

  it('still reads the names from before the unit rule (..._SECONDS) while the new ones are unset', () => {
    const old = loadEncoderConfig({ ENCODE_ACK_WAIT_SECONDS: '2', ENCODE_JOB_TIMEOUT_SECONDS: '30' });
    assert.equal(old.ENCODE_ACK_WAIT_S, 2);
    assert.equal(old.ENCODE_JOB_TIMEOUT_S, 30);
    assert.equal(loadEncoderConfig({ ENCODE_ACK_WAIT_SECONDS: '2', ENCODE_ACK_WAIT_S: '5' }).ENCODE_ACK_WAIT_S, 5, 'the new name wins');
    assert.throws(() => loadEncoderConfig({ ENCODE_JOB_TIMEOUT_SECONDS: '0' }), /ENCODE_JOB_TIMEOUT_S/, 'an old name is checked as the new one');
  });
});

describe('progress and report', () => {
  it('writes log lines with rate and ETA when stderr is not a terminal: first, periodic, last', () => {
    assert.equal(progressLine('encoding', 412, 1000, 100), 'encoding: 412/1000 images (41%), 4.1 images/s, eta 2m23s');
    assert.equal(progressLine('encoding', 10, 10, 5), 'encoding: 10/10 images (100%), 2.0 images/s');
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const progress = createProgress({ stream, intervalMs: 60_000 });
    progress.update(0, 3);
    progress.update(1, 3); // within the interval: quiet
    progress.update(3, 3);
    progress.finish();
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^encoding: 0\/3 images \(0%\)/);
    assert.match(lines[1], /^encoding: 3\/3 images \(100%\)/);
  });

  it('reports images, faces, named skips, seconds and backend', () => {
    const report = toReport(
      {
        images: 3,
        faces: 2,
        skipped: [{ path: 'a.jpg', reason: 'empty file', kind: 'empty' }],
        resumed: 0,
        seconds: 1.23456,
        backend: 'wasm',
        imagesDone: 3,
        interrupted: false,
      },
      [],
    );
    assert.deepEqual(report, {
      images: 3,
      faces: 2,
      skipped: [{ path: 'a.jpg', reason: 'empty file' }],
      seconds: 1.235,
      backend: 'wasm',
      resumed: 0,
      rejected: [],
    });
  });

  it('done-mark keys are KV-safe, stable per path and apart per dataset', () => {
    assert.match(doneKey('photos', 'people/ada lovelace/1 (copy).jpg'), /^[0-9a-f]{24}\.[0-9a-f]{40}$/);
    assert.equal(doneKey('photos', 'x.jpg'), doneKey('photos', 'x.jpg'));
    assert.notEqual(doneKey('photos', 'x.jpg'), doneKey('photos', 'y.jpg'));
    assert.notEqual(doneKey('photos', 'x.jpg'), doneKey('other', 'x.jpg'));
    assert.equal(doneKey('photos', 'x.jpg').split('.')[0], doneKey('photos', 'y.jpg').split('.')[0], 'one dataset, one key filter');
  });
});

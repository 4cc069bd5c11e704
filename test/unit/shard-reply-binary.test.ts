import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeShardGroupReplyBinary,
  decodeShardReplyBinary,
  encodeShardGroupReplyBinary,
  encodeShardReplyBinary,
  ShardReply,
  ShardReplyFormatError,
} from '../../libs/protocol/index.js';

const reply: ShardReply = {
  shard: 3,
  faces: 250_224,
  appliedSeq: 2 ** 40 + 17,
  results: [
    [
      { id: 'people/ada.jpg#0', distance: 0.17812345678901234 },
      { id: 'ü/ß "quoted"#1', distance: 0.5, meta: { path: 'ü/ß.jpg', box: { x: 1, y: 2 }, score: 0.99 } },
    ],
    [],
    [{ id: '42', distance: 0 }],
  ],
};

/** Asserts that `decode` refuses the bytes with a ShardReplyFormatError whose message matches. */
const refuser = (decode: (bytes: Uint8Array) => unknown) => (bytes: Uint8Array, pattern: RegExp) =>
  assert.throws(
    () => decode(bytes),
    (err: unknown) => err instanceof ShardReplyFormatError && pattern.test((err as Error).message),
  );

test('a binary leg reply decodes to exactly the reply it encodes (float64 distances, metas, empty lists)', () => {
  assert.deepEqual(decodeShardReplyBinary(encodeShardReplyBinary(reply)), reply);
  const noMeta: ShardReply = { ...reply, results: [[{ id: 'a', distance: 1.5 }], [{ id: 'b', distance: 2 }]] };
  const bytes = encodeShardReplyBinary(noMeta);
  assert.deepEqual(decodeShardReplyBinary(bytes), noMeta);
  assert.ok(!new TextDecoder().decode(bytes).includes('metas'), 'no metas array when no match has one');
  const none: ShardReply = { shard: 0, faces: 0, appliedSeq: 0, results: [] };
  assert.deepEqual(decodeShardReplyBinary(encodeShardReplyBinary(none)), none);
  // A view into a larger buffer at an odd offset (as a NATS message body may be) decodes too.
  const padded = new Uint8Array(bytes.length + 3);
  padded.set(bytes, 3);
  assert.deepEqual(decodeShardReplyBinary(padded.subarray(3)), noMeta);
});

test('a malformed binary leg reply is refused with a reason, never half-read', () => {
  const good = encodeShardReplyBinary(reply);
  const refuse = refuser(decodeShardReplyBinary);
  refuse(good.subarray(0, 20), /shorter than its 32-byte header/);
  refuse(good.subarray(0, good.length - 1), /its header says/);
  const magic = good.slice();
  magic[0] = 0x58;
  refuse(magic, /bad magic/);
  const counts = good.slice();
  new DataView(counts.buffer).setUint32(24, 5000, true);
  refuse(counts, /5000 queries/);
  const distance = good.slice();
  new DataView(distance.buffer).setFloat64(48, -1, true); // first distance: header 32 + 3 counts -> 48
  refuse(distance, /distance 0 is -1/);
  const nan = good.slice();
  new DataView(nan.buffer).setFloat64(56, NaN, true);
  refuse(nan, /distance 1 is NaN/);
  const faces = good.slice();
  new DataView(faces.buffer).setFloat64(8, 1.5, true);
  refuse(faces, /faces 1.5/);
  // The count says 1 where the distances and ids hold 2: the lengths no longer add up.
  const short = encodeShardReplyBinary({
    ...reply,
    results: [
      [
        { id: 'a', distance: 1 },
        { id: 'b', distance: 2 },
      ],
    ],
  });
  new DataView(short.buffer).setUint32(32, 1, true);
  refuse(short, /its header says/);
  const json = good.slice();
  json[json.length - 1] = 0x20; // the closing brace of the ids JSON becomes a space
  refuse(json, /not JSON/);
});

test('a binary group reply carries each shard reply whole, in order; a malformed one is refused with a reason', () => {
  const other: ShardReply = { shard: 1, faces: 7, appliedSeq: 3, results: [[{ id: 'x', distance: 0.25 }], [], []] };
  const group = { replies: [reply, other] };
  const bytes = encodeShardGroupReplyBinary(group);
  assert.deepEqual(decodeShardGroupReplyBinary(bytes), group);
  assert.deepEqual(decodeShardGroupReplyBinary(encodeShardGroupReplyBinary({ replies: [] })), { replies: [] });
  const padded = new Uint8Array(bytes.length + 5);
  padded.set(bytes, 5);
  assert.deepEqual(decodeShardGroupReplyBinary(padded.subarray(5)), group);

  const refuse = refuser(decodeShardGroupReplyBinary);
  refuse(bytes.subarray(0, 6), /shorter than its 8-byte header/);
  const magic = bytes.slice();
  magic[3] = 0x32;
  refuse(magic, /bad magic/);
  const parts = bytes.slice();
  new DataView(parts.buffer).setUint32(4, 100_000, true);
  refuse(parts, /100000 parts/);
  refuse(bytes.subarray(0, bytes.length - 1), /part 1 runs past the end/);
  const longer = new Uint8Array(bytes.length + 1);
  longer.set(bytes);
  refuse(longer, /its parts add up to/);
  const inner = bytes.slice();
  inner[16] = 0x58; // the first part's magic (header 8 + 2 lengths)
  refuse(inner, /binary leg reply: bad magic/);
});

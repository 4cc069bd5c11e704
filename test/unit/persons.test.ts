import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_PERSON_CHARS, parsePerson, personFromPath, personOfMeta, whoIs, whoIsSteps, type WhoIsMatch, type WhoIsStep } from '../../libs/persons/index.js';
import { seededRandom } from '../helpers/random.js';

const face = (id: string, distance: number, person?: unknown): WhoIsMatch => ({
  id,
  distance,
  ...(person === undefined ? {} : { meta: { path: `${id}.jpg`, person } }),
});

describe('person names', () => {
  test('are trimmed and kept otherwise as given', () => {
    assert.deepEqual(parsePerson('  Ada Lovelace \t'), { ok: true, person: 'Ada Lovelace' });
    assert.deepEqual(parsePerson('George_W_Bush'), { ok: true, person: 'George_W_Bush' });
    assert.deepEqual(parsePerson('José Ñúñez 日本'), { ok: true, person: 'José Ñúñez 日本' });
  });

  test('1 to 128 characters, counted as characters, not bytes or UTF-16 units', () => {
    assert.equal(parsePerson('x'.repeat(MAX_PERSON_CHARS)).ok, true);
    assert.equal(parsePerson('😀'.repeat(MAX_PERSON_CHARS)).ok, true, '128 emoji are 256 UTF-16 units, still 128 characters');
    assert.deepEqual(parsePerson('x'.repeat(MAX_PERSON_CHARS + 1)), { ok: false, reason: 'person must be at most 128 characters' });
    assert.deepEqual(parsePerson(''), { ok: false, reason: 'person must not be empty' });
    assert.deepEqual(parsePerson('   '), { ok: false, reason: 'person must not be empty' });
  });

  test('refuse control characters and non-strings with a message naming what was wrong', () => {
    for (const bad of ['Ada\nLovelace', 'tab\there', 'nul\u0000', 'del\u007f', 'c1\u0085']) {
      assert.deepEqual(parsePerson(bad), { ok: false, reason: 'person must not contain control characters (newlines, tabs, ...)' }, JSON.stringify(bad));
    }
    assert.deepEqual(parsePerson(7), { ok: false, reason: 'person must be a string, got number' });
    assert.deepEqual(parsePerson(null), { ok: false, reason: 'person must be a string, got null' });
    assert.deepEqual(parsePerson(['a']), { ok: false, reason: 'person must be a string, got an array' });
    assert.deepEqual(parsePerson(undefined), { ok: false, reason: 'person is missing' });
  });
});

describe('personFromPath', () => {
  test('--person-from-folder: the folder that directly holds the photo', () => {
    const folder = { kind: 'folder' } as const;
    assert.deepEqual(personFromPath('Ada_Lovelace/1.jpg', folder), { ok: true, person: 'Ada_Lovelace' });
    assert.deepEqual(
      personFromPath('lfw/Ada_Lovelace/Ada_Lovelace_0001.jpg', folder),
      { ok: true, person: 'Ada_Lovelace' },
      "a zip's top folder is not the person",
    );
    assert.deepEqual(personFromPath('./people/Bob/x.png', folder), { ok: true, person: 'Bob' });
    assert.deepEqual(personFromPath('people\\Bob\\x.png', folder), { ok: true, person: 'Bob' });
  });

  test('--person-from-folder: a photo at the top, or a folder name that cannot be a person, says why', () => {
    const folder = { kind: 'folder' } as const;
    assert.deepEqual(personFromPath('group.jpg', folder), {
      ok: false,
      reason: "group.jpg is not in a person's folder (--person-from-folder wants <name>/<photo>)",
    });
    const long = 'n'.repeat(MAX_PERSON_CHARS + 1);
    assert.deepEqual(personFromPath(`${long}/1.jpg`, folder), {
      ok: false,
      reason: `folder "${long}" cannot name a person: person must be at most 128 characters`,
    });
  });

  test('--person NAME: the same name whatever the path', () => {
    assert.deepEqual(personFromPath('a/b/c.jpg', { kind: 'fixed', person: ' Ada ' }), { ok: true, person: 'Ada' });
    assert.deepEqual(personFromPath('c.jpg', { kind: 'fixed', person: '' }), { ok: false, reason: 'person must not be empty' });
  });
});

describe('whoIs', () => {
  test('ranks persons by their nearest face, counts votes within the threshold, and names the match', () => {
    const who = whoIs([face('a1', 0.31, 'Ada'), face('b1', 0.45, 'Bob'), face('a2', 0.5, 'Ada'), face('c1', 0.7, 'Cy'), face('b2', 0.8, 'Bob')], {
      threshold: 0.6,
    });
    assert.deepEqual(who.persons, [
      { person: 'Ada', distance: 0.31, id: 'a1', votes: 2, faces: 2 },
      { person: 'Bob', distance: 0.45, id: 'b1', votes: 1, faces: 2 },
      { person: 'Cy', distance: 0.7, id: 'c1', votes: 0, faces: 1 },
    ]);
    assert.deepEqual(who.verdict, { kind: 'match', person: 'Ada', distance: 0.31, votes: 2 });
    assert.equal(who.considered, 5);
    assert.equal(who.unnamed, 0);
    assert.equal(who.threshold, 0.6);
  });

  test('a distance equal to the threshold is within it (as face_recognition compares, <=)', () => {
    assert.deepEqual(whoIs([face('a', 0.6, 'Ada')]).verdict, { kind: 'match', person: 'Ada', distance: 0.6, votes: 1 });
  });

  test('no match carries a person: unknown, every match counted as unnamed', () => {
    const who = whoIs([face('x', 0.1), { id: 'y', distance: 0.2, meta: { path: 'y.jpg' } }, { id: 'z', distance: 0.3, meta: null }]);
    assert.deepEqual(who.persons, []);
    assert.equal(who.unnamed, 3);
    assert.deepEqual(who.verdict, { kind: 'unknown', reason: 'none of the matches carries a person' });
  });

  test('no matches at all: unknown', () => {
    assert.deepEqual(whoIs([]).verdict, { kind: 'unknown', reason: 'none of the matches carries a person' });
  });

  test('every person beyond the threshold: unknown, naming the nearest and its distance', () => {
    const who = whoIs([face('b', 0.65, 'Bob'), face('a', 0.62, 'Ada')], { threshold: 0.6 });
    assert.deepEqual(
      who.persons.map((p) => [p.person, p.votes]),
      [
        ['Ada', 0],
        ['Bob', 0],
      ],
    );
    assert.deepEqual(who.verdict, { kind: 'unknown', reason: 'the nearest person, Ada, is at 0.6200, beyond the threshold 0.6' });
  });

  test('a nearer unnamed face votes for nobody; a malformed meta.person counts as unnamed', () => {
    const who = whoIs([face('u', 0.1), face('bad', 0.2, 'line\nbreak'), face('n', 0.3, 42), face('a', 0.4, 'Ada')]);
    assert.equal(who.unnamed, 3);
    assert.deepEqual(who.verdict, { kind: 'match', person: 'Ada', distance: 0.4, votes: 1 });
  });

  test('ties: equal nearest distance ranks more votes first and is a match; equal distance and votes is ambiguous', () => {
    const moreVotes = whoIs([face('a', 0.4, 'Ada'), face('b', 0.4, 'Bob'), face('b2', 0.5, 'Bob')]);
    assert.deepEqual(
      moreVotes.persons.map((p) => p.person),
      ['Bob', 'Ada'],
    );
    assert.deepEqual(moreVotes.verdict, { kind: 'match', person: 'Bob', distance: 0.4, votes: 2 });
    const even = whoIs([face('b', 0.4, 'Bob'), face('a', 0.4, 'Ada')]);
    assert.deepEqual(
      even.persons.map((p) => p.person),
      ['Ada', 'Bob'],
      'then by name, so the order never depends on the shards',
    );
    assert.deepEqual(even.verdict, { kind: 'ambiguous', persons: ['Ada', 'Bob'] });
  });

  test('the nearest person out-voted by another within the threshold is ambiguous; beyond it the others do not count', () => {
    const contested = whoIs([face('a', 0.3, 'Ada'), face('b1', 0.4, 'Bob'), face('b2', 0.45, 'Bob')]);
    assert.deepEqual(contested.verdict, { kind: 'ambiguous', persons: ['Ada', 'Bob'] });
    const far = whoIs([face('a', 0.3, 'Ada'), face('b1', 0.7, 'Bob'), face('b2', 0.75, 'Bob')]);
    assert.deepEqual(far.verdict, { kind: 'match', person: 'Ada', distance: 0.3, votes: 1 });
  });

  test('a stored name with spaces around it is the same person', () => {
    assert.equal(personOfMeta({ person: ' Ada ' }), 'Ada');
    const who = whoIs([face('a1', 0.3, 'Ada'), face('a2', 0.35, ' Ada')]);
    assert.equal(who.persons.length, 1);
    assert.equal(who.persons[0].votes, 2);
  });

  test('refuses a threshold that is not a positive number', () => {
    for (const threshold of [0, -1, Number.NaN, Infinity]) assert.throws(() => whoIs([], { threshold }), /threshold must be a number above 0/);
  });
});

describe('whoIsSteps', () => {
  /** The verdict the steps give at `threshold`: the last step at or below it, else unknown. */
  const verdictAt = (steps: WhoIsStep[], threshold: number) => steps.filter((s) => s.threshold <= threshold).at(-1)?.verdict.kind ?? 'unknown';

  test('a step where a named match is reached; unnamed matches and verdicts said before make none', () => {
    const steps = whoIsSteps([face('a1', 0.31, 'Ada'), face('u', 0.35), face('b1', 0.45, 'Bob'), face('b2', 0.5, 'Bob'), face('b3', 0.55, 'Bob')]);
    assert.deepEqual(steps, [
      { threshold: 0.31, verdict: { kind: 'match', person: 'Ada', distance: 0.31, votes: 1 } },
      // Bob's first vote ties Ada's: Ada, nearer, still leads; at 0.5 Bob out-votes her.
      { threshold: 0.5, verdict: { kind: 'ambiguous', persons: ['Ada', 'Bob'] } },
    ]);
    assert.deepEqual(whoIsSteps([face('u', 0.2)]), [], 'no person: no step, unknown at every threshold');
    assert.deepEqual(whoIsSteps([face('a', 0, 'Ada')]), [{ threshold: 0, verdict: { kind: 'match', person: 'Ada', distance: 0, votes: 1 } }]);
  });

  test('at any threshold the steps say what whoIs says', () => {
    const random = seededRandom(25);
    for (let round = 0; round < 200; round++) {
      const matches = Array.from({ length: 1 + Math.floor(random() * 8) }, (_, i) => {
        const person = random() < 0.2 ? undefined : ['Ada', 'Bob', 'Cy'][Math.floor(random() * 3)];
        return face(`f${i}`, Math.round(random() * 80) / 100, person);
      });
      const steps = whoIsSteps(matches);
      for (let t = 0.01; t <= 0.9; t += 0.01) {
        const verdict = whoIs(matches, { threshold: t }).verdict;
        const fromSteps = steps.filter((s) => s.threshold <= t).at(-1)?.verdict;
        assert.equal(verdictAt(steps, t), verdict.kind, JSON.stringify({ matches, t }));
        if (verdict.kind !== 'unknown') assert.deepEqual(fromSteps, verdict, JSON.stringify({ matches, t }));
      }
    }
  });
});

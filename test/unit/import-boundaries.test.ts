// The architecture's arrows, checked on the TypeScript sources (libs/, services/, cli/,
// bench/) rather than left to review:
// - services never import other services;
// - libs never import services, cli, bench or test;
// - the index code (INDEX_LIBRARIES) knows nothing of NATS: no `nats` import, and no
//   import of a library that reaches nats (directly or through other libraries);
// - the index code imports no library outside it (so neither NATS nor benchmark data,
//   files or HTTP reach it through one);
// - no cycles between libraries;
// - a library with an index.ts is entered through it by other libraries (its other files
//   are internal). Only libraries are held to this; tests may import the internals of
//   what they test, and test/ is not read.
// Each failure lists every offending import as `file -> specifier (rule)`.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The index code: typed arrays in, ids and distances out, no messaging: the group
 * libs/index/* (an entry covers the units below it). A library outside it (e.g.
 * libs/face-encoder) is an ordinary library.
 */
const INDEX_LIBRARIES: readonly string[] = ['libs/index'];

/** Where the architecture's code lives; test/ and dist/ are not read. */
const SOURCE_ROOTS = ['libs', 'services', 'cli', 'bench'];

/** Package imports that mean NATS. */
const NATS_PACKAGE = /^(nats|@nats-io\/[^/]+)(\/|$)/;

type Rule =
  | 'services never import other services'
  | 'libs never import services, cli, bench or test'
  | 'index code knows nothing of NATS'
  | 'index code imports only index code'
  | 'no cycles between libraries'
  | 'other libraries import only index.ts';

interface KnownViolation {
  file: string;
  specifier: string;
  rule: Rule;
  /** Why it stays for now. */
  reason: string;
}

/**
 * Imports allowed to break a rule, each with its reason; none today (the 24 internal-file
 * imports found when this test came now go through each library's index.ts). The test
 * fails on any other offender; an entry that no longer occurs is reported as a diagnostic.
 */
const KNOWN_VIOLATIONS: readonly KnownViolation[] = [];

/** The repository root: the test runs from dist/test/unit/. */
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface ImportArrow {
  /** Importing file, relative to the repository root, '/'-separated. */
  file: string;
  /** The specifier as written. */
  specifier: string;
  /** Repository-relative path it names (relative specifiers only). */
  target?: string;
}

interface Violation {
  file: string;
  specifier: string;
  rule: Rule;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(REPO_ROOT, dir), { withFileTypes: true })) {
    const path = posix.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules') files.push(...sourceFiles(path));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      files.push(path);
    }
  }
  return files;
}

/** Static imports, `export ... from` and `import('literal')`, found by TypeScript's own pre-processor (comments and strings are skipped). */
function importsOf(file: string, source: string): ImportArrow[] {
  return ts.preProcessFile(source, true, false).importedFiles.map(({ fileName: specifier }) => {
    if (!specifier.startsWith('.')) return { file, specifier };
    const target = posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, '.ts');
    return { file, specifier, target };
  });
}

/**
 * Names the unit a path belongs to: `libs/<name>`, `services/<name>`, `cli`,
 * `bench/<name>` (`bench` for files directly in bench/), `test`. A folder under libs/
 * that holds no .ts file of its own is a group of libraries (libs/index/*, libs/nats/*,
 * ...): its units are `libs/<group>/<name>`.
 */
function unitNamer(files: readonly string[]): (path: string) => string {
  const librariesWithOwnFiles = new Set(files.filter((f) => f.startsWith('libs/') && f.split('/').length === 3).map((f) => f.split('/')[1]));
  return (path) => {
    const parts = path.split('/');
    switch (parts[0]) {
      case 'libs':
        if (parts.length > 3 && !librariesWithOwnFiles.has(parts[1])) return parts.slice(0, 3).join('/');
        return parts.slice(0, 2).join('/');
      case 'services':
        return parts.slice(0, 2).join('/');
      case 'bench':
        return parts.length > 2 ? parts.slice(0, 2).join('/') : 'bench';
      default:
        return parts[0];
    }
  };
}

const isLibrary = (unit: string) => unit.startsWith('libs/');
const isApplication = (unit: string) => unit.startsWith('services/') || unit === 'cli' || unit === 'bench' || unit.startsWith('bench/') || unit === 'test';

/** Strongly connected components of more than one unit (Tarjan). */
function cycles(edges: ReadonlyMap<string, ReadonlySet<string>>): Set<string>[] {
  const index = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: Set<string>[] = [];
  const visit = (unit: string): void => {
    index.set(unit, index.size);
    lowLink.set(unit, index.get(unit)!);
    stack.push(unit);
    onStack.add(unit);
    for (const next of edges.get(unit) ?? []) {
      if (!index.has(next)) {
        visit(next);
        lowLink.set(unit, Math.min(lowLink.get(unit)!, lowLink.get(next)!));
      } else if (onStack.has(next)) {
        lowLink.set(unit, Math.min(lowLink.get(unit)!, index.get(next)!));
      }
    }
    if (lowLink.get(unit) !== index.get(unit)) return;
    const component = new Set<string>();
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.add(member);
    } while (member !== unit);
    if (component.size > 1) found.push(component);
  };
  for (const unit of edges.keys()) if (!index.has(unit)) visit(unit);
  return found;
}

/** Every import that breaks a rule, for the given sources (repository-relative path -> text). */
function findViolations(sources: ReadonlyMap<string, string>, indexLibraries: readonly string[] = INDEX_LIBRARIES): Violation[] {
  const files = [...sources.keys()];
  const unitOf = unitNamer(files);
  const isIndexLibrary = (unit: string) => indexLibraries.some((name) => unit === name || unit.startsWith(`${name}/`));
  const known = new Set(files);
  const arrows = [...sources].flatMap(([file, source]) => importsOf(file, source));
  const violations: Violation[] = [];
  const flag = (arrow: ImportArrow, rule: Rule) => violations.push({ file: arrow.file, specifier: arrow.specifier, rule });

  // Libraries that reach NATS, directly or through other libraries (grown to a fixed point).
  const natsLibraries = new Set(arrows.filter((a) => NATS_PACKAGE.test(a.specifier) && isLibrary(unitOf(a.file))).map((a) => unitOf(a.file)));
  for (let grew = true; grew;) {
    grew = false;
    for (const a of arrows) {
      if (a.target === undefined || !isLibrary(unitOf(a.file)) || natsLibraries.has(unitOf(a.file)) || !natsLibraries.has(unitOf(a.target))) continue;
      natsLibraries.add(unitOf(a.file));
      grew = true;
    }
  }

  const libraryEdges = new Map<string, Set<string>>();
  for (const arrow of arrows) {
    const from = unitOf(arrow.file);
    if (arrow.target === undefined) {
      if (isIndexLibrary(from) && NATS_PACKAGE.test(arrow.specifier)) flag(arrow, 'index code knows nothing of NATS');
      continue;
    }
    const to = unitOf(arrow.target);
    if (from === to) continue;
    if (from.startsWith('services/') && to.startsWith('services/')) flag(arrow, 'services never import other services');
    if (!isLibrary(from)) continue;
    if (isApplication(to)) flag(arrow, 'libs never import services, cli, bench or test');
    if (!isLibrary(to)) continue;
    if (isIndexLibrary(from) && !isIndexLibrary(to)) {
      flag(arrow, 'index code imports only index code');
      // An index library that reaches NATS is reported at its own import, not at every importer.
      if (natsLibraries.has(to)) flag(arrow, 'index code knows nothing of NATS');
    }
    if (known.has(`${to}/index.ts`) && arrow.target !== `${to}/index.ts`) flag(arrow, 'other libraries import only index.ts');
    if (!libraryEdges.has(from)) libraryEdges.set(from, new Set());
    libraryEdges.get(from)!.add(to);
  }

  for (const component of cycles(libraryEdges)) {
    for (const arrow of arrows) {
      if (arrow.target === undefined) continue;
      const from = unitOf(arrow.file);
      const to = unitOf(arrow.target);
      if (from !== to && component.has(from) && component.has(to)) flag(arrow, 'no cycles between libraries');
    }
  }
  return violations;
}

const describeViolation = (v: Violation) => `${v.file} -> ${v.specifier} (${v.rule})`;

test('the sources keep the architecture’s import boundaries', (t) => {
  assert.ok(existsSync(join(REPO_ROOT, 'libs')), `no libs/ under ${REPO_ROOT}: run the compiled test from dist/test/unit/`);
  const sources = new Map(SOURCE_ROOTS.flatMap(sourceFiles).map((file) => [file, readFileSync(join(REPO_ROOT, file), 'utf8')]));
  assert.ok(sources.size > 100, `found only ${sources.size} source files under ${REPO_ROOT}`);
  const found = findViolations(sources).map(describeViolation);
  const allowed = new Set(KNOWN_VIOLATIONS.map(describeViolation));
  const offenders = [...new Set(found.filter((line) => !allowed.has(line)))].sort();
  assert.deepEqual(offenders, [], `imports that break the architecture's rules:\n  ${offenders.join('\n  ')}\n`);
  // Not a failure: files other changes are moving (e.g. the encoder's) may come and go.
  for (const line of [...allowed].filter((known) => !found.includes(known)).sort())
    t.diagnostic(`KNOWN_VIOLATIONS entry no longer occurs (delete it): ${line}`);
});

// The checker itself, on a small tree laid out in library groups (libs/index/*, ...):
// each rule must report its offending import, and nothing else may be reported.
test('each rule reports the imports that break it, in a grouped layout', () => {
  const sources = new Map([
    ['services/shard/main.ts', "import { scatter } from '../coordinator/scatter.js';\nimport { TopK } from '../../libs/index/topk/index.js';"],
    ['services/coordinator/scatter.ts', "// import { main } from '../shard/main.js'; (a comment, not an import)\nexport const scatter = 1;"],
    [
      'libs/index/kdtree/index.ts',
      "import { connect } from 'nats';\nimport { TopK } from '../topk/index.js';\nimport { faces } from '../../local/synthetic/faces.js';",
    ],
    ['libs/index/topk/index.ts', "import type { KDTree } from '../kdtree/index.js';\nexport { heap } from './heap.js';"],
    ['libs/index/topk/heap.ts', 'export const heap = 1;'],
    ['libs/index/ann/ivf.ts', "import { heap } from '../topk/heap.js';\nimport { request } from '../../nats/client/index.js';"],
    ['libs/nats/client/index.ts', "import { connect } from 'nats';\nexport { main } from '../../../services/shard/main.js';"],
    ['libs/local/synthetic/faces.ts', "export const faces = () => import('../../../cli/main.js');"],
  ]);
  const expected = [
    'libs/index/ann/ivf.ts -> ../../nats/client/index.js (index code imports only index code)',
    'libs/index/ann/ivf.ts -> ../../nats/client/index.js (index code knows nothing of NATS)',
    'libs/index/ann/ivf.ts -> ../topk/heap.js (other libraries import only index.ts)',
    'libs/index/kdtree/index.ts -> ../../local/synthetic/faces.js (index code imports only index code)',
    'libs/index/kdtree/index.ts -> ../topk/index.js (no cycles between libraries)',
    'libs/index/kdtree/index.ts -> nats (index code knows nothing of NATS)',
    'libs/index/topk/index.ts -> ../kdtree/index.js (no cycles between libraries)',
    'libs/local/synthetic/faces.ts -> ../../../cli/main.js (libs never import services, cli, bench or test)',
    'libs/nats/client/index.ts -> ../../../services/shard/main.js (libs never import services, cli, bench or test)',
    'services/shard/main.ts -> ../coordinator/scatter.js (services never import other services)',
  ];
  assert.deepEqual(findViolations(sources, ['libs/index']).map(describeViolation).sort(), expected);
});

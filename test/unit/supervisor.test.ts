import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from '../helpers/process.js';
import { until } from '../helpers/wait.js';
import {
  Supervisor,
  type ExitEvent,
  type OutputLine,
  type RestartEvent,
  type SupervisorLogger,
  type SupervisorOptions,
} from '../../libs/local/supervisor/index.js';

interface LogEntry {
  level: 'info' | 'warn' | 'error';
  msg: string;
  fields?: Record<string, unknown>;
}

function recordingLogger(): SupervisorLogger & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    info: (msg, fields) => entries.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => entries.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => entries.push({ level: 'error', msg, fields }),
  };
}

const node = process.execPath;
const EXIT_1 = 'process.exit(1)';
const RUN_FOREVER = "console.log('ready'); setInterval(() => {}, 1000)";
const IGNORE_SIGTERM = "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('ready'); setInterval(() => {}, 1000)";

// Each test gets its own timeout so a hung stop() fails that test instead of the whole file.
const T = { timeout: 8_000 };

describe('Supervisor', () => {
  // Fresh recorders per test; each supervisor writes only to the ones of its own test,
  // so a child that dies late cannot pollute the next test.
  let supervisor: Supervisor | undefined;
  let log = recordingLogger();
  let restarts: RestartEvent[] = [];
  let exits: ExitEvent[] = [];
  let output: OutputLine[] = [];

  function makeSupervisor(options: Partial<SupervisorOptions> = {}): Supervisor {
    const [ownLog, ownRestarts, ownExits, ownOutput] = [log, restarts, exits, output];
    supervisor = new Supervisor({
      log: ownLog,
      onOutput: (line) => ownOutput.push(line),
      onExit: (event) => ownExits.push(event),
      backoff: { initialMs: 20, maxMs: 50, resetAfterMs: 30_000 },
      ...options,
    });
    supervisor.onRestart((event) => ownRestarts.push(event));
    return supervisor;
  }

  afterEach(async () => {
    // Safety net for a broken supervisor: never leave a child behind (it would also keep this file's process alive).
    await Promise.race([supervisor?.stop(1_000), sleep(3_000)]);
    for (const entry of log.entries) {
      const pid = entry.msg === 'child started' ? entry.fields?.pid : undefined;
      if (typeof pid === 'number' && isAlive(pid)) process.kill(pid, 'SIGKILL');
    }
    supervisor = undefined;
    log = recordingLogger();
    restarts = [];
    exits = [];
    output = [];
  });

  test('restarts a child that exits with code 1, with doubling capped backoff, and reports each restart', T, async () => {
    const sup = makeSupervisor();
    sup.start({ name: 'crasher', command: node, args: ['-e', EXIT_1] });
    await until('three restarts', () => (restarts.length >= 3 ? true : undefined), 5_000, 10);

    assert.deepEqual(
      restarts.slice(0, 3).map((r) => [r.name, r.code, r.signal, r.delayMs, r.restarts]),
      [
        ['crasher', 1, null, 20, 1],
        ['crasher', 1, null, 40, 2],
        ['crasher', 1, null, 50, 3],
      ],
    );
    const logged = log.entries.filter((e) => e.msg === 'child exited; restarting');
    assert.ok(logged.length >= 3);
    assert.deepEqual(
      { name: logged[0].fields?.name, code: logged[0].fields?.code, delayMs: logged[0].fields?.delayMs },
      { name: 'crasher', code: 1, delayMs: 20 },
    );
    assert.ok(sup.children()[0].restarts >= 3);
  });

  test("forwards stdout and stderr lines tagged with the child's name", T, async () => {
    const sup = makeSupervisor();
    sup.start({
      name: 'talker',
      command: node,
      args: ['-e', "console.log('one'); console.log('two'); console.error('oops'); setInterval(() => {}, 1000)"],
    });
    await until('three lines', () => (output.length >= 3 ? true : undefined), 5_000, 10);
    assert.deepEqual(
      output.filter((l) => l.stream === 'stdout').map((l) => [l.name, l.line]),
      [
        ['talker', 'one'],
        ['talker', 'two'],
      ],
    );
    assert.deepEqual(
      output.filter((l) => l.stream === 'stderr').map((l) => l.line),
      ['oops'],
    );
  });

  test('passes env on top of process.env', T, async () => {
    const sup = makeSupervisor();
    sup.start({
      name: 'env',
      command: node,
      args: ['-e', "console.log(process.env.FACESHARD_TEST_VAR + ':' + (process.env.PATH ? 'path' : 'nopath')); setInterval(() => {}, 1000)"],
      env: { FACESHARD_TEST_VAR: 'hello' },
    });
    await until('a line', () => (output.length >= 1 ? true : undefined), 5_000, 10);
    assert.equal(output[0].line, 'hello:path');
  });

  test('stop() terminates every child, exposes pids before, and resolves once they exited', T, async () => {
    const sup = makeSupervisor();
    sup.start({ name: 'a', command: node, args: ['-e', RUN_FOREVER] });
    sup.start({ name: 'b', command: node, args: ['-e', RUN_FOREVER] });
    await until('both ready', () => (output.filter((l) => l.line === 'ready').length === 2 ? true : undefined), 5_000, 10);

    const before = sup.children();
    assert.deepEqual(
      before.map((c) => [c.name, c.status, c.restarts]),
      [
        ['a', 'running', 0],
        ['b', 'running', 0],
      ],
    );
    const pids = before.map((c) => c.pid);
    assert.ok(pids.every((pid) => typeof pid === 'number' && isAlive(pid)));

    await sup.stop(5_000);
    assert.ok(
      pids.every((pid) => !isAlive(pid as number)),
      'children still alive after stop()',
    );
    assert.deepEqual(exits.map((e) => [e.name, e.signal, e.requested]).sort(), [
      ['a', 'SIGTERM', true],
      ['b', 'SIGTERM', true],
    ]);
    assert.deepEqual(
      sup.children().map((c) => [c.status, c.pid]),
      [
        ['exited', undefined],
        ['exited', undefined],
      ],
    );
    assert.equal(restarts.length, 0);
  });

  test('SIGKILLs a child that ignores SIGTERM once the timeout passes', T, async () => {
    const sup = makeSupervisor();
    sup.start({ name: 'stubborn', command: node, args: ['-e', IGNORE_SIGTERM] });
    // Wait until its SIGTERM handler is installed, or the signal would simply kill it.
    await until('ready', () => (output.some((l) => l.line === 'ready') ? true : undefined), 5_000, 10);
    const pid = sup.children()[0].pid as number;

    const started = Date.now();
    await sup.stop(300);
    const tookMs = Date.now() - started;

    assert.ok(!isAlive(pid));
    assert.ok(tookMs >= 290, `stop() resolved after ${tookMs} ms, before the SIGTERM timeout`);
    assert.ok(
      output.some((l) => l.line === 'ignoring SIGTERM'),
      'the child never saw SIGTERM',
    );
    assert.deepEqual(
      exits.map((e) => [e.name, e.signal, e.requested]),
      [['stubborn', 'SIGKILL', true]],
    );
    assert.ok(log.entries.some((e) => e.msg.includes('SIGKILL') && e.fields?.name === 'stubborn'));
  });

  test('does not restart a child that exits during or after stop()', T, async () => {
    const sup = makeSupervisor();
    // Exits with code 1 on SIGTERM: an exit code that would normally trigger a restart.
    sup.start({
      name: 'fails-on-term',
      command: node,
      args: ['-e', "process.on('SIGTERM', () => process.exit(1)); console.log('ready'); setInterval(() => {}, 1000)"],
    });
    await until('ready', () => (output.some((l) => l.line === 'ready') ? true : undefined), 5_000, 10);
    await sup.stop(2_000);
    await sleep(150); // longer than any backoff delay in this test
    assert.deepEqual(
      exits.map((e) => [e.code, e.requested]),
      [[1, true]],
    );
    assert.equal(restarts.length, 0);
    assert.equal(log.entries.filter((e) => e.msg === 'child started').length, 1);
    assert.throws(() => sup.start({ name: 'late', command: node, args: ['-e', RUN_FOREVER] }), /stopping/);
  });

  test('stop() during a backoff wait cancels the pending restart', T, async () => {
    const sup = makeSupervisor({ backoff: { initialMs: 200, maxMs: 200 } });
    sup.start({ name: 'crasher', command: node, args: ['-e', EXIT_1] });
    await until('first restart scheduled', () => (restarts.length === 1 ? true : undefined), 5_000, 10);
    assert.equal(sup.children()[0].status, 'waiting-to-restart');
    await sup.stop(1_000);
    await sleep(300);
    assert.equal(log.entries.filter((e) => e.msg === 'child started').length, 1, 'respawned after stop()');
    assert.equal(sup.children()[0].status, 'exited');
  });

  test('restart: false leaves an exited child down', T, async () => {
    const sup = makeSupervisor();
    sup.start({ name: 'once', command: node, args: ['-e', EXIT_1], restart: false });
    await until('exit', () => (exits.length === 1 ? true : undefined), 5_000, 10);
    await sleep(100);
    assert.equal(restarts.length, 0);
    assert.deepEqual(
      sup.children().map((c) => c.status),
      ['exited'],
    );
  });

  test('a command that cannot be spawned is logged and retried with backoff', T, async () => {
    const sup = makeSupervisor();
    sup.start({ name: 'ghost', command: '/nonexistent/faceshard-no-such-binary' });
    await until('two restarts', () => (restarts.length >= 2 ? true : undefined), 5_000, 10);
    assert.equal(restarts[0].pid, undefined);
    assert.ok(log.entries.some((e) => e.level === 'error' && e.msg === 'child could not be spawned'));
  });

  test('refuses two children with the same name', T, async () => {
    const sup = makeSupervisor();
    sup.start({ name: 'dup', command: node, args: ['-e', RUN_FOREVER] });
    assert.throws(() => sup.start({ name: 'dup', command: node, args: ['-e', RUN_FOREVER] }), /already supervised/);
  });
});

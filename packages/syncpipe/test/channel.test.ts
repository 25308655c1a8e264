import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SyncChannel, SyncChannelError } from '../src/index.js';

// SyncChannel takes a raw fd. Node gives a test process no raw socketpair, but a child spawned
// with a 'pipe' stdio gets one: so the helper (fixtures/helper.mjs) is spawned with a socketpair on
// fd 3, and the parent (fixtures/parent.mjs, running SyncChannel) gets the other end as its fd 3.
// Both run the sources of this package and of @nsinit/native (the codec), transpiled once into a
// temp dir.

const here = path.dirname(fileURLToPath(import.meta.url));
const helperScript = path.join(here, 'fixtures', 'helper.mjs');
const parentScript = path.join(here, 'fixtures', 'parent.mjs');
const failure = { opIndex: 7, opcode: 3, errno: 2, detail: 'mount proc on /proc' };

let buildDir = '';
let moduleUrl = '';
let nativeUrl = '';

/** Transpiles every .ts file of `from` into `to`, pointing imports of @nsinit/native at `nativeEntry`. */
async function transpileDir(from: string, to: string, nativeEntry?: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const name of await readdir(from)) {
    if (!name.endsWith('.ts')) continue;
    const source = await readFile(path.join(from, name), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
      fileName: name,
    });
    const linked = nativeEntry ? outputText.replaceAll("'@nsinit/native'", `'${nativeEntry}'`) : outputText;
    await writeFile(path.join(to, name.replace(/\.ts$/, '.js')), linked);
  }
}

beforeAll(async () => {
  buildDir = await mkdtemp(path.join(os.tmpdir(), 'nsinit-syncpipe-test-'));
  await transpileDir(path.join(here, '..', '..', '..', 'native', 'lib'), path.join(buildDir, 'native'));
  await transpileDir(path.join(here, '..', 'src'), buildDir, './native/index.js');
  await writeFile(path.join(buildDir, 'package.json'), '{ "type": "module" }\n');
  moduleUrl = pathToFileURL(path.join(buildDir, 'index.js')).href;
  nativeUrl = pathToFileURL(path.join(buildDir, 'native', 'index.js')).href;
});

afterAll(async () => {
  await rm(buildDir, { recursive: true, force: true });
});

interface ParentEvent {
  event:
    | 'report'
    | 'report-error'
    | 'ready'
    | 'ready-error'
    | 'pid'
    | 'pid-error'
    | 'go-returned'
    | 'go-threw'
    | 'blocking'
    | 'closed';
  report?: unknown;
  result?: unknown;
  pid?: number | null;
  error?: { name: string; code: string; message: string; causeCode?: string };
}

function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return once(child, 'exit').then(([code]) => code as number | null);
}

class Pair {
  readonly received: ParentEvent[] = [];
  readonly #waiting: Array<(event: ParentEvent) => void> = [];
  helperOutput = '';
  readonly helperExit: Promise<number | null>;

  constructor(
    readonly helper: ChildProcess,
    readonly parent: ChildProcess,
  ) {
    this.helperExit = exited(helper);
    helper.stdout!.setEncoding('utf8').on('data', (text: string) => {
      this.helperOutput += text;
    });
    createInterface({ input: parent.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as ParentEvent;
      const waiter = this.#waiting.shift();
      if (waiter) waiter(event);
      else this.received.push(event);
    });
  }

  static start(scenario: string): Pair {
    const helper = spawn(process.execPath, [helperScript, nativeUrl, scenario], {
      stdio: ['pipe', 'pipe', 'inherit', 'pipe'],
    });
    const parentEnd = helper.stdio[3] as net.Socket;
    const parent = spawn(process.execPath, [parentScript, moduleUrl], {
      stdio: ['pipe', 'pipe', 'inherit', parentEnd],
    });
    // Our copy of the parent's end would read (steal) the child's bytes: drop it before the
    // helper, waiting for its first cue, touches the socket.
    parentEnd.destroy();
    const pair = new Pair(helper, parent);
    live.add(pair);
    return pair;
  }

  cueHelper(): void {
    this.helper.stdin!.write('x');
  }

  command(command: Record<string, unknown>): void {
    this.parent.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  next(): Promise<ParentEvent> {
    const event = this.received.shift();
    if (event) return Promise.resolve(event);
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async finish(): Promise<void> {
    this.parent.stdin!.end();
    this.helper.stdin!.end();
    await Promise.all([exited(this.parent), this.helperExit]);
    live.delete(this);
  }

  async kill(): Promise<void> {
    for (const child of [this.parent, this.helper]) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await Promise.all([exited(this.parent), this.helperExit]);
  }
}

const live = new Set<Pair>();

afterEach(async () => {
  await Promise.all([...live].map((pair) => pair.kill()));
  live.clear();
});

describe('SyncChannel with a helper on the other end', () => {
  it('delivers the context as the go signal and reads EOF as "exec\'d"', async () => {
    const pair = Pair.start('exec');
    pair.cueHelper();
    pair.command({ op: 'await' });
    pair.command({ op: 'go', context: { veth_host: 'vethA1', veth_child: 'vethB2' } });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    expect(await pair.next()).toEqual({ event: 'report', report: null });
    await pair.finish();
    expect(await pair.helperExit).toBe(0);
    expect(JSON.parse(pair.helperOutput)).toEqual({ veth_host: 'vethA1', veth_child: 'vethB2' });
  });

  it('reports the error frame the helper writes after the go signal', async () => {
    const pair = Pair.start('fail-after-go');
    pair.cueHelper();
    pair.command({ op: 'go', context: {} });
    pair.command({ op: 'await' });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    expect(await pair.next()).toEqual({ event: 'report', report: failure });
    await pair.finish();
    expect(await pair.helperExit).toBe(1);
  });

  it('reads a report sent before the go signal, and go() still returns', async () => {
    const pair = Pair.start('fail-before-go');
    pair.command({ op: 'await' });
    pair.cueHelper();
    expect(await pair.next()).toEqual({ event: 'report', report: failure });
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    await pair.finish();
  });

  it('keeps an unread early report when the go frame then meets a closed socket (EPIPE)', async () => {
    const pair = Pair.start('fail-before-go');
    pair.command({ op: 'go', context: {}, blockMs: 2000 });
    expect(await pair.next()).toEqual({ event: 'blocking' });
    pair.cueHelper();
    expect(await pair.helperExit).toBe(1);
    // The helper reported and exited while the parent could not read: its bytes are unread.
    expect(pair.received).toEqual([]);
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await' });
    expect(await pair.next()).toEqual({ event: 'report', report: failure });
    await pair.finish();
  }, 10_000);

  it('rejects when the helper died before the go signal without a report', async () => {
    const pair = Pair.start('die-before-go');
    pair.cueHelper();
    expect(await pair.helperExit).toBe(137);
    // Awaited before go(): the end closed without a word, which is all that is known yet.
    pair.command({ op: 'await' });
    expect(await pair.next()).toEqual({ event: 'report', report: null });
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await' });
    const { event, error } = await pair.next();
    expect(event).toBe('report-error');
    expect(error?.code).toBe('ERR_NSINIT_SYNC_CHANNEL');
    expect(error?.causeCode).toBe('EPIPE');
    expect(error?.message).toMatch(/closed the sync channel before the go frame was delivered \(EPIPE\)/);
    await pair.finish();
  });

  it('rejects with ECONNRESET when the helper dies with the go frame unread', async () => {
    const pair = Pair.start('die-with-go-unread');
    pair.cueHelper();
    pair.command({ op: 'go', context: { a: 'b' } });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await' });
    pair.cueHelper();
    const { event, error } = await pair.next();
    expect(event).toBe('report-error');
    expect(error?.code).toBe('ERR_NSINIT_SYNC_CHANNEL');
    expect(error?.causeCode).toBe('ECONNRESET');
    await pair.finish();
  });

  it('still returns a complete report that the connection reset follows', async () => {
    const pair = Pair.start('fail-with-go-unread');
    pair.cueHelper();
    pair.command({ op: 'go', context: { a: 'b' } });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await' });
    pair.cueHelper();
    expect(await pair.next()).toEqual({ event: 'report', report: failure });
    await pair.finish();
  });

  it.each([
    ['garbage', /bad magic 0x74686973, expected "NSSP"/],
    ['truncated', /truncated frame: the header announces 35 payload bytes, only 8 follow/],
    // Refused at its first bytes, long before it could fill memory.
    ['flood', /at byte offset 0: bad magic 0x41414141/],
    ['trailing', /12 trailing bytes after the ERROR frame/],
  ])('rejects a helper that sends %s', async (scenario, message) => {
    const pair = Pair.start(scenario);
    pair.cueHelper();
    pair.command({ op: 'await' });
    pair.command({ op: 'go', context: {} });
    const events = [await pair.next(), await pair.next()];
    const rejection = events.find((event) => event.event === 'report-error');
    expect(rejection?.error?.code).toBe('ERR_NSINIT_SYNC_PROTOCOL');
    expect(rejection?.error?.message).toMatch(message);
    await pair.finish();
  });

  it('sends nothing for a context it cannot encode, so a corrected go() still works', async () => {
    const pair = Pair.start('exec');
    pair.cueHelper();
    pair.command({ op: 'go', context: { path: 'with\0nul' } });
    const refused = await pair.next();
    expect(refused.event).toBe('go-threw');
    expect(refused.error?.code).toBe('ERR_NSINIT_SYNC_ENCODE');
    pair.command({ op: 'go', context: { path: '/ok' } });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await' });
    expect(await pair.next()).toEqual({ event: 'report', report: null });
    await pair.finish();
    expect(JSON.parse(pair.helperOutput)).toEqual({ path: '/ok' });
  });

  it('refuses a second go(), stops waiting on abort, and rejects waiters once closed', async () => {
    const pair = Pair.start('hold');
    pair.cueHelper();
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'go', context: {} });
    const second = await pair.next();
    expect(second.error?.message).toMatch(/already called/);

    pair.command({ op: 'await', abortAfterMs: 50 });
    const aborted = await pair.next();
    expect(aborted.error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });

    pair.command({ op: 'await' });
    pair.command({ op: 'close' });
    const closedEvents = [await pair.next(), await pair.next()];
    expect(closedEvents).toContainEqual({ event: 'closed' });
    const pending = closedEvents.find((event) => event.event === 'report-error');
    expect(pending?.error?.message).toMatch(/closed before the child's report/);

    pair.command({ op: 'close' });
    expect(await pair.next()).toEqual({ event: 'closed' });
    pair.command({ op: 'go', context: {} });
    expect((await pair.next()).error?.message).toMatch(/after close\(\)/);
    await pair.finish();
  });
});

describe('SyncChannel with the PID and READY frames', () => {
  it('resolves the pid and READY as they arrive, with the socket still open, then the report at EOF', async () => {
    const pair = Pair.start('pid-ready-exec');
    pair.command({ op: 'await-pid' });
    pair.command({ op: 'await-ready' });
    pair.command({ op: 'await' });
    pair.cueHelper();
    expect(await pair.next()).toEqual({ event: 'pid', pid: 4242 });
    expect(await pair.next()).toEqual({ event: 'ready', result: { ready: true } });
    // The helper waits for its second cue: the report cannot have settled yet.
    expect(pair.received).toEqual([]);
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.cueHelper();
    expect(await pair.next()).toEqual({ event: 'report', report: null });
    // Asked again after the end: what arrived is still the answer.
    pair.command({ op: 'await-pid' });
    expect(await pair.next()).toEqual({ event: 'pid', pid: 4242 });
    await pair.finish();
  });

  it('gives READY, then the error that follows it', async () => {
    const pair = Pair.start('ready-then-fail');
    pair.cueHelper();
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await-ready' });
    expect(await pair.next()).toEqual({ event: 'ready', result: { ready: true } });
    pair.command({ op: 'await' });
    pair.cueHelper();
    expect(await pair.next()).toEqual({ event: 'report', report: failure });
    await pair.finish();
  });

  it('resolves awaitReady with the report, and awaitChildPid with null, at an end without them', async () => {
    const pair = Pair.start('fail-after-go');
    pair.command({ op: 'await-ready' });
    pair.command({ op: 'await-pid' });
    pair.cueHelper();
    pair.command({ op: 'go', context: {} });
    const events = [await pair.next(), await pair.next(), await pair.next()];
    expect(events).toContainEqual({ event: 'ready', result: { ready: false, report: failure } });
    expect(events).toContainEqual({ event: 'pid', pid: null });
    await pair.finish();
  });

  it('gives the pid and the error of the process that goes on', async () => {
    const pair = Pair.start('pid-then-fail');
    pair.cueHelper();
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await-pid' });
    expect(await pair.next()).toEqual({ event: 'pid', pid: 4242 });
    pair.command({ op: 'await-ready' });
    expect(await pair.next()).toEqual({ event: 'ready', result: { ready: false, report: failure } });
    await pair.finish();
  });

  it('keeps a READY frame that came, but rejects the report when a PID frame follows it', async () => {
    const pair = Pair.start('out-of-order');
    pair.cueHelper();
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await' });
    const rejected = await pair.next();
    expect(rejected.event).toBe('report-error');
    expect(rejected.error?.code).toBe('ERR_NSINIT_SYNC_PROTOCOL');
    expect(rejected.error?.message).toMatch(/got type 3 \(PID\) after the READY frame/);
    pair.command({ op: 'await-ready' });
    expect(await pair.next()).toEqual({ event: 'ready', result: { ready: true } });
    pair.command({ op: 'await-pid' });
    expect((await pair.next()).event).toBe('pid-error');
    await pair.finish();
  });

  it('stops waiting for READY on abort, and rejects a pending wait on close', async () => {
    const pair = Pair.start('hold');
    pair.cueHelper();
    pair.command({ op: 'go', context: {} });
    expect(await pair.next()).toEqual({ event: 'go-returned' });
    pair.command({ op: 'await-ready', abortAfterMs: 50 });
    const aborted = await pair.next();
    expect(aborted.event).toBe('ready-error');
    expect(aborted.error).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    expect(aborted.error?.message).toMatch(/stopped waiting for the child's READY frame/);
    pair.command({ op: 'await-pid' });
    pair.command({ op: 'close' });
    const closed = [await pair.next(), await pair.next()];
    expect(closed).toContainEqual({ event: 'closed' });
    expect(closed.find((event) => event.event === 'pid-error')?.error?.code).toBe('ERR_NSINIT_SYNC_CHANNEL');
    await pair.finish();
  });
});

describe('SyncChannel construction', () => {
  it('refuses an fd that is not a socket, leaving it open', () => {
    const fd = openSync(fileURLToPath(import.meta.url), 'r');
    try {
      expect(() => new SyncChannel(fd)).toThrow(SyncChannelError);
      expect(() => new SyncChannel(fd)).toThrow(/is not a socket/);
    } finally {
      closeSync(fd);
    }
  });

  it('refuses an fd that is not open and a value that is no fd', () => {
    // A number far above any fd this process opens (closing a real one could race its reuse).
    expect(() => new SyncChannel(999_999)).toThrow(/fd 999999 is not usable as the sync channel: EBADF/);
    expect(() => new SyncChannel(-1)).toThrow(/needs a file descriptor number/);
    expect(() => new SyncChannel(2.5)).toThrow(SyncChannelError);
  });
});

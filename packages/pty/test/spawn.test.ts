// spawn(): host commands on their own pty through the init helper.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InitError, type PtySpawnOptions, spawn } from '../src/index.js';
import { openFdCount, Processes, readToEnd, readUntil } from './helpers.js';

const processes = new Processes();
let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'nsinit-pty-spawn-')));
});
afterEach(async () => {
  await processes.cleanUp();
  rmSync(dir, { recursive: true, force: true });
});

const env = { PATH: '/usr/bin:/bin' };
function run(script: string, options: PtySpawnOptions = {}) {
  return processes.track(spawn('sh', ['-c', script], { env, ...options }));
}

/** The pts number in a slave name. */
const ptsNumber = (slaveName: string) => Number(slaveName.slice('/dev/pts/'.length));

describe('the terminal', () => {
  it('runs `stty size; tty` on a pty of the size asked for', async () => {
    const child = run('stty size; tty', { cols: 100, rows: 30 });
    const [output, status] = await Promise.all([readToEnd(child), child.wait()]);
    expect(output.toString()).toBe(`30 100\r\n${child.slaveName}\r\n`);
    expect(status).toEqual({ code: 0, signal: null, status: 0, oomKilled: false });
  });

  it('makes the command a session leader with the pty as its controlling terminal', async () => {
    // /proc/<pid>/stat: pid (comm) state ppid pgrp session tty_nr
    const child = run('cut -d" " -f1,5,6,7 /proc/$$/stat');
    const fields = (await readToEnd(child)).toString().trim().split(' ').map(Number);
    const tty = ptsNumber(child.slaveName);
    const ttyNr = (tty & 0xff) | (136 << 8) | ((tty & ~0xff) << 12);
    expect(fields).toEqual([child.pid, child.pid, child.pid, ttyNr]);
  });

  it('turns ^C into SIGINT for the command', async () => {
    const child = processes.track(spawn('cat', [], { env }));
    child.write('\x03');
    expect(await child.wait()).toMatchObject({ signal: 'SIGINT', status: 130 });
  });

  it('runs typed input through the shell and echoes it', async () => {
    const child = processes.track(spawn('sh', [], { env: { ...env, PS1: '$ ' } }));
    child.write('echo $((6 * 7))\n');
    // The echo of the typed line, then the shell's answer (prompts come whenever the shell is ready).
    const output = await readUntil(child, /\b42\r\n/);
    expect(output.replaceAll('$ ', '')).toMatch(/^echo \$\(\(6 \* 7\)\)\r\n42\r\n/);
    child.write('exit 3\n');
    expect((await child.wait()).code).toBe(3);
  });

  it('resizes: the command gets SIGWINCH and sees the new size', async () => {
    const child = run(
      'trap "stty size" WINCH; echo ready; i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done',
    );
    await readUntil(child, /ready\r\n/);
    child.resize(120, 40);
    expect(await readUntil(child, /40 120\r\n/)).toBe('40 120\r\n');
    expect([child.cols, child.rows]).toEqual([120, 40]);
  });
});

describe('what the command gets', () => {
  it('runs in cwd with exactly the environment given, TERM from `name`', async () => {
    const child = run('pwd; echo "$TERM $GREETING"; [ -z "$HOME" ] && echo no-home', {
      cwd: dir,
      env: { ...env, GREETING: 'hello', HOME: undefined },
      name: 'vt100',
    });
    expect((await readToEnd(child)).toString()).toBe(`${dir}\r\nvt100 hello\r\nno-home\r\n`);
  });

  it('defaults TERM to the environment, then xterm-256color', async () => {
    const inherited = run('echo $TERM', { env: { ...env, TERM: 'screen' } });
    expect((await readToEnd(inherited)).toString()).toBe('screen\r\n');
    const fallback = run('echo $TERM');
    expect((await readToEnd(fallback)).toString()).toBe('xterm-256color\r\n');
  });

  it('gets only fds 0, 1 and 2, and no signal ignored or blocked from Node', async () => {
    const child = run('ls /proc/self/fd | tr "\\n" " "; grep -E "^Sig(Ign|Blk)" /proc/self/status');
    const output = (await readToEnd(child)).toString();
    // `ls` adds its own fd (3) for the directory it reads.
    expect(output).toBe('0 1 2 3 SigBlk:\t0000000000000000\r\nSigIgn:\t0000000000000000\r\n');
  });
});

describe('exit', () => {
  it('reports exit codes and signals in the shell convention', async () => {
    expect(await run('exit 7').wait()).toEqual({ code: 7, signal: null, status: 7, oomKilled: false });
    const killed = run('exec sleep 30');
    expect(killed.kill('SIGTERM')).toBe(true);
    expect(await killed.wait()).toEqual({ code: null, signal: 'SIGTERM', status: 143, oomKilled: false });
    expect(killed.kill()).toBe(false);
    expect(killed.exitStatus).toMatchObject({ status: 143 });
  });

  it('sends SIGHUP by default, and the command gets it when the stream is destroyed', async () => {
    const hungUp = run('exec sleep 30');
    hungUp.kill();
    expect((await hungUp.wait()).signal).toBe('SIGHUP');

    const destroyed = run('exec sleep 30');
    destroyed.destroy();
    expect((await destroyed.wait()).signal).toBe('SIGHUP');
  });

  it('rejects unknown signals', () => {
    const child = run('exec sleep 30');
    expect(() => child.kill('SIGNOPE' as NodeJS.Signals)).toThrow(/unknown signal SIGNOPE/);
    expect(() => child.kill(65)).toThrow(TypeError);
  });

  it('emits exit after the output, and offers node-pty style listeners', async () => {
    const child = run('echo out; exit 4');
    const events: string[] = [];
    const data = child.onData((chunk) => events.push(`data ${chunk.toString().trim()}`));
    child.onExit((status) => events.push(`exit ${status.code}`));
    const ignored = child.onExit(() => events.push('disposed listener'));
    ignored.dispose();
    await child.wait();
    data.dispose();
    expect(events).toEqual(['data out', 'exit 4']);
    const late = await new Promise((resolve) => child.onExit(resolve));
    expect(late).toMatchObject({ code: 4 });
  });
});

describe('no output lost', () => {
  it('has all the output in the stream when wait() resolves', async () => {
    const expected = execFileSync('seq', ['1', '200000'], { maxBuffer: 16 << 20 })
      .toString()
      .replaceAll('\n', '\r\n');
    const child = processes.track(spawn('seq', ['1', '200000'], { env }));
    let received = '';
    child.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    await child.wait();
    expect(received.length).toBe(expected.length);
    expect(received === expected).toBe(true);
  });

  it('keeps the output of a command nobody reads, buffered in the stream', async () => {
    const child = run('echo unread');
    await child.wait();
    expect(child.read()?.toString()).toBe('unread\r\n');
  });

  it('resolves wait() even while another process still holds the terminal', async () => {
    // The background process ignores SIGHUP (which the shell's exit sends) before the shell exits.
    const mark = join(dir, 'ignoring-hup');
    const child = run(
      `(trap "" HUP; touch "${mark}"; exec sleep 30) & while [ ! -e "${mark}" ]; do sleep 0.01; done; echo "$!"; echo done`,
    );
    await child.wait();
    expect(child.terminalEnded).toBe(false);
    const [pid, done] = (child.read() as Buffer).toString().split('\r\n');
    expect(done).toBe('done');
    const ended = readToEnd(child);
    process.kill(Number(pid), 'SIGKILL');
    await ended;
    expect(child.terminalEnded).toBe(true);
  });
});

describe('a command that cannot run', () => {
  it('throws a typed error for a missing command, leaving nothing behind', async () => {
    const before = openFdCount();
    const error = (() => {
      try {
        spawn('nsinit-no-such-command', [], { env });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InitError);
    expect(error).toMatchObject({
      code: 'ERR_NSINIT_COMMAND_NOT_FOUND',
      op: 'exec',
      errno: 2,
      errnoCode: 'ENOENT',
    });
    expect((error as Error).message).toMatch(
      /^spawn "nsinit-no-such-command" on \/dev\/pts\/\d+: cannot run "nsinit-no-such-command": not found in \$PATH \(ENOENT\); check the command and the PATH of options.env$/,
    );
    // The helper is reaped and its pidfd closed right after.
    await vi.waitFor(() => expect(openFdCount()).toBe(before));
  });

  it('says permission denied for a file that is not executable', () => {
    const script = join(dir, 'not-executable');
    writeFileSync(script, '#!/bin/sh\n');
    chmodSync(script, 0o644);
    expect(() => spawn(script, [], { env })).toThrow(
      expect.objectContaining({ code: 'ERR_NSINIT_COMMAND_NOT_FOUND', errnoCode: 'EACCES' }),
    );
  });

  it('names the failed step for other failures, e.g. a missing cwd', () => {
    const cwd = join(dir, 'missing');
    expect(() => spawn('sh', [], { env, cwd })).toThrow(
      expect.objectContaining({
        code: 'ERR_NSINIT_INIT_FAILED',
        op: 'chdir',
        errnoCode: 'ENOENT',
        detail: expect.stringContaining(cwd),
      }),
    );
  });

  it('rejects bad arguments before starting anything', () => {
    expect(() => spawn('', [])).toThrow(/file must be a non-empty string/);
    expect(() => spawn('sh', ['a\0b'])).toThrow(/args must be an array of strings/);
    expect(() => spawn('sh', [], { cols: 0 })).toThrow(/cols must be an integer/);
    expect(() => spawn('sh', [], { env: { 'A=B': 'x' } })).toThrow(/invalid entry "A=B"/);
  });
});

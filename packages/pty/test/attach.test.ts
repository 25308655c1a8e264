// Attaching a caller's terminal to a pty. The caller's terminal is itself a pty here:
// the test types on its master and reads the screen from it.
import { ReadStream, WriteStream } from 'node:tty';
import { duplicateFd, getTermios } from '@nsinit/native';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attachTerminal, openPty, type Pty, setRawMode, spawn } from '../src/index.js';
import { Processes, readUntil } from './helpers.js';

// <asm-generic/termbits.h> (x86-64, arm64).
const ICANON = 0o2;
const ECHO = 0o10;
const OPOST = 0o1;

const processes = new Processes();
const cleanup: (() => void)[] = [];
afterEach(async () => {
  await processes.cleanUp();
  for (const step of cleanup.splice(0).reverse()) step();
});

/** A terminal for the "caller": its master (what the user types and sees) and streams on its slave. */
function callerTerminal(): { screen: Pty; slave: number; input: ReadStream; output: WriteStream } {
  const screen = openPty({ cols: 90, rows: 33 });
  const slave = screen.slave!;
  const input = new ReadStream(duplicateFd({ fd: slave }));
  const output = new WriteStream(duplicateFd({ fd: slave }));
  cleanup.push(() => {
    input.destroy();
    output.destroy();
    screen.destroy();
  });
  return { screen, slave, input, output };
}

describe('setRawMode', () => {
  it('makes the terminal fully raw (output processing too) and restores it once', () => {
    const { slave } = callerTerminal();
    const before = getTermios({ fd: slave });
    const exitListeners = process.listenerCount('exit');
    const restore = setRawMode(slave);
    const raw = getTermios({ fd: slave });
    expect(raw.lflag & (ICANON | ECHO)).toBe(0);
    expect(raw.oflag & OPOST).toBe(0);
    expect(process.listenerCount('exit')).toBe(exitListeners + 1);
    restore();
    restore();
    expect(getTermios({ fd: slave })).toEqual(before);
    expect(process.listenerCount('exit')).toBe(exitListeners);
  });
});

describe('attachTerminal', () => {
  it('pumps both ways in raw mode, follows resizes, and restores the terminal when the pty ends', async () => {
    const { screen, slave, input, output } = callerTerminal();
    const settings = getTermios({ fd: slave });
    const shell = processes.track(spawn('sh', [], { env: { PATH: '/usr/bin:/bin', PS1: '$ ' } }));
    const attachment = attachTerminal(shell, { input, output, terminal: slave });

    // The caller's size, copied at start; raw mode on the caller's side.
    expect(shell.size).toEqual({ cols: 90, rows: 33 });
    expect(getTermios({ fd: slave }).lflag & ICANON).toBe(0);

    // Typed on the caller's terminal (Enter sends CR), run in the shell, shown on the caller's screen.
    screen.write('echo $((40 + 2))\r');
    expect(await readUntil(screen, /\b42\r\n/)).toContain('echo $((40 + 2))');

    // SIGWINCH on the caller's side: the pty follows.
    screen.resize(120, 40);
    process.kill(process.pid, 'SIGWINCH');
    await vi.waitFor(() => expect(shell.size).toEqual({ cols: 120, rows: 40 }));

    screen.write('exit 5\r');
    expect((await shell.wait()).code).toBe(5);
    await attachment.finished;
    expect(getTermios({ fd: slave })).toEqual(settings);
  });

  it('leaves the caller alone once detached', async () => {
    const { screen, slave, input, output } = callerTerminal();
    const settings = getTermios({ fd: slave });
    const shell = processes.track(spawn('sh', [], { env: { PATH: '/usr/bin:/bin' } }));
    const attachment = attachTerminal(shell, { input, output, terminal: slave });
    attachment.detach();
    expect(getTermios({ fd: slave })).toEqual(settings);
    expect(process.listenerCount('SIGWINCH')).toBe(0);
    screen.resize(100, 30);
    process.kill(process.pid, 'SIGWINCH');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(shell.size).toEqual({ cols: 90, rows: 33 });
  });

  it('attaches non-terminal streams without raw mode or resizing', async () => {
    const { PassThrough } = await import('node:stream');
    const input = new PassThrough();
    const output = new PassThrough();
    const child = processes.track(
      spawn('sh', ['-c', 'read line; echo "got $line"'], { env: { PATH: '/usr/bin:/bin' } }),
    );
    const attachment = attachTerminal(child, { input, output });
    input.write('hello\n');
    const seen = readUntil(output, /got hello\r\n/);
    await child.wait();
    await attachment.finished;
    expect(await seen).toContain('got hello\r\n');
  });
});

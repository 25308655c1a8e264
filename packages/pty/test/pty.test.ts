// A pty pair as a stream: output, input, resize, the EIO end, readPending, and fds.
import { readSync, writeSync } from 'node:fs';
import {
  getTermios,
  getWindowSize,
  makeRawTermios,
  openPty as openPtyPair,
  setNonBlocking,
  setTermios,
} from '@nsinit/native';
import { afterEach, describe, expect, it } from 'vitest';
import { openPty, Pty, PtyError } from '../src/index.js';
import { openFdCount, readToEnd, readUntil } from './helpers.js';

const opened: Pty[] = [];
function pty(options?: { cols?: number; rows?: number }): Pty {
  const created = openPty(options);
  opened.push(created);
  return created;
}
afterEach(() => {
  for (const created of opened.splice(0)) created.destroy();
});

/** No echo, no line discipline on the slave: bytes pass as they are. */
function makeSlaveRaw(created: Pty): number {
  const slave = created.slave!;
  setTermios({ fd: slave, termios: makeRawTermios({ termios: getTermios({ fd: slave }) }) });
  return slave;
}

describe('output', () => {
  it('reads what the slave side writes, and ends (no error) once the slave is closed', async () => {
    const created = pty();
    const errors: Error[] = [];
    created.on('error', (error) => errors.push(error));
    writeSync(created.slave!, 'first line\nsecond line\n');
    created.closeSlave();
    expect((await readToEnd(created)).toString()).toBe('first line\r\nsecond line\r\n');
    expect(created.terminalEnded).toBe(true);
    expect(errors).toEqual([]);
  });

  it('reads everything queued, more than one read of the line discipline (4 KiB) returns', async () => {
    const created = pty();
    const slave = makeSlaveRaw(created);
    // Within what the pty's flip buffer takes at once (8 KiB), so the blocking write returns.
    const written = Buffer.alloc(6000, 'abcdefghij');
    writeSync(slave, written);
    created.closeSlave();
    expect((await readToEnd(created)).equals(written)).toBe(true);
  });

  it('readPending() takes what is queued into the stream without a consumer, past the high-water mark', async () => {
    const pair = openPtyPair();
    const created = new Pty(pair, { readableHighWaterMark: 1024 });
    opened.push(created);
    const slave = makeSlaveRaw(created);
    writeSync(slave, Buffer.alloc(6000, 'x'));
    expect(created.readPending()).toBe(false);
    expect(created.readableLength).toBe(6000);
    created.closeSlave();
    expect(created.readPending()).toBe(true);
    expect((await readToEnd(created)).length).toBe(6000);
  });
});

describe('input', () => {
  it('sends what is written to the slave side as typed input, echoed back by the line discipline', async () => {
    const created = pty();
    created.write('echo me\n');
    expect(await readUntil(created, /echo me\r\n/)).toBe('echo me\r\n');
    const buffer = Buffer.alloc(64);
    expect(buffer.subarray(0, readSync(created.slave!, buffer)).toString()).toBe('echo me\n');
  });

  it('holds writes back while the slave side does not read, and delivers every byte once it does', async () => {
    const created = pty();
    const slave = makeSlaveRaw(created);
    setNonBlocking({ fd: slave, nonBlocking: true });
    const input = Buffer.alloc(1 << 20);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7) % 251;

    expect(created.write(input)).toBe(false);
    const drained = new Promise((resolve) => created.once('drain', resolve));
    const received: Buffer[] = [];
    let total = 0;
    const scratch = Buffer.alloc(65536);
    while (total < input.length) {
      // The slave side reads slowly: the pty fills up and the writer has to wait for room.
      await new Promise((resolve) => setTimeout(resolve, 1));
      for (;;) {
        let n: number;
        try {
          n = readSync(slave, scratch);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EAGAIN') break;
          throw error;
        }
        received.push(Buffer.from(scratch.subarray(0, n)));
        total += n;
      }
    }
    await drained;
    expect(Buffer.concat(received).equals(input)).toBe(true);
  });
});

describe('window size', () => {
  it('starts at 80x24 or the size asked for, and resizes what the slave side sees', () => {
    expect(pty().size).toEqual({ cols: 80, rows: 24 });
    const created = pty({ cols: 100, rows: 30 });
    expect([created.cols, created.rows]).toEqual([100, 30]);
    created.resize(132, 43);
    expect(getWindowSize({ fd: created.slave! })).toEqual({ cols: 132, rows: 43 });
    expect(created.size).toEqual({ cols: 132, rows: 43 });
    expect([created.cols, created.rows]).toEqual([132, 43]);
  });

  it('rejects sizes a terminal cannot have', () => {
    const created = pty();
    expect(() => created.resize(0, 24)).toThrow(/cols must be an integer from 1 to 65535/);
    expect(() => created.resize(80, 70_000)).toThrow(/rows must be an integer from 1 to 65535/);
    expect(() => openPty({ cols: 1.5 })).toThrow(TypeError);
  });
});

describe('ownership', () => {
  it('closes the master and the slave when destroyed; a closed pty cannot be resized', () => {
    const before = openFdCount();
    const created = openPty();
    expect(openFdCount()).toBe(before + 2);
    created.destroy();
    expect(openFdCount()).toBe(before);
    expect(() => created.resize(10, 10)).toThrow(
      expect.objectContaining({
        code: 'ERR_NSINIT_PTY_CLOSED',
        message: expect.stringContaining('the stream was destroyed'),
      }),
    );
    expect(() => created.resize(10, 10)).toThrow(PtyError);
  });

  it('closes the master, and the duplicate writes go to, once the terminal ends', async () => {
    const before = openFdCount();
    const created = openPty();
    created.write('x');
    created.closeSlave();
    await readToEnd(created);
    expect(openFdCount()).toBe(before);
    expect(() => created.size).toThrow(
      expect.objectContaining({ message: expect.stringContaining('the terminal ended') }),
    );
  });
});

// Passing fds over Unix sockets (the OCI console socket's protocol) and readiness waits.
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  acceptUnixSocket,
  cancelWaitFd,
  connectUnixSocket,
  getTermios,
  listenUnixSocket,
  makeRawTermios,
  openPty,
  receiveFd,
  sendFd,
  setTermios,
  socketPair,
  waitFd,
} from '../lib/index.js';

const O_CLOEXEC = 0o2000000;

let dir: string;
const opened = new Set<number>();
function own<T extends number>(fd: T): T {
  opened.add(fd);
  return fd;
}
function close(fd: number): void {
  if (opened.delete(fd)) closeSync(fd);
}
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-fdpass-'));
});
afterEach(() => {
  for (const fd of [...opened]) close(fd);
  rmSync(dir, { recursive: true, force: true });
});

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function rawPty() {
  const pty = openPty();
  own(pty.master);
  own(pty.slave);
  setTermios({ fd: pty.slave, termios: makeRawTermios({ termios: getTermios({ fd: pty.slave }) }) });
  return pty;
}

function readText(fd: number, bytes: number): string {
  const buffer = Buffer.alloc(bytes);
  let got = 0;
  while (got < bytes) got += readSync(fd, buffer, got, bytes - got, null);
  return buffer.toString();
}

describe('sendFd and receiveFd', () => {
  it('carries a pty master and the pts name; the received master works', async () => {
    const pty = rawPty();
    const [sender, receiver] = socketPair().map(own) as [number, number];
    expect(receiveFd({ socket: receiver })).toBeNull();

    sendFd({ socket: sender, fd: pty.master, payload: pty.slaveName });
    expect(await waitFd({ fd: receiver, events: 'readable' })).toBe(true);
    const received = receiveFd({ socket: receiver })!;
    own(received.fd);
    expect(received.payload.toString()).toBe(pty.slaveName);
    expect(received.fd).not.toBe(pty.master);
    const flags = Number.parseInt(
      /flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${received.fd}`, 'utf8'))![1]!,
      8,
    );
    expect(flags & O_CLOEXEC).not.toBe(0);

    // The sender's copy may go: the received one alone keeps the terminal.
    close(pty.master);
    writeSync(received.fd, 'through the received master');
    expect(readText(pty.slave, 27)).toBe('through the received master');
    writeSync(pty.slave, 'back');
    expect(readText(received.fd, 4)).toBe('back');
  });

  it('takes a Uint8Array payload and rejects an empty one', () => {
    const [sender, receiver] = socketPair().map(own) as [number, number];
    expect(() => sendFd({ socket: sender, fd: sender, payload: '' })).toThrow(/1 to 65536 bytes/);
    sendFd({ socket: sender, fd: sender, payload: new Uint8Array([1, 2, 3]) });
    const received = receiveFd({ socket: receiver })!;
    own(received.fd);
    expect([...received.payload]).toEqual([1, 2, 3]);
  });

  it('fails with ENOMSG for a message without an fd, or a peer that closes first', () => {
    const [sender, receiver] = socketPair().map(own) as [number, number];
    writeSync(sender, 'no fd here');
    expect(() => receiveFd({ socket: receiver })).toThrow(
      expect.objectContaining({
        code: 'ENOMSG',
        message: expect.stringContaining('10 bytes arrived without a file descriptor'),
      }),
    );
    close(sender);
    expect(() => receiveFd({ socket: receiver })).toThrow(
      expect.objectContaining({ code: 'ENOMSG', message: expect.stringContaining('closed the connection') }),
    );
  });

  it('refuses a message with several fds and closes every one of them', async () => {
    const path = join(dir, 'two-fds.sock');
    const listener = own(listenUnixSocket({ path }));
    // Python can send two fds in one message, which sendFd never does.
    const python = spawn(
      'python3',
      [
        '-c',
        'import socket,sys\ns=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1]);socket.send_fds(s,[b"x"],[0,1]);s.recv(1)',
        path,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const exited = new Promise((resolve) => python.on('close', resolve));
    try {
      while (!(await waitFd({ fd: listener, events: 'readable' })));
      const connection = own(acceptUnixSocket({ socket: listener })!);
      while (!(await waitFd({ fd: connection, events: 'readable' })));
      const before = openFds();
      expect(() => receiveFd({ socket: connection })).toThrow(
        expect.objectContaining({
          code: 'EBADMSG',
          message: expect.stringContaining('2 file descriptors, expected one'),
        }),
      );
      expect(openFds()).toBe(before);
      close(connection);
    } finally {
      python.kill();
      await exited;
    }
  });
});

describe('Unix socket paths', () => {
  it('listens, accepts and connects; accept returns null while nobody waits', async () => {
    const path = join(dir, 'console.sock');
    const listener = own(listenUnixSocket({ path }));
    expect(acceptUnixSocket({ socket: listener })).toBeNull();
    const client = own(connectUnixSocket({ path }));
    expect(await waitFd({ fd: listener, events: 'readable' })).toBe(true);
    const server = own(acceptUnixSocket({ socket: listener })!);
    writeSync(client, 'hello');
    expect(readText(server, 5)).toBe('hello');
  });

  it('names the path and the errno when it cannot connect or bind', () => {
    const missing = join(dir, 'nobody-listens');
    expect(() => connectUnixSocket({ path: missing })).toThrow(
      expect.objectContaining({
        code: 'ENOENT',
        syscall: 'connect',
        message: expect.stringContaining(missing),
      }),
    );
    const long = join(dir, 'x'.repeat(120));
    expect(() => connectUnixSocket({ path: long })).toThrow(
      expect.objectContaining({ code: 'ENAMETOOLONG' }),
    );
    const path = join(dir, 'taken.sock');
    own(listenUnixSocket({ path }));
    expect(() => listenUnixSocket({ path })).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind' }),
    );
  });
});

describe('waitFd', () => {
  it('resolves false when cancelled, allows one wait per fd, and a new one after', async () => {
    const [a, b] = socketPair().map(own) as [number, number];
    const pending = waitFd({ fd: a, events: 'readable' });
    expect(() => waitFd({ fd: a, events: 'readable' })).toThrow(expect.objectContaining({ code: 'EBUSY' }));
    expect(cancelWaitFd({ fd: a })).toBe(true);
    expect(await pending).toBe(false);
    expect(cancelWaitFd({ fd: a })).toBe(false);

    const next = waitFd({ fd: a, events: 'readable' });
    writeSync(b, 'x');
    expect(await next).toBe(true);
    expect(await waitFd({ fd: b, events: 'writable' })).toBe(true);
  });

  it('wakes up for a peer that hangs up', async () => {
    const [a, b] = socketPair().map(own) as [number, number];
    const pending = waitFd({ fd: a, events: 'readable' });
    close(b);
    expect(await pending).toBe(true);
    expect(readSync(a, Buffer.alloc(1))).toBe(0);
  });

  it('rejects bad options', () => {
    expect(() => waitFd({ fd: 0, events: 'both' as 'readable' })).toThrow(/'readable' or 'writable'/);
  });
});

// The OCI console socket: a runtime sends a pty master, a receiver gets a working one.
import { closeSync, existsSync, mkdtempSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectUnixSocket } from '@nsinit/native';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  adoptPtyMaster,
  ConsoleSocket,
  openPty,
  type Pty,
  PtyError,
  sendConsoleMaster,
} from '../src/index.js';
import { openFdCount, readUntil } from './helpers.js';

let dir: string;
let socketPath: string;
const cleanup: (() => void)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-console-socket-'));
  socketPath = join(dir, 'console.sock');
});
afterEach(() => {
  for (const step of cleanup.splice(0).reverse()) step();
  rmSync(dir, { recursive: true, force: true });
});

function listen(): ConsoleSocket {
  const socket = ConsoleSocket.listen(socketPath);
  cleanup.push(() => socket.close());
  return socket;
}

function track<T extends Pty>(pty: T): T {
  cleanup.push(() => pty.destroy());
  return pty;
}

describe('sending and receiving a console', () => {
  it('hands over a working master with its pts name', async () => {
    const receiver = listen();
    const sender = track(openPty());
    const accepted = receiver.accept();
    sendConsoleMaster(socketPath, sender);
    const received = await accepted;
    expect(received.slaveName).toBe(sender.slaveName);
    expect(received.master).not.toBe(sender.master);

    const terminal = track(adoptPtyMaster(received));
    writeSync(sender.slave!, 'from the container\n');
    expect(await readUntil(terminal, /container\r\n/)).toBe('from the container\r\n');
    terminal.write('typed by the engine\n');
    const buffer = Buffer.alloc(64);
    expect(buffer.subarray(0, readSync(sender.slave!, buffer)).toString()).toBe('typed by the engine\n');
  });

  it('serves several runtimes one after another', async () => {
    const receiver = listen();
    const first = track(openPty());
    const second = track(openPty());
    const accepts = [receiver.accept(), receiver.accept()];
    sendConsoleMaster(socketPath, first);
    sendConsoleMaster(socketPath, second);
    const received = await Promise.all(accepts);
    for (const terminal of received) closeSync(terminal.master);
    expect(received.map((terminal) => terminal.slaveName)).toEqual([first.slaveName, second.slaveName]);
  });

  it('removes the socket file and stops pending accepts on close', async () => {
    const receiver = ConsoleSocket.listen(socketPath);
    const before = openFdCount();
    const pending = receiver.accept();
    receiver.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_NSINIT_PTY_CLOSED' });
    expect(existsSync(socketPath)).toBe(false);
    expect(openFdCount()).toBe(before - 1);
  });

  it('stops waiting when the signal aborts, and stays usable', async () => {
    const receiver = listen();
    const controller = new AbortController();
    const pending = receiver.accept({ signal: controller.signal });
    controller.abort(new Error('enough'));
    await expect(pending).rejects.toThrow('enough');
    const sender = track(openPty());
    const next = receiver.accept();
    sendConsoleMaster(socketPath, sender);
    closeSync((await next).master);
  });
});

describe('failures', () => {
  it('names the socket when nobody listens there', () => {
    const error = (() => {
      try {
        sendConsoleMaster(socketPath, { master: 0, slaveName: '/dev/pts/0' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(PtyError);
    expect(error).toMatchObject({ code: 'ERR_NSINIT_PTY_CONSOLE_SOCKET' });
    expect((error as Error).message).toContain(`cannot connect to the console socket ${socketPath}`);
  });

  it('rejects a connection that closes without sending a master', async () => {
    const receiver = listen();
    const pending = receiver.accept();
    closeSync(connectUnixSocket({ path: socketPath }));
    await expect(pending).rejects.toMatchObject({
      code: 'ERR_NSINIT_PTY_CONSOLE_SOCKET',
      message: expect.stringContaining('without sending a file descriptor'),
    });
  });

  it('refuses to listen on a path that exists', () => {
    listen();
    expect(() => ConsoleSocket.listen(socketPath)).toThrow(
      expect.objectContaining({
        code: 'ERR_NSINIT_PTY_CONSOLE_SOCKET',
        message: expect.stringContaining('EADDRINUSE'),
      }),
    );
  });
});

// nsinit exec --tty, driven through a real pty: @nsinit/pty's spawn gives the CLI a
// terminal of its own (the "outer" one), as a user's terminal emulator would.
import { spawnSync } from 'node:child_process';
import { closeSync } from 'node:fs';
import { join } from 'node:path';
import { duplicateFd, getTermios, openPty } from '@nsinit/native';
import { adoptPtyMaster, ConsoleSocket, type PtyProcess, spawn } from '@nsinit/pty';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeBundle, nsinitAsync, requireRoot, scratch } from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;

beforeAll(() => {
  requireRoot();
  work = scratch('tty');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'), {
    ociVersion: '1.0.2',
    process: {
      terminal: true,
      args: ['sh'],
      cwd: '/',
      env: ['PATH=/bin', 'PS1=$ '],
      user: { uid: 0, gid: 0 },
    },
    root: { path: 'rootfs' },
    hostname: 'tty-test',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['newinstance', 'ptmxmode=0666', 'mode=0620'],
      },
    ],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }, { type: 'uts' }] },
  });
});
afterAll(() => work.cleanup());

/** The outer terminal's output, and a way to wait until it shows something. */
function screen(outer: PtyProcess) {
  let text = '';
  outer.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    get text() {
      return text;
    },
    async until(pattern: RegExp, what: string): Promise<RegExpMatchArray> {
      for (let waited = 0; waited < 10_000; waited += 10) {
        const match = pattern.exec(text);
        if (match) return match;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`never saw ${what}; the terminal shows ${JSON.stringify(text)}`);
    },
  };
}

describe('nsinit exec --tty', () => {
  it('runs an interactive shell on its console (/dev/pts/0 of its own devpts, bound at /dev/console): size follows resizes, ^C reaches the container, exit 7 gives 7', async () => {
    const outer = spawn(process.execPath, [CLI, '--root', stateRoot, 'exec', '--config', bundle.configPath], {
      cols: 100,
      rows: 30,
    });
    const out = screen(outer);
    await out.until(/\$ /, 'the prompt');
    // The console is a pty of the container's own devpts (as under runc), and /dev/console is it.
    outer.write('tty; stty size; ls /dev/pts; echo on-console > /dev/console\r');
    await out.until(
      /\/dev\/pts\/0\r\n30 100\r\n0 +ptmx\r\non-console\r\n/,
      'tty, the size, the devpts and /dev/console',
    );

    outer.resize(120, 40);
    await new Promise((resolve) => setTimeout(resolve, 100)); // SIGWINCH, then the copy onto the console
    outer.write('stty size\r');
    await out.until(/40 120\r\n/, 'the new size');

    // ^C is a byte for the console's line discipline: the container's foreground job gets SIGINT, not nsinit.
    outer.write(`sh -c 'trap "echo caught-int" INT; sleep 30; echo after'\r`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    outer.write('\x03');
    await out.until(/caught-int\r\nafter\r\n/, 'SIGINT caught in the container');

    outer.write('exit 7\r');
    expect(await outer.wait()).toMatchObject({ code: 7 });
  });

  it('runs in a terminal whose size was never set (0x0): the console keeps its default size', () => {
    // script(1) without a terminal of its own gives the command a pty of 0 columns and 0 rows.
    const command = `${process.execPath} ${CLI} --root ${stateRoot} exec --tty -- sh -c 'tty; stty size'`;
    const result = spawnSync('script', ['-qec', command, '/dev/null'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    expect(result.stdout).toMatch(/\/dev\/pts\/0\r\n/);
    expect(result.stdout).not.toContain('nsinit:');
    expect(result.stdout).toMatch(/\b24 80\r\n/);
    expect(result.status).toBe(0);
  });

  it('forwards signals to the container with a terminal too', async () => {
    const script = 'trap "echo got-usr1; exit 5" USR1; echo ready; while :; do sleep 0.05; done';
    const outer = spawn(process.execPath, [
      CLI,
      '--root',
      stateRoot,
      'exec',
      '--tty',
      '--',
      'sh',
      '-c',
      script,
    ]);
    const out = screen(outer);
    await out.until(/ready/, 'the container ready');
    outer.kill('SIGUSR1');
    expect((await outer.wait()).code).toBe(5);
    expect(out.text).toContain('got-usr1');
  });

  it("restores the caller's terminal settings when it ends", async () => {
    const fresh = openPty();
    const cooked = getTermios({ fd: fresh.master });
    const outer = spawn(process.execPath, [
      CLI,
      '--root',
      stateRoot,
      'exec',
      '--tty',
      '--',
      'sh',
      '-c',
      'echo started; sleep 0.3; exit 3',
    ]);
    // A second master fd outlives the Pty (which closes its own at the end) to read the settings after.
    const master = duplicateFd({ fd: outer.master });
    try {
      const out = screen(outer);
      await out.until(/started/, 'the container starting');
      expect(getTermios({ fd: master })).not.toEqual(cooked); // raw while attached
      expect((await outer.wait()).code, out.text).toBe(3);
      expect(getTermios({ fd: master })).toEqual(cooked);
    } finally {
      for (const fd of [master, fresh.master, fresh.slave]) closeSync(fd);
    }
  });

  it('sends the console master to a --console-socket receiver, which runs the shell through it', async () => {
    const socketPath = join(work.path, 'console.sock');
    const receiver = ConsoleSocket.listen(socketPath);
    try {
      const cli = nsinitAsync([
        '--root',
        stateRoot,
        'exec',
        '--config',
        bundle.configPath,
        '--console-socket',
        socketPath,
      ]);
      const master = adoptPtyMaster(await receiver.accept());
      expect(master.slaveName).toMatch(/^\/dev\/pts\/\d+$/);
      let text = '';
      master.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      const ended = new Promise((resolve) => master.once('end', resolve));
      master.write('hostname; tty; exit 4\r');
      const status = await new Promise<number | null>((resolve) => cli.on('exit', resolve));
      await ended;
      expect(text).toMatch(/tty-test\r\n\/dev\/pts\/0\r\n/);
      expect(status).toBe(4);
    } finally {
      receiver.close();
    }
  });
});

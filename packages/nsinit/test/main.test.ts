// The CLI's parsing, exit codes and error reporting. Every case here fails before a
// container could start (test-e2e runs real ones): nothing is created on the machine
// except the temp dir, which is removed after each test.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_CONTAINER_ID_LENGTH } from '@nsinit/state';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, main } from '../src/main.js';
import { versionText } from '../src/version.js';
import { type Captured, captureOutput } from './capture.js';

/** `nsinit version 0.1.0`, `commit: …`, `spec: 1.2.0`: runc's layout. */
const VERSION = versionText();

let dir: string;
let stateRoot: string;
let output: Captured;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-cli-'));
  stateRoot = join(dir, 'state');
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  // main() reads and the exec action sets process.exitCode: never let it leak into the test run.
  process.exitCode = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const nsinit = (...args: string[]) => main(['node', 'nsinit', ...args]);

/** A busybox-style OCI config in the temp dir; `root.path` is relative to it. */
function writeConfig(overrides: Record<string, unknown> = {}): string {
  const file = join(dir, 'config.json');
  const config = {
    ociVersion: '1.0.2',
    process: { args: ['true'], cwd: '/', env: ['PATH=/bin'] },
    root: { path: 'rootfs' },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
    ...overrides,
  };
  writeFileSync(file, JSON.stringify(config));
  return file;
}

describe('buildProgram', () => {
  it('has the exec command with its options, and the global ones', () => {
    const program = buildProgram();
    expect(program.name()).toBe('nsinit');
    // runc's global options, in runc's order (verbs.test.ts checks every verb).
    expect(program.options.map((option) => option.long)).toEqual([
      '--version',
      '--debug',
      '--log',
      '--log-format',
      '--root',
      '--criu',
      '--systemd-cgroup',
      '--rootless',
    ]);
    const exec = program.commands.find((command) => command.name() === 'exec');
    expect(exec?.options.map((option) => option.long)).toEqual([
      '--config',
      '--root',
      '--id',
      '--no-pivot',
      '--tty',
      '--console-socket',
    ]);
    expect(program.commands.map((command) => command.name())).toEqual(
      expect.arrayContaining(['exec', 'stats', 'pause', 'resume']),
    );
    expect(program.commands.find((command) => command.name() === 'resume')?.aliases()).toEqual(['unpause']);
  });
});

describe('main', () => {
  it('prints help mentioning exec and exits 0', async () => {
    expect(await nsinit('--help')).toBe(0);
    expect(output.stdout).toMatch(/^Usage: nsinit /);
    expect(output.stdout).toMatch(/^\s+exec \[options\] \[cmd\.\.\.\]\s+Run CMD in a new container/m);
    expect(output.stderr).toBe('');
  });

  it('prints the help of exec and the version, exiting 0', async () => {
    expect(await nsinit('exec', '--help')).toBe(0);
    expect(output.stdout).toContain('-c, --config <file>');
    output.stdout = '';
    expect(await nsinit('--version')).toBe(0);
    expect(output.stdout).toBe(`${VERSION}\n`);
  });

  it("prints the version for -v, runc's spelling and layout", async () => {
    expect(await nsinit('-v')).toBe(0);
    expect(output.stdout).toBe(`${VERSION}\n`);
    expect(output.stderr).toBe('');
  });

  // runc exits 1 on a usage error (main.ts says why, and where nsinit and runc differ).
  it('exits 1 on a usage error: unknown command, unknown option, bad log format', async () => {
    expect(await nsinit('bogus')).toBe(1);
    expect(output.stderr).toMatch(/^nsinit: unknown command 'bogus'/);
    output.stderr = '';
    expect(await nsinit('--bogus', 'exec')).toBe(1);
    expect(output.stderr).toMatch(/^nsinit: unknown option '--bogus'/);
    output.stderr = '';
    expect(await nsinit('--log-format', 'xml', 'exec')).toBe(1);
    expect(output.stderr).toMatch(/^nsinit: option '--log-format <format>' argument 'xml' is invalid/);
  });

  it('answers a usage error with one line and where to look, not the whole help', async () => {
    expect(await nsinit('exec', '--bogus')).toBe(1);
    expect(output.stderr).toBe("nsinit: unknown option '--bogus'\nsee 'nsinit exec --help'\n");
    output.stderr = '';
    expect(await nsinit('pause')).toBe(1);
    expect(output.stderr).toBe("nsinit: missing required argument 'id'\nsee 'nsinit pause --help'\n");
    output.stderr = '';
    expect(await nsinit('--bogus')).toBe(1);
    expect(output.stderr).toBe("nsinit: unknown option '--bogus'\nsee 'nsinit --help'\n");
    expect(output.stdout).toBe('');
  });

  it('refuses an empty --id or --root instead of quietly using the default, creating nothing', async () => {
    const cases = [
      ['--root', stateRoot, 'exec', '--id', '', '--', 'true'],
      ['--root', '', 'exec', '--', 'true'],
      ['exec', '--root', '', '--', 'true'],
    ];
    for (const args of cases) {
      output.stderr = '';
      expect(await nsinit(...args), args.join(' ')).toBe(1);
      expect(output.stderr).toMatch(
        /^nsinit: option '--(id <id>|root <dir>)' argument '' is invalid\. an empty (container id|state root) names nothing; leave the option out for the default\n/,
      );
    }
    expect(existsSync(stateRoot)).toBe(false);
  });

  it('refuses an invalid id before anything exists, not even the state root', async () => {
    for (const id of ['../x', 'a b']) {
      output.stderr = '';
      expect(await nsinit('--root', stateRoot, 'exec', '--id', id, '--', 'true')).toBe(255);
      expect(output.stderr).toMatch(/^nsinit: invalid container id "/);
      expect(existsSync(stateRoot)).toBe(false);
    }
    output.stderr = '';
    expect(await nsinit('--root', stateRoot, 'stats', '../x')).toBe(255);
    expect(output.stderr).toMatch(/^nsinit: invalid container id "\.\.\/x"/);
    expect(existsSync(stateRoot)).toBe(false);
  });

  // One limit, one message: @nsinit/state's validateContainerId, below what a directory name may be.
  it('refuses a too long id with the one limit, before the state root exists', async () => {
    for (const length of [MAX_CONTAINER_ID_LENGTH + 1, 2000]) {
      output.stderr = '';
      expect(await nsinit('--root', stateRoot, 'exec', '--id', 'a'.repeat(length), '--', 'true')).toBe(255);
      expect(output.stderr).toMatch(
        new RegExp(
          `^nsinit: invalid container id "a+…": is ${length} characters long, the limit is ${MAX_CONTAINER_ID_LENGTH}\n$`,
        ),
      );
      expect(existsSync(stateRoot)).toBe(false);
    }
  });

  it('exits 255 with one line naming a config file that does not exist', async () => {
    const missing = join(dir, 'missing.json');
    expect(await nsinit('--root', stateRoot, 'exec', '--config', missing, '--', 'true')).toBe(255);
    expect(output.stderr).toBe(
      `nsinit: ${missing}: cannot read the configuration: no such file; check the path\n`,
    );
    expect(output.stdout).toBe('');
    expect(existsSync(stateRoot)).toBe(false);
  });

  it('exits 255 with one line for a config whose root does not exist, leaving nothing', async () => {
    const config = writeConfig();
    expect(await nsinit('--root', stateRoot, 'exec', '--config', config)).toBe(255);
    expect(output.stderr).toBe(`nsinit: root.path ${join(dir, 'rootfs')} does not exist\n`);
    expect(existsSync(stateRoot)).toBe(false);
  });

  it("prints the config's warnings before anything runs, on output.stderr and in --log", async () => {
    const legacy = join(dir, 'container.json');
    // Two protections turned off, two warnings; the missing rootfs then stops the run early.
    writeFileSync(
      legacy,
      JSON.stringify({
        root_fs: 'rootfs',
        namespaces: ['NEWNS'],
        context: { restrictions: '' },
        capabilities_mask: {},
      }),
    );
    const log = join(dir, 'nsinit.log');
    expect(await nsinit('--root', stateRoot, '--log', log, 'exec', '--config', legacy, '--', 'true')).toBe(
      255,
    );
    expect(output.stderr.split('\n').filter(Boolean)).toEqual([
      expect.stringMatching(
        /^nsinit: warning: an empty "context\.restrictions" leaves \/sys and \/proc\/sys writable: /,
      ),
      expect.stringMatching(/^nsinit: warning: "capabilities_mask" is a drop list that drops nothing, /),
      `nsinit: root.path ${join(dir, 'rootfs')} does not exist`,
    ]);
    expect(
      readFileSync(log, 'utf8')
        .split('\n')
        .filter((line) => line.includes('level=warning')),
    ).toHaveLength(2);
    expect(existsSync(stateRoot)).toBe(false);
  });

  it('keeps a multi-line error message on one line', async () => {
    mkdirSync(join(dir, 'rootfs'));
    const config = writeConfig({
      mounts: [{ destination: '/data', type: 'bind', source: '/nonexistent/two\nlines', options: ['rbind'] }],
    });
    expect(await nsinit('--root', stateRoot, 'exec', '--config', config)).toBe(255);
    expect(output.stderr).toBe('nsinit: mounts[0].source: /nonexistent/two lines does not exist\n');
  });

  it('resolves a relative bind source against the config file folder (the bundle), not the cwd', async () => {
    mkdirSync(join(dir, 'rootfs'));
    const config = writeConfig({
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/data', type: 'bind', source: 'data', options: ['rbind'] },
      ],
    });
    expect(await nsinit('--root', stateRoot, 'exec', '--config', config)).toBe(255);
    expect(output.stderr).toBe(`nsinit: mounts[1].source: ${join(dir, 'data')} does not exist\n`);
    expect(existsSync(stateRoot)).toBe(false);
  });

  it('also writes errors to --log, one JSON object per line with --log-format json', async () => {
    const log = join(dir, 'nsinit.log');
    const missing = join(dir, 'missing.json');
    for (let run = 0; run < 2; run++) {
      expect(await nsinit('--log', log, '--log-format', 'json', 'exec', '--config', missing)).toBe(255);
    }
    const lines = readFileSync(log, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toEqual({
        level: 'error',
        msg: `${missing}: cannot read the configuration: no such file; check the path`,
        time: expect.any(String),
      });
      expect(new Date(entry.time as string).toISOString()).toBe(entry.time);
    }
    // The error still reaches output.stderr too.
    expect(output.stderr.split('\n').filter(Boolean)).toHaveLength(2);
  });

  it('writes JSON lines to output.stderr with --log-format json and no --log', async () => {
    const missing = join(dir, 'missing.json');
    expect(await nsinit('--log-format', 'json', 'exec', '--config', missing)).toBe(255);
    const lines = output.stderr.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
      {
        level: 'error',
        msg: `${missing}: cannot read the configuration: no such file; check the path`,
        time: expect.any(String),
      },
    ]);
  });

  it('writes runc-style text lines to --log by default', async () => {
    const log = join(dir, 'nsinit.log');
    const missing = join(dir, 'missing.json');
    expect(await nsinit('--log', log, 'exec', '--config', missing)).toBe(255);
    expect(readFileSync(log, 'utf8')).toMatch(
      new RegExp(
        `^time="\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z" level=error msg="${missing.replaceAll('/', '\\/')}: cannot read the configuration: no such file; check the path"\\n$`,
      ),
    );
  });
});

describe('signal forwarding', () => {
  it('forwards every catchable signal but SIGCHLD, SIGWINCH, SIGURG, SIGPROF and the kernel-raised faults', async () => {
    const { FORWARDED_SIGNALS } = await import('../src/commands.js');
    for (const kept of [
      'SIGHUP',
      'SIGINT',
      'SIGQUIT',
      'SIGTERM',
      'SIGUSR1',
      'SIGUSR2',
      'SIGCONT',
      'SIGTSTP',
      'SIGALRM',
      'SIGPWR',
      'SIGTTIN',
    ]) {
      expect(FORWARDED_SIGNALS).toContain(kept);
    }
    for (const dropped of [
      'SIGKILL',
      'SIGSTOP',
      'SIGCHLD',
      'SIGWINCH',
      'SIGURG',
      'SIGPROF',
      'SIGSEGV',
      'SIGBUS',
      'SIGFPE',
      'SIGILL',
    ]) {
      expect(FORWARDED_SIGNALS).not.toContain(dropped);
    }
  });
});

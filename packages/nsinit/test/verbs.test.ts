// What each verb receives once main.ts has parsed its flags: the verbs module is mocked, so
// nothing runs; exit codes and error lines as runc's (see main.ts).
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, execForm, main } from '../src/main.js';
import { type Captured, captureOutput } from './capture.js';

const verbs = vi.hoisted(() => {
  const names = [
    'execCommand',
    'cgroupCommand',
    'createCommand',
    'runCommand',
    'startCommand',
    'stateCommand',
    'killCommand',
    'deleteCommand',
    'listCommand',
    'psCommand',
    'execIntoCommand',
    'pauseCommand',
    'resumeCommand',
    'eventsCommand',
    'updateCommand',
    'specCommand',
    'featuresCommand',
    'planCommand',
  ] as const;
  return Object.fromEntries(names.map((name) => [name, vi.fn(async (..._args: unknown[]) => 0)])) as Record<
    (typeof names)[number],
    ReturnType<typeof vi.fn<(...args: unknown[]) => Promise<number>>>
  >;
});
vi.mock('../src/commands.js', () => verbs);

let dir: string;
let output: Captured;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-verbs-'));
  output = captureOutput();
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const verb of Object.values(verbs)) {
    verb.mockClear();
    verb.mockImplementation(async () => 0);
  }
  process.exitCode = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const nsinit = (...args: string[]) => main(['node', 'nsinit', ...args]);
const GLOBALS = { root: '/run/nsinit', logFormat: 'text', rootless: 'auto' };
const LOG = expect.any(Function);
const cwd = process.cwd();

/** The one verb called, and its arguments. */
function called(): [string, unknown[]] {
  const calls = Object.entries(verbs).filter(([, verb]) => verb.mock.calls.length > 0);
  expect(calls.map(([name]) => name)).toHaveLength(1);
  const [name, verb] = calls[0]!;
  expect(verb.mock.calls).toHaveLength(1);
  return [name, verb.mock.calls[0]!];
}

describe('the program', () => {
  it("has runc's global options, and every verb", () => {
    const program = buildProgram();
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
    expect(program.commands.map((command) => [command.name(), ...command.aliases()])).toEqual([
      ['create'],
      ['run'],
      ['start'],
      ['state'],
      ['pause'],
      ['resume', 'unpause'],
      ['kill'],
      ['delete'],
      ['list', 'ls'],
      ['ps'],
      ['events'],
      ['stats'],
      ['exec'],
      ['update'],
      ['spec'],
      ['features'],
      ['plan'],
    ]);
  });

  it("has runc 1.1.5's flags on each verb, short ones included", () => {
    const flags = (form: 'legacy' | 'runc', name: string) =>
      buildProgram(form)
        .commands.find((command) => command.name() === name)!
        .options.filter((option) => !option.hidden)
        .map((option) => option.flags);
    const createFlags = [
      '-b, --bundle <dir>',
      '--console-socket <path>',
      '--pid-file <path>',
      '--no-pivot',
      '--no-new-keyring',
      '--preserve-fds <n>',
      '--dry-run',
    ];
    expect(flags('legacy', 'create')).toEqual(createFlags);
    expect(flags('legacy', 'run')).toEqual([...createFlags, '-d, --detach', '--keep', '--no-subreaper']);
    expect(flags('legacy', 'kill')).toEqual(['-a, --all']);
    expect(flags('legacy', 'delete')).toEqual(['-f, --force']);
    expect(flags('legacy', 'list')).toEqual(['-f, --format <format>', '-q, --quiet']);
    expect(flags('legacy', 'ps')).toEqual(['-f, --format <format>']);
    expect(flags('legacy', 'events')).toEqual(['--interval <duration>', '--stats']);
    expect(flags('legacy', 'spec')).toEqual(['-b, --bundle <dir>', '--rootless']);
    expect(flags('legacy', 'update').map((flag) => flag.split(' <')[0])).toEqual([
      '-r, --resources',
      '--blkio-weight',
      '--cpu-period',
      '--cpu-quota',
      '--cpu-share',
      '--cpu-rt-period',
      '--cpu-rt-runtime',
      '--cpuset-cpus',
      '--cpuset-mems',
      '--memory',
      '--memory-reservation',
      '--memory-swap',
      '--pids-limit',
      '--l3-cache-schema',
      '--mem-bw-schema',
    ]);
    expect(flags('runc', 'exec').map((flag) => flag.split(' <')[0])).toEqual([
      '--console-socket',
      '--cwd',
      '-e, --env',
      '-t, --tty',
      '-u, --user',
      '-g, --additional-gids',
      '-p, --process',
      '-d, --detach',
      '--pid-file',
      '--process-label',
      '--apparmor',
      '--no-new-privs',
      '-c, --cap',
      '--preserve-fds',
      '--cgroup',
      '--ignore-paused',
    ]);
  });

  it("prints the version in runc's layout for -v and --version", async () => {
    for (const flag of ['-v', '--version']) {
      output.stdout = '';
      expect(await nsinit(flag)).toBe(0);
      expect(output.stdout).toMatch(/^nsinit version \d+\.\d+\.\d+\ncommit: \S+\nspec: 1\.2\.0\n$/);
    }
  });

  it('loads no verb for --help, nor on a usage error', async () => {
    expect(await nsinit('--help')).toBe(0);
    expect(await nsinit('create', '--help')).toBe(0);
    expect(await nsinit('exec', '--help')).toBe(0);
    expect(await nsinit('kill')).toBe(1);
    for (const verb of Object.values(verbs)) expect(verb).not.toHaveBeenCalled();
  });

  it('explains both forms of exec in its help', async () => {
    expect(await nsinit('exec', '--help')).toBe(0);
    expect(output.stdout).toContain('-c, --config <file>');
    expect(output.stdout).toContain('exec has two forms');
    expect(output.stdout).toContain('-c, --cap <cap>');
    expect(output.stdout).toContain('--ignore-paused');
  });
});

describe('create and run', () => {
  it('passes the bundle (absolute, default the cwd) and the flags', async () => {
    expect(await nsinit('create', 'c1')).toBe(0);
    expect(called()).toEqual([
      'createCommand',
      [
        'c1',
        { bundle: cwd, noPivot: false, noNewKeyring: false, preserveFds: 0 },
        expect.objectContaining(GLOBALS),
        LOG,
      ],
    ]);
  });

  it('reads every create flag, short and long', async () => {
    const args = ['-b', 'bundle', '--console-socket', '/s.sock', '--pid-file', 'p.pid'];
    expect(
      await nsinit('create', ...args, '--no-pivot', '--no-new-keyring', '--preserve-fds', '2', 'c1'),
    ).toBe(0);
    expect(called()[1][1]).toEqual({
      bundle: join(cwd, 'bundle'),
      consoleSocket: '/s.sock',
      pidFile: 'p.pid',
      noPivot: true,
      noNewKeyring: true,
      preserveFds: 2,
    });
  });

  it("reads --preserve-fds as Go's uint flag and refuses what is not one", async () => {
    expect(await nsinit('create', '--preserve-fds', '0x10', 'c1')).toBe(0);
    expect((called()[1][1] as { preserveFds: number }).preserveFds).toBe(16);
    for (const value of ['-1', 'two', '1.5']) {
      output.stderr = '';
      expect(await nsinit('create', '--preserve-fds', value, 'c1')).toBe(1);
      expect(output.stderr).toMatch(/^nsinit: option '--preserve-fds <n>' argument '.*' is invalid\./);
    }
  });

  it('runs plan for --dry-run, with the bundle and --no-pivot', async () => {
    expect(await nsinit('create', '--dry-run', '--bundle', '/b', '--no-pivot', 'c1')).toBe(0);
    expect(called()).toEqual(['planCommand', [{ bundle: '/b', noPivot: true }, expect.anything(), LOG]]);
  });

  it('gives run its own flags', async () => {
    expect(await nsinit('run', '-d', '--keep', '--no-subreaper', '-b', '/b', 'c1')).toBe(0);
    expect(called()).toEqual([
      'runCommand',
      [
        'c1',
        {
          bundle: '/b',
          noPivot: false,
          noNewKeyring: false,
          preserveFds: 0,
          detach: true,
          keep: true,
          noSubreaper: true,
        },
        expect.anything(),
        LOG,
      ],
    ]);
  });

  it("exits 1 on a missing or an extra id, as runc's usage errors", async () => {
    expect(await nsinit('create')).toBe(1);
    expect(output.stderr).toBe("nsinit: missing required argument 'id'\nsee 'nsinit create --help'\n");
    output.stderr = '';
    expect(await nsinit('run', 'a', 'b')).toBe(1);
    expect(output.stderr).toMatch(/^nsinit: too many arguments for 'run'/);
  });
});

describe('the verbs that take an id', () => {
  it.each([
    ['start', 'startCommand'],
    ['state', 'stateCommand'],
    ['pause', 'pauseCommand'],
    ['resume', 'resumeCommand'],
    ['unpause', 'resumeCommand'],
  ])('%s ID calls %s', async (verb, method) => {
    expect(await nsinit(verb, 'c1')).toBe(0);
    expect(called()).toEqual([method, ['c1', expect.objectContaining(GLOBALS), LOG]]);
  });

  it('stats ID calls the cgroup command', async () => {
    expect(await nsinit('stats', 'c1')).toBe(0);
    expect(called()).toEqual(['cgroupCommand', ['stats', 'c1', expect.objectContaining(GLOBALS)]]);
  });

  it('returns the exit code the verb returns', async () => {
    verbs.stateCommand.mockImplementation(async () => 3);
    expect(await nsinit('state', 'c1')).toBe(3);
  });

  it('refuses an extra argument', async () => {
    expect(await nsinit('state', 'a', 'b')).toBe(1);
    expect(output.stderr).toMatch(/^nsinit: too many arguments for 'state'/);
  });
});

describe('kill', () => {
  it('sends SIGTERM by default, and parses the signal to a number', async () => {
    const cases: [string[], number][] = [
      [[], 15],
      [['KILL'], 9],
      [['sigkill'], 9],
      [['SigUsr1'], 10],
      [['9'], 9],
      [['+2'], 2],
      [['34'], 34],
      [[''], 15],
    ];
    for (const [signal, number] of cases) {
      verbs.killCommand.mockClear();
      expect(await nsinit('kill', 'c1', ...signal), signal.join()).toBe(0);
      expect(verbs.killCommand).toHaveBeenCalledWith('c1', number, { all: false }, expect.anything(), LOG);
    }
  });

  it('takes -a/--all', async () => {
    expect(await nsinit('kill', '-a', 'c1', 'HUP')).toBe(0);
    expect(await nsinit('kill', '--all', 'c1')).toBe(0);
    expect(verbs.killCommand.mock.calls.map((call) => call.slice(1, 3))).toEqual([
      [1, { all: true }],
      [15, { all: true }],
    ]);
  });

  it('refuses an unknown signal as a usage error', async () => {
    expect(await nsinit('kill', 'c1', 'RTMIN')).toBe(1);
    expect(output.stderr).toBe(
      `nsinit: command-argument value 'RTMIN' is invalid for argument 'signal'. unknown signal "RTMIN"\nsee 'nsinit kill --help'\n`,
    );
    expect(verbs.killCommand).not.toHaveBeenCalled();
    expect(await nsinit('kill', 'c1', 'TERM', 'extra')).toBe(1);
  });
});

describe('delete, list, ps', () => {
  it('delete takes -f/--force', async () => {
    expect(await nsinit('delete', '-f', 'c1')).toBe(0);
    expect(called()).toEqual(['deleteCommand', ['c1', { force: true }, expect.anything(), LOG]]);
  });

  it('list (ls) takes --format and --quiet', async () => {
    expect(await nsinit('list')).toBe(0);
    expect(await nsinit('ls', '-f', 'json', '-q')).toBe(0);
    expect(verbs.listCommand.mock.calls.map((call) => call[0])).toEqual([
      { format: 'table', quiet: false },
      { format: 'json', quiet: true },
    ]);
    expect(await nsinit('list', '--format', 'xml')).toBe(1);
    expect(output.stderr).toMatch(/^nsinit: option '-f, --format <format>' argument 'xml' is invalid/);
    expect(await nsinit('list', 'extra')).toBe(1);
  });

  it("ps passes everything after the id to ps, runc's rule", async () => {
    expect(await nsinit('ps', 'c1')).toBe(0);
    expect(await nsinit('ps', '-f', 'json', 'c1')).toBe(0);
    expect(await nsinit('ps', 'c1', '-o', 'pid,comm', '-f', 'json')).toBe(0);
    expect(verbs.psCommand.mock.calls.map((call) => call.slice(0, 3))).toEqual([
      ['c1', [], { format: 'table' }],
      ['c1', [], { format: 'json' }],
      ['c1', ['-o', 'pid,comm', '-f', 'json'], { format: 'table' }],
    ]);
  });
});

describe('exec', () => {
  it('tells the forms apart', () => {
    const cases: [string[], 'legacy' | 'runc'][] = [
      [[], 'legacy'],
      [['--', 'sh'], 'legacy'],
      [['-t'], 'legacy'],
      [['-t', '--', 'sh'], 'legacy'],
      [['--config', 'c.json', 'true'], 'legacy'],
      [['--config=c.json', 'true'], 'legacy'],
      [['-c', 'c.json'], 'legacy'],
      [['-c', 'c.json', '--', 'sh'], 'legacy'],
      [['--id', 'x', 'sh'], 'legacy'],
      [['--root', '/r', 'sh'], 'legacy'],
      [['--no-pivot', 'sh'], 'legacy'],
      [['web', 'sh'], 'runc'],
      [['-t', 'web', 'sh'], 'runc'],
      [['--console-socket', '/s', 'web', 'sh'], 'runc'],
      [['-c', 'CAP_KILL', 'web', 'sh'], 'runc'],
      [['-cCAP_KILL', 'web', 'sh'], 'runc'],
      [['-p', 'process.json'], 'runc'],
      [['-e', 'A=1', '--', 'sh'], 'runc'],
      [['-td', 'web', 'sh'], 'runc'],
      [['--ignore-paused'], 'runc'],
    ];
    for (const [args, form] of cases) expect(execForm(args), args.join(' ')).toBe(form);
  });

  it('runs the 2014 form as before: the command, its options, the globals', async () => {
    expect(
      await nsinit('exec', '--config', 'c.json', '--id', 'x', '--no-pivot', '-t', '--', 'sh', '-c', 'x'),
    ).toBe(0);
    expect(called()).toEqual([
      'execCommand',
      [
        ['sh', '-c', 'x'],
        { config: 'c.json', id: 'x', pivot: false, tty: true },
        expect.objectContaining(GLOBALS),
        LOG,
      ],
    ]);
  });

  it('runs the embedded default for a bare exec, and -c is --config there', async () => {
    expect(await nsinit('exec')).toBe(0);
    expect(await nsinit('exec', '-c', 'c.json')).toBe(0);
    expect(verbs.execCommand.mock.calls.map((call) => call.slice(0, 2))).toEqual([
      [[], { pivot: true }],
      [[], { pivot: true, config: 'c.json' }],
    ]);
  });

  it("reads every flag of runc's form, and leaves what follows the command's first word to it", async () => {
    const args = [
      ...['--console-socket', '/s', '--cwd', '/w', '-e', 'A=1', '--env', 'B=2', '-t'],
      ...['-u', '1000:100', '-g', '5', '--additional-gids', '0x10', '-d', '--pid-file', '/p'],
      ...['--no-new-privs', '-c', 'kill', '--cap', 'CAP_CHOWN', '--preserve-fds', '1', '--ignore-paused'],
    ];
    expect(await nsinit('exec', ...args, 'web', 'sh', '-e', '-c', 'x')).toBe(0);
    expect(called()).toEqual([
      'execIntoCommand',
      [
        'web',
        ['sh', '-e', '-c', 'x'],
        {
          consoleSocket: '/s',
          cwd: '/w',
          env: ['A=1', 'B=2'],
          tty: true,
          user: { uid: 1000, gid: 100 },
          additionalGids: [5, 16],
          detach: true,
          pidFile: '/p',
          noNewPrivs: true,
          caps: ['CAP_KILL', 'CAP_CHOWN'],
          preserveFds: 1,
          ignorePaused: true,
        },
        expect.objectContaining(GLOBALS),
        LOG,
      ],
    ]);
  });

  it("defaults the flags of runc's form, and takes -p without a command", async () => {
    expect(await nsinit('exec', '-p', 'process.json', 'web')).toBe(0);
    expect(called()[1].slice(0, 3)).toEqual([
      'web',
      [],
      {
        process: 'process.json',
        env: [],
        tty: false,
        additionalGids: [],
        detach: false,
        noNewPrivs: false,
        caps: [],
        preserveFds: 0,
        ignorePaused: false,
      },
    ]);
  });

  it("fails as runc's exec (255) without a command or -p, before loading anything", async () => {
    expect(await nsinit('exec', 'web')).toBe(255);
    expect(output.stderr).toMatch(/^nsinit: process args cannot be empty/);
    expect(verbs.execIntoCommand).not.toHaveBeenCalled();
  });

  it('refuses --process-label, --apparmor (unless empty) and --cgroup with one line', async () => {
    for (const [flag, message] of [
      ['--process-label', /^nsinit: --process-label: no SELinux on this host/],
      ['--apparmor', /^nsinit: --apparmor: no AppArmor on this host/],
      ['--cgroup', /^nsinit: --cgroup: an exec in a sub-cgroup is not supported yet\n$/],
    ] as const) {
      output.stderr = '';
      expect(await nsinit('exec', flag, 'x', 'web', 'sh')).toBe(255);
      expect(output.stderr).toMatch(message);
    }
    expect(await nsinit('exec', '--apparmor', '', '--process-label', '', 'web', 'sh')).toBe(0);
    expect(verbs.execIntoCommand).toHaveBeenCalledTimes(1);
  });

  it("refuses bad values of runc's form as usage errors, and points -c at --config", async () => {
    const cases: [string[], RegExp][] = [
      [['-u', 'root', 'web', 'sh'], /"root" is not UID\[:GID\]/],
      [['-g', '-1', 'web', 'sh'], /additional-gids must be a number from 0/],
      [
        ['-c', 'cfg.json', 'true'],
        /"cfg\.json" is not a capability name \(in runc's form of exec, -c is --cap/,
      ],
      [['-p', 'process.json'], /missing required argument 'id'/],
      [['--config', 'c.json', '--cwd', '/', '--', 'sh'], /unknown option '--cwd'/],
    ];
    for (const [args, message] of cases) {
      output.stderr = '';
      expect(await nsinit('exec', ...args), args.join(' ')).toBe(1);
      expect(output.stderr).toMatch(message);
    }
    expect(verbs.execIntoCommand).not.toHaveBeenCalled();
    expect(verbs.execCommand).not.toHaveBeenCalled();
  });

  it('fails with 255 when the verb fails, in both forms', async () => {
    verbs.execIntoCommand.mockRejectedValue(new Error('no such container'));
    verbs.execCommand.mockRejectedValue(new Error('no rootfs'));
    expect(await nsinit('exec', 'web', 'sh')).toBe(255);
    expect(await nsinit('exec', '--', 'sh')).toBe(255);
    expect(output.stderr).toBe('nsinit: no such container\nnsinit: no rootfs\n');
  });
});

describe('events and update', () => {
  it('reads --interval as a Go duration, in milliseconds', async () => {
    expect(await nsinit('events', 'c1')).toBe(0);
    expect(await nsinit('events', '--interval', '1m30s', '--stats', 'c1')).toBe(0);
    expect(await nsinit('events', '--interval', '500us', 'c1')).toBe(0);
    expect(verbs.eventsCommand.mock.calls.map((call) => call.slice(0, 2))).toEqual([
      ['c1', { stats: false, intervalMs: 5000 }],
      ['c1', { stats: true, intervalMs: 90_000 }],
      ['c1', { stats: false, intervalMs: 0.5 }],
    ]);
    for (const bad of ['5', '0', '-1s', '5x']) {
      expect(await nsinit('events', '--interval', bad, 'c1'), bad).toBe(1);
    }
  });

  it("reads update's flags in runc's forms", async () => {
    const args = [
      ...['--blkio-weight', '500', '--cpu-period', '100000', '--cpu-quota', '-1', '--cpu-share', '512'],
      ...[
        '--cpu-rt-period',
        '1000000',
        '--cpu-rt-runtime',
        '950000',
        '--cpuset-cpus',
        '0-1',
        '--cpuset-mems',
        '0',
      ],
      ...['--memory', '512m', '--memory-reservation', '1.5G', '--memory-swap', '-1', '--pids-limit', '0x20'],
    ];
    expect(await nsinit('update', ...args, 'c1')).toBe(0);
    expect(called()).toEqual([
      'updateCommand',
      [
        'c1',
        {
          blkioWeight: 500,
          cpuPeriod: 100_000,
          cpuQuota: -1,
          cpuShare: 512,
          cpuRtPeriod: 1_000_000,
          cpuRtRuntime: 950_000,
          cpusetCpus: '0-1',
          cpusetMems: '0',
          memory: 512 * 2 ** 20,
          memoryReservation: 1.5 * 2 ** 30,
          memorySwap: -1,
          pidsLimit: 32,
        },
        expect.anything(),
        LOG,
      ],
    ]);
  });

  it('passes -r, leaves out empty values, and warns of the kernel memory flags as runc does', async () => {
    expect(await nsinit('update', '-r', '-', '--memory', '', '--kernel-memory', '1m', 'c1')).toBe(0);
    expect(called()[1][1]).toEqual({ resources: '-' });
    expect(output.stderr).toBe('nsinit: warning: Kernel memory settings are ignored and will be removed\n');
  });

  it("refuses values runc refuses, with runc's words", async () => {
    const cases: [string[], RegExp][] = [
      [['--memory', '5x'], /invalid size: '5x'/],
      [['--cpu-share', '-1'], /invalid unsigned integer "-1"/],
      [['--cpu-quota', 'abc'], /invalid integer "abc"/],
      [['--blkio-weight', '5'], /the weight goes from 10 to 1000/],
      [['--pids-limit', '1.5'], /invalid integer "1\.5"/],
    ];
    for (const [args, message] of cases) {
      output.stderr = '';
      expect(await nsinit('update', ...args, 'c1'), args.join(' ')).toBe(1);
      expect(output.stderr).toMatch(message);
    }
    expect(verbs.updateCommand).not.toHaveBeenCalled();
  });
});

describe('spec, features, plan', () => {
  it('passes their flags', async () => {
    expect(await nsinit('spec')).toBe(0);
    expect(await nsinit('spec', '--rootless', '-b', '/b')).toBe(0);
    expect(verbs.specCommand.mock.calls.map((call) => call[0])).toEqual([
      { bundle: cwd, rootless: false },
      { bundle: '/b', rootless: true },
    ]);
    expect(await nsinit('features')).toBe(0);
    expect(verbs.featuresCommand).toHaveBeenCalledWith(expect.objectContaining(GLOBALS), LOG);
    expect(await nsinit('plan', '--bundle', 'b', '--no-pivot')).toBe(0);
    expect(verbs.planCommand).toHaveBeenCalledWith(
      { bundle: join(cwd, 'b'), noPivot: true },
      expect.anything(),
      LOG,
    );
  });
});

describe('the global options', () => {
  it("accepts runc's, and hands them to the verbs", async () => {
    const args = ['--root', '/r', '--log', '/l', '--log-format', 'json', '--debug'];
    expect(await nsinit(...args, '--systemd-cgroup', '--rootless', 'T', '--criu', '/c', 'state', 'c1')).toBe(
      0,
    );
    expect(verbs.stateCommand).toHaveBeenCalledWith(
      'c1',
      {
        root: '/r',
        log: '/l',
        logFormat: 'json',
        debug: true,
        systemdCgroup: true,
        rootless: 'true',
        criu: '/c',
      },
      LOG,
    );
    expect(await nsinit('--rootless', 'maybe', 'list')).toBe(1);
    expect(output.stderr).toMatch(/^nsinit: option '--rootless <value>' argument 'maybe' is invalid/);
  });

  it("exits 1 for a failing verb, with one line, and in the --log file as runc's JSON", async () => {
    const log = join(dir, 'log.json');
    verbs.killCommand.mockRejectedValue(new Error('container "c1" is not running\nreally'));
    expect(await nsinit('--log', log, '--log-format', 'json', 'kill', 'c1')).toBe(1);
    expect(output.stderr).toBe('nsinit: container "c1" is not running really\n');
    const line = readFileSync(log, 'utf8');
    expect(line).toMatch(
      /^\{"level":"error","msg":"container \\"c1\\" is not running really","time":"[^"]+"\}\n$/,
    );
  });

  it('appends usage errors to the --log file too (the shim reads the last error there)', async () => {
    const log = join(dir, 'log.json');
    expect(await nsinit('--log', log, '--log-format', 'json', 'kill')).toBe(1);
    expect(await nsinit('--log', log, '--log-format', 'json', '--bogus')).toBe(1);
    expect(
      readFileSync(log, 'utf8')
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { msg: string }).msg),
    ).toEqual(["missing required argument 'id'", "unknown option '--bogus'"]);
    expect(existsSync(join(dir, 'other'))).toBe(false);
  });
});

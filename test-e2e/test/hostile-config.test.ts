// Safe by default, against configs and state roots that would hurt the host: a 2014
// container.json that says nothing about /sys or capabilities, a --root that points at a
// symlink or a directory others use, config "files" that never end or never open.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { loadConfigFile, run } from 'nsinit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CLI,
  childPids,
  type HostSnapshot,
  hostSnapshot,
  makeBundle,
  nsinit,
  requireRoot,
  scratch,
  testIds,
} from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;

beforeAll(() => {
  requireRoot();
  work = scratch('hostile');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
});
afterAll(() => work.cleanup());

// The kernel settings a container.json without restrict_sys could have changed, and the rest
// of the host's footprint (mounts, cgroups, state root), the same after every test.
const HOST_CANARIES = [
  '/proc/sys/kernel/core_pattern',
  '/sys/kernel/mm/transparent_hugepage/enabled',
  '/etc/hostname',
];
const ids = testIds('hostile');
let before: HostSnapshot;
beforeEach(() => {
  before = hostSnapshot(HOST_CANARIES, stateRoot, ids.marker);
});
afterEach(() => {
  expect(hostSnapshot(HOST_CANARIES, stateRoot, ids.marker)).toEqual(before);
});

function expectNothingLeft(root = stateRoot) {
  expect(existsSync(root) ? readdirSync(root) : []).toEqual([]);
  expect(childPids()).toEqual([]);
}

/** A 2014 container.json in the rootfs folder (no root_fs: early 2014), with `fields` added. */
function containerJson(name: string, fields: Record<string, unknown>): string {
  const path = join(bundle.rootfs, name);
  writeFileSync(
    path,
    JSON.stringify({
      hostname: 'hostile',
      environment: ['PATH=/bin'],
      namespaces: ['NEWNS', 'NEWPID', 'NEWUTS', 'NEWIPC', 'NEWNET'],
      ...fields,
    }),
  );
  return path;
}

/** An OCI config with an absolute root.path, so it means the same from any folder (or none). */
function ociConfigText(): string {
  return JSON.stringify({
    ociVersion: '1.0.2',
    process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    root: { path: bundle.rootfs },
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
  });
}

/** Runs a loaded container.json through the library and returns what the script printed. */
async function runScript(configPath: string, script: string) {
  const loaded = await loadConfigFile(configPath);
  const container = await run(loaded.config, {
    id: ids.next(),
    args: ['sh', '-c', script],
    stateRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    noPivotRoot: loaded.runtime.noPivotRoot,
  });
  const [stdout, stderr, exit] = await Promise.all([
    text(container.stdout!),
    text(container.stderr!),
    container.wait(),
  ]);
  return { stdout, stderr, exit, warnings: loaded.warnings };
}

// Opened for appending, nothing written: the host's settings stay as they are whatever happens.
const HOST_KNOBS = [
  '/proc/sys/kernel/core_pattern',
  '/proc/sys/vm/drop_caches',
  '/sys/kernel/mm/transparent_hugepage/enabled',
];
const OPEN_FOR_WRITING = HOST_KNOBS.map(
  (knob) => `if (exec 3>>${knob}) 2>/dev/null; then echo "${knob} writable"; else echo "${knob} refused"; fi`,
).join('\n');

describe('a container.json that says nothing about restrict_sys', () => {
  it('cannot open /proc/sys or /sys files of the host for writing', async () => {
    for (const knob of HOST_KNOBS) expect(existsSync(knob), `${knob} on this host`).toBe(true);
    const configPath = containerJson('no-restrict.json', { capabilities: ['CHOWN'] });
    const { stdout, stderr, exit, warnings } = await runScript(configPath, OPEN_FOR_WRITING);
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toEqual(HOST_KNOBS.map((knob) => `${knob} refused`));
    expect(exit.status).toBe(0);
    expect(warnings).toEqual([]);
    expectNothingLeft();
  });

  it('with "restrict_sys": false, can (so the check above means something), and the CLI says so', () => {
    const configPath = containerJson('restrict-off.json', { capabilities: ['CHOWN'], restrict_sys: false });
    const result = nsinit([
      '--root',
      stateRoot,
      'exec',
      '--config',
      configPath,
      '--',
      'sh',
      '-c',
      OPEN_FOR_WRITING,
    ]);
    expect(result.stderr).toBe(
      'nsinit: warning: "restrict_sys": false leaves /sys and /proc/sys writable: the container can change kernel settings ' +
        'of the whole host (kernel.core_pattern, vm.drop_caches, ...); remove it to restrict them\n',
    );
    expect(result.stdout.trim().split('\n')).toEqual(HOST_KNOBS.map((knob) => `${knob} writable`));
    expect(result.status).toBe(0);
    expectNothingLeft();
  });
});

describe('a container.json without capabilities', () => {
  it('runs with no capabilities at all (2014 gave an early file every one), with a warning', async () => {
    const configPath = containerJson('no-caps.json', {});
    const { stdout, exit, warnings } = await runScript(
      configPath,
      'grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status',
    );
    expect(stdout).toBe('CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\nCapBnd:\t0000000000000000\n');
    expect(exit.status).toBe(0);
    expect(warnings).toEqual([
      expect.stringMatching(/^no "capabilities": the container gets no capabilities/),
    ]);
    expectNothingLeft();
  });
});

describe('the state root (--root)', () => {
  it('refuses a symlink and leaves its target as it was', () => {
    const target = join(work.path, 'root-target');
    mkdirSync(target);
    chmodSync(target, 0o755);
    const link = join(work.path, 'root-link');
    symlinkSync(target, link);
    const result = nsinit(['--root', link, 'exec', '--id', ids.next(), '--', 'true']);
    expect(result.stderr).toBe(
      `nsinit: the state root ${link} is a symbolic link; give the directory it points to, or another root\n`,
    );
    expect(result.status).toBe(255);
    expect(statSync(target).mode & 0o7777).toBe(0o755);
    expectNothingLeft(target);
  });

  it('keeps the mode of an existing directory (0755 stays 0755)', () => {
    const existing = join(work.path, 'root-0755');
    mkdirSync(existing);
    chmodSync(existing, 0o755);
    const result = nsinit(['--root', existing, 'exec', '--id', ids.next(), '--', 'true']);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(statSync(existing).mode & 0o7777).toBe(0o755);
    expectNothingLeft(existing);
  });

  it('refuses a directory others may write to without the sticky bit', () => {
    const shared = join(work.path, 'root-0777');
    mkdirSync(shared);
    chmodSync(shared, 0o777);
    const result = nsinit(['--root', shared, 'exec', '--id', ids.next(), '--', 'true']);
    expect(result.stderr).toMatch(
      new RegExp(
        `^nsinit: the state root ${shared} is writable by others \\(mode 0777\\) without the sticky bit`,
      ),
    );
    expect(result.status).toBe(255);
    expect(statSync(shared).mode & 0o7777).toBe(0o777);
    expectNothingLeft(shared);
  });
});

describe('config paths that are not regular files', () => {
  it('refuses a FIFO within a second instead of waiting for a writer', () => {
    const fifo = join(work.path, 'config.fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const started = Date.now();
    const result = nsinit(['--root', stateRoot, 'exec', '--id', ids.next(), '--config', fifo, '--', 'true'], {
      timeoutMs: 5_000,
    });
    expect(Date.now() - started).toBeLessThan(1_000 + 500 /* node's own start */);
    expect(result.stderr).toMatch(
      new RegExp(`^nsinit: ${fifo}: cannot read the configuration: it is a FIFO, not a regular file; `),
    );
    expect(result.status).toBe(255);
    expectNothingLeft();
  });

  it('refuses /dev/zero instead of reading it until memory runs out', () => {
    const result = nsinit(
      ['--root', stateRoot, 'exec', '--id', ids.next(), '--config', '/dev/zero', '--', 'true'],
      {
        timeoutMs: 5_000,
      },
    );
    expect(result.stderr).toMatch(
      /^nsinit: \/dev\/zero: cannot read the configuration: it is a character device, not a regular file; /,
    );
    expect(result.status).toBe(255);
    expectNothingLeft();
  });

  it('reads a config handed over on a socket as /dev/fd/3', async () => {
    // Node's 'pipe' stdio is a socketpair: fd 3 of the CLI is a socket, which cannot be opened, only read.
    const cli = spawn(
      process.execPath,
      [
        CLI,
        '--root',
        stateRoot,
        'exec',
        '--id',
        ids.next(),
        '--config',
        '/dev/fd/3',
        '--',
        'sh',
        '-c',
        'echo ran as $$',
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      },
    );
    (cli.stdio[3] as Writable).end(ociConfigText());
    const [stdout, stderr, status] = await Promise.all([
      text(cli.stdout!),
      text(cli.stderr!),
      new Promise((resolve) => cli.on('exit', resolve)),
    ]);
    expect(stderr).toBe('');
    expect(stdout).toBe('ran as 1\n');
    expect(status).toBe(0);
    expectNothingLeft();
  });

  it("reads a shell's process substitution, <(...)", () => {
    const configFile = join(work.path, 'substituted.json');
    writeFileSync(configFile, ociConfigText());
    const result = spawnSync(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${CLI}" --root "${stateRoot}" exec --config <(cat "${configFile}") -- sh -c 'echo ran as $$'`,
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('ran as 1\n');
    expect(result.status).toBe(0);
    expectNothingLeft();
  });
});

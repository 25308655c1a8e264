// Shared pieces of the end-to-end tests: a busybox rootfs, bundles, the built
// CLI, and checks that a run left nothing behind.
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BUSYBOX = '/bin/busybox';
export const CLI = fileURLToPath(new URL('../../packages/nsinit/dist/cli.cjs', import.meta.url));

export function requireRoot(): void {
  if (process.getuid?.() !== 0)
    throw new Error('the end-to-end tests create namespaces and mounts: run them as root');
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static`);
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run pnpm build first`);
}

/** A scratch directory removed by `cleanup()`. */
export function scratch(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `nsinit-e2e-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export const TEST_USER = { uid: 1000, gid: 1000, name: 'tester' };

/**
 * A minimal root filesystem: Debian's static busybox with a link per applet,
 * /etc/passwd and /etc/group with root and a test user, and the usual mount points.
 */
export function buildBusyboxRootfs(dir: string): string {
  for (const sub of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'etc',
    'proc',
    'sys',
    'dev',
    'tmp',
    'root',
    'home/tester',
  ]) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  chmodSync(join(dir, 'tmp'), 0o1777);
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
  for (const applet of applets) {
    if (applet === 'busybox') continue;
    const link = join(dir, 'bin', applet);
    if (!existsSync(link)) symlinkSync('busybox', link);
  }
  writeFileSync(
    join(dir, 'etc/passwd'),
    `root:x:0:0:root:/root:/bin/sh\n${TEST_USER.name}:x:${TEST_USER.uid}:${TEST_USER.gid}::/home/tester:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n`,
  );
  writeFileSync(
    join(dir, 'etc/group'),
    `root:x:0:\n${TEST_USER.name}:x:${TEST_USER.gid}:\nwheel:x:10:tester\nnogroup:x:65534:\n`,
  );
  return dir;
}

/** A bundle folder with `rootfs/` and, when given, `config.json`. */
export function makeBundle(
  dir: string,
  config?: unknown,
): { dir: string; rootfs: string; configPath: string } {
  const rootfs = buildBusyboxRootfs(join(dir, 'rootfs'));
  const configPath = join(dir, 'config.json');
  if (config !== undefined) writeFileSync(configPath, JSON.stringify(config, null, 2));
  return { dir, rootfs, configPath };
}

/** `runc spec`'s config, as the runc installed here generates it. */
export function runcSpec(): Record<string, unknown> {
  const dir = scratch('runc-spec');
  try {
    const result = spawnSync('runc', ['spec'], { cwd: dir.path, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`runc spec failed: ${result.stderr}`);
    return JSON.parse(readFileSync(join(dir.path, 'config.json'), 'utf8')) as Record<string, unknown>;
  } finally {
    dir.cleanup();
  }
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI to completion. */
export function nsinit(args: string[], options: { cwd?: string; timeoutMs?: number } = {}): CliResult {
  const result: SpawnSyncReturns<string> = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    cwd: options.cwd,
    timeout: options.timeoutMs ?? 20_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Starts the built CLI without waiting, for tests that signal it. */
export function nsinitAsync(args: string[]) {
  return spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** What a run might leave behind, to compare before and after. */
export interface Footprint {
  fds: number;
  stateEntries: string[];
  children: number[];
  mounts: number;
}

export function childPids(ppid: number = process.pid): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === ppid) children.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return children.sort((a, b) => a - b);
}

export function footprint(stateRoot: string): Footprint {
  return {
    fds: readdirSync('/proc/self/fd').length,
    stateEntries: existsSync(stateRoot) ? readdirSync(stateRoot).sort() : [],
    children: childPids(),
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').split('\n').length,
  };
}

/**
 * Container ids for one test file, all carrying `marker` (the file's prefix and this process's
 * pid): a check for leftover cgroups looks for its own, whatever else the machine runs.
 */
export function testIds(prefix: string): { marker: string; next(): string } {
  const marker = `${prefix}-${process.pid}-`;
  let count = 0;
  return { marker, next: () => `${marker}${++count}` };
}

/**
 * What an escape would change on the host, to compare before and after an attack: the
 * contents of canary files and folders (a hash each), this process's mount table (without
 * the ids that any new mount namespace shifts), the host's cgroups made for this test's
 * containers (named with `cgroupMarker`), and a state root.
 */
export interface HostSnapshot {
  canaries: Record<string, string>;
  mounts: string[];
  cgroups: string[];
  stateEntries: string[];
}

function hashTree(path: string): string {
  const hash = createHash('sha256');
  const visit = (at: string) => {
    const stat = lstatSync(at, { throwIfNoEntry: false });
    if (stat === undefined) return hash.update(`${at} missing\n`);
    hash.update(`${at} ${stat.mode} ${stat.uid}:${stat.gid}\n`);
    if (stat.isSymbolicLink()) hash.update(readlinkSync(at));
    else if (stat.isDirectory()) for (const entry of readdirSync(at).sort()) visit(join(at, entry));
    else if (stat.isFile()) hash.update(readFileSync(at));
  };
  visit(path);
  return hash.digest('hex');
}

function cgroupTree(): string[] {
  const dirs: string[] = [];
  const visit = (dir: string, depth: number) => {
    dirs.push(dir);
    if (depth === 0) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) visit(join(dir, entry.name), depth - 1);
    }
  };
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) visit(join('/sys/fs/cgroup', hierarchy), 8);
  return dirs.sort();
}

export function hostSnapshot(
  canaries: readonly string[],
  stateRoot: string,
  cgroupMarker: string,
): HostSnapshot {
  return {
    canaries: Object.fromEntries(canaries.map((path) => [path, hashTree(path)])),
    // Fields 5 on: mount point, options, optional fields, fs type, source, super options.
    mounts: readFileSync('/proc/self/mountinfo', 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ').slice(4).join(' ')),
    cgroups: cgroupTree().filter((dir) => dir.slice(dir.lastIndexOf('/') + 1).includes(cgroupMarker)),
    stateEntries: existsSync(stateRoot) ? readdirSync(stateRoot).sort() : [],
  };
}

/**
 * The init's pid once a container's state.json records it as started: the file exists from the
 * first step of a start (phase "creating", pid 0 — never a pid to signal: kill(0) is the whole
 * process group).
 */
export async function startedPid(statePath: string, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const state = JSON.parse(readFileSync(statePath, 'utf8')) as { pid: number; phase?: string };
      if (state.pid > 0 && state.phase !== 'creating') return state.pid;
    } catch {
      // Not written yet (or being replaced).
    }
    if (Date.now() > deadline) throw new Error(`${statePath} never recorded a started init`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** True while `pid` is the process that started at `startTime` (field 22 of its stat) and not a zombie. */
export function isAlive(pid: number, startTime: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] !== 'Z' && fields[19] === startTime;
  } catch {
    return false;
  }
}

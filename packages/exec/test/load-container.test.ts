// loadContainer() against a state root and a fake cgroup tree in a temp dir, with a real
// process standing in for the init (a child `sleep` this test starts and ends). Real
// containers and real cgroups: test-e2e/test/lifecycle.test.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createContainerDir, readProcessStartTime } from '@nsinit/state';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerError, loadContainer } from '../src/load-container.js';

let dir: string;
let root: string;
let cgroup: string;
let sleeper: ChildProcess;

function exited(child: ChildProcess): Promise<NodeJS.Signals | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.signalCode);
    else child.once('exit', (_code, signal) => resolve(signal));
  });
}

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'nsinit-load-'));
  root = join(dir, 'state');
  mkdirSync(root, { mode: 0o700 });
  // A v1 freezer and pids controller as files: the manager reads back what it writes.
  cgroup = join(dir, 'cgroup');
  mkdirSync(cgroup);
  writeFileSync(join(cgroup, 'freezer.state'), 'THAWED\n');
  writeFileSync(join(cgroup, 'pids.current'), '2\n');
  writeFileSync(join(cgroup, 'pids.max'), '64\n');
  writeFileSync(join(cgroup, 'cgroup.procs'), '');
  sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
  await new Promise((resolve) => sleeper.once('spawn', resolve));
});

afterEach(async () => {
  sleeper.kill('SIGKILL');
  await exited(sleeper);
  rmSync(dir, { recursive: true, force: true });
});

function record(id: string, overrides: { pidStartTime?: string; cgroupPaths?: unknown } = {}): void {
  const container = createContainerDir(root, id);
  const pid = sleeper.pid!;
  container.writePid(pid);
  container.writeState({
    version: 1,
    id,
    pid,
    pidStartTime: overrides.pidStartTime ?? readProcessStartTime(pid)!,
    rootfs: '/',
    bundle: null,
    created: new Date().toISOString(),
    ...('cgroupPaths' in overrides
      ? overrides.cgroupPaths === undefined
        ? {}
        : { cgroupPaths: overrides.cgroupPaths as Record<string, unknown> }
      : { cgroupPaths: { v1: { freezer: cgroup, pids: cgroup }, unified: null, created: [cgroup] } }),
  });
}

describe('loadContainer', () => {
  it('reads the recorded state and tells running, paused and stopped apart', async () => {
    record('web');
    const web = loadContainer(root, 'web');
    expect(web).toMatchObject({ id: 'web', pid: sleeper.pid, stateDir: join(root, 'web'), running: true });
    expect(web.state()).toMatchObject({ id: 'web', pid: sleeper.pid, status: 'running' });
    await web.pause();
    expect(readFileSync(join(cgroup, 'freezer.state'), 'utf8').trim()).toBe('FROZEN');
    expect(web.state().status).toBe('paused');
    await web.resume();
    expect(readFileSync(join(cgroup, 'freezer.state'), 'utf8').trim()).toBe('THAWED');
    expect(web.state().status).toBe('running');
    sleeper.kill('SIGKILL');
    await exited(sleeper);
    expect(web.state().status).toBe('stopped');
  });

  it('reads the stats of the recorded cgroup', () => {
    record('web');
    expect(loadContainer(root, 'web').stats()).toEqual({ pids: { current: 2, limit: 64 } });
  });

  it('signals the init through a pidfd when its start time matches', async () => {
    record('web');
    expect(await loadContainer(root, 'web').kill('SIGTERM')).toBe(true);
    expect(await exited(sleeper)).toBe('SIGTERM');
    // Gone: nothing to signal, and the verbs that need it running say so.
    const gone = loadContainer(root, 'web');
    expect(await gone.kill('SIGTERM')).toBe(false);
    expect(() => gone.stats()).toThrow(
      expect.objectContaining({
        code: 'ERR_NSINIT_CONTAINER_NOT_RUNNING',
        message: 'cannot read the stats of container "web": it is not running',
      }),
    );
    await expect(gone.pause()).rejects.toBeInstanceOf(ContainerError);
  });

  it('never signals a process that reuses the recorded pid (another start time)', async () => {
    record('web', { pidStartTime: '1' });
    const web = loadContainer(root, 'web');
    expect(web.running).toBe(false);
    expect(await web.kill('SIGTERM')).toBe(false);
    expect(web.state().status).toBe('stopped');
    // The stranger still runs.
    expect(sleeper.exitCode).toBeNull();
    expect(sleeper.signalCode).toBeNull();
    expect(readProcessStartTime(sleeper.pid!)).not.toBeNull();
  });

  it('says so when state.json records no cgroup', () => {
    record('old', { cgroupPaths: undefined });
    expect(() => loadContainer(root, 'old').stats()).toThrow(
      expect.objectContaining({ code: 'ERR_NSINIT_CONTAINER_NO_CGROUP' }),
    );
  });

  it('fails on an unknown id or root, and on an invalid id, creating nothing', () => {
    expect(() => loadContainer(root, 'nope')).toThrow(
      expect.objectContaining({ code: 'ERR_NSINIT_STATE_NOT_FOUND' }),
    );
    const missingRoot = join(dir, 'no-root');
    expect(() => loadContainer(missingRoot, 'web')).toThrow(
      expect.objectContaining({ code: 'ERR_NSINIT_STATE_NOT_FOUND' }),
    );
    expect(() => loadContainer(missingRoot, '../web')).toThrow(
      expect.objectContaining({ code: 'ERR_NSINIT_STATE_INVALID_ID' }),
    );
    expect(existsSync(missingRoot)).toBe(false);
  });
});

// Containers with linux.resources: limits enforced by their own cgroup, and the
// CLI's stats, pause and unpause on a running one. No cgroup is left afterwards.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { type OciConfig, run } from 'nsinit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, makeBundle, nsinitAsync, requireRoot, scratch, startedPid } from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;

beforeAll(() => {
  requireRoot();
  work = scratch('cgroups');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
});
afterAll(() => work.cleanup());

/** The ids of this file's containers: the cgroups checked are theirs, not anything else named nsinit-*. */
const TICKER = `ticker-${process.pid}`;
const PLAIN = `plain-${process.pid}`;
const ownIds = new Set([TICKER, PLAIN]);
/** The container.json's cgroup, named by its `cgroups.name`. */
const CONTAINER_JSON_CGROUP = `nsinit-e2e-cj-${process.pid}`;

/** The cgroup directories of this file's containers, in any hierarchy. */
function ownCgroups(): string[] {
  const names = new Set([...ownIds].map((id) => `nsinit-${id}`).concat(CONTAINER_JSON_CGROUP));
  // find exits non-zero when a directory vanishes under it; what it printed is still right.
  const out = spawnSync(
    'find',
    ['/sys/fs/cgroup', '-mindepth', '2', '-maxdepth', '6', '-type', 'd', '-name', 'nsinit-*'],
    {
      encoding: 'utf8',
    },
  ).stdout;
  return out.split('\n').filter((path) => names.has(path.slice(path.lastIndexOf('/') + 1)));
}
afterEach(() => expect(ownCgroups()).toEqual([]));

function config(resources: NonNullable<OciConfig['linux']>['resources'], args: string[]): OciConfig {
  return {
    ociVersion: '1.0.2',
    process: { args, cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    root: { path: bundle.rootfs },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
    ],
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }], resources },
  } as OciConfig;
}

async function output(cfg: OciConfig): Promise<string> {
  const container = await run(cfg, { stateRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  ownIds.add(container.id);
  const [stdout, stderr] = await Promise.all([
    text(container.stdout!),
    text(container.stderr!),
    container.wait(),
  ]);
  return stdout + stderr;
}

describe('resources', () => {
  it('enforces a memory limit: a process allocating past it is OOM-killed', async () => {
    const out = await output(
      config({ memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } }, [
        'sh',
        '-c',
        'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo status=$?',
      ]),
    );
    expect(out).toContain('status=137');
  });

  it('says when the init was OOM-killed: wait() reports oomKilled, and the CLI one line', async () => {
    const id = `oom-after-${process.pid}`;
    ownIds.add(id);
    const cfg = config({ memory: { limit: 16 * 1024 * 1024, swap: 16 * 1024 * 1024 } }, [
      'dd',
      'if=/dev/zero',
      'of=/dev/null',
      'bs=64M',
      'count=1',
    ]);
    const container = await run(cfg, { id, stateRoot, stdio: 'ignore' });
    expect(await container.wait()).toEqual({ code: null, signal: 'SIGKILL', status: 137, oomKilled: true });
    const configPath = join(bundle.dir, 'oom.json');
    writeFileSync(configPath, JSON.stringify({ ...cfg, root: { path: 'rootfs' } }));
    const cliId = `oom-cli-${process.pid}`;
    ownIds.add(cliId);
    const cli = spawnSync(
      process.execPath,
      [CLI, '--root', stateRoot, 'exec', '--config', configPath, '--id', cliId],
      {
        encoding: 'utf8',
      },
    );
    expect(cli.status).toBe(137);
    expect(cli.stderr).toBe(`nsinit: container ${cliId} was OOM-killed (memory limit too low?)\n`);
  });

  it('refuses to say it started when the OOM killer ended it while it started', async () => {
    const id = `oom-start-${process.pid}`;
    ownIds.add(id);
    const error = await run(config({ memory: { limit: 64 * 1024 } }, ['true']), {
      id,
      stateRoot,
      stdio: 'ignore',
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({
      code: 'ERR_NSINIT_OOM_KILLED',
      message: `container ${id}: the kernel's OOM killer ended it while it started (linux.resources.memory.limit is 65536 bytes); give it more memory`,
    });
    expect(existsSync(join(stateRoot, id))).toBe(false);
  });

  it('enforces a pids limit: forks past it fail', async () => {
    const out = await output(
      config({ pids: { limit: 4 } }, [
        'sh',
        '-c',
        'for i in 1 2 3 4 5 6; do sleep 1 & done 2>&1; kill $(jobs -p) 2>/dev/null; :',
      ]),
    );
    expect(out).toMatch(/can't fork|Resource temporarily unavailable/);
  });
});

describe('a 2014 container.json with cgroups', () => {
  it('gets a cgroup of its own under ours, with the memory limit in force', () => {
    const configPath = join(bundle.rootfs, 'container.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        environment: ['PATH=/bin'],
        namespaces: { NEWNS: true, NEWPID: true },
        capabilities: ['KILL'],
        cgroups: { name: CONTAINER_JSON_CGROUP, memory: 16 * 1024 * 1024, memory_swap: 16 * 1024 * 1024 },
      }),
    );
    const script = `cat /proc/self/cgroup | grep -c ${CONTAINER_JSON_CGROUP}; dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo status=$?`;
    const result = spawnSync(
      process.execPath,
      [CLI, '--root', stateRoot, 'exec', '--config', configPath, '--', 'sh', '-c', script],
      {
        encoding: 'utf8',
      },
    );
    expect(result.stderr).toBe('');
    const [joined, status] = result.stdout.trim().split('\n');
    expect(Number(joined)).toBeGreaterThan(0);
    expect(status).toBe('status=137');
  });
});

describe('nsinit stats, pause and unpause', () => {
  it('reads the stats of a running container and freezes and thaws it', async () => {
    const cfg = config({ pids: { limit: 64 } }, ['sh', '-c', 'while :; do echo tick; sleep 0.02; done']);
    const configPath = join(bundle.dir, 'ticker.json');
    writeFileSync(configPath, JSON.stringify({ ...cfg, root: { path: 'rootfs' } }));
    const child = nsinitAsync(['--root', stateRoot, 'exec', '--config', configPath, '--id', TICKER]);
    let ticks = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      ticks += chunk.toString().split('tick').length - 1;
    });
    const statePath = join(stateRoot, TICKER, 'state.json');
    while (!existsSync(statePath) || ticks === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const cli = (...args: string[]) =>
      execFileSync(process.execPath, [CLI, '--root', stateRoot, ...args], { encoding: 'utf8' });

    const stats = JSON.parse(cli('stats', TICKER)) as { pids?: { current: number; limit: number | null } };
    expect(stats.pids?.current).toBeGreaterThanOrEqual(1);
    expect(stats.pids?.limit).toBe(64);

    cli('pause', TICKER);
    await new Promise((resolve) => setTimeout(resolve, 60)); // what was already written arrives
    const frozenAt = ticks;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ticks).toBe(frozenAt);
    cli('unpause', TICKER);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ticks).toBeGreaterThan(frozenAt);

    process.kill(await startedPid(statePath), 'SIGKILL');
    expect(await new Promise((resolve) => child.on('exit', resolve))).toBe(137);
    expect(readdirSync(stateRoot)).toEqual([]);
  });

  it('says clearly when a container has no cgroup of its own, or is not there', () => {
    const fail = (...args: string[]) => {
      try {
        execFileSync(process.execPath, [CLI, '--root', stateRoot, ...args], {
          encoding: 'utf8',
          stdio: 'pipe',
        });
        return '';
      } catch (error) {
        return (error as { stderr: string; status: number }).stderr + (error as { status: number }).status;
      }
    };
    expect(fail('stats', 'nope')).toMatch(/^nsinit: container "nope" does not exist in .*\n255$/);
  });

  it('pauses and resumes a container whose config asks for no resources: every container has a cgroup', async () => {
    const configPath = join(bundle.dir, 'plain.json');
    writeFileSync(
      configPath,
      JSON.stringify({ ...config(undefined, ['sleep', '30']), root: { path: 'rootfs' } }),
    );
    const child = nsinitAsync(['--root', stateRoot, 'exec', '--config', configPath, '--id', PLAIN]);
    const statePath = join(stateRoot, PLAIN, 'state.json');
    const pid = await startedPid(statePath);
    try {
      const cli = (verb: string) =>
        spawnSync(process.execPath, [CLI, '--root', stateRoot, verb, PLAIN], { encoding: 'utf8' });
      expect(cli('pause')).toMatchObject({ status: 0, stderr: '' });
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(/^State:\s+[DS]/m);
      const frozen = readFileSync(`/proc/${pid}/cgroup`, 'utf8').match(/:freezer:(.*)$/m)![1]!;
      expect(readFileSync(`/sys/fs/cgroup/freezer${frozen}/freezer.state`, 'utf8').trim()).toBe('FROZEN');
      expect(cli('unpause')).toMatchObject({ status: 0, stderr: '' });
      expect(readFileSync(`/sys/fs/cgroup/freezer${frozen}/freezer.state`, 'utf8').trim()).toBe('THAWED');
    } finally {
      // Thawed first, whatever happened above: a frozen process cannot die.
      spawnSync(process.execPath, [CLI, '--root', stateRoot, 'unpause', PLAIN]);
      process.kill(pid, 'SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
    }
  });
});

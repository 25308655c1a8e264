// A container held by id (loadContainer), the cgroup verbs of both handles, and the end of
// the Node process that started containers: on every way out — process.exit(), an uncaught
// exception, an unhandled rejection, SIGTERM, SIGINT, SIGHUP — its containers are killed and
// removed (cgroups, state), and the process ends with the status it would have without nsinit.
// Every assertion is about this file's own containers (their ids, their recorded cgroups),
// never about what else on the machine is named nsinit-*.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadContainer, type OciConfig, run } from 'nsinit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, makeBundle, requireRoot, scratch } from '../src/harness.js';

const LIBRARY = fileURLToPath(new URL('../../packages/nsinit/dist/index.js', import.meta.url));

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let bundle: ReturnType<typeof makeBundle>;

beforeAll(() => {
  requireRoot();
  work = scratch('lifecycle');
  stateRoot = join(work.path, 'state');
  bundle = makeBundle(join(work.path, 'bundle'));
});
afterAll(() => work.cleanup());

interface Recorded {
  id: string;
  pid: number;
  pidStartTime: string;
  cgroupPaths: { v1: Record<string, string>; unified: { directory: string } | null; created: string[] };
}

/** What this file's containers recorded, gathered while they ran, to check after they are gone. */
const started: Recorded[] = [];

function remember(stateDir: string): Recorded {
  const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as Recorded;
  started.push(state);
  return state;
}

function cgroupDirs(state: Recorded): string[] {
  return [
    ...new Set([
      ...Object.values(state.cgroupPaths.v1),
      ...(state.cgroupPaths.unified ? [state.cgroupPaths.unified.directory] : []),
    ]),
  ];
}

const alive = isAlive;

/** Host processes running `sleep <marker>`: what a container without a pid namespace leaves when only its init dies. */
function sleepers(marker: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8') === `sleep\0${marker}\0`) found.push(Number(entry));
    } catch {
      // Ended while we looked.
    }
  }
  return found;
}

/** Nothing of these containers is left: state directories, cgroup directories, inits. */
function expectGone(states: readonly Recorded[]): void {
  for (const state of states) {
    expect(existsSync(join(stateRoot, state.id)), `state dir of ${state.id}`).toBe(false);
    expect(
      cgroupDirs(state).filter((dir) => existsSync(dir)),
      `cgroups of ${state.id}`,
    ).toEqual([]);
    expect(alive(state.pid, state.pidStartTime), `init of ${state.id}`).toBe(false);
  }
}

afterEach(() => {
  expectGone(started);
  started.length = 0;
});

let markers = 7_000_000 + (process.pid % 1000) * 1000;
const nextMarker = () => ++markers;

function config(pidNamespace: boolean): OciConfig {
  return {
    ociVersion: '1.0.2',
    process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
    root: { path: bundle.rootfs },
    // A /dev with null in it: sh starts a background job with its stdin on /dev/null.
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
    ],
    linux: { namespaces: [{ type: 'mount' }, ...(pidNamespace ? [{ type: 'pid' as const }] : [])] },
  } as OciConfig;
}

/** A container whose init has a child of its own: `sleep <marker>` in the background. */
function withChild(marker: number): string[] {
  return ['sh', '-c', `sleep ${marker} & exec sleep ${marker}`];
}

async function until(done: () => boolean, what: string): Promise<void> {
  for (
    const deadline = Date.now() + 10_000;
    !done();
    await new Promise((resolve) => setTimeout(resolve, 10))
  ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('loadContainer', () => {
  it('holds a running container by id: state, stats, pause, resume, kill', async () => {
    const container = await run(config(true), {
      stateRoot,
      stdio: ['ignore', 'pipe', 'ignore'],
      // A pid namespace's init gets only the signals it has a handler for.
      args: ['sh', '-c', "trap 'exit 7' TERM; while :; do echo tick; sleep 0.02; done"],
    });
    remember(container.stateDir);
    let ticks = 0;
    container.stdout!.on('data', (chunk: Buffer) => {
      ticks += chunk.toString().split('tick').length - 1;
    });
    await until(() => ticks > 0, 'the first tick');

    const held = loadContainer(stateRoot, container.id);
    expect(held.state()).toMatchObject({ id: container.id, pid: container.pid, status: 'running' });
    expect(held.stats().pids?.current).toBeGreaterThanOrEqual(1);

    await held.pause();
    expect(held.state().status).toBe('paused');
    await new Promise((resolve) => setTimeout(resolve, 60)); // what was already written arrives
    const frozenAt = ticks;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(ticks).toBe(frozenAt);
    await held.resume();
    await until(() => ticks > frozenAt, 'a tick after resume');
    expect(held.state().status).toBe('running');

    expect(await held.kill('SIGTERM')).toBe(true);
    expect((await container.wait()).status).toBe(7);
    expect(await held.kill('SIGTERM')).toBe(false);
    expect(() => held.state()).toThrow(expect.objectContaining({ code: 'ERR_NSINIT_STATE_NOT_FOUND' }));
  });

  it("run()'s handle has stats, pause and resume too", async () => {
    const container = await run(config(true), { stateRoot, stdio: 'ignore', args: ['sleep', '60'] });
    remember(container.stateDir);
    expect(container.stats().pids?.current).toBe(1);
    await container.pause();
    expect(loadContainer(stateRoot, container.id).state().status).toBe('paused');
    await container.resume();
    expect(loadContainer(stateRoot, container.id).state().status).toBe('running');
    // Killed while paused, it still dies: the kill thaws it.
    await container.pause();
    container.kill('SIGKILL');
    expect((await container.wait()).status).toBe(137);
    await expect(container.pause()).rejects.toMatchObject({ code: 'ERR_NSINIT_CONTAINER_NOT_RUNNING' });
  });

  it('kills every process of a container without a pid namespace when SIGKILL ends it', async () => {
    const marker = nextMarker();
    const container = await run(config(false), { stateRoot, stdio: 'ignore', args: withChild(marker) });
    remember(container.stateDir);
    await until(() => sleepers(marker).length === 2, 'the init and its child');
    await container.pause(); // a paused one too: the kill thaws it
    expect(await loadContainer(stateRoot, container.id).kill('SIGKILL')).toBe(true);
    expect(sleepers(marker)).toEqual([]);
    expect((await container.wait()).status).toBe(137);
  });

  it('destroys a paused container held by this process: kills all of it, and the owner removes it', async () => {
    const marker = nextMarker();
    const container = await run(config(false), { stateRoot, stdio: 'ignore', args: withChild(marker) });
    remember(container.stateDir);
    await until(() => sleepers(marker).length === 2, 'the init and its child');
    await container.pause();
    await loadContainer(stateRoot, container.id).destroy();
    expect(sleepers(marker)).toEqual([]);
    expect(existsSync(container.stateDir)).toBe(false);
    expect((await container.wait()).status).toBe(137);
  });
});

// ---------------------------------------------------------------------------------------
// The end of the process that started them: a child Node program runs containers with the
// built library, then ends one way or another.

const PROGRAM = `
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
const [library, stateRoot, rootfs, way, count, marker] = process.argv.slice(2);
const { run } = await import(library);
const config = (pidNamespace) => ({
  ociVersion: '1.0.2',
  process: { args: ['sh'], cwd: '/', env: ['PATH=/bin'], user: { uid: 0, gid: 0 } },
  root: { path: rootfs },
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'mode=755'] },
  ],
  linux: { namespaces: [{ type: 'mount' }, ...(pidNamespace ? [{ type: 'pid' }] : [])] },
});
const sleepers = () =>
  readdirSync('/proc').filter((entry) => {
    try {
      return readFileSync('/proc/' + entry + '/cmdline', 'utf8') === 'sleep\\0' + marker + '\\0';
    } catch {
      return false;
    }
  }).length;
const states = [];
for (let i = 0; i < Number(count); i++) {
  // Every other one without a pid namespace: its background sleep outlives the init's death.
  const container = await run(config(i % 2 === 0), {
    stateRoot,
    stdio: 'ignore',
    args: ['sh', '-c', 'sleep ' + marker + ' & exec sleep ' + marker],
    ...(way === 'reuse-id' ? { id: 'lifecycle-reused' } : {}),
  });
  while (sleepers() < 2 * (i + 1)) await sleep(5);
  // The third one paused: a frozen process dies of nothing until it is thawed.
  if (i === 2) await container.pause();
  states.push(JSON.parse(readFileSync(container.stateDir + '/state.json', 'utf8')));
}
if (way === 'own-handler') process.on('SIGTERM', () => process.exit(9));
process.stdout.write(JSON.stringify(states) + '\\n');
if (way === 'exit' || way === 'reuse-id') process.exit(3);
if (way === 'throw') setTimeout(() => { throw new Error('thrown on purpose'); }, 0);
if (way === 'reject') Promise.reject(new Error('rejected on purpose'));
setInterval(() => {}, 1000); // until the signal comes
`;

interface Ending {
  code: number | null;
  signal: NodeJS.Signals | null;
  states: Recorded[];
}

async function startAndEnd(
  way: string,
  count: number,
  marker: number,
  signal?: NodeJS.Signals,
): Promise<Ending> {
  const program = join(work.path, 'program.mjs');
  writeFileSync(program, PROGRAM);
  const child = spawn(
    process.execPath,
    [program, LIBRARY, stateRoot, bundle.rootfs, way, String(count), String(marker)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk;
  });
  const ready = new Promise<Recorded[]>((resolve) =>
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk;
      if (stdout.includes('\n')) resolve(JSON.parse(stdout.split('\n')[0]!) as Recorded[]);
    }),
  );
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signalName) => resolve({ code, signal: signalName })),
  );
  // A test that fails or times out must not leave the program (and its containers) running:
  // SIGTERM is one of the ways out under test, so it removes them.
  const giveUp = setTimeout(() => child.kill('SIGTERM'), 20_000);
  ended.finally(() => clearTimeout(giveUp));
  const states = await Promise.race([ready, ended.then(() => [] as Recorded[])]);
  // The program reports once each container's init and background sleep run.
  started.push(...states);
  if (signal) child.kill(signal);
  const exit = await ended;
  if (count > 0 && states.length !== count)
    throw new Error(`the program did not start its containers: ${stderr}`);
  // No warning about leftovers.
  expect(stderr).not.toContain('could not be removed');
  return { ...exit, states };
}

describe('the end of the process that started containers', () => {
  const ways: [string, NodeJS.Signals | undefined, { code: number | null; signal: NodeJS.Signals | null }][] =
    [
      ['exit', undefined, { code: 3, signal: null }],
      ['throw', undefined, { code: 1, signal: null }],
      ['reject', undefined, { code: 1, signal: null }],
      ['wait', 'SIGTERM', { code: null, signal: 'SIGTERM' }],
      ['wait', 'SIGINT', { code: null, signal: 'SIGINT' }],
      ['wait', 'SIGHUP', { code: null, signal: 'SIGHUP' }],
      ['own-handler', 'SIGTERM', { code: 9, signal: null }],
    ];
  for (const [way, signal, expected] of ways) {
    it(`${way}${signal ? ` on ${signal}` : ''}: its containers are gone and it ends as it would without them`, async () => {
      const marker = nextMarker();
      const without = await startAndEnd(way, 0, marker, signal);
      expect({ code: without.code, signal: without.signal }).toEqual(expected);
      const ending = await startAndEnd(way, 3, marker, signal);
      expect({ code: ending.code, signal: ending.signal }).toEqual(expected);
      expectGone(ending.states);
      expect(sleepers(marker)).toEqual([]);
    });
  }

  it('frees the id: the next run with it succeeds', async () => {
    const marker = nextMarker();
    const first = await startAndEnd('reuse-id', 1, marker);
    expect(first.states.map((state) => state.id)).toEqual(['lifecycle-reused']);
    const again = await run(config(true), {
      stateRoot,
      id: 'lifecycle-reused',
      stdio: 'ignore',
      args: ['true'],
    });
    expect((await again.wait()).status).toBe(0);
  });

  it('a process killed outright leaves a container that destroy() removes from its record', async () => {
    const marker = nextMarker();
    const ending = await startAndEnd('wait', 2, marker, 'SIGKILL');
    expect(ending.signal).toBe('SIGKILL');
    // SIGKILL cannot be caught: the state and the cgroups stay, and the child of the container
    // without a pid namespace outlives its init (only the init gets the parent-death signal).
    for (const state of ending.states) expect(existsSync(join(stateRoot, state.id))).toBe(true);
    await until(() => sleepers(marker).length === 1, 'the inits to die of the parent-death signal');
    for (const state of ending.states) {
      const held = loadContainer(stateRoot, state.id);
      expect(held.state().status).toBe('stopped');
      await held.destroy();
    }
    expect(sleepers(marker)).toEqual([]);
  });
});

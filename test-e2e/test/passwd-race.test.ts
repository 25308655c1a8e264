// A 2014 container.json names its user ("tester"); the loader looks the name up in the image's
// /etc/passwd. Whoever can write the rootfs may swap `etc` for a symlink to a host directory
// while that happens (issue 9 item 9): the lookup must never take a uid from a host file.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { ConfigError, loadConfigFile } from '@nsinit/config';
import { run } from '@nsinit/exec';
import { helperFd } from '@nsinit/native';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { footprint, hostSnapshot, makeBundle, requireRoot, scratch, TEST_USER } from '../src/harness.js';
import { startExchangeLoop } from '../src/race.js';

const ATTEMPTS = 150;
const HOST_UID = 4242;
const REFUSED = /^user "tester" not found in .*\/etc\/passwd; add it there/;

let work: ReturnType<typeof scratch>;
let stateRoot: string;
let rootfs: string;
let hostEtc: string;
let decoy: string;
let configPath: string;

beforeAll(() => {
  requireRoot();
  work = scratch('passwd-race');
  stateRoot = join(work.path, 'state');
  const bundle = makeBundle(join(work.path, 'bundle'));
  rootfs = bundle.rootfs;
  // The host directory the attacker points at: outside the rootfs, a passwd with other ids.
  hostEtc = join(work.path, 'host-etc');
  mkdirSync(hostEtc);
  writeFileSync(join(hostEtc, 'passwd'), `${TEST_USER.name}:x:${HOST_UID}:${HOST_UID}::/:/bin/sh\n`);
  writeFileSync(join(hostEtc, 'group'), `${TEST_USER.name}:x:${HOST_UID}:\n`);
  // Inside the rootfs, the symlink that the race puts in place of `etc`.
  decoy = join(rootfs, 'etc-decoy');
  symlinkSync(hostEtc, decoy);
  // The config lives outside the rootfs, which it names.
  configPath = join(bundle.dir, 'container.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      root_fs: 'rootfs',
      hostname: 'passwd-race',
      user: TEST_USER.name,
      environment: ['PATH=/bin'],
      namespaces: ['NEWNS', 'NEWPID', 'NEWUTS', 'NEWIPC', 'NEWNET'],
      capabilities: [],
    }),
  );
});
afterAll(() => work?.cleanup());

const CONTAINER_ID_PREFIX = 'passwd-race-';

/** Cgroup directories this file's containers left, in any hierarchy. */
function leftoverCgroups(): string[] {
  // find exits non-zero when a directory vanishes under it; what it printed is still right.
  const out = spawnSync('find', ['/sys/fs/cgroup', '-mindepth', '2', '-maxdepth', '6', '-type', 'd'], {
    encoding: 'utf8',
  }).stdout;
  return out.split('\n').filter((path) => path.includes(`nsinit-${CONTAINER_ID_PREFIX}`));
}

async function idInContainer(
  config: Awaited<ReturnType<typeof loadConfigFile>>,
  attempt: number,
): Promise<string> {
  const container = await run(config.config, {
    id: `${CONTAINER_ID_PREFIX}${attempt}`,
    stateRoot,
    args: ['id', '-u'],
    stdio: ['ignore', 'pipe', 'pipe'],
    noPivotRoot: config.runtime?.noPivotRoot,
  });
  const [stdout, stderr, exit] = await Promise.all([
    text(container.stdout!),
    text(container.stderr!),
    container.wait(),
  ]);
  expect(exit.status, stderr).toBe(0);
  return stdout.trim();
}

it('never takes the uid from a host file while etc is swapped for a symlink out of the rootfs', async () => {
  helperFd(); // opened once per process, kept open: not something a run leaves behind
  const before = footprint(stateRoot);
  const host = hostSnapshot([hostEtc], stateRoot, CONTAINER_ID_PREFIX);
  const outcomes = { imageUid: 0, refused: 0 };
  const hostUidAttempts: number[] = [];
  const unexpectedErrors: string[] = [];
  const loop = await startExchangeLoop(join(rootfs, 'etc'), decoy);
  let swaps: number;
  try {
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      let loaded: Awaited<ReturnType<typeof loadConfigFile>>;
      try {
        loaded = await loadConfigFile(configPath);
      } catch (error) {
        // The lookup saw the decoy: resolved inside the rootfs, it names no file there.
        const issue = error instanceof ConfigError ? error.issues[0] : undefined;
        if (issue?.path === 'user' && REFUSED.test(issue.message)) outcomes.refused++;
        else unexpectedErrors.push(String(error));
        continue;
      }
      const uid = loaded.config.process?.user?.uid;
      if (uid === HOST_UID) hostUidAttempts.push(attempt);
      else {
        expect(uid).toBe(TEST_USER.uid);
        outcomes.imageUid++;
      }
      // What the container really runs as.
      expect(await idInContainer(loaded, attempt)).toBe(String(uid));
    }
  } finally {
    ({ swaps } = await loop.stop());
  }
  expect(
    hostUidAttempts.length,
    `${hostUidAttempts.length} of ${ATTEMPTS} loads took uid ${HOST_UID} from ${hostEtc}/passwd`,
  ).toBe(0);
  expect(unexpectedErrors).toEqual([]);
  // The race did happen: the loader saw the decoy, and also the image's own etc.
  expect(swaps).toBeGreaterThan(ATTEMPTS);
  expect(outcomes.refused).toBeGreaterThan(0);
  expect(outcomes.imageUid).toBeGreaterThan(0);
  // Nothing left behind: the loop restored etc, every container was reaped and unwound.
  expect(readdirSync(join(rootfs, 'etc')).sort()).toEqual(['group', 'passwd']);
  expect(footprint(stateRoot)).toEqual(before);
  expect(leftoverCgroups()).toEqual([]);
  expect(hostSnapshot([hostEtc], stateRoot, CONTAINER_ID_PREFIX)).toEqual(host);
}, 60_000);

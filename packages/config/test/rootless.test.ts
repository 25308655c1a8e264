import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOciConfig, rootlessSpecConfig, runcSpecConfig } from '../src/index.js';
import { FIXTURES } from './helpers.js';

// What runc 1.1.5's `spec --rootless` wrote as root (uid and gid 0).
const RUNC_ROOTLESS = readFileSync(path.join(FIXTURES, 'oci/good/runc-spec-rootless.json'), 'utf8');

describe('rootlessSpecConfig', () => {
  it('is runc spec --rootless, key for key and in its order (no newline at the end, as runc)', () => {
    expect(JSON.stringify(rootlessSpecConfig({ uid: 0, gid: 0 }), null, '\t')).toBe(RUNC_ROOTLESS);
  });

  it("maps the caller's effective ids by default, one each", () => {
    const config = rootlessSpecConfig();
    expect(config.linux.uidMappings).toEqual([{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
    expect(config.linux.gidMappings).toEqual([{ containerID: 0, hostID: process.getegid!(), size: 1 }]);
    expect(rootlessSpecConfig({ uid: 1000, gid: 100 }).linux.uidMappings).toEqual([
      { containerID: 0, hostID: 1000, size: 1 },
    ]);
  });

  it("is runc's spec with runc's rootless changes, and a new object each call", () => {
    const config = rootlessSpecConfig({ uid: 0, gid: 0 });
    expect(config.linux.namespaces?.map((namespace) => namespace.type)).toEqual([
      'pid',
      'ipc',
      'uts',
      'mount',
      'user',
    ]);
    expect(config.linux.resources).toBeUndefined();
    expect(config.mounts.find((mount) => mount.destination === '/sys')).toEqual({
      destination: '/sys',
      type: 'none',
      source: '/sys',
      options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
    });
    expect(config.mounts.flatMap((mount) => mount.options ?? []).filter((o) => /^[ug]id=/.test(o))).toEqual(
      [],
    );
    expect(config.mounts.map((mount) => mount.destination)).toEqual(
      runcSpecConfig().mounts.map((m) => m.destination),
    );
    expect(parseOciConfig(config)).toEqual(config);
    config.mounts.pop();
    expect(rootlessSpecConfig().mounts).toHaveLength(7);
  });

  it('matches what the installed runc generates, when runc is installed', (ctx) => {
    let dir: string | undefined;
    try {
      dir = mkdtempSync(path.join(os.tmpdir(), 'nsinit-spec-rootless-'));
      execFileSync('runc', ['spec', '--rootless'], { cwd: dir, stdio: 'ignore' });
      expect(JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'))).toEqual(rootlessSpecConfig());
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') ctx.skip();
      throw error;
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
});

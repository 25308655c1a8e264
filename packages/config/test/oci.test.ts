import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CAPABILITIES,
  CAPABILITY_NAMES,
  ConfigError,
  DOCKER_DEFAULT_CAPABILITIES,
  embeddedDefaultConfig,
  formatJsonPath,
  isValidOciConfig,
  parseOciConfig,
  RLIMITS,
  RUNC_MASKED_PATHS,
  RUNC_READONLY_PATHS,
  rlimitNameOf,
  runcSpecConfig,
} from '../src/index.js';
import { expectConfigError, FIXTURES, readFixture } from './helpers.js';

describe('parseOciConfig: good fixtures', () => {
  it('parses the config.json that `runc spec` generates, unchanged', () => {
    const json = readFixture('oci/good/runc-spec.json');
    expect(parseOciConfig(json)).toEqual(json);
  });

  it('parses every v1.2 Linux field and keeps their values', () => {
    const json = readFixture('oci/good/full-linux.json');
    const config = parseOciConfig(json);
    expect(config).toEqual(json);
    expect(config.process?.user).toEqual({ uid: 1000, gid: 1000, umask: 18, additionalGids: [5, 6] });
    expect(config.linux?.namespaces?.map((n) => n.type)).toEqual([
      'pid',
      'network',
      'ipc',
      'uts',
      'mount',
      'user',
      'cgroup',
      'time',
    ]);
    // JSON.parse makes RLIM_INFINITY (2^64-1) into 2^64; it must still be accepted.
    expect(config.process?.rlimits?.[1]?.hard).toBe(2 ** 64);
  });

  it('drops unknown properties at the top level and nested, keeping the known ones', () => {
    const config = parseOciConfig(readFixture('oci/good/unknown-properties.json'));
    expect(config).toEqual({
      ociVersion: '1.0.2-dev',
      process: { user: { uid: 0, gid: 0 }, args: ['sh'], cwd: '/' },
      root: { path: 'rootfs' },
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: { resources: { memory: { limit: 1048576 } }, namespaces: [{ type: 'pid' }] },
    });
    expect(config).not.toHaveProperty('vendorExtension');
    expect(config).not.toHaveProperty('solaris');
  });

  it('matches what the installed runc generates, when runc is installed', (ctx) => {
    let dir: string | undefined;
    try {
      dir = mkdtempSync(path.join(os.tmpdir(), 'nsinit-spec-runc-'));
      execFileSync('runc', ['spec'], { cwd: dir, stdio: 'ignore' });
      const generated = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8'));
      expect(parseOciConfig(generated)).toEqual(generated);
      expect(generated).toEqual(readFixture('oci/good/runc-spec.json'));
    } catch (error) {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') ctx.skip();
      throw error;
    } finally {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
  });
});

const BAD_FIXTURES: Record<string, { path: string; message: RegExp }> = {
  'uid-not-a-number.json': { path: 'process.user.uid', message: /^expected a non-negative integer$/ },
  'uid-negative.json': { path: 'process.user.uid', message: /^expected a non-negative integer$/ },
  'uid-too-large.json': {
    path: 'process.user.uid',
    message: /^4294967296 is not a valid id \(ids go from 0 to 4294967294\)$/,
  },
  'terminal-not-boolean.json': { path: 'process.terminal', message: /^expected a boolean, got a string$/ },
  'mounts-not-array.json': { path: 'mounts', message: /^expected an array, got an object$/ },
  'ociversion-number.json': { path: 'ociVersion', message: /^expected a string, got a number$/ },
  'ociversion-not-semver.json': { path: 'ociVersion', message: /SemVer/ },
  'missing-ociversion.json': { path: 'ociVersion', message: /^required: expected a string$/ },
  'missing-root-path.json': { path: 'root.path', message: /^required: expected a string$/ },
  'missing-cwd.json': { path: 'process.cwd', message: /^required/ },
  'relative-cwd.json': { path: 'process.cwd', message: /absolute path/ },
  'relative-mount-destination.json': { path: 'mounts[2].destination', message: /absolute path/ },
  'duplicate-namespace.json': {
    path: 'linux.namespaces[3].type',
    message: /^duplicated namespace type "pid" \(first at index 0\)$/,
  },
  'unknown-namespace.json': {
    path: 'linux.namespaces[0].type',
    message: /expected one of "mount", .*got "net"/,
  },
  'bad-capability.json': {
    path: 'process.capabilities.bounding[1]',
    message: /capability name.*"NET_ADMIN"/,
  },
  'unknown-rlimit.json': { path: 'process.rlimits[0].type', message: /unknown rlimit type "RLIMIT_FOO"/ },
  'duplicate-rlimit.json': {
    path: 'process.rlimits[1].type',
    message: /duplicated rlimit type "RLIMIT_NOFILE"/,
  },
  'nul-byte.json': { path: 'hostname', message: /NUL byte/ },
  'env-without-equals.json': { path: 'process.env[1]', message: /KEY=VALUE/ },
  'relative-masked-path.json': { path: 'linux.maskedPaths[0]', message: /absolute path/ },
  'device-without-numbers.json': {
    path: 'linux.devices[0].major',
    message: /required for a device of type "c"/,
  },
  'not-an-object.json': { path: '', message: /^expected an object, got an array$/ },
};

describe('parseOciConfig: bad fixtures', () => {
  it('has an expectation for every bad fixture', () => {
    expect(readdirSync(path.join(FIXTURES, 'oci/bad')).sort()).toEqual(Object.keys(BAD_FIXTURES).sort());
  });

  for (const [file, expected] of Object.entries(BAD_FIXTURES)) {
    it(`rejects ${file} at ${expected.path || 'the document'}`, () => {
      const error = expectConfigError(() => parseOciConfig(readFixture(`oci/bad/${file}`)));
      expect(error.code).toBe('ERR_NSINIT_CONFIG_INVALID');
      expect(error.issues[0]?.path).toBe(expected.path);
      expect(error.issues[0]?.message).toMatch(expected.message);
      const where = expected.path === '' ? '' : `${expected.path}: `;
      expect(error.message.startsWith(`config.json: ${where}`)).toBe(true);
    });
  }

  it('names the first issue in the message as "<source>: <path>: <problem>"', () => {
    const error = expectConfigError(() => parseOciConfig(readFixture('oci/bad/uid-negative.json')));
    expect(error.message).toBe('config.json: process.user.uid: expected a non-negative integer');
    expect(error.source).toBe('config.json');
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
  });

  it('reports every issue, and counts the rest in the message', () => {
    const json = {
      ociVersion: '1.0.2',
      root: { path: 'rootfs' },
      process: { cwd: 'x', user: { uid: -1, gid: 0 } },
      mounts: [{ destination: 'y' }],
    };
    const error = expectConfigError(() => parseOciConfig(json, '/b/config.json'));
    expect(error.issues.map((i) => i.path).sort()).toEqual([
      'mounts[0].destination',
      'process.cwd',
      'process.user.uid',
    ]);
    expect(error.message).toMatch(/^\/b\/config\.json: .* \(and 2 more issues\)$/);
  });

  it('checks values the spec constrains beyond their JSON type', () => {
    const base = { ociVersion: '1.2.0', root: { path: '/' } };
    const cases: [unknown, string, RegExp][] = [
      [{ ...base, process: { cwd: '/', oomScoreAdj: 1001 } }, 'process.oomScoreAdj', /from -1000 to 1000/],
      [{ ...base, process: { cwd: '/', args: [] } }, 'process.args', /must not be empty/],
      [
        { ...base, process: { cwd: '/', rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1, soft: 2 }] } },
        'process.rlimits[0].soft',
        /exceeds hard limit/,
      ],
      [
        { ...base, mounts: [{ destination: '/d', uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }] },
        'mounts[0].gidMappings',
        /together/,
      ],
      [
        { ...base, linux: { namespaces: [{ type: 'pid', path: 'proc/1/ns/pid' }] } },
        'linux.namespaces[0].path',
        /absolute/,
      ],
      [
        { ...base, linux: { seccomp: { defaultAction: 'SCMP_ACT_NOPE' } } },
        'linux.seccomp.defaultAction',
        /expected one of/,
      ],
      [
        { ...base, linux: { resources: { devices: [{ allow: true, access: 'rwx' }] } } },
        'linux.resources.devices[0].access',
        /"r", "w" and "m"/,
      ],
      [{ ...base, annotations: { 'a.b': 1 } }, 'annotations["a.b"]', /expected a string, got a number/],
      [{ ...base, hooks: { poststop: [{ path: 'true' }] } }, 'hooks.poststop[0].path', /absolute/],
      [
        { ...base, annotations: { 'a\u0000b': 'x' } },
        'annotations["a\\u0000b"]',
        /^key must not contain a NUL byte$/,
      ],
      [
        { ...base, mounts: [{ destination: '/m', options: ['ro\u0000'] }] },
        'mounts[0].options[0]',
        /NUL byte/,
      ],
      [
        { ...base, linux: { timeOffsets: { realtime: { secs: 1 } } } },
        'linux.timeOffsets.realtime',
        /unexpected key/,
      ],
    ];
    for (const [json, jsonPath, message] of cases) {
      const error = expectConfigError(() => parseOciConfig(json));
      expect(error.issues[0]?.path, JSON.stringify(json)).toBe(jsonPath);
      expect(error.issues[0]?.message).toMatch(message);
    }
  });
});

describe('parseOciConfig: values the kernel would refuse later', () => {
  const base = { ociVersion: '1.2.0', root: { path: '/' } };
  const user = (fields: Record<string, unknown>) => ({
    ...base,
    process: { cwd: '/', user: { uid: 0, gid: 0, ...fields } },
  });

  it('refuses ids past 4294967294, the last before (uid_t)-1, and names the field', () => {
    for (const [fields, jsonPath, value] of [
      [{ uid: 4294967295 }, 'process.user.uid', 4294967295],
      [{ gid: 4294967295 }, 'process.user.gid', 4294967295],
      [{ additionalGids: [5, 4294967295] }, 'process.user.additionalGids[1]', 4294967295],
      [{ uid: 2 ** 53 }, 'process.user.uid', 2 ** 53],
    ] as const) {
      const error = expectConfigError(() => parseOciConfig(user(fields), 'config.json'));
      expect(error.message).toBe(
        `config.json: ${jsonPath}: ${value} is not a valid id (ids go from 0 to 4294967294)`,
      );
    }
    expect(
      parseOciConfig(user({ uid: 4294967294, gid: 4294967294, additionalGids: [4294967294] })).process?.user,
    ).toEqual({
      uid: 4294967294,
      gid: 4294967294,
      additionalGids: [4294967294],
    });
  });

  it('refuses a hostname or domainname longer than 64 bytes of UTF-8, counting bytes, not characters', () => {
    for (const field of ['hostname', 'domainname'] as const) {
      expect(parseOciConfig({ ...base, [field]: 'h'.repeat(64) })[field]).toBe('h'.repeat(64));
      let error = expectConfigError(() =>
        parseOciConfig({ ...base, [field]: 'h'.repeat(65) }, 'config.json'),
      );
      expect(error.message).toBe(
        `config.json: ${field}: 65 bytes long (UTF-8), more than the kernel's limit of 64 bytes; use a shorter name`,
      );
      // 33 characters, 66 bytes.
      error = expectConfigError(() => parseOciConfig({ ...base, [field]: 'é'.repeat(33) }));
      expect(error.issues).toEqual([
        {
          path: field,
          message: "66 bytes long (UTF-8), more than the kernel's limit of 64 bytes; use a shorter name",
        },
      ]);
    }
  });
});

describe('formatJsonPath', () => {
  it('uses dots for identifiers and brackets for indexes and other keys', () => {
    expect(formatJsonPath(['mounts', 2, 'destination'])).toBe('mounts[2].destination');
    expect(formatJsonPath(['linux', 'sysctl', 'net.ipv4.ip_forward'])).toBe(
      'linux.sysctl["net.ipv4.ip_forward"]',
    );
    expect(formatJsonPath([0, 'a'])).toBe('[0].a');
    expect(formatJsonPath([])).toBe('');
  });
});

describe('runcSpecConfig', () => {
  it('is exactly the fixture copied from `runc spec`', () => {
    expect(runcSpecConfig()).toEqual(readFixture('oci/good/runc-spec.json'));
  });

  it('returns a fresh object each call', () => {
    const a = runcSpecConfig();
    a.mounts?.pop();
    expect(runcSpecConfig().mounts).toHaveLength(7);
  });
});

describe('validated once', () => {
  it('freezes a parsed config and marks it valid, so that parsing it again is free and returns it', () => {
    const raw = embeddedDefaultConfig();
    expect(isValidOciConfig(raw)).toBe(false);
    const valid = parseOciConfig(raw);
    expect(isValidOciConfig(valid)).toBe(true);
    expect(parseOciConfig(valid)).toBe(valid);
    expect(Object.isFrozen(valid.process?.capabilities?.bounding)).toBe(true);
    // A valid config cannot change under a runtime that trusts it.
    expect(() => {
      (valid.mounts as unknown as unknown[]).push({ destination: '/x', type: 'bind', source: '/' });
    }).toThrow(TypeError);
    // A copy is a new, unvalidated config.
    expect(isValidOciConfig(structuredClone(valid))).toBe(false);
  });
});

describe('embeddedDefaultConfig', () => {
  const config = embeddedDefaultConfig();

  it('is a valid OCI config', () => {
    expect(parseOciConfig(config)).toEqual(config);
  });

  it('is typed with its process, linux and mounts present, to be changed in place', () => {
    // Type-checked by `pnpm typecheck`: no optional chaining or assertion needed.
    const mine = embeddedDefaultConfig();
    mine.linux.resources = { pids: { limit: 64 } };
    mine.process.env.push('DEBUG=1');
    mine.mounts.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs' });
    expect(parseOciConfig(mine).linux?.resources?.pids?.limit).toBe(64);
    expect(embeddedDefaultConfig().linux.resources).toBeUndefined();
  });

  it('runs sh as root on the host root, read-only, with hostname nsinit', () => {
    expect(config.root).toEqual({ path: '/', readonly: true });
    expect(config.hostname).toBe('nsinit');
    expect(config.process).toMatchObject({
      args: ['sh'],
      cwd: '/',
      user: { uid: 0, gid: 0 },
      noNewPrivileges: true,
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm', 'HOME=/root'],
    });
    expect(config.process?.rlimits).toBeUndefined();
  });

  it('unshares every namespace but user', () => {
    expect(config.linux?.namespaces?.map((n) => n.type).sort()).toEqual([
      'ipc',
      'mount',
      'network',
      'pid',
      'uts',
    ]);
    expect(config.linux?.namespaces?.every((n) => n.path === undefined)).toBe(true);
  });

  it("grants Docker's 14 default capabilities, none inheritable or ambient", () => {
    const caps = config.process?.capabilities;
    expect(DOCKER_DEFAULT_CAPABILITIES).toHaveLength(14);
    for (const set of [caps?.bounding, caps?.effective, caps?.permitted]) {
      expect([...(set ?? [])].sort()).toEqual([...DOCKER_DEFAULT_CAPABILITIES].sort());
    }
    expect(caps?.inheritable ?? []).toEqual([]);
    expect(caps?.ambient ?? []).toEqual([]);
  });

  it('mounts fresh proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /tmp and a read-only sysfs', () => {
    const byDestination = Object.fromEntries((config.mounts ?? []).map((m) => [m.destination, m]));
    expect(Object.keys(byDestination)).toEqual([
      '/proc',
      '/dev',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/tmp',
      '/sys',
    ]);
    expect(byDestination['/proc']?.type).toBe('proc');
    expect(byDestination['/dev']).toMatchObject({ type: 'tmpfs' });
    expect(byDestination['/dev']?.options?.sort()).toEqual([
      'mode=755',
      'nosuid',
      'size=65536k',
      'strictatime',
    ]);
    expect(byDestination['/dev/pts']?.options?.sort()).toEqual(
      ['gid=5', 'mode=0620', 'newinstance', 'noexec', 'nosuid', 'ptmxmode=0666'].sort(),
    );
    expect(byDestination['/dev/shm']?.options?.sort()).toEqual([
      'mode=1777',
      'nodev',
      'noexec',
      'nosuid',
      'size=65536k',
    ]);
    expect(byDestination['/dev/mqueue']?.type).toBe('mqueue');
    expect(byDestination['/tmp']?.options?.sort()).toEqual(['mode=1777', 'nodev', 'nosuid']);
    // A fresh sysfs (not a bind of the host's) so /sys/class/net shows the container's interfaces.
    expect(byDestination['/sys']).toMatchObject({ type: 'sysfs', source: 'sysfs' });
    expect(byDestination['/sys']?.options).toContain('ro');
    expect(config.mounts?.some((m) => m.options?.includes('bind') || m.options?.includes('rbind'))).toBe(
      false,
    );
  });

  it("masks and write-protects runc's paths", () => {
    expect(config.linux?.maskedPaths).toEqual(RUNC_MASKED_PATHS);
    expect(config.linux?.readonlyPaths).toEqual(RUNC_READONLY_PATHS);
    expect(RUNC_MASKED_PATHS).toContain('/proc/kcore');
    expect(RUNC_READONLY_PATHS).toContain('/proc/sys');
  });

  it('returns a fresh object each call', () => {
    embeddedDefaultConfig().process?.capabilities?.bounding?.push('CAP_SYS_ADMIN');
    expect(embeddedDefaultConfig().process?.capabilities?.bounding).not.toContain('CAP_SYS_ADMIN');
  });
});

describe('capability and rlimit tables', () => {
  it('numbers capabilities 0..40 without gaps', () => {
    expect(CAPABILITIES.CAP_CHOWN).toBe(0);
    expect(CAPABILITIES.CAP_SYS_ADMIN).toBe(21);
    expect(CAPABILITIES.CAP_CHECKPOINT_RESTORE).toBe(40);
    expect(CAPABILITY_NAMES.map((n) => CAPABILITIES[n])).toEqual(Array.from({ length: 41 }, (_, i) => i));
  });

  it('numbers rlimits 0..15 and maps numbers back to names', () => {
    expect(RLIMITS.RLIMIT_NOFILE).toBe(7);
    expect(Object.values(RLIMITS).sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(rlimitNameOf(7)).toBe('RLIMIT_NOFILE');
    expect(rlimitNameOf(16)).toBeUndefined();
  });

  it('ConfigError carries a stable code', () => {
    expect(new ConfigError('x', []).code).toBe('ERR_NSINIT_CONFIG_INVALID');
  });
});

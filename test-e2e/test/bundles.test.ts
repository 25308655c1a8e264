// Configs made elsewhere: a bundle from `runc spec` (compared with runc itself
// on the same bundle) and a 2014 container.json.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { childPids, makeBundle, nsinit, requireRoot, runcSpec, scratch } from '../src/harness.js';

let work: ReturnType<typeof scratch>;
let stateRoot: string;

beforeAll(() => {
  requireRoot();
  work = scratch('bundles');
  stateRoot = join(work.path, 'state');
});
afterAll(() => work.cleanup());

// What the container reports about itself: one `key: value` per line.
const PROBE = [
  'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Uid|Gid)" /proc/self/status',
  'echo "nofile: $(ulimit -n) $(ulimit -Hn)"',
  'echo "hostname: $(hostname)"',
  // Empty where the kernel has no /proc/kcore (this VM's), 0 where it is masked.
  'echo "kcore: $(wc -c < /proc/kcore 2>/dev/null)"',
  'echo "keys: $(wc -c < /proc/keys)"',
  'echo "firmware: $(ls -A /sys/firmware | wc -l)"',
  'echo "sysrq-write: $(echo x 2>/dev/null > /proc/sysrq-trigger && echo allowed || echo refused)"',
  'echo "proc-sys-write: $(echo 1 2>/dev/null > /proc/sys/kernel/ns_last_pid && echo allowed || echo refused)"',
  'echo "root-write: $(touch /nsinit-probe 2>/dev/null && echo allowed || echo refused)"',
  'echo "mknod-sda: $(mknod /tmp/sda b 8 0 2>/dev/null && echo allowed || echo refused)"',
  'echo "cgroup-dirs: $(ls /sys/fs/cgroup | grep -c .)"',
].join('; ');

function probe(output: string): Record<string, string> {
  const facts: Record<string, string> = {};
  for (const line of output.trim().split('\n')) {
    const match = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (match) facts[match[1]!] = match[2]!.replace(/\s+/g, ' ');
  }
  return facts;
}

function runcBundle(name: string) {
  const spec = runcSpec();
  const process = spec.process as Record<string, unknown>;
  // runc spec asks for a terminal; these runs capture output instead (terminals are @nsinit/pty's).
  process.terminal = false;
  process.args = ['sh', '-c', PROBE];
  // mknod needs a writable place; tmpfs on /tmp does not change anything runc spec asked for.
  (spec.mounts as unknown[]).push({
    destination: '/tmp',
    type: 'tmpfs',
    source: 'tmpfs',
    options: ['nosuid', 'nodev'],
  });
  return makeBundle(join(work.path, name), spec);
}

describe('a runc spec bundle', () => {
  it('runs with every field in force, as runc runs it', () => {
    const bundle = runcBundle('runc-spec');
    const ours = nsinit(['--root', stateRoot, 'exec', '--config', bundle.configPath]);
    expect(ours.status, ours.stderr).toBe(0);
    // runc spec's ambient set lacks inheritable: the kernel cannot raise it; runc drops it too, we say so.
    expect(ours.stderr).toMatch(
      /warning: process\.capabilities\.ambient: CAP_KILL, CAP_NET_BIND_SERVICE, CAP_AUDIT_WRITE not in both permitted and inheritable/,
    );
    const facts = probe(ours.stdout);

    // AUDIT_WRITE (29), KILL (5), NET_BIND_SERVICE (10).
    expect(facts).toMatchObject({
      CapBnd: '0000000020000420',
      CapEff: '0000000020000420',
      CapPrm: '0000000020000420',
      CapInh: '0000000000000000',
      CapAmb: '0000000000000000',
      NoNewPrivs: '1',
      nofile: '1024 1024',
      hostname: 'runc',
      keys: '0',
      firmware: '0',
      'sysrq-write': 'refused',
      'proc-sys-write': 'refused',
      'root-write': 'refused',
      'mknod-sda': 'refused',
    });
    expect(Number(facts['cgroup-dirs'])).toBeGreaterThan(0);
    expect(existsSync(join(bundle.rootfs, 'nsinit-probe'))).toBe(false);

    // The same bundle under runc reports the same about the process itself.
    const runc = spawnSync('runc', ['--root', join(work.path, 'runc-state'), 'run', 'nsinit-e2e-compare'], {
      cwd: bundle.dir,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(runc.status, runc.stderr).toBe(0);
    const theirs = probe(runc.stdout);
    for (const key of [
      'CapBnd',
      'CapEff',
      'CapPrm',
      'CapInh',
      'CapAmb',
      'NoNewPrivs',
      'Uid',
      'Gid',
      'nofile',
      'hostname',
      'kcore',
      'keys',
      'firmware',
      'sysrq-write',
      'proc-sys-write',
      'root-write',
    ]) {
      expect(facts[key], key).toBe(theirs[key]);
    }
    expect(readdirSync(stateRoot)).toEqual([]);
    expect(childPids()).toEqual([]);
  });

  it('denies device access outside the allowed list (linux.resources.devices)', () => {
    const bundle = runcBundle('runc-devices');
    const spec = runcSpec();
    const process = spec.process as Record<string, unknown>;
    process.terminal = false;
    // Give the process CAP_MKNOD so only the devices cgroup stands between it and the disk.
    const caps = process.capabilities as Record<string, string[]>;
    for (const set of ['bounding', 'effective', 'permitted']) caps[set]!.push('CAP_MKNOD');
    process.args = [
      'sh',
      '-c',
      'mknod /tmp/sda b 8 0 && (head -c1 /tmp/sda >/dev/null 2>&1 && echo read-allowed || echo read-denied); echo ok > /dev/null && echo null-ok',
    ];
    (spec.mounts as unknown[]).push({
      destination: '/tmp',
      type: 'tmpfs',
      source: 'tmpfs',
      options: ['nosuid'],
    });
    writeFileSync(bundle.configPath, JSON.stringify(spec));
    const result = nsinit(['--root', stateRoot, 'exec', '--config', bundle.configPath]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toBe('read-denied\nnull-ok\n');
    expect(readdirSync(stateRoot)).toEqual([]);
  });
});

describe('a 2014 container.json', () => {
  it('runs the shipped sample shape (string namespaces, drop-list capabilities)', () => {
    const bundle = makeBundle(join(work.path, 'legacy'));
    // No root_fs (a later addition): the rootfs is the folder holding container.json, as in early 2014.
    const configPath = join(bundle.rootfs, 'container.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        hostname: 'koye',
        tty: false,
        environment: [
          'HOME=/',
          'PATH=/bin:/usr/bin:/sbin:/usr/sbin',
          'container=docker',
          'TERM=xterm-256color',
        ],
        namespaces: ['NEWIPC', 'NEWNS', 'NEWPID', 'NEWUTS', 'NEWNET'],
        capabilities: [
          'SETPCAP',
          'SYS_MODULE',
          'SYS_RAWIO',
          'SYS_PACCT',
          'SYS_ADMIN',
          'SYS_NICE',
          'SYS_RESOURCE',
          'SYS_TIME',
          'SYS_TTY_CONFIG',
          'MKNOD',
          'AUDIT_WRITE',
          'AUDIT_CONTROL',
          'MAC_OVERRIDE',
          'MAC_ADMIN',
          'NET_ADMIN',
        ],
      }),
    );
    const result = nsinit([
      '--root',
      stateRoot,
      'exec',
      '--config',
      configPath,
      '--',
      'sh',
      '-c',
      'hostname; echo $$; echo $container; grep CapBnd /proc/self/status; mount | grep -c " /dev/pts "',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const [hostname, pid, env, capBnd, devpts] = result.stdout.trim().split('\n');
    expect([hostname, pid, env, devpts]).toEqual(['koye', '1', 'docker', '1']);
    const bounding = BigInt(`0x${capBnd!.split(/\s+/)[1]}`);
    // SYS_ADMIN (21) and MKNOD (27) were dropped; CHOWN (0) and KILL (5) kept.
    expect(bounding & (1n << 21n)).toBe(0n);
    expect(bounding & (1n << 27n)).toBe(0n);
    expect(bounding & 1n).toBe(1n);
    expect(bounding & (1n << 5n)).toBe(1n << 5n);
    expect(readdirSync(stateRoot)).toEqual([]);
  });

  it('brings loopback up for a container.json with a loopback network (its host side touches nothing)', () => {
    const bundle = makeBundle(join(work.path, 'legacy-lo'));
    const configPath = join(bundle.rootfs, 'container.json');
    writeFileSync(
      configPath,
      JSON.stringify({
        hostname: 'lo-test',
        environment: ['PATH=/bin'],
        namespaces: { NEWNS: true, NEWPID: true, NEWUTS: true, NEWNET: true },
        capabilities: ['NET_RAW'],
        networks: [{ type: 'loopback', address: '127.0.0.1/0', gateway: 'localhost', mtu: 1500 }],
      }),
    );
    const script =
      'ip -o link show lo | grep -o "<LOOPBACK,UP"; ping -c 1 -W 2 127.0.0.1 >/dev/null && echo pinged';
    const result = nsinit(['--root', stateRoot, 'exec', '--config', configPath, '--', 'sh', '-c', script]);
    expect(result.stderr).toBe('');
    expect(result.stdout).toBe('<LOOPBACK,UP\npinged\n');
    expect(result.status).toBe(0);
  });
});

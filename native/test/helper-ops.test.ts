// The helper's operations, run for real as root. Everything that changes the machine
// happens under `unshare` in fresh namespaces (mounts die with them) or inside a temp
// dir used as the root (removed after each test). Results are checked with host tools
// that the program execs as its last op.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MountAttr, MountFlags } from '../lib/constants.js';
import { encodeProgram, type InitOp, OPCODES, RLIM_INFINITY } from '../lib/program.js';
import { decodeChildReport } from '../lib/report.js';
import { assertHelperBuilt, type HelperRun, onlyError, runHelper } from './helper-harness.js';

beforeAll(assertHelperBuilt);

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;
const ENOENT = 2;
const EACCES = 13;
const EBUSY = 16;
const ENOTDIR = 20;
const EINVAL = 22;
const EPERM = 1;
const ELOOP = 40;
const RLIMIT_NOFILE = 7;

/** A mount namespace keeps every mount private to the run; pid and uts keep the rest off the host. */
const IN_NAMESPACES = ['unshare', '--mount', '--uts', '--pid', '--fork', '--'];
const PATH = 'PATH=/usr/bin:/bin';

const sh = (script: string): InitOp => ({ op: 'exec', args: ['/bin/sh', '-c', script], env: [PATH] });

function bind(source: string, target: string, fields: Partial<Extract<InitOp, { op: 'bind' }>> = {}): InitOp {
  return { op: 'bind', source, target, attrSet: 0, attrClr: 0, propagation: 0, ...fields };
}

function fsmount(fstype: string, target: string, fields: Partial<Extract<InitOp, { op: 'fsmount' }>> = {}) {
  return {
    op: 'fsmount',
    fstype,
    source: '',
    options: [],
    target,
    attrSet: 0,
    propagation: 0,
    dirs: [],
    links: [],
    ...fields,
  } satisfies InitOp;
}

async function run(ops: InitOp[], wrap: readonly string[] = IN_NAMESPACES): Promise<HelperRun> {
  return runHelper(encodeProgram(ops), { wrap });
}

/** Runs a program that must exec successfully; returns its stdout. */
async function stdoutOf(ops: InitOp[], wrap?: readonly string[]): Promise<string> {
  const result = await run(ops, wrap);
  expect(decodeChildReport(result.report), result.stderr).toBeNull();
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout;
}

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'nsinit-ops-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('names and limits', () => {
  it('sets the hostname and domain name', async () => {
    const out = await stdoutOf([
      { op: 'sethostname', name: 'nsinit-box' },
      { op: 'setdomainname', name: 'nsinit.test' },
      sh('hostname; cat /proc/sys/kernel/domainname'),
    ]);
    expect(out).toBe('nsinit-box\nnsinit.test\n');
  });

  it('sets resource limits, and reports the kernel refusing one', async () => {
    const limit = (soft: bigint, hard: bigint): InitOp => ({
      op: 'setrlimit',
      resource: RLIMIT_NOFILE,
      soft,
      hard,
    });
    expect(await stdoutOf([limit(100n, 200n), sh('ulimit -n; ulimit -Hn')], [])).toBe('100\n200\n');
    const error = onlyError(await run([limit(300n, 200n), sh('true')], []));
    expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.setrlimit, errno: EINVAL });
    expect(error.detail).toBe('setrlimit resource 7 to soft 300 hard 200');
  });

  it('passes RLIM_INFINITY through unchanged', async () => {
    const out = await stdoutOf(
      [{ op: 'setrlimit', resource: 4, soft: RLIM_INFINITY, hard: RLIM_INFINITY }, sh('ulimit -c')],
      [],
    );
    expect(out).toBe('unlimited\n');
  });

  it('sets the umask that later ops and the command inherit', async () => {
    const out = await stdoutOf(
      [
        { op: 'openRoot', path: root },
        { op: 'umask', mask: 0o077 },
        { op: 'createFile', path: '/file', mode: 0o666 },
        sh(`stat -c %a ${root}/file; umask`),
      ],
      [],
    );
    expect(out).toBe('600\n0077\n');
  });
});

describe('files in the root', () => {
  it('builds a tree: mkdir -p, tmpfs, device nodes, symlinks, files', async () => {
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/a/b/c', mode: 0o750 },
      { op: 'mkdir', path: '/a/b', mode: 0o700 },
      fsmount('tmpfs', '/a/b/c', { attrSet: MountAttr.NOSUID | MountAttr.NODEV, options: ['mode=711'] }),
      { op: 'mkdir', path: '/dev', mode: 0o755 },
      { op: 'mknod', path: '/dev/null', mode: S_IFCHR | 0o666, major: 1, minor: 3 },
      { op: 'mknod', path: '/dev/fifo', mode: S_IFIFO | 0o640, major: 0, minor: 0 },
      { op: 'symlink', target: '/proc/self/fd', path: '/dev/fd' },
      { op: 'symlink', target: 'elsewhere', path: '/dev/fd', ignoreExisting: true },
      { op: 'createFile', path: '/a/file', mode: 0o640 },
      { op: 'createFile', path: '/a/file', mode: 0o600 },
      { op: 'writeFile', path: '/a/file', data: 'hello' },
      sh(
        `cd ${root} && stat -c '%n %F %a' a/b a/b/c dev/fifo a/file && stat -c '%n %t:%T %a' dev/null && ` +
          `readlink dev/fd && cat a/file && echo && grep -c " ${root}/a/b/c tmpfs rw,nosuid,nodev" /proc/self/mounts`,
      ),
    ]);
    expect(out).toBe(
      [
        'a/b directory 750',
        'a/b/c directory 711',
        'dev/fifo fifo 640',
        'a/file regular file 640',
        'dev/null 1:3 666',
        '/proc/self/fd',
        'hello',
        '1',
        '',
      ].join('\n'),
    );
  });

  it('fails on an existing non-directory in mkdir, and on an existing symlink without ignoreExisting', async () => {
    const mkdir = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'createFile', path: '/file', mode: 0o644 },
        { op: 'mkdir', path: '/file/sub', mode: 0o755 },
        sh('true'),
      ]),
    );
    expect(mkdir).toMatchObject({ opIndex: 2, opcode: OPCODES.mkdir, errno: ENOTDIR, detail: 'mkdir /file' });
    const symlink = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'symlink', target: 'a', path: '/link' },
        { op: 'symlink', target: 'b', path: '/link' },
        sh('true'),
      ]),
    );
    expect(symlink).toMatchObject({
      opIndex: 2,
      opcode: OPCODES.symlink,
      errno: 17,
      detail: 'symlink /link -> b',
    });
  });

  it('resolves every path inside the root: no symlink leads out of it', async () => {
    const name = `nsinit-escape-${process.pid}`;
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'symlink', target: '/', path: '/abs' },
      { op: 'symlink', target: '../../../../../..', path: '/up' },
      { op: 'mkdir', path: `/abs/${name}`, mode: 0o755 },
      { op: 'mkdir', path: `/up/etc/${name}`, mode: 0o755 },
      sh(
        `test -d ${root}/${name} && test -d ${root}/etc/${name} && test ! -e /${name} && test ! -e /etc/${name} && echo contained`,
      ),
    ]);
    expect(out).toBe('contained\n');

    const hostname = readFileSync('/etc/hostname');
    const write = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'writeFile', path: '/abs/etc/hostname', data: 'pwned' },
        sh('true'),
      ]),
    );
    expect(write).toMatchObject({ opIndex: 1, opcode: OPCODES.writeFile, errno: ENOENT });
    expect(readFileSync('/etc/hostname')).toEqual(hostname);
  });

  it('refuses magic links such as /proc/self/root on the way', async () => {
    const hostname = readFileSync('/etc/hostname');
    const error = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'mkdir', path: '/proc', mode: 0o555 },
        fsmount('proc', '/proc', { targetRealDir: true, targetOnProc: true }),
        { op: 'writeFile', path: '/proc/self/root/etc/hostname', data: 'pwned' },
        sh('true'),
      ]),
    );
    expect(error).toMatchObject({ opIndex: 3, opcode: OPCODES.writeFile, errno: ELOOP });
    expect(readFileSync('/etc/hostname')).toEqual(hostname);
  });
});

describe('mounts', () => {
  const probe = (path: string) => `touch ${root}${path}/x 2>/dev/null && echo ${path} rw || echo ${path} ro`;

  it('binds a source in root, and keeps a symlinked source inside the root', async () => {
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/src', mode: 0o755 },
      { op: 'createFile', path: '/src/inside', mode: 0o644 },
      { op: 'mkdir', path: '/dst', mode: 0o755 },
      bind('/src', '/dst', { sourceInRoot: true }),
      sh(`ls ${root}/dst`),
    ]);
    expect(out).toBe('inside\n');

    const error = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'symlink', target: '/etc', path: '/evil' },
        { op: 'mkdir', path: '/dst2', mode: 0o755 },
        bind('/evil', '/dst2', { sourceInRoot: true }),
        sh('true'),
      ]),
    );
    expect(error).toMatchObject({ opIndex: 3, opcode: OPCODES.bind, errno: ENOENT });
    expect(error.detail).toBe('bind /evil on /dst2: open the source in root');
  });

  it('attaches a bind with its attributes already set: read-only from the first instant, submounts by choice', async () => {
    const host = join(root, 'host');
    mkdirSync(host);
    const out = await stdoutOf([
      // A host directory with a submount, as a volume with a mount inside it would have.
      fsmount('tmpfs', host),
      { op: 'mkdir', path: `${host}/sub`, mode: 0o755 },
      fsmount('tmpfs', `${host}/sub`),
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/ro', mode: 0o755 },
      { op: 'mkdir', path: '/rec', mode: 0o755 },
      { op: 'mkdir', path: '/top', mode: 0o755 },
      bind(host, '/ro', { attrSet: MountAttr.RDONLY | MountAttr.NOSUID }),
      bind(host, '/rec', { attrSet: MountAttr.RDONLY, recursive: true, attrRecursive: true }),
      bind(host, '/top', { attrSet: MountAttr.RDONLY, recursive: true }),
      sh(
        `${['/ro', '/rec', '/rec/sub', '/top', '/top/sub'].map(probe).join('; ')}; ` +
          `grep " ${root}/ro " /proc/self/mountinfo | cut -d' ' -f6; test -d ${root}/ro/sub && echo no-submount`,
      ),
    ]);
    expect(out).toBe('/ro ro\n/rec ro\n/rec/sub ro\n/top ro\n/top/sub rw\nro,nosuid,relatime\nno-submount\n');
  });

  it('covers /proc only with the root of a procfs: not a directory, not a host process of procfs', async () => {
    for (const source of ['/tmp', '/proc/1', '/proc/sys']) {
      const error = onlyError(
        await run([
          { op: 'openRoot', path: root },
          { op: 'mkdir', path: '/proc', mode: 0o555 },
          bind(source, '/proc', { sourceProcRoot: true, targetRealDir: true, targetOnProc: true }),
          sh('true'),
        ]),
      );
      expect(error).toMatchObject({ opIndex: 2, opcode: OPCODES.bind, errno: EINVAL });
      expect(error.detail).toBe(`bind ${source} on /proc: the source is not the root of a procfs`);
    }
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/proc', mode: 0o555 },
      bind('/proc', '/proc', {
        sourceProcRoot: true,
        targetRealDir: true,
        targetOnProc: true,
        recursive: true,
      }),
      sh(`test -e ${root}/proc/self/status && echo procfs`),
    ]);
    expect(out).toBe('procfs\n');
  });

  it('refuses a target inside a procfs unless the op allows it: a symlink cannot turn a mount onto /proc/sys', async () => {
    const ops = (targetOnProc: boolean): InitOp[] => [
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/proc', mode: 0o555 },
      fsmount('proc', '/proc', { targetRealDir: true, targetOnProc: true }),
      { op: 'symlink', target: '/proc/sys/kernel', path: '/data', ignoreExisting: true },
      fsmount('tmpfs', '/data', { targetOnProc }),
      sh(`grep -c " ${root}/proc/sys/kernel " /proc/self/mountinfo || true`),
    ];
    const error = onlyError(await run(ops(false)));
    expect(error).toMatchObject({ opIndex: 4, opcode: OPCODES.fsmount, errno: EPERM });
    expect(error.detail).toBe('mount on /data: the target is inside a procfs');
    expect(await stdoutOf(ops(true))).toBe('1\n');
  });

  it('refuses a symlink as the target of a real-directory mount', async () => {
    const error = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'mkdir', path: '/real', mode: 0o755 },
        { op: 'symlink', target: '/real', path: '/link' },
        fsmount('tmpfs', '/link', { targetRealDir: true }),
        sh('true'),
      ]),
    );
    expect(error).toMatchObject({ opIndex: 3, opcode: OPCODES.fsmount, errno: ENOTDIR });
    expect(error.detail).toBe('mount on /link: the target is not a directory');
    // Without the flag the symlink (left by the run above) is followed, inside the root.
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      fsmount('tmpfs', '/link'),
      sh(`grep -c " ${root}/real tmpfs " /proc/self/mounts`),
    ]);
    expect(out).toBe('1\n');
  });

  it('configures a fresh filesystem option by option, and names an option the kernel refuses', async () => {
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/t', mode: 0o755 },
      fsmount('tmpfs', '/t', {
        source: 'shm',
        options: ['mode=1777', 'size=64k', 'nr_inodes=100'],
        attrSet: MountAttr.NOEXEC | MountAttr.STRICTATIME,
      }),
      sh(`grep " ${root}/t " /proc/self/mountinfo | cut -d' ' -f6-; stat -c %a ${root}/t`),
    ]);
    expect(out).toMatch(/^rw,noexec - tmpfs shm rw,size=64k,nr_inodes=100\S*\n1777\n$/);
    const error = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'mkdir', path: '/t', mode: 0o755 },
        fsmount('tmpfs', '/t', { options: ['mode=755', 'nosiud'] }),
        sh('true'),
      ]),
    );
    expect(error).toMatchObject({ opIndex: 2, opcode: OPCODES.fsmount, errno: EINVAL });
    expect(error.detail).toBe(`mount tmpfs on /t: option "nosiud" tmpfs: Unknown parameter 'nosiud'`);
  });

  it('gives a fresh filesystem its skeleton before it becomes read-only and visible', async () => {
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/cg', mode: 0o755 },
      fsmount('tmpfs', '/cg', {
        options: ['mode=755'],
        attrSet: MountAttr.RDONLY | MountAttr.NOSUID,
        dirs: ['cpu,cpuacct', 'memory'],
        links: ['cpu', 'cpu,cpuacct'],
      }),
      bind('/cg/memory', '/cg/cpu', { sourceInRoot: true }),
      sh(`cd ${root}/cg && ls && readlink cpu && ${probe('/cg')}`),
    ]);
    expect(out).toBe('cpu\ncpu,cpuacct\nmemory\ncpu,cpuacct\n/cg ro\n');
  });

  it('sets mount attributes: in place, bound first, recursively or not', async () => {
    const readonly = (path: string, flags: Partial<Extract<InitOp, { op: 'setattr' }>> = {}): InitOp => ({
      op: 'setattr',
      path,
      attrSet: MountAttr.RDONLY,
      attrClr: 0,
      propagation: 0,
      ...flags,
    });
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/mounted', mode: 0o755 },
      fsmount('tmpfs', '/mounted'),
      readonly('/mounted'),
      { op: 'mkdir', path: '/plain', mode: 0o755 },
      readonly('/plain', { bindFirst: true }),
      { op: 'mkdir', path: '/rec', mode: 0o755 },
      fsmount('tmpfs', '/rec'),
      { op: 'mkdir', path: '/rec/sub', mode: 0o755 },
      fsmount('tmpfs', '/rec/sub'),
      readonly('/rec', { recursive: true }),
      { op: 'mkdir', path: '/top', mode: 0o755 },
      fsmount('tmpfs', '/top'),
      { op: 'mkdir', path: '/top/sub', mode: 0o755 },
      fsmount('tmpfs', '/top/sub'),
      readonly('/top'),
      readonly('/missing', { ignoreMissing: true }),
      sh(['/mounted', '/plain', '/rec', '/rec/sub', '/top', '/top/sub'].map(probe).join('; ')),
    ]);
    expect(out).toBe('/mounted ro\n/plain ro\n/rec ro\n/rec/sub ro\n/top ro\n/top/sub rw\n');

    const missing = onlyError(await run([{ op: 'openRoot', path: root }, readonly('/missing'), sh('true')]));
    expect(missing).toMatchObject({ opIndex: 1, opcode: OPCODES.setattr, errno: ENOENT });
    const notMount = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'mkdir', path: '/d', mode: 0o755 },
        readonly('/d'),
        sh('true'),
      ]),
    );
    expect(notMount).toMatchObject({ opIndex: 2, opcode: OPCODES.setattr, errno: EINVAL });
    expect(notMount.detail).toBe('set mount attributes of /d to 0x1 (clear 0x0) propagation 0x0');
  });

  it('masks a directory with an empty read-only tmpfs and a file with /dev/null', async () => {
    const out = await stdoutOf([
      { op: 'openRoot', path: root },
      { op: 'mkdir', path: '/dev', mode: 0o755 },
      { op: 'mknod', path: '/dev/null', mode: S_IFCHR | 0o666, major: 1, minor: 3 },
      { op: 'mkdir', path: '/secret', mode: 0o755 },
      { op: 'createFile', path: '/secret/key', mode: 0o600 },
      { op: 'createFile', path: '/file', mode: 0o644 },
      { op: 'writeFile', path: '/file', data: 'data' },
      { op: 'mask', path: '/secret' },
      { op: 'mask', path: '/file' },
      { op: 'mask', path: '/missing' },
      sh(
        `ls -A ${root}/secret | wc -l; wc -c < ${root}/file; stat -c %t:%T ${root}/file; ` +
          `touch ${root}/secret/x 2>/dev/null || echo read-only`,
      ),
    ]);
    expect(out).toBe('0\n0\n1:3\nread-only\n');
  });

  it('refuses to mask with a /dev/null that is not the null device', async () => {
    const error = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'mkdir', path: '/dev', mode: 0o755 },
        { op: 'createFile', path: '/dev/null', mode: 0o666 },
        { op: 'createFile', path: '/file', mode: 0o644 },
        { op: 'mask', path: '/file' },
        sh('true'),
      ]),
    );
    expect(error).toMatchObject({ opIndex: 4, opcode: OPCODES.mask, errno: EINVAL });
    expect(error.detail).toMatch(/not the null device/);
  });

  it('opens the root through no symlink when asked, and binds it read-only before anything sees it', async () => {
    mkdirSync(join(root, 'real'));
    symlinkSync('real', join(root, 'link'));
    const error = onlyError(
      await run([{ op: 'openRoot', path: join(root, 'link'), noSymlinks: true }, sh('true')]),
    );
    expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.openRoot, errno: ELOOP });
    expect(error.detail).toBe(`open root ${root}/link: a component is a symlink`);
    const out = await stdoutOf([
      { op: 'openRoot', path: join(root, 'real'), noSymlinks: true },
      { op: 'mkdir', path: '/made-before', mode: 0o755 },
      { op: 'openRoot', path: '/', bind: true, attrSet: MountAttr.RDONLY },
      sh(`ls ${root}/real; ${probe('/real')}`),
    ]);
    expect(out).toBe('made-before\n/real ro\n');
  });

  for (const rootSwitch of ['pivotRoot', 'moveRoot'] as const) {
    it(`switches the root with ${rootSwitch}`, async () => {
      const out = await stdoutOf([
        {
          op: 'setattr',
          path: '/',
          attrSet: 0,
          attrClr: 0,
          propagation: MountFlags.PRIVATE,
          recursive: true,
        },
        { op: 'openRoot', path: root, noSymlinks: true },
        { op: 'mkdir', path: '/usr', mode: 0o755 },
        { op: 'mkdir', path: '/proc', mode: 0o555 },
        { op: 'openRoot', path: '/', bind: true },
        bind('/usr', '/usr', { recursive: true, attrSet: MountAttr.RDONLY }),
        { op: 'symlink', target: 'usr/bin', path: '/bin' },
        { op: 'symlink', target: 'usr/lib', path: '/lib' },
        { op: 'symlink', target: 'usr/lib64', path: '/lib64' },
        fsmount('proc', '/proc', { targetRealDir: true, targetOnProc: true }),
        { op: rootSwitch },
        { op: 'chdir', path: '/' },
        sh('ls /; echo $$; test -e /work || echo no-host-root; touch /usr/x 2>&- || echo usr-ro'),
      ]);
      expect(out).toBe('bin\nlib\nlib64\nproc\nusr\n1\nno-host-root\nusr-ro\n');
    });
  }
});

describe('identity and capabilities', () => {
  it('sets groups, gid and uid', async () => {
    const out = await stdoutOf(
      [
        { op: 'setgroups', gids: [1, 2] },
        { op: 'setresgid', gid: 3 },
        { op: 'setresuid', uid: 4 },
        { op: 'exec', args: ['/bin/grep', '-E', '^(Uid|Gid|Groups)', '/proc/self/status'], env: [] },
      ],
      [],
    );
    expect(out).toBe('Uid:\t4\t4\t4\t4\nGid:\t3\t3\t3\t3\nGroups:\t1 2 \n');
  });

  it('drops from the bounding set, sets the inheritable and ambient sets', async () => {
    const status = readFileSync('/proc/self/status', 'utf8');
    const permitted = BigInt(`0x${/^CapPrm:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
    const bounding = BigInt(`0x${/^CapBnd:\s*([0-9a-f]+)$/m.exec(status)![1]}`);
    const CAP_KILL = 1n << 5n;
    const CAP_NET_RAW = 1n << 13n;
    const out = await stdoutOf(
      [
        { op: 'boundingDrop', mask: CAP_NET_RAW },
        { op: 'capset', effective: permitted, permitted, inheritable: CAP_KILL },
        { op: 'ambient', mask: CAP_KILL },
        { op: 'exec', args: ['/bin/grep', '-E', '^Cap(Inh|Bnd|Amb)', '/proc/self/status'], env: [] },
      ],
      [],
    );
    const hex = (mask: bigint) => mask.toString(16).padStart(16, '0');
    expect(out).toBe(
      `CapInh:\t${hex(CAP_KILL)}\nCapBnd:\t${hex(bounding & ~CAP_NET_RAW)}\nCapAmb:\t${hex(CAP_KILL)}\n`,
    );
  });

  it('reports a capability the kernel refuses to raise', async () => {
    const error = onlyError(await run([{ op: 'ambient', mask: 1n << 5n }, sh('true')], []));
    expect(error).toMatchObject({
      opIndex: 0,
      opcode: OPCODES.ambient,
      errno: 1,
      detail: 'raise ambient capability 5',
    });
  });
});

describe('process state', () => {
  it('sets no_new_privs and resets ignored signals', async () => {
    // sh leaves SIGINT and SIGUSR1 ignored across its exec of the helper, as Node leaves SIGPIPE.
    const ignoring = ['/bin/sh', '-c', 'trap "" INT USR1; exec "$0" "$@"'];
    const grep: InitOp = {
      op: 'exec',
      args: ['/bin/grep', '-E', '^(SigIgn|NoNewPrivs)', '/proc/self/status'],
      env: [],
    };
    const ignored = (out: string) => BigInt(`0x${/^SigIgn:\s*([0-9a-f]+)$/m.exec(out)![1]}`);
    const before = await stdoutOf([grep], ignoring);
    expect(ignored(before) & 0x202n).toBe(0x202n);
    expect(before).toMatch(/^NoNewPrivs:\t0$/m);
    // All of them, even those glibc reserves (32 and 33), which a caller may leave ignored too.
    expect(await stdoutOf([{ op: 'noNewPrivs' }, { op: 'resetSignals' }, grep], ignoring)).toBe(
      'SigIgn:\t0000000000000000\nNoNewPrivs:\t1\n',
    );
  });

  it('starts a new session with setsid', async () => {
    const script = 'echo $$ $(cut -d" " -f6 /proc/$$/stat)';
    const [pid, session] = (await stdoutOf([{ op: 'setsid' }, sh(script)], [])).trim().split(' ');
    expect(session).toBe(pid);
    const [otherPid, otherSession] = (await stdoutOf([sh(script)], [])).trim().split(' ');
    expect(otherSession).not.toBe(otherPid);
  });

  it('changes directory, and only into a directory that exists', async () => {
    expect(
      await stdoutOf(
        [
          { op: 'chdir', path: '/usr' },
          { op: 'exec', args: ['/bin/pwd'], env: [] },
        ],
        [],
      ),
    ).toBe('/usr\n');
    const error = onlyError(await run([{ op: 'chdir', path: '/nonexistent' }, sh('true')], []));
    expect(error).toMatchObject({
      opIndex: 0,
      opcode: OPCODES.chdir,
      errno: ENOENT,
      detail: 'chdir /nonexistent',
    });
  });

  it('arms the parent-death signal when the parent is outside the pid namespace', async () => {
    // getppid() is 0 there: the check must not mistake that for a dead parent.
    expect(await stdoutOf([{ op: 'pdeathsig', signal: 9, checkParent: true }, sh('echo armed')])).toBe(
      'armed\n',
    );
  });
});

describe('fds', () => {
  it('places fds with dup2, and clears close-on-exec when from equals to', async () => {
    const out = await stdoutOf(
      [
        { op: 'dup2', from: 1, to: 7 },
        { op: 'dup2', from: 1, to: 6 },
        { op: 'cloexecFrom', fd: 5 },
        { op: 'dup2', from: 6, to: 6 },
        sh('echo to-six >&6; echo to-seven 2>/dev/null >&7 || echo seven-closed'),
      ],
      [],
    );
    expect(out).toBe('to-six\nseven-closed\n');
  });

  it('moves its root fd away when a dup2 targets its number', async () => {
    // The program fd 3 is closed after reading; the root fd "/" then takes number 3.
    const out = await stdoutOf(
      [
        { op: 'dup2', from: 1, to: 3 },
        { op: 'mkdir', path: `${root}/made`, mode: 0o755 },
        sh(`echo via-three >&3; test -d ${root}/made && echo made`),
      ],
      [],
    );
    expect(out).toBe('via-three\nmade\n');
  });

  it('closes fds, and leaves only the planned ones after cloexecFrom', async () => {
    const closed = await run([{ op: 'close', fd: 1 }, sh('echo lost; echo kept >&2')], []);
    expect(closed).toMatchObject({ status: 0, stdout: '', stderr: expect.stringContaining('kept') });
    const out = await stdoutOf(
      [
        { op: 'cloexecFrom', fd: 3 },
        { op: 'exec', args: ['/bin/ls', '/proc/self/fd'], env: [] },
      ],
      [],
    );
    expect(out).toBe('0\n1\n2\n3\n');
  });

  it('keeps the report channel out of reach of dup2 and close', async () => {
    for (const op of [
      { op: 'dup2', from: 4, to: 1 },
      { op: 'dup2', from: 1, to: 4 },
      { op: 'close', fd: 4 },
    ] as const) {
      const error = onlyError(await run([op, sh('true')], []));
      expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES[op.op], errno: EBUSY });
    }
  });
});

describe('exec', () => {
  it('searches PATH like execvp and passes the environment', async () => {
    const out = await stdoutOf(
      [{ op: 'exec', args: ['env'], env: ['PATH=/nonexistent::/usr/bin', 'A=1'] }],
      [],
    );
    expect(out).toBe('PATH=/nonexistent::/usr/bin\nA=1\n');
  });

  it('reports a command that is not found, with the command in the detail', async () => {
    const cases: [InitOp, string][] = [
      [
        { op: 'exec', args: ['nsinit-no-such-command'], env: [PATH] },
        'exec "nsinit-no-such-command": not found in PATH',
      ],
      [{ op: 'exec', args: ['/bin/nope'], env: [PATH] }, 'exec "/bin/nope"'],
      [{ op: 'exec', args: ['true'], env: ['HOME=/'] }, 'exec "true": no PATH in the environment'],
    ];
    for (const [exec, detail] of cases) {
      expect(onlyError(await run([exec], []))).toEqual({
        opIndex: 0,
        opcode: OPCODES.exec,
        errno: ENOENT,
        detail,
      });
    }
  });

  it('reports EACCES for a command in PATH that cannot be executed', async () => {
    writeFileSync(join(root, 'tool'), '#!/bin/sh\n', { mode: 0o644 });
    const error = onlyError(
      await run([{ op: 'exec', args: ['tool'], env: [`PATH=/nonexistent:${root}`] }], []),
    );
    expect(error).toEqual({
      opIndex: 0,
      opcode: OPCODES.exec,
      errno: EACCES,
      detail: 'exec "tool": permission denied in PATH',
    });
  });
});

describe('namespaces after the clone: unshare', () => {
  const CLONE_NEWUTS = 0x0400_0000;
  const CLONE_NEWCGROUP = 0x0200_0000;

  it('unshares a UTS namespace: a hostname set after it leaves the outer namespace alone', async () => {
    const host = hostname();
    // The helper runs as a child of a shell in a UTS namespace of its own, which reports its
    // hostname once the helper's command is done.
    const outer = [
      'unshare',
      '--uts',
      '--',
      '/bin/sh',
      '-c',
      'hostname outer && "$0" "$@"; echo "outer: $(hostname)"',
    ];
    const rename: InitOp[] = [{ op: 'sethostname', name: 'inner' }, sh('hostname')];
    expect(await stdoutOf([{ op: 'unshare', flags: CLONE_NEWUTS }, ...rename], outer)).toBe(
      'inner\nouter: outer\n',
    );
    // Without the unshare the same ops rename the outer namespace: the check above can fail.
    expect(await stdoutOf(rename, outer)).toBe('inner\nouter: inner\n');
    expect(hostname()).toBe(host);
  });

  it('unshares a cgroup namespace rooted at the cgroups the helper is in', async () => {
    const readCgroups = { op: 'exec', args: ['/bin/cat', '/proc/self/cgroup'], env: [] } as const;
    const own = readFileSync('/proc/self/cgroup', 'utf8');
    expect(await stdoutOf([readCgroups], [])).toBe(own);
    const rooted = own.replace(/^(\d+:[^:]*:).*$/gm, '$1/');
    expect(await stdoutOf([{ op: 'unshare', flags: CLONE_NEWCGROUP }, readCgroups], [])).toBe(rooted);
  });
});

describe('owners: chown', () => {
  const owner = (path: string) => {
    const stats = lstatSync(path);
    return `${stats.uid}:${stats.gid}`;
  };

  it('changes the owner of a device node in the root', async () => {
    await stdoutOf(
      [
        { op: 'openRoot', path: root },
        { op: 'mkdir', path: '/dev', mode: 0o755 },
        { op: 'mknod', path: '/dev/null', mode: S_IFCHR | 0o600, major: 1, minor: 3 },
        { op: 'chown', path: '/dev/null', uid: 1000, gid: 1000 },
        { op: 'createFile', path: '/dev/file', mode: 0o644 },
        { op: 'chown', path: '/dev/file', uid: 1001, gid: 0 },
        sh('true'),
      ],
      [],
    );
    expect(owner(join(root, 'dev/null'))).toBe('1000:1000');
    expect(statSync(join(root, 'dev/null')).isCharacterDevice()).toBe(true);
    expect(owner(join(root, 'dev/file'))).toBe('1001:0');
  });

  it('changes a symlink itself, never what it points to', async () => {
    writeFileSync(join(root, 'target'), '');
    symlinkSync('/target', join(root, 'link'));
    await stdoutOf(
      [{ op: 'openRoot', path: root }, { op: 'chown', path: '/link', uid: 1000, gid: 1000 }, sh('true')],
      [],
    );
    expect(owner(join(root, 'link'))).toBe('1000:1000');
    expect(owner(join(root, 'target'))).toBe('0:0');
  });

  it('resolves the path inside the root: a symlink on the way cannot reach a host file', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'nsinit-ops-outside-'));
    try {
      const victim = join(outside, 'victim');
      writeFileSync(victim, '');
      symlinkSync(dirname(victim), join(root, 'escape'));
      const error = onlyError(
        await run([
          { op: 'openRoot', path: root },
          { op: 'chown', path: '/escape/victim', uid: 1000, gid: 1000 },
          sh('true'),
        ]),
      );
      expect(error).toMatchObject({ opIndex: 1, opcode: OPCODES.chown, errno: ENOENT });
      expect(owner(victim)).toBe('0:0');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('reports a missing path, naming it and the owner', async () => {
    mkdirSync(join(root, 'dev'));
    const error = onlyError(
      await run([
        { op: 'openRoot', path: root },
        { op: 'chown', path: '/dev/missing', uid: 1000, gid: 5 },
        sh('true'),
      ]),
    );
    expect(error).toEqual({
      opIndex: 1,
      opcode: OPCODES.chown,
      errno: ENOENT,
      detail: 'chown /dev/missing to 1000:5',
    });
  });
});

describe('the session keyring', () => {
  const NOBODY = 65534;
  /** /proc/keys as the command sees it, run as nobody: a root-owned keyring shows only when possessed. */
  const keysAsNobody: InitOp[] = [
    { op: 'setresgid', gid: NOBODY },
    { op: 'setresuid', uid: NOBODY },
    sh('cat /proc/keys'),
  ];
  /** The keyrings of /proc/keys with `description`: [permissions, uid]. */
  const keyrings = (keys: string, description: string) =>
    keys
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .filter((fields) => fields[7] === 'keyring' && fields[8] === `${description}:`)
      .map((fields) => ({ perm: fields[4], uid: Number(fields[5]) }));

  it("joins a keyring of its own by name, with the user's search permission added", async () => {
    const name = `_ses.nsinit-test-${process.pid}`;
    const out = await stdoutOf([{ op: 'joinSessionKeyring', name }, ...keysAsNobody], []);
    // 0x3f130000 is what the kernel gives a session keyring it creates; 0x080000 is KEY_USR_SEARCH.
    expect(keyrings(out, name)).toEqual([{ perm: '3f1b0000', uid: 0 }]);
    // Without the op the command is in this process's session keyring, not in that one.
    expect(keyrings(await stdoutOf(keysAsNobody, []), name)).toEqual([]);
  });

  it('joins a new anonymous keyring for an empty name', async () => {
    const out = await stdoutOf([{ op: 'joinSessionKeyring', name: '' }, ...keysAsNobody], []);
    // The kernel gives an anonymous one 0x3f030000 (no link permission); the search bit is ours.
    expect(keyrings(out, '_ses')).toEqual([{ perm: '3f0b0000', uid: 0 }]);
  });

  it('reports the kernel refusing a name', async () => {
    // Descriptions are at most 4095 bytes.
    const error = onlyError(
      await run([{ op: 'joinSessionKeyring', name: 'k'.repeat(5000) }, sh('true')], []),
    );
    expect(error).toMatchObject({ opIndex: 0, opcode: OPCODES.joinSessionKeyring, errno: EINVAL });
    expect(error.detail).toMatch(/^join session keyring "k+/);
  });
});

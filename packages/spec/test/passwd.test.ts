import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  parseGroup,
  parsePasswd,
  RootfsFileError,
  readRootfsFile,
  resolveInRootfs,
  resolveUser2014,
  UserResolutionError,
} from '../src/index.js';
import { tempDirs } from './helpers.js';

const temp = tempDirs();
afterEach(() => temp.cleanup());

const PASSWD = [
  '# comment',
  'root:x:0:0:root:/root:/bin/sh',
  'daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin',
  'broken line',
  'bad:x:notanumber:1::/:/bin/sh',
  'www-data:x:33:33:www-data:/var/www:/usr/sbin/nologin',
  '',
].join('\n');

const GROUP = [
  'root:x:0:',
  'daemon:x:1:',
  'adm:x:4:syslog,daemon',
  'www-data:x:33:',
  'web:x:500:www-data,daemon',
  '',
].join('\n');

async function rootfsWith(files: Record<string, string>): Promise<string> {
  const rootfs = await temp.make();
  await mkdir(path.join(rootfs, 'etc'));
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(rootfs, name), content);
  return rootfs;
}

describe('parsePasswd / parseGroup', () => {
  it('parses entries and skips comments and malformed lines', () => {
    expect(parsePasswd(PASSWD)).toEqual([
      { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' },
      { name: 'daemon', uid: 1, gid: 1, home: '/usr/sbin', shell: '/usr/sbin/nologin' },
      { name: 'www-data', uid: 33, gid: 33, home: '/var/www', shell: '/usr/sbin/nologin' },
    ]);
    expect(parseGroup(GROUP).find((g) => g.name === 'adm')).toEqual({
      name: 'adm',
      gid: 4,
      members: ['syslog', 'daemon'],
    });
    expect(parseGroup('x:x:1:\r\n').at(0)).toEqual({ name: 'x', gid: 1, members: [] });
  });
});

describe('resolveUser2014', () => {
  it('maps "" to root without reading anything', () => {
    expect(resolveUser2014('', '/nonexistent')).toEqual({ uid: 0, gid: 0 });
  });

  it('resolves a name to its uid, primary gid and supplementary groups', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(resolveUser2014('daemon', rootfs)).toEqual({ uid: 1, gid: 1, additionalGids: [4, 500] });
    expect(resolveUser2014('root', rootfs)).toEqual({ uid: 0, gid: 0 });
  });

  it('resolves name:group, uid:group and name:gid', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(resolveUser2014('www-data:adm', rootfs)).toEqual({ uid: 33, gid: 4, additionalGids: [500] });
    expect(resolveUser2014('33:web', rootfs)).toEqual({ uid: 33, gid: 500 });
    expect(resolveUser2014('daemon:0', rootfs)).toEqual({ uid: 1, gid: 0, additionalGids: [4, 500] });
  });

  it('uses the passwd gid for a bare uid, and 0 for a uid passwd does not list', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(resolveUser2014('33', rootfs)).toEqual({ uid: 33, gid: 33, additionalGids: [500] });
    expect(resolveUser2014('4000', rootfs)).toEqual({ uid: 4000, gid: 0 });
    expect(resolveUser2014('4000:4001', rootfs)).toEqual({ uid: 4000, gid: 4001 });
  });

  it('needs no passwd file for numeric ids', () => {
    expect(resolveUser2014('1000:1000', '/nonexistent-rootfs')).toEqual({ uid: 1000, gid: 1000 });
  });

  it('fails for unknown names, bad syntax and ids beyond uint32', async () => {
    const rootfs = await rootfsWith({ 'etc/passwd': PASSWD, 'etc/group': GROUP });
    expect(() => resolveUser2014('nobody', rootfs)).toThrow(UserResolutionError);
    expect(() => resolveUser2014('nobody', rootfs)).toThrow(
      `user "nobody" not found in ${rootfs}/etc/passwd`,
    );
    expect(() => resolveUser2014('daemon:nogroup', rootfs)).toThrow(
      `group "nogroup" not found in ${rootfs}/etc/group`,
    );
    expect(() => resolveUser2014('a:b:c', rootfs)).toThrow(/expected "user"/);
    expect(() => resolveUser2014('daemon:', rootfs)).toThrow(/expected "user"/);
    expect(() => resolveUser2014('4294967296', rootfs)).toThrow(/larger than 4294967295/);
    expect(() => resolveUser2014('daemon', '/nonexistent-rootfs')).toThrow(/not found/);
  });
});

describe('reading files inside a rootfs', () => {
  it('follows symlinks as the container would, never out of the rootfs', async () => {
    const rootfs = await rootfsWith({ 'etc/real-passwd': 'inside:x:7:7::/:/bin/sh\n' });
    const outside = await temp.make();
    await writeFile(path.join(outside, 'passwd'), 'outside:x:8:8::/:/bin/sh\n');
    // An absolute target is relative to the rootfs, not to the host.
    await symlink('/etc/real-passwd', path.join(rootfs, 'etc/passwd'));
    expect(readRootfsFile(rootfs, '/etc/passwd')).toBe('inside:x:7:7::/:/bin/sh\n');
    // ".." cannot climb above the rootfs either: the target lands on the rootfs's own copy.
    await symlink(`../../../../../../..${outside}/passwd`, path.join(rootfs, 'etc/group'));
    expect(readRootfsFile(rootfs, '/etc/group')).toBeUndefined();
    await mkdir(path.join(rootfs, outside), { recursive: true });
    await writeFile(path.join(rootfs, outside, 'passwd'), 'clamped:x:9:9::/:/bin/sh\n');
    expect(resolveInRootfs(rootfs, '/etc/group')).toBe(path.join(rootfs, outside, 'passwd'));
    expect(readRootfsFile(rootfs, '/etc/group')).toBe('clamped:x:9:9::/:/bin/sh\n');
    // A symlinked directory resolves inside the rootfs too: the rootfs's copy, not the host's.
    await symlink(outside, path.join(rootfs, 'data'));
    expect(readRootfsFile(rootfs, '/data/passwd')).toBe('clamped:x:9:9::/:/bin/sh\n');
  });

  it('returns undefined for missing files and rejects non-regular files and loops', async () => {
    const rootfs = await rootfsWith({});
    expect(readRootfsFile(rootfs, '/etc/passwd')).toBeUndefined();
    expect(readRootfsFile(rootfs, '/etc/passwd/x')).toBeUndefined();
    expect(() => readRootfsFile(rootfs, '/etc')).toThrow(RootfsFileError);
    await symlink('loop-b', path.join(rootfs, 'etc/loop-a'));
    await symlink('loop-a', path.join(rootfs, 'etc/loop-b'));
    expect(() => readRootfsFile(rootfs, '/etc/loop-a')).toThrow(/too many levels of symbolic links/);
  });
});

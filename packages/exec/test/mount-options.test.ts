import { MountAttr as A } from '@nsinit/native';
import { describe, expect, it } from 'vitest';
import { ExecError, InvalidConfigError, UnsupportedFeatureError } from '../src/errors.js';
import { bindFsOptions, MS, type ParsedMountOptions, parseMountOptions } from '../src/mount-options.js';

const parse = (...options: string[]) => parseMountOptions(options, 'mounts[0].options');

/** What no option changes. */
const NOTHING: ParsedMountOptions = {
  bind: false,
  recursive: false,
  attrSet: 0,
  attrClr: 0,
  propagation: 0,
  propagationRecursive: false,
  fsOptions: [],
};
const parsed = (changes: Partial<ParsedMountOptions>): ParsedMountOptions => ({ ...NOTHING, ...changes });

function parseError(...options: string[]): ExecError {
  try {
    parse(...options);
  } catch (error) {
    if (error instanceof ExecError) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(options)} to be refused`);
}

describe('parseMountOptions', () => {
  it('changes nothing for no options, defaults, silent, loud and iversion (fsconfig would refuse it; the kernel ignored it)', () => {
    expect(parseMountOptions(undefined, 'mounts[0].options')).toEqual(NOTHING);
    expect(parse()).toEqual(NOTHING);
    expect(parse('defaults', 'silent', 'loud', 'iversion', 'noiversion')).toEqual(NOTHING);
    expect(parse('ro', 'defaults')).toEqual(parsed({ attrSet: A.RDONLY }));
  });

  // [sets, clears, attribute]: each option of a pair undoes the other.
  const pairs: [string, string, number][] = [
    ['ro', 'rw', A.RDONLY],
    ['nosuid', 'suid', A.NOSUID],
    ['nodev', 'dev', A.NODEV],
    ['noexec', 'exec', A.NOEXEC],
    ['nodiratime', 'diratime', A.NODIRATIME],
    ['nosymfollow', 'symfollow', A.NOSYMFOLLOW],
  ];

  for (const [set, clear, attr] of pairs) {
    it(`"${set}" sets the attribute and "${clear}" clears it; the last one wins`, () => {
      expect(parse(set)).toEqual(parsed({ attrSet: attr }));
      // A bind keeps its source's attributes unless told: the negation is an explicit clear.
      expect(parse(clear)).toEqual(parsed({ attrClr: attr }));
      expect(parse(set, clear)).toEqual(parsed({ attrClr: attr }));
      expect(parse(clear, set)).toEqual(parsed({ attrSet: attr }));
      // Clearing one attribute leaves the others alone.
      const others = (A.NOSUID | A.NODEV | A.RDONLY) & ~attr;
      expect(parse('nosuid', 'nodev', 'ro', set, clear)).toEqual(parsed({ attrSet: others, attrClr: attr }));
      expect(parse('suid', 'dev', clear, set)).toEqual(
        parsed({ attrSet: attr, attrClr: (A.NOSUID | A.NODEV | attr) & ~attr }),
      );
    });
  }

  it('sets one atime mode, with the whole atime field cleared; the last mode wins', () => {
    expect(parse('noatime')).toEqual(parsed({ attrSet: A.NOATIME, attrClr: A.ATIME_MASK }));
    expect(parse('strictatime')).toEqual(parsed({ attrSet: A.STRICTATIME, attrClr: A.ATIME_MASK }));
    // relatime is the mode 0: it shows only in the cleared field.
    expect(parse('relatime')).toEqual(parsed({ attrSet: A.RELATIME, attrClr: A.ATIME_MASK }));
    expect(parse('noatime', 'strictatime')).toEqual(
      parsed({ attrSet: A.STRICTATIME, attrClr: A.ATIME_MASK }),
    );
    expect(parse('strictatime', 'relatime')).toEqual(parsed({ attrSet: A.RELATIME, attrClr: A.ATIME_MASK }));
    expect(parse('ro', 'noatime', 'nodiratime')).toEqual(
      parsed({ attrSet: A.RDONLY | A.NOATIME | A.NODIRATIME, attrClr: A.ATIME_MASK }),
    );
  });

  it('undoes an atime mode with its own negation only', () => {
    for (const [mode, negation] of [
      ['noatime', 'atime'],
      ['relatime', 'norelatime'],
      ['strictatime', 'nostrictatime'],
    ] as const) {
      expect(parse(mode, negation), negation).toEqual(NOTHING);
      expect(parse(negation), negation).toEqual(NOTHING);
      expect(parse('nosuid', mode, negation), negation).toEqual(parsed({ attrSet: A.NOSUID }));
    }
    // The negation of another mode leaves the mode given alone.
    expect(parse('noatime', 'nostrictatime')).toEqual(parsed({ attrSet: A.NOATIME, attrClr: A.ATIME_MASK }));
    expect(parse('strictatime', 'atime')).toEqual(parsed({ attrSet: A.STRICTATIME, attrClr: A.ATIME_MASK }));
    expect(parse('noatime', 'atime', 'strictatime')).toEqual(
      parsed({ attrSet: A.STRICTATIME, attrClr: A.ATIME_MASK }),
    );
  });

  it('reads bind and rbind: a bind, recursive once rbind is given', () => {
    expect(parse('bind')).toEqual(parsed({ bind: true }));
    expect(parse('rbind')).toEqual(parsed({ bind: true, recursive: true }));
    expect(parse('rbind', 'bind')).toEqual(parsed({ bind: true, recursive: true }));
    expect(parse('bind', 'ro', 'nosuid')).toEqual(parsed({ bind: true, attrSet: A.RDONLY | A.NOSUID }));
  });

  it('takes one propagation option, recursive for the r* ones', () => {
    const options: [string, number, boolean][] = [
      ['private', MS.PRIVATE, false],
      ['rprivate', MS.PRIVATE, true],
      ['shared', MS.SHARED, false],
      ['rshared', MS.SHARED, true],
      ['slave', MS.SLAVE, false],
      ['rslave', MS.SLAVE, true],
      ['unbindable', MS.UNBINDABLE, false],
      ['runbindable', MS.UNBINDABLE, true],
    ];
    for (const [option, propagation, recursive] of options) {
      const expected = parsed({
        bind: true,
        recursive: true,
        attrSet: A.NOSUID,
        propagation: propagation as ParsedMountOptions['propagation'],
        propagationRecursive: recursive,
      });
      expect(parse('rbind', option, 'nosuid'), option).toEqual(expected);
      // The same option twice is still one.
      expect(parse('rbind', option, 'nosuid', option), option).toEqual(expected);
    }
  });

  it('refuses two different propagation options, naming both', () => {
    for (const [first, second] of [
      ['rslave', 'private'],
      ['private', 'rprivate'],
      ['shared', 'unbindable'],
    ]) {
      const error = parseError('rbind', first!, 'nosuid', second!);
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect(error.message).toBe(
        `mounts[0].options: "${first}" and "${second}": give one propagation option`,
      );
    }
  });

  it('passes every other option to the filesystem, one by one and in order', () => {
    expect(
      parse('nosuid', 'mode=755', 'size=65536k', 'newinstance', 'ptmxmode=0666', 'gid=5', 'noexec'),
    ).toEqual(
      parsed({
        attrSet: A.NOSUID | A.NOEXEC,
        fsOptions: ['mode=755', 'size=65536k', 'newinstance', 'ptmxmode=0666', 'gid=5'],
      }),
    );
    // A value may hold what would separate options in mount(2)'s data string.
    expect(parse('lowerdir=/a:/b', 'upperdir=/u', 'workdir=/w', 'context="a,b"').fsOptions).toEqual([
      'lowerdir=/a:/b',
      'upperdir=/u',
      'workdir=/w',
      'context="a,b"',
    ]);
  });

  it('gives superblock flags to a fresh filesystem, and ignores them on a bind', () => {
    const fresh = parse('sync', 'mode=755', 'dirsync', 'lazytime', 'async', 'mand', 'ro');
    expect(fresh).toEqual(
      parsed({ attrSet: A.RDONLY, fsOptions: ['sync', 'mode=755', 'dirsync', 'lazytime', 'async', 'mand'] }),
    );
    expect(bindFsOptions(fresh)).toEqual(['mode=755']);
    expect(bindFsOptions(parse('bind', 'sync', 'nolazytime', 'nomand'))).toEqual([]);
    expect(bindFsOptions(parse('bind', 'size=1m', 'sync', 'uid=0'))).toEqual(['size=1m', 'uid=0']);
  });

  it('refuses an option without a name', () => {
    for (const option of ['', '=5']) {
      const error = parseError('nosuid', option);
      expect(error, JSON.stringify(option)).toBeInstanceOf(InvalidConfigError);
      expect(error.message).toBe(`mounts[0].options: ${JSON.stringify(option)} is not a mount option`);
    }
  });

  it('refuses options that need more than attributes rather than passing them to the filesystem', () => {
    const refused = [
      'remount',
      'tmpcopyup',
      'idmap',
      'ridmap',
      'copy-symlink',
      'src-nofollow',
      'rro',
      'rrw',
      'rnosuid',
      'rsuid',
      'rnodev',
      'rdev',
      'rnoexec',
      'rexec',
      'ratime',
      'rnoatime',
      'rrelatime',
      'rnorelatime',
      'rstrictatime',
      'rnostrictatime',
      'rnodiratime',
      'rdiratime',
      'rnosymfollow',
      'rsymfollow',
    ];
    for (const option of refused) {
      const error = parseError('nosuid', option);
      expect(error, option).toBeInstanceOf(UnsupportedFeatureError);
      expect(error.message).toBe(`mounts[0].options: mount option "${option}" is not supported yet`);
    }
    // Names that merely start like a recursive attribute are filesystem options.
    expect(parse('rrofs', 'rdonly').fsOptions).toEqual(['rrofs', 'rdonly']);
  });
});

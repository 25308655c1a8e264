// features: runc's shape, and only what nsinit does (checked against the code's own behaviour).
import { readFileSync } from 'node:fs';
import { CAPABILITY_NAMES, embeddedDefaultConfig, OCI_VERSION } from '@nsinit/config';
import { compileProgram, parseMountOptions } from '@nsinit/exec';
import { describe, expect, it } from 'vitest';
import { featuresDocument, formatFeatures } from '../src/features.js';

const runc = JSON.parse(
  readFileSync(new URL('fixtures/runc-1.1.5/features.json', import.meta.url), 'utf8'),
) as Record<string, unknown> & { mountOptions: string[]; linux: Record<string, unknown> };

/** Every key path of a JSON value, in order (array items left out). */
function keyPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([key, inner]) => [
    `${prefix}${key}`,
    ...keyPaths(inner, `${prefix}${key}.`),
  ]);
}

describe('featuresDocument', () => {
  it("has runc's shape and order; its own annotations", () => {
    const ours = keyPaths(featuresDocument()).filter((path) => !path.startsWith('annotations.'));
    const theirs = keyPaths(runc).filter((path) => !path.startsWith('annotations.'));
    expect(ours).toEqual(theirs.filter((path) => ours.includes(path)));
    expect(ours.filter((path) => !theirs.includes(path))).toEqual([]);
    expect(Object.keys(featuresDocument().annotations)).toEqual(['org.nsinit.commit', 'org.nsinit.version']);
  });

  it('is printed as runc prints it: 4 spaces, a newline', () => {
    const text = formatFeatures();
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n    "ociVersionMin": "1.0.0",\n');
    expect(JSON.parse(text)).toEqual(featuresDocument());
  });

  it('lists the spec versions, no hooks, no LSM, no seccomp, no systemd', () => {
    const features = featuresDocument();
    expect(features.ociVersionMax).toBe(OCI_VERSION);
    expect(features.hooks).toEqual([]);
    expect(features.linux.cgroup).toEqual({ v1: true, v2: true, systemd: false, systemdUser: false });
    expect(features.linux.seccomp).toEqual({ enabled: false });
    expect(features.linux.apparmor).toEqual({ enabled: false });
    expect(features.linux.selinux).toEqual({ enabled: false });
  });

  it("lists every capability the config model knows, in runc's (kernel) order", () => {
    expect(featuresDocument().linux.capabilities).toEqual([...CAPABILITY_NAMES]);
    expect(featuresDocument().linux.capabilities).toEqual(runc.linux.capabilities);
  });

  it("lists the mount options parseMountOptions takes by name: a subset of runc's, sorted", () => {
    const options = featuresDocument().mountOptions;
    expect(options).toEqual([...options].sort());
    expect(options.filter((option) => !runc.mountOptions.includes(option))).toEqual([]);
    for (const option of options) {
      const parsed = parseMountOptions([option], 'test');
      // Superblock flags go to a fresh filesystem as flags; nothing else is left to the filesystem.
      if (!['sync', 'async', 'dirsync', 'mand', 'nomand', 'lazytime', 'nolazytime'].includes(option))
        expect(parsed.fsOptions, option).toEqual([]);
    }
    for (const refused of ['remount', 'tmpcopyup', 'rro', 'idmap']) {
      expect(options).not.toContain(refused);
      expect(() => parseMountOptions([refused], 'test')).toThrow(/not supported/);
    }
  });

  it('lists the namespaces the compiler creates: not user', () => {
    const { namespaces } = featuresDocument().linux;
    expect(namespaces).toEqual(['cgroup', 'ipc', 'mount', 'network', 'pid', 'time', 'uts']);
    // The compiler refuses what it cannot do before it reads anything else of its input.
    const compile = (type: string) => () => {
      const config = embeddedDefaultConfig();
      config.linux.namespaces = [{ type: 'mount' }, { type: type as 'mount' }];
      compileProgram({ config } as never);
    };
    expect(compile('user')).toThrow(/user namespaces/);
    for (const type of namespaces) expect(compile(type), type).not.toThrow(/not supported/);
  });
});

// state and list against what runc 1.1.5 printed for two containers on this kind of host
// (test/fixtures/runc-1.1.5: c1 running, c2 stopped with annotations).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type ContainerListing,
  formatList,
  formatState,
  ownerName,
  rfc3339Nano,
  tabwrite,
} from '../src/oci-state.js';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/runc-1.1.5/${name}`, import.meta.url), 'utf8');

const c1: ContainerListing = {
  ociVersion: '1.0.2-dev',
  id: 'c1',
  pid: 27432,
  status: 'running',
  bundle: '/tmp/runc-scratch-25320/B',
  rootfs: '/tmp/runc-scratch-25320/B/rootfs',
  created: '2026-12-03T20:03:04.960430401Z',
  owner: 'root',
};
const c2: ContainerListing = {
  ociVersion: '1.0.2-dev',
  id: 'c2',
  // Whatever is given: a stopped container's pid is printed as 0.
  pid: 27500,
  status: 'stopped',
  bundle: '/tmp/runc-scratch-25320/B2',
  rootfs: '/tmp/runc-scratch-25320/B/rootfs',
  // Trailing zeros are Go's to drop.
  created: '2026-12-03T20:03:31.971834520Z',
  owner: 'root',
  annotations: { 'z.key': 'v<&>\u2028\b\f\u0001é', 'a.key': '1' },
};

describe('formatState', () => {
  it("prints runc's bytes (runc's state leaves the owner empty)", () => {
    expect(formatState({ ...c1, owner: '' })).toBe(fixture('state-running.json'));
    expect(formatState({ ...c2, owner: '' })).toBe(fixture('state-stopped-annotations.json'));
  });

  it('defaults the ociVersion, and leaves empty annotations out', () => {
    const { ociVersion: _, ...rest } = c1;
    const state = JSON.parse(formatState({ ...rest, annotations: {} })) as Record<string, unknown>;
    expect(Object.keys(state)).toEqual([
      'ociVersion',
      'id',
      'pid',
      'status',
      'bundle',
      'rootfs',
      'created',
      'owner',
    ]);
    expect(state.ociVersion).toBe('1.2.0');
  });
});

describe('formatList', () => {
  it("prints runc's table, JSON and ids", () => {
    expect(formatList([c1, c2], { format: 'table', quiet: false })).toBe(fixture('list.txt'));
    expect(formatList([c1, c2], { format: 'json', quiet: false })).toBe(fixture('list.json'));
    expect(formatList([c1, c2], { format: 'table', quiet: true })).toBe(fixture('list-quiet.txt'));
    expect(formatList([c1], { format: 'json', quiet: true })).toBe('c1\n');
  });

  it('prints the header alone, or null, when there is no container (as runc)', () => {
    expect(formatList([], { format: 'table', quiet: false })).toBe(
      'ID          PID         STATUS      BUNDLE      CREATED     OWNER\n',
    );
    expect(formatList([], { format: 'json', quiet: false })).toBe('null\n');
    expect(formatList([], { format: 'table', quiet: true })).toBe('');
  });
});

describe('tabwrite', () => {
  it("pads every cell but a row's last to its column's width plus 3, at least 12", () => {
    expect(
      tabwrite([
        ['a', 'b', 'c'],
        ['a-very-long-cell', 'é', 'x'],
      ]),
    ).toBe(`a${' '.repeat(18)}b${' '.repeat(11)}c\na-very-long-cell${' '.repeat(3)}é${' '.repeat(11)}x\n`);
  });
});

describe('rfc3339Nano', () => {
  it('drops trailing zeros of the fraction, and a zero fraction', () => {
    expect(rfc3339Nano('2026-12-03T20:03:04.960Z')).toBe('2026-12-03T20:03:04.96Z');
    expect(rfc3339Nano('2026-12-03T20:03:04.000Z')).toBe('2026-12-03T20:03:04Z');
    expect(rfc3339Nano('2026-12-03T20:03:04.100000000+02:00')).toBe('2026-12-03T20:03:04.1+02:00');
    expect(rfc3339Nano('2026-12-03T20:03:04Z')).toBe('2026-12-03T20:03:04Z');
  });
});

describe('ownerName', () => {
  it('names the uid from passwd, or #uid', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n';
    expect(ownerName(0, passwd)).toBe('root');
    expect(ownerName(65534, passwd)).toBe('nobody');
    expect(ownerName(1234, passwd)).toBe('#1234');
    expect(ownerName(0)).toBe('root');
  });
});

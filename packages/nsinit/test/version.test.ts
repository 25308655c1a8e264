import { readFileSync } from 'node:fs';
import { OCI_VERSION, runcSpecConfig } from '@nsinit/config';
import { describe, expect, it } from 'vitest';
import { marshalGo } from '../src/go-json.js';
import { formatted } from '../src/logger.js';
import { commit, SPEC_VERSION, versionText } from '../src/version.js';

const fixture = (name: string) =>
  readFileSync(new URL(`fixtures/runc-1.1.5/${name}`, import.meta.url), 'utf8');

describe('versionText', () => {
  it("is runc's layout, with the spec version the config model implements", () => {
    expect(SPEC_VERSION).toBe(OCI_VERSION);
    expect(commit()).toBe('unknown');
    expect(versionText()).toBe(`nsinit version 0.1.0\ncommit: unknown\nspec: ${OCI_VERSION}`);
  });
});

describe('log lines', () => {
  it("are runc's logrus lines: JSON keys level, msg, time with Go's escapes; the text form quoting only when needed", () => {
    const message = 'unknown signal "<&>\\"\\nx"';
    const json = formatted('json', 'error', message);
    const runc = fixture('log.json').split('\n')[0]!;
    expect(json.replace(/"time":"[^"]+"/, '')).toBe(runc.replace(/"time":"[^"]+"/, ''));
    const [textRunc, plainRunc] = fixture('log.txt').split('\n');
    expect(formatted('text', 'error', message).replace(/^time="[^"]+"/, '')).toBe(
      textRunc!.replace(/^time="[^"]+"/, ''),
    );
    expect(formatted('text', 'error', 'unknown signal "plain"').replace(/^time="[^"]+"/, '')).toBe(
      plainRunc!.replace(/^time="[^"]+"/, ''),
    );
    expect(formatted('text', 'warning', 'done')).toMatch(/^time="[^"]+" level=warning msg=done$/);
  });
});

describe('runc spec', () => {
  it("runcSpecConfig() is runc spec's config.json, byte for byte (MarshalIndent with a tab, no newline)", () => {
    expect(marshalGo(runcSpecConfig(), '\t')).toBe(fixture('spec.json'));
  });
});

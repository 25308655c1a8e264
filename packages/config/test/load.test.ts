import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { chmod, mkdir, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  detectConfigFormat,
  findJsonSyntaxError,
  loadConfigFile,
  NETWORK_ANNOTATION,
  parseJsonText,
  runcSpecConfig,
} from '../src/index.js';
import { expectConfigError, expectConfigErrorAsync, readFixture, tempDirs } from './helpers.js';

const temp = tempDirs();
afterEach(() => temp.cleanup());

async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const file = path.join(dir, name);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}

describe('loadConfigFile: OCI config.json', () => {
  it('detects the format and resolves a relative root.path against the file folder', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'bundle/config.json', runcSpecConfig());
    const loaded = await loadConfigFile(file);
    expect(loaded.format).toBe('oci');
    expect(loaded.path).toBe(file);
    expect(loaded.config.root.path).toBe(path.join(dir, 'bundle/rootfs'));
    expect(loaded.runtime).toEqual({ noPivotRoot: false });
    expect({ ...loaded.config, root: runcSpecConfig().root }).toEqual(runcSpecConfig());
  });

  it('keeps an absolute root.path, normalised', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'config.json', {
      ...runcSpecConfig(),
      root: { path: '/srv//rootfs/' },
    });
    expect((await loadConfigFile(file)).config.root.path).toBe('/srv/rootfs');
  });

  it('resolves a relative file path against the working directory', async () => {
    const dir = await temp.make();
    await writeJson(dir, 'config.json', runcSpecConfig());
    const relative = path.relative(process.cwd(), path.join(dir, 'config.json'));
    const loaded = await loadConfigFile(relative);
    expect(loaded.path).toBe(path.join(dir, 'config.json'));
    expect(loaded.config.root.path).toBe(path.join(dir, 'rootfs'));
  });

  it('names the file in validation errors', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'config.json', readFixture('oci/bad/relative-mount-destination.json'));
    const error = await expectConfigErrorAsync(loadConfigFile(file));
    expect(error.message).toBe(
      `${file}: mounts[2].destination: expected an absolute path (starting with "/")`,
    );
  });

  it('reports a missing ociVersion when the document is OCI-shaped', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'config.json', { root: { path: 'rootfs' }, process: { cwd: '/' } });
    const error = await expectConfigErrorAsync(loadConfigFile(file));
    expect(error.issues[0]).toEqual({ path: 'ociVersion', message: 'required: expected a string' });
  });
});

describe('loadConfigFile: 2014 container.json', () => {
  it('uses the file folder as the rootfs when root_fs is absent', async () => {
    const dir = await temp.make();
    const file = await writeJson(
      dir,
      'ct/container.json',
      readFixture('container-json/feb-2014-sample.json'),
    );
    const loaded = await loadConfigFile(file);
    expect(loaded.format).toBe('container.json');
    expect(loaded.config.root.path).toBe(path.join(dir, 'ct'));
    expect(loaded.runtime.network?.networks[0]?.type).toBe('veth');
    expect(loaded.config.annotations?.[NETWORK_ANNOTATION]).toBeUndefined();
  });

  it('resolves a relative root_fs against the file folder and keeps an absolute one', async () => {
    const dir = await temp.make();
    const relative = await writeJson(dir, 'a/container.json', {
      root_fs: '../images/busybox',
      hostname: 'x',
    });
    expect((await loadConfigFile(relative)).config.root.path).toBe(path.join(dir, 'images/busybox'));
    const absolute = await writeJson(dir, 'b/container.json', { root_fs: '/var/lib/rootfs', hostname: 'x' });
    expect((await loadConfigFile(absolute)).config.root.path).toBe('/var/lib/rootfs');
  });

  it('carries no_pivot_root into the runtime options', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'container.json', { no_pivot_root: true, namespaces: ['NEWNS'] });
    expect((await loadConfigFile(file)).runtime.noPivotRoot).toBe(true);
  });

  it('resolves user names against the rootfs named by root_fs', async () => {
    const dir = await temp.make();
    await writeJson(dir, 'rootfs/etc/passwd', 'app:x:1234:1235::/home/app:/bin/sh\n');
    const file = await writeJson(dir, 'container.json', { root_fs: 'rootfs', user: 'app', mount_config: {} });
    expect((await loadConfigFile(file)).config.process?.user).toEqual({ uid: 1234, gid: 1235 });
  });

  it('names the file in conversion errors', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'container.json', { namespaces: ['NEWNS'], environment: ['BAD'] });
    const error = await expectConfigErrorAsync(loadConfigFile(file));
    expect(error.message).toBe(
      `${file}: environment[0]: expected an environment entry of the form KEY=VALUE`,
    );
  });
});

describe('loadConfigFile: unreadable and malformed files', () => {
  it('reports bad JSON with the file, line, column and offset', async () => {
    const dir = await temp.make();
    const file = await writeJson(
      dir,
      'config.json',
      '{\n  "ociVersion": "1.0.2",\n  "root": { "path": }\n}\n',
    );
    const error = await expectConfigErrorAsync(loadConfigFile(file));
    expect(error.code).toBe('ERR_NSINIT_CONFIG_INVALID');
    expect(error.position).toEqual({ offset: 47, line: 3, column: 21 });
    expect(error.message).toMatch(
      new RegExp(`^${file}: invalid JSON at line 3, column 21 \\(offset 47\\): unexpected "}"`),
    );
    expect(error.cause).toBeInstanceOf(SyntaxError);
  });

  it('reports truncated JSON at its end', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'config.json', '{"ociVersion": "1.0.2",');
    const error = await expectConfigErrorAsync(loadConfigFile(file));
    expect(error.position).toEqual({ offset: 23, line: 1, column: 24 });
    expect(error.message).toContain('unexpected end of input');
  });

  it('reports a missing file, a directory and an unreadable file', async () => {
    const dir = await temp.make();
    const missing = path.join(dir, 'nope.json');
    let error = await expectConfigErrorAsync(loadConfigFile(missing));
    expect(error.message).toBe(`${missing}: cannot read the configuration: no such file; check the path`);
    expect(error.source).toBe(missing);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOENT');

    error = await expectConfigErrorAsync(loadConfigFile(dir));
    expect(error.message).toBe(`${dir}: cannot read the configuration: is a directory, expected a JSON file`);

    const locked = await writeJson(dir, 'locked.json', runcSpecConfig());
    await chmod(locked, 0o000);
    // root reads through mode 0; only check the refusal when the process is subject to it.
    if (process.getuid?.() !== 0) {
      error = await expectConfigErrorAsync(loadConfigFile(locked));
      expect(error.message).toContain('permission denied');
    } else {
      expect((await loadConfigFile(locked)).format).toBe('oci');
    }
  });

  it('rejects JSON that is neither format', async () => {
    const dir = await temp.make();
    for (const [content, message] of [
      ['[1, 2]', /expected a JSON object, got an array/],
      ['"text"', /expected a JSON object, got a string/],
      ['{"foo": 1}', /neither|not a container configuration/],
    ] as const) {
      const file = await writeJson(dir, 'config.json', content);
      const error = await expectConfigErrorAsync(loadConfigFile(file));
      expect(error.message).toMatch(message);
    }
  });

  it('refuses a FIFO at once instead of waiting for a writer', async () => {
    const dir = await temp.make();
    const fifo = path.join(dir, 'config.json');
    execFileSync('mkfifo', [fifo]);
    const started = performance.now();
    const error = await expectConfigErrorAsync(loadConfigFile(fifo));
    expect(performance.now() - started).toBeLessThan(1000);
    expect(error.message).toBe(
      `${fifo}: cannot read the configuration: it is a FIFO, not a regular file; give the path of a JSON file ` +
        "(a pipe is read only as /dev/fd/N, as a shell's <(...) passes it)",
    );
  });

  it('refuses a device such as /dev/zero without reading it', async () => {
    const error = await expectConfigErrorAsync(loadConfigFile('/dev/zero'));
    expect(error.message).toMatch(
      /^\/dev\/zero: cannot read the configuration: it is a character device, not a regular file; /,
    );
  });

  it('refuses a regular file larger than 16 MiB without reading it', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'config.json', '');
    await truncate(file, 16 * 1024 * 1024 + 1);
    const error = await expectConfigErrorAsync(loadConfigFile(file));
    expect(error.message).toBe(
      `${file}: cannot read the configuration: it is 16777217 bytes, more than the 16 MiB a configuration may have; check that the path names the configuration`,
    );
  });

  describe('a pipe named as /proc/self/fd/N or /dev/fd/N (process substitution)', () => {
    const opened: number[] = [];
    afterEach(() => {
      for (const fd of opened.splice(0)) closeSync(fd);
    });

    /** A FIFO with our read end open (so a writer's open does not block) and its path. */
    async function pipeReadEnd(): Promise<{ fifo: string; fd: number }> {
      const fifo = path.join(await temp.make(), 'pipe');
      execFileSync('mkfifo', [fifo]);
      const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
      opened.push(fd);
      return { fifo, fd };
    }

    it('reads what came through it to its end', async () => {
      for (const name of ['/proc/self/fd/', '/dev/fd/']) {
        const { fifo, fd } = await pipeReadEnd();
        const writer = openSync(fifo, constants.O_WRONLY);
        writeSync(writer, JSON.stringify({ ...runcSpecConfig(), root: { path: '/srv/rootfs' } }));
        // The file is opened before the first await; the writer closing then is the end of it.
        const loading = loadConfigFile(`${name}${fd}`);
        closeSync(writer);
        const loaded = await loading;
        expect(loaded.format).toBe('oci');
        expect(loaded.config.root.path).toBe('/srv/rootfs');
      }
    });

    it('stops reading past 16 MiB with a clear error', async () => {
      const { fifo, fd } = await pipeReadEnd();
      const writer = spawn('sh', ['-c', `head -c 17M /dev/zero > ${fifo}`], { stdio: 'ignore' });
      const exited = new Promise((resolve) => writer.on('exit', resolve));
      try {
        const error = await expectConfigErrorAsync(loadConfigFile(`/proc/self/fd/${fd}`));
        expect(error.message).toBe(
          `/proc/self/fd/${fd}: cannot read the configuration: what writes to it sent more than the 16 MiB a configuration may have; check what writes to it`,
        );
      } finally {
        // Without a reader the writer ends on SIGPIPE.
        closeSync(opened.pop()!);
        await exited;
      }
    });

    it('refuses a FIFO named by any other path, even under /proc', async () => {
      const { fd } = await pipeReadEnd();
      const error = await expectConfigErrorAsync(loadConfigFile(`/proc/${process.pid}/fd/${fd}`));
      expect(error.message).toMatch(/it is a FIFO, not a regular file/);
    });
  });

  it('tolerates a UTF-8 byte order mark', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'config.json', `\ufeff${JSON.stringify(runcSpecConfig())}`);
    expect((await loadConfigFile(file)).format).toBe('oci');
  });
});

describe('loadConfigFile: deep nesting and warnings', () => {
  it('refuses a config.json or container.json nested deeper than 256 levels, naming where', async () => {
    const dir = await temp.make();
    const tower = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    for (const [name, text] of [
      ['config.json', `{"ociVersion": "1.2.0", "root": {"path": "/"},\n "annotations": {"a": ${tower}}}`],
      ['container.json', `{"namespaces": ["NEWNS"],\n "environment": ${tower}}`],
    ] as const) {
      const file = await writeJson(dir, name, text);
      const error = await expectConfigErrorAsync(loadConfigFile(file));
      expect(error.message).toMatch(
        new RegExp(
          `^${file}: nested deeper than 256 levels at line 2, column \\d+ \\(offset \\d+\\); a container configuration needs only a few$`,
        ),
      );
      expect(error.position?.line).toBe(2);
    }
  });

  it('counts only brackets outside strings', async () => {
    const dir = await temp.make();
    const file = await writeJson(dir, 'config.json', {
      ...runcSpecConfig(),
      annotations: { a: '['.repeat(1000) },
    });
    expect((await loadConfigFile(file)).config.annotations).toEqual({ a: '['.repeat(1000) });
  });

  it('returns the conversion warnings of a container.json, and none for an OCI config', async () => {
    const dir = await temp.make();
    const legacy = await writeJson(dir, 'container.json', { restrict_sys: false, capabilities: ['CHOWN'] });
    expect((await loadConfigFile(legacy)).warnings).toEqual([
      expect.stringMatching(/^"restrict_sys": false leaves \/sys and \/proc\/sys writable/),
    ]);
    const oci = await writeJson(dir, 'config.json', runcSpecConfig());
    expect((await loadConfigFile(oci)).warnings).toEqual([]);
  });
});

describe('detectConfigFormat', () => {
  it('prefers ociVersion, then 2014-only keys, then OCI-only keys', () => {
    expect(detectConfigFormat({ ociVersion: '1.0.0', namespaces: [] }, 'x')).toBe('oci');
    expect(detectConfigFormat({ namespaces: [], process: {} }, 'x')).toBe('container.json');
    expect(detectConfigFormat({ linux: {} }, 'x')).toBe('oci');
    expect(detectConfigFormat({ hostname: 'h' }, 'x')).toBe('container.json');
    expect(() => detectConfigFormat({}, 'x')).toThrow(/not a container configuration/);
  });
});

describe('JSON syntax positions', () => {
  const samples = [
    '{}',
    '[]',
    '{"a": [1, -2.5e+3, true, false, null, "x\\n\\u00e9"]}',
    '  {"nested": {"deep": [[[]]]}}  ',
    '0',
    '{"a": }',
    '{"a":1,}',
    '[1,2',
    '{"a":tru}',
    '{"a":"x\ny"}',
    '{} x',
    '{"a" 1}',
    '[01]',
    '[1.]',
    '[-]',
    '["\\x"]',
    '["\\u12G4"]',
    '{,}',
    '[,1]',
    '',
    '   ',
    '{"a":1 "b":2}',
    "{'a':1}",
    '[1]]',
    'nul',
  ];

  it('agrees with JSON.parse on what is valid', () => {
    for (const text of samples) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(findJsonSyntaxError(text) === undefined, JSON.stringify(text)).toBe(valid);
    }
  });

  it('points at the offending character', () => {
    expect(findJsonSyntaxError('{"a": }')).toBe(6);
    expect(findJsonSyntaxError('{"a":1,}')).toBe(7);
    expect(findJsonSyntaxError('[1,2')).toBe(4);
    expect(findJsonSyntaxError('{"a":tru}')).toBe(8);
    expect(findJsonSyntaxError('{} x')).toBe(3);
    expect(findJsonSyntaxError('[1]]')).toBe(3);
  });

  it('handles nesting deeper than the call stack would allow', () => {
    const deep = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(findJsonSyntaxError(deep)).toBeUndefined();
    expect(findJsonSyntaxError(`${deep}x`)).toBe(400_000);
  });

  it('parseJsonText names the source', () => {
    const error = expectConfigError(() => parseJsonText('{', 'inline.json'));
    expect(error.message).toMatch(
      /^inline\.json: invalid JSON at line 1, column 2 \(offset 1\): unexpected end of input/,
    );
  });
});

// Bundles the CLI after tsc has emitted the library:
// - dist/cli.cjs: the bin, CommonJS (Node loads it faster than an ES module), with the
//   argument parser; `--version` needs nothing else;
// - dist/commands.js: the verbs with the runtime and its config model, an ES module bundle
//   loaded only when a verb runs (it replaces tsc's output of the same module).
// Both get the version and the git commit (`nsinit --version`, `nsinit features`) as constants.
// The addon stays external: it finds its binaries relative to its own package.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));

/** The commit being built, for `nsinit --version` and `nsinit features`; "" outside a git checkout. */
function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return '';
  }
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  minify: true,
  conditions: ['@nsinit/source'],
  logLevel: 'warning',
  define: { NSINIT_VERSION: JSON.stringify(version), NSINIT_COMMIT: JSON.stringify(gitCommit()) },
  // version()'s fallback reads package.json through import.meta.url; the define makes it dead code.
  logOverride: { 'empty-import-meta': 'silent' },
};

await build({
  ...common,
  entryPoints: ['src/commands.ts'],
  outfile: 'dist/commands.js',
  format: 'esm',
  external: ['@nsinit/native'],
});

await build({
  ...common,
  entryPoints: ['src/cli.ts'],
  outfile: 'dist/cli.cjs',
  format: 'cjs',
  external: ['./commands.js'],
  // Keep import() of the exec bundle an import(), not a require() of an ES module.
  supported: { 'dynamic-import': true },
});

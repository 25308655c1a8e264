// The @nsinit/cgroups the benchmark compares: this build's, and the package as it was before
// the cgroup became part of every container start (issue 9), rebuilt from git into a scratch
// dir so that the old path stays runnable here without living on in the package.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The last commit before the per-container cgroup work: one open per device rule, facts read for every set. */
export const CGROUPS_BASELINE_COMMIT = '0aa1028';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
const SOURCE_DIR = 'packages/cgroups/src';

/**
 * Resolves as the library does: the @nsinit/cgroups that nsinit's @nsinit/exec runs with (nsinit
 * itself does not depend on it, so it is looked up from @nsinit/exec's folder).
 */
function cgroupsPackage() {
  const requireFromNsinit = createRequire(fileURLToPath(import.meta.resolve('nsinit/package.json')));
  const requireFromExec = createRequire(realpathSync(requireFromNsinit.resolve('@nsinit/exec/package.json')));
  const entry = requireFromExec.resolve('@nsinit/cgroups');
  const dir = dirname(realpathSync(requireFromExec.resolve('@nsinit/cgroups/package.json')));
  return { entry, dir };
}

/** This build of @nsinit/cgroups (its dist). */
export async function importCurrentCgroups() {
  const { entry } = cgroupsPackage();
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build the packages first (pnpm build)`);
  return import(pathToFileURL(entry).href);
}

function git(args) {
  return execFileSync('git', ['-C', REPOSITORY, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * @nsinit/cgroups at CGROUPS_BASELINE_COMMIT, its TypeScript sources read with `git show` and
 * transpiled (TypeScript's transpileModule, no type check) into `dir`, importing this
 * checkout's @nsinit/native. Resolves with the module, or with `{ unavailable: why }` when
 * the history or TypeScript is not at hand (a shallow clone, a tarball).
 */
export async function importBaselineCgroups(dir) {
  let sources;
  let ts;
  try {
    const commit = git(['rev-parse', '--verify', `${CGROUPS_BASELINE_COMMIT}^{commit}`]).trim();
    const files = git(['ls-tree', '--name-only', commit, `${SOURCE_DIR}/`])
      .split('\n')
      .filter((path) => path.endsWith('.ts'));
    sources = files.map((path) => ({ path, text: git(['show', `${commit}:${path}`]) }));
    ts = (await import('typescript')).default;
  } catch (error) {
    return {
      unavailable: `cannot rebuild @nsinit/cgroups at ${CGROUPS_BASELINE_COMMIT}: ${error.message.split('\n')[0]}`,
    };
  }
  mkdirSync(join(dir, 'node_modules/@nsinit'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(
    realpathSync(join(cgroupsPackage().dir, 'node_modules/@nsinit/native')),
    join(dir, 'node_modules/@nsinit/native'),
  );
  for (const { path, text } of sources) {
    const { outputText } = ts.transpileModule(text, {
      fileName: path,
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(dir, path.slice(SOURCE_DIR.length + 1).replace(/\.ts$/, '.js')), outputText);
  }
  return import(pathToFileURL(join(dir, 'index.js')).href);
}

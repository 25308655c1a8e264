import { readFileSync } from 'node:fs';

// Set by the CLI bundler (build-cli.mjs): the version from package.json, so `nsinit --version`
// reads no file, and the git commit the bundle was built from.
declare const NSINIT_VERSION: string | undefined;
declare const NSINIT_COMMIT: string | undefined;

/**
 * The runtime-spec version nsinit implements: @nsinit/config's OCI_VERSION (a test keeps the
 * two equal; the CLI's first module does not load the config model to read it).
 */
export const SPEC_VERSION = '1.2.0';

export function version(): string {
  if (typeof NSINIT_VERSION === 'string') return NSINIT_VERSION;
  return (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
}

/** The commit of the build; "unknown" when run from source or built outside a git checkout. */
export function commit(): string {
  return typeof NSINIT_COMMIT === 'string' && NSINIT_COMMIT !== '' ? NSINIT_COMMIT : 'unknown';
}

/** What `nsinit --version` prints, in runc's layout (runc adds go: and libseccomp: lines). */
export function versionText(): string {
  return `nsinit version ${version()}\ncommit: ${commit()}\nspec: ${SPEC_VERSION}`;
}

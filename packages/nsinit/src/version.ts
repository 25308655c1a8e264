import { readFileSync } from 'node:fs';

// Set by the CLI bundler (build-cli.mjs) from package.json, so `nsinit --version` reads no file.
declare const NSINIT_VERSION: string | undefined;

export function version(): string {
  if (typeof NSINIT_VERSION === 'string') return NSINIT_VERSION;
  return (
    JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
  ).version;
}

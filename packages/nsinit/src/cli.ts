#!/usr/bin/env node
// The bin: bundled as CommonJS (dist/cli.cjs), which Node loads faster than an ES module;
// `--version` answers before the argument parser is even evaluated.
import { versionText } from './version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`${versionText()}\n`);
} else {
  import('./main.js').then(async ({ main }) => {
    process.exitCode = await main(process.argv);
  });
}

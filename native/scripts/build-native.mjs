// Builds the addon and the static init helper with node-gyp against the
// local Node headers (never downloaded): `nodedir` comes from .npmrc or,
// when unset, from the headers that Node's distribution package installs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const configured = existsSync(`${packageDir}/build/config.gypi`);
const args = [configured ? 'build' : 'rebuild'];
if (!process.env.npm_config_nodedir && existsSync('/usr/include/node/node_api.h')) {
  args.push('--nodedir=/usr');
}
const result = spawnSync('node-gyp', args, { cwd: packageDir, stdio: 'inherit' });
if (result.error) {
  console.error(`@nsinit/native: could not run node-gyp: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);

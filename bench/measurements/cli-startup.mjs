// `nsinit --version` against `node -e 0`: what the CLI adds to Node's own start-up.
import { command, nodeEnvironments } from '../lib/contenders.mjs';
import { describeSampling, interleave } from '../lib/harness.mjs';
import { ratio } from '../lib/stats.mjs';
import { timingRows, timingTable } from '../lib/tables.mjs';

export default {
  id: 'cli-startup',
  title: 'CLI start-up',
  defaultIterations: 60,
  async measure(fixture, { iterations, warmup, onRound }) {
    const environments = nodeEnvironments();
    const contenders = environments.flatMap(({ label, env }) => [
      { name: `node -e 0${label}`, run: command(process.execPath, ['-e', '0'], env) },
      {
        name: `nsinit --version${label}`,
        run: command(process.execPath, [fixture.cliPath, '--version'], env),
      },
    ]);
    const samples = await interleave(contenders, { iterations, warmup, onRound });
    const rows = timingRows(contenders, samples);
    // Each CLI row against `node -e 0` in the same environment.
    for (const { label } of environments) {
      const cli = rows.find((row) => row.name === `nsinit --version${label}`);
      const node = rows.find((row) => row.name === `node -e 0${label}`);
      cli.ratios['× node -e 0'] = ratio(cli.median, node.median);
      node.ratios['× node -e 0'] = 1;
    }
    const references = [{ column: '× node -e 0' }];
    const method =
      `${describeSampling({ iterations, warmup })}: ` +
      `\`node ${fixture.cliShown} --version\` and \`node -e 0\`, spawned and timed to exit, with the ` +
      'environment as it is and with NODE_EXTRA_CA_CERTS unset (Node reads and parses that CA bundle at ' +
      'start-up although the CLI makes no TLS connections). Ratios compare within the same environment.';
    return { method, table: timingTable(rows, references), data: { rows } };
  },
};

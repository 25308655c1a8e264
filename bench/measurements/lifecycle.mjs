// Start to exit of /bin/true in the busybox rootfs: nsinit's library and CLI beside runc and crun.
import {
  cliLifecycle,
  command,
  libraryLifecycle,
  nodeEnvironments,
  runtimeLifecycle,
} from '../lib/contenders.mjs';
import { describeSampling, interleave } from '../lib/harness.mjs';
import { formatNumber, ratio } from '../lib/stats.mjs';
import { timingRows, timingTable } from '../lib/tables.mjs';

export const CRUN_WRAPPER = 'crun wrapper alone';

export default {
  id: 'lifecycle',
  title: 'Container lifecycle: /bin/true, start to exit',
  defaultIterations: 100,
  async measure(fixture, { iterations, warmup, onRound }) {
    const { runc, crun } = fixture.runtimes;
    const contenders = [
      { name: 'nsinit library', run: libraryLifecycle(fixture) },
      ...nodeEnvironments().map(({ label, env }) => ({
        name: `nsinit CLI${label}`,
        run: cliLifecycle(fixture, env),
      })),
      { name: runc.name, installed: runc.installed, run: runtimeLifecycle(fixture, runc) },
      { name: crun.name, installed: crun.installed, run: runtimeLifecycle(fixture, crun) },
    ];
    const wrapped = crun.installed && fixture.crunWrapperOnly;
    if (wrapped) contenders.push({ name: CRUN_WRAPPER, run: command(...fixture.crunWrapperOnly) });
    const samples = await interleave(
      contenders.filter((c) => c.installed !== false),
      { iterations, warmup, onRound },
    );

    // crun's figure includes its wrapper (unshare, sh, two mounts, exec): compare against crun net of it.
    const unreferenced = timingRows(contenders, samples);
    const medianOf = (name) => unreferenced.find((row) => row.name === name)?.median ?? null;
    const crunNet = wrapped ? medianOf(crun.name) - medianOf(CRUN_WRAPPER) : null;
    const references = [
      { column: '× runc', name: runc.name },
      { column: '× crun', name: crun.name },
      ...(wrapped ? [{ column: '× crun (net)', median: crunNet }] : []),
    ];
    const rows = timingRows(contenders, samples, references);
    if (wrapped) {
      rows.push({
        name: 'crun run, net of the wrapper',
        installed: true,
        derived: true,
        n: samples.get(crun.name).length,
        median: crunNet,
        min: null,
        max: null,
        ratios: {
          '× runc': ratio(crunNet, medianOf(runc.name)),
          '× crun': ratio(crunNet, medianOf(crun.name)),
          '× crun (net)': 1,
        },
      });
    }
    const method = [
      `${describeSampling({ iterations, warmup })}; each run is one container`,
      'of /bin/true in the busybox rootfs (mount, uts, ipc, pid and net namespaces, pivot_root, /proc mounted),',
      'from the call to its exit. The library row is `run()` + `wait()` in this process; the CLI rows run',
      `\`node ${fixture.cliShown} exec --config <bundle>/config.json\`; runc and crun run the same bundle`,
      `in the foreground, each with its own \`--root\`; all state roots are on ${fixture.stateFilesystem}.`,
      'Each runtime creates a cgroup per container: nsinit too, with the default device rules',
      '(issue 9; its cost alone is the cgroup measurement). As the config mounts no /dev, runc and crun',
      "make device nodes in the rootfs's own /dev; nsinit leaves an image's own /dev alone.",
      wrapped
        ? `crun refuses this host's hybrid cgroups, so it runs in a private mount namespace with a tmpfs over /sys/fs/cgroup/unified (\`unshare --mount sh -c '…; exec crun …'\`); the "${CRUN_WRAPPER}" row is that wrapper exec'ing /bin/true. "× crun" divides by crun as measured, wrapper included; "× crun (net)" by crun minus the wrapper (${formatNumber(crunNet)} ms, slightly in crun's favour: the wrapper's own /bin/true is subtracted too).`
        : '',
    ]
      .filter(Boolean)
      .join(' ');
    return { method, table: timingTable(rows, references), data: { rows, crunNetMedian: crunNet } };
  },
};

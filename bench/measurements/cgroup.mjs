// What the cgroup every container now gets (issue 9: the default device rules) costs per
// container: create + default device rules + apply + destroy, against a short-lived process,
// with this build's @nsinit/cgroups and the one before the work to make it cheap.
import { once } from 'node:events';
import {
  CGROUPS_BASELINE_COMMIT,
  importBaselineCgroups,
  importCurrentCgroups,
} from '../lib/cgroups-modules.mjs';
import { libraryLifecycle } from '../lib/contenders.mjs';
import { describeSampling, interleave, msSince, startCommand } from '../lib/harness.mjs';
import { phasedTimingRows, phasedTimingTable } from '../lib/tables.mjs';

const PHASES = ['create', 'set', 'apply', 'destroy'];
const CURRENT = 'cgroup: create + default device rules + apply + destroy';
const BEFORE = `the same with @nsinit/cgroups before (${CGROUPS_BASELINE_COMMIT})`;
const DETECT = 'detectCgroupLayout() alone';
const LIFECYCLE = 'nsinit library lifecycle of /bin/true (for scale)';

/**
 * One cgroup's life around a process: `cat` is started (untimed) and waits on its stdin;
 * create, set and apply are timed; closing its stdin ends it, which is waited for (untimed);
 * destroy is timed. Each phase goes to `phases`; the sum is the sample.
 */
function cgroupLifecycle(cgroups, { fixture, layout, devices, phases, live }) {
  return async () => {
    const cat = startCommand('cat', [], { stdio: ['pipe', 'ignore', 'pipe'], killFirst: true });
    await once(cat.child, 'spawn');
    let manager = null;
    try {
      const created = process.hrtime.bigint();
      manager = await cgroups.createCgroupManager({ name: fixture.nextId('nsinit-bench-cgroup'), layout });
      const create = msSince(created);
      live.add(manager);
      const setting = process.hrtime.bigint();
      await manager.set({ devices });
      const set = msSince(setting);
      const applying = process.hrtime.bigint();
      await manager.apply(cat.child.pid);
      const apply = msSince(applying);
      cat.child.stdin.end();
      const { code, stderr } = await cat.exited;
      if (code !== 0) throw new Error(`cat exited with ${code}: ${stderr.trim()}`);
      const destroying = process.hrtime.bigint();
      await manager.destroy();
      const destroy = msSince(destroying);
      live.delete(manager);
      for (const [phase, ms] of Object.entries({ create, set, apply, destroy })) phases[phase].push(ms);
      return create + set + apply + destroy;
    } catch (error) {
      cat.child.kill('SIGKILL');
      await cat.exited;
      if (manager) {
        await manager.destroy();
        live.delete(manager);
      }
      throw error;
    }
  };
}

export default {
  id: 'cgroup',
  title: 'The device cgroup every container gets',
  defaultIterations: 200,
  async measure(fixture, { iterations, warmup, onRound }) {
    const current = await importCurrentCgroups();
    const before = await importBaselineCgroups(fixture.scratchDir('cgroups-before'));
    // As the exec package does: the host's layout once, passed to createCgroupManager.
    const layout = current.detectCgroupLayout();
    const devices = current.resourcesFromOci(undefined).devices;
    const live = new Set();
    const forget = fixture.onCleanup(async () => {
      for (const manager of live) await manager.destroy();
    });
    const phasesByName = new Map();
    const lifecycleOf = (name, cgroups) => {
      const phases = Object.fromEntries(PHASES.map((phase) => [phase, []]));
      phasesByName.set(name, phases);
      // The old mapper gave no rules for a config without them: both get this build's.
      return cgroupLifecycle(cgroups, { fixture, layout, devices, phases, live });
    };
    const contenders = [
      { name: CURRENT, run: lifecycleOf(CURRENT, current) },
      before.unavailable
        ? { name: BEFORE, installed: false, note: `not measured: ${before.unavailable}` }
        : { name: BEFORE, run: lifecycleOf(BEFORE, before) },
      {
        name: DETECT,
        run: () => {
          const start = process.hrtime.bigint();
          current.detectCgroupLayout();
          return msSince(start);
        },
      },
      { name: LIFECYCLE, run: libraryLifecycle(fixture) },
    ];
    let samples;
    try {
      samples = await interleave(
        contenders.filter((c) => c.installed !== false),
        { iterations, warmup, onRound },
      );
    } finally {
      for (const manager of live) await manager.destroy();
      live.clear();
      forget();
    }
    const references = [
      { column: '× before', name: BEFORE },
      { column: '× lifecycle', name: LIFECYCLE },
    ];
    const rows = phasedTimingRows(contenders, samples, references, phasesByName, warmup);
    const hierarchies = [
      ...layout.v1.map((hierarchy) => hierarchy.controllers.join(',')),
      ...(layout.unified ? [`cgroup2 at ${layout.unified.mountPoint}`] : []),
    ];
    const method = [
      `${describeSampling({ iterations, warmup })}. Each cgroup run starts \`cat\` (untimed), then times`,
      '`createCgroupManager({ name, layout })` with the layout detected once, as the exec package passes it,',
      `\`set()\` of the ${devices.length} default device rules (\`resourcesFromOci(undefined)\`: deny all, then runc's`,
      'list), and `apply(pid)`; closing its stdin ends `cat`, which is waited for (untimed); then it times',
      '`destroy()`. The sample is the sum of the four phases, whose medians are the last columns.',
      `The cgroup joins every hierarchy of this host (${hierarchies.join('; ')}); the device rules go to`,
      `${layout.v1.some((h) => h.controllers.includes('devices')) ? 'the v1 devices controller' : 'an eBPF program on cgroup v2'}.`,
      `"Before" is @nsinit/cgroups at ${CGROUPS_BASELINE_COMMIT}, rebuilt from git into a scratch dir, given the`,
      'same rules (its mapper gave none for such a config). `detectCgroupLayout()` is what the exec package',
      'pays per container on top, as long as it detects the layout for each run. The library lifecycle',
      '(`run()` + `wait()` of /bin/true, as in the lifecycle measurement) is there for scale: "× lifecycle"',
      'is the share of a container start.',
    ].join(' ');
    return {
      method,
      table: phasedTimingTable(rows, references, PHASES),
      data: { rows, hierarchies, rules: devices.length },
    };
  },
};

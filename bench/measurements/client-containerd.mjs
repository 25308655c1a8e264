// `ctr run --rm … /bin/true` end to end, containerd 1.6 and its runc shim with nsinit, runc and
// crun as the runc binary, on a private containerd (test-e2e/src/engines.mjs).
import { benchContainerd, IMAGE, measureClient } from '../lib/clients.mjs';
import { describeSampling, runCommand } from '../lib/harness.mjs';

export default {
  id: 'containerd',
  title: 'ctr run --rm /bin/true, end to end',
  defaultIterations: 10,
  async measure(fixture, sampling) {
    const section = await measureClient(fixture, sampling, {
      label: 'ctr run --rm',
      // podman makes the image (an OCI archive of the busybox rootfs).
      commands: ['containerd', 'ctr', 'containerd-shim-runc-v2', 'podman'],
      ownRoot: false,
      async start(wrapper) {
        const { ctr, close } = await benchContainerd(fixture, wrapper);
        const runner = (runtime) => () => {
          const id = fixture.nextId('ctr');
          const [command, args] = ctr.command([
            'run',
            '--rm',
            ...ctr.runArgs(runtime, id),
            `${IMAGE}:latest`,
            id,
            '/bin/true',
          ]);
          return runCommand(command, args);
        };
        return { runner, close };
      },
    });
    const method = [
      `${describeSampling(sampling)}: \`ctr run --rm --runc-binary <wrapper> --runc-root <dir>`,
      `--cgroup <parent>/<id> ${IMAGE}:latest <id> /bin/true\`, spawned and timed to its exit, against one private`,
      'containerd (its own config, root, state and socket; the CRI and other unused plugins disabled). Each run is',
      "ctr creating the container and its snapshot, containerd starting a shim, the shim calling the runtime's create,",
      'start, delete and delete --force, and ctr removing it all: the runtime is only part of it. The wrapper is a',
      'shell script that execs the runtime (crun inside its cgroup wrapper on a hybrid host).',
    ].join(' ');
    return { method, ...section };
  },
};

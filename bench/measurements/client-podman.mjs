// `podman run --rm … /bin/true` end to end, podman 4.3 + conmon with nsinit, runc and crun as
// the runtime, on a private podman store (test-e2e/src/engines.mjs).
import { benchPodman, IMAGE, measureClient } from '../lib/clients.mjs';
import { describeSampling, runCommand } from '../lib/harness.mjs';

export default {
  id: 'podman',
  title: 'podman run --rm /bin/true, end to end',
  defaultIterations: 10,
  async measure(fixture, sampling) {
    const section = await measureClient(fixture, sampling, {
      label: 'podman run --rm',
      commands: ['podman', 'conmon'],
      ownRoot: true,
      async start(wrapper) {
        const { podman, close } = await benchPodman(fixture, wrapper);
        const seccomp = ['--security-opt', 'seccomp=unconfined'];
        const args = ['run', '--rm', ...podman.containerArgs, ...seccomp, IMAGE, '/bin/true'];
        const runner = (runtime) => {
          const [command, argv] = podman.command(args, runtime);
          return () => runCommand(command, argv, { env: podman.env });
        };
        return { runner, close };
      },
    });
    const method = [
      `${describeSampling(sampling)}: \`podman run --rm --network none --security-opt seccomp=unconfined`,
      `… ${IMAGE} /bin/true\`, spawned and timed to its exit, on one private podman store (cgroupfs, file events and`,
      "locks, k8s-file logs, the image imported from a busybox rootfs) with `--runtime` set to each runtime's wrapper",
      '(a shell script that execs it with a state root of its own; crun inside its cgroup wrapper on a hybrid host).',
      "Each run is podman creating the container (storage, overlay mount), conmon, the runtime's create, start and",
      "delete --force, and podman's clean-up: the runtime is only part of it.",
    ].join(' ');
    return { method, ...section };
  },
};

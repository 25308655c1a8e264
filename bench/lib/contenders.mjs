// One container lifecycle (or floor) per call, for each way of running /bin/true.
import { run } from 'nsinit';
import { runCommand } from './harness.mjs';

/** This environment without NODE_EXTRA_CA_CERTS: Node then skips loading that CA bundle at start-up. */
export function envWithoutExtraCa() {
  const { NODE_EXTRA_CA_CERTS: _unused, ...rest } = process.env;
  return rest;
}

/** The two environments the Node-based rows run in; the second only if the first names a CA bundle. */
export function nodeEnvironments() {
  const asIs = { label: '', env: process.env };
  if (!process.env.NODE_EXTRA_CA_CERTS) return [asIs];
  return [asIs, { label: ', NODE_EXTRA_CA_CERTS unset', env: envWithoutExtraCa() }];
}

/** The library: run() + wait() of /bin/true from this process. */
export function libraryLifecycle(fixture, bundle = fixture.trueBundle) {
  return async () => {
    const container = await run(bundle.config, { stateRoot: fixture.stateRoots.library, stdio: 'ignore' });
    const exit = await container.wait();
    if (exit.status !== 0) throw new Error(`nsinit library: /bin/true exited with status ${exit.status}`);
  };
}

/** The built CLI (the nsinit package's bin): `node <bin> exec --config <bundle>/config.json`. */
export function cliLifecycle(fixture, env) {
  const args = [
    fixture.cliPath,
    '--root',
    fixture.stateRoots.cli,
    'exec',
    '--config',
    fixture.trueBundle.configPath,
  ];
  return () => runCommand(process.execPath, args, { env });
}

/** `runc run` / `crun run` of the /bin/true bundle in the foreground. */
export function runtimeLifecycle(fixture, runtime, bundle = fixture.trueBundle) {
  return () => {
    const [command, args] = runtime.run(fixture.nextId(runtime.binary), bundle.dir);
    return runCommand(command, args);
  };
}

/** A command run to its end, e.g. a floor such as `unshare ... /bin/true`. */
export function command(commandName, args, env) {
  return () => runCommand(commandName, args, { env });
}

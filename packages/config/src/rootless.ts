import { type CompleteOciConfig, runcSpecConfig } from './defaults.js';
import type { OciMount } from './oci.js';

/** The ids mapped to root in the container: by default the caller's effective ones. */
export interface RootlessIds {
  uid: number;
  gid: number;
}

/**
 * Exactly what `runc spec --rootless` (runc 1.1) writes: runcSpecConfig() passed through
 * runc's specconv.ToRootless — no network namespace and a user namespace last, the caller's
 * uid and gid mapped to 0 (one id each), /sys an rbind of the host's (a sysfs cannot be
 * mounted without owning the network namespace), no uid=/gid= mount options, no
 * linux.resources. The /sys/fs/cgroup mount stays, as runc leaves it. Keys in runc's order
 * (uidMappings and gidMappings open `linux`), so the JSON reads as runc's. A new object each call.
 */
export function rootlessSpecConfig(
  ids: RootlessIds = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 },
): CompleteOciConfig {
  const spec = runcSpecConfig();
  const { resources: _dropped, namespaces = [], ...linux } = spec.linux;
  const mounts = spec.mounts.map((mount): OciMount => {
    if (mount.destination.replace(/\/+$/, '') === '/sys') {
      return {
        destination: '/sys',
        type: 'none',
        source: '/sys',
        options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'],
      };
    }
    if (mount.options === undefined) return mount;
    const { options, ...rest } = mount;
    const kept = options.filter((option) => !option.startsWith('uid=') && !option.startsWith('gid='));
    // Go's nil slice is left out of the JSON.
    return kept.length > 0 ? { ...rest, options: kept } : rest;
  });
  return {
    ...spec,
    mounts,
    linux: {
      uidMappings: [{ containerID: 0, hostID: ids.uid, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: ids.gid, size: 1 }],
      namespaces: [
        ...namespaces.filter((namespace) => namespace.type !== 'network' && namespace.type !== 'user'),
        { type: 'user' },
      ],
      ...linux,
    },
  };
}

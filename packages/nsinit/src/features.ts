// `nsinit features`: the runtime-spec features document, in the shape `runc features` prints
// (runc's types/features; 4-space indent and a newline, as its json.Encoder). Honest: it
// lists what nsinit does, taken from the tables the code itself uses — the mount options
// parseMountOptions knows, the namespaces the compiler creates (not `user`: refused, as
// are hooks), every capability the config model knows, cgroup v1 and v2 but no systemd
// driver, and no seccomp, AppArmor or SELinux.
import { CAPABILITY_NAMES, OCI_VERSION } from '@nsinit/config';
import { NAMESPACE_FLAGS, recognisedMountOptions } from '@nsinit/exec';
import { marshalGo, sortedKeys } from './go-json.js';
import { commit, version } from './version.js';

/** Namespaces the compiler refuses (compile.ts, rejectUnsupported) though it knows their flag. */
const UNSUPPORTED_NAMESPACES: readonly string[] = ['user'];

export interface Features {
  ociVersionMin: string;
  ociVersionMax: string;
  hooks: string[];
  mountOptions: string[];
  linux: {
    namespaces: string[];
    capabilities: string[];
    cgroup: { v1: boolean; v2: boolean; systemd: boolean; systemdUser: boolean };
    seccomp: { enabled: boolean };
    apparmor: { enabled: boolean };
    selinux: { enabled: boolean };
  };
  annotations: Record<string, string>;
}

export function featuresDocument(): Features {
  return {
    ociVersionMin: '1.0.0',
    ociVersionMax: OCI_VERSION,
    // None yet: a config with hooks is refused. (runc leaves an empty list out; nsinit says "none".)
    hooks: [],
    mountOptions: recognisedMountOptions(),
    linux: {
      namespaces: Object.keys(NAMESPACE_FLAGS)
        .filter((name) => !UNSUPPORTED_NAMESPACES.includes(name))
        .sort(),
      capabilities: [...CAPABILITY_NAMES],
      cgroup: { v1: true, v2: true, systemd: false, systemdUser: false },
      seccomp: { enabled: false },
      apparmor: { enabled: false },
      selinux: { enabled: false },
    },
    annotations: sortedKeys({ 'org.nsinit.version': version(), 'org.nsinit.commit': commit() }),
  };
}

/** What `nsinit features` prints: the document as runc's encoder writes one. */
export function formatFeatures(features: Features = featuresDocument()): string {
  return `${marshalGo(features, '    ')}\n`;
}

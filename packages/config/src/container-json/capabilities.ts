import { CAPABILITY_NAMES, type CapabilityName, isCapabilityName } from '../capabilities.js';
import type { ConfigIssue } from '../errors.js';
import { formatJsonPath } from '../errors.js';
import type { ContainerJson } from './schema.js';

// In 2014 the meaning of `capabilities` flipped: until mid-March it listed capabilities to
// DROP (renamed `capabilities_mask` on Mar 17, later objects and maps, still a drop list);
// from May 14 `capabilities` listed capabilities to KEEP. A bare list of names does not say
// which era it is from, so the decision below looks at its vocabulary and at the rest of
// the document (README, "Capabilities: drop or keep").

/** Every name a February 2014 drop list could contain. */
export const FEB_2014_DROP_VOCABULARY: ReadonlySet<string> = new Set([
  'SETPCAP',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'NET_ADMIN',
]);

/** Top-level keys (and shapes) that appeared only after capabilities became a keep list. */
export function laterEraMarkers(doc: ContainerJson): string[] {
  const markers: string[] = [];
  const keys = [
    'mount_config',
    'device_nodes',
    'required_device_nodes',
    'optional_device_nodes',
    'routes',
    'restrict_sys',
    'apparmor_profile',
    'process_label',
    'root_fs',
    'rootfs',
    'rlimits',
  ] as const;
  for (const key of keys) if (doc[key] !== undefined) markers.push(key);
  const namespaces = doc.namespaces;
  if (namespaces !== undefined && !Array.isArray(namespaces)) markers.push('namespaces (map form)');
  if (
    Array.isArray(namespaces) &&
    namespaces.some((ns) => typeof ns !== 'string' && (ns.name !== undefined || ns.type !== undefined))
  ) {
    markers.push('namespaces ({name, path} form)');
  }
  if (doc.cgroups?.allowed_devices !== undefined || doc.cgroups?.allow_all_devices !== undefined) {
    markers.push('cgroups.allowed_devices');
  }
  const networks = [...(doc.networks ?? []), ...(doc.network === undefined ? [] : [doc.network])];
  if (
    networks.some((n) => n.veth_prefix !== undefined || n.ns_path !== undefined || n.bridge !== undefined)
  ) {
    markers.push('networks (flat veth fields)');
  }
  return markers;
}

export type CapabilitySemantics = 'drop' | 'keep';

export interface CapabilityDecision {
  semantics: CapabilitySemantics;
  /** Why, in words, for diagnostics. */
  reason: string;
  /** The resulting capability set, in kernel number order. */
  keep: CapabilityName[];
  /** For the user, when the result is not what the document seems to say or what 2014 did. */
  warning?: string;
}

type CapabilityInput = NonNullable<ContainerJson['capabilities']>;

interface NamedEntry {
  name: string;
  /** false = drop, true = keep, undefined = listed (meaning depends on the era). */
  enabled: boolean | undefined;
  path: PropertyKey[];
}

function entriesOf(input: CapabilityInput, key: string): NamedEntry[] {
  if (Array.isArray(input)) {
    return input.map((entry, index) =>
      typeof entry === 'string'
        ? { name: entry, enabled: undefined, path: [key, index] }
        : // Go's zero value: an object without `enabled` was not enabled, i.e. dropped.
          { name: entry.key, enabled: entry.enabled ?? false, path: [key, index, 'key'] },
    );
  }
  return Object.entries(input).map(([name, enabled]) => ({ name, enabled, path: [key, name] }));
}

/** `SYS_ADMIN` / `CAP_SYS_ADMIN` → `CAP_SYS_ADMIN`, or an issue for a name Linux does not know. */
function capabilityNameOf(entry: NamedEntry, issues: ConfigIssue[]): CapabilityName | undefined {
  const upper = entry.name.toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (isCapabilityName(full)) return full;
  issues.push({
    path: formatJsonPath(entry.path),
    message: `unknown capability ${JSON.stringify(entry.name)}`,
  });
  return undefined;
}

function bareName(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

function allBut(dropped: ReadonlySet<CapabilityName>): CapabilityName[] {
  return CAPABILITY_NAMES.filter((name) => !dropped.has(name));
}

/** Decide drop vs keep semantics for a 2014 document and compute the capability set it grants. */
export function decideCapabilities(doc: ContainerJson, issues: ConfigIssue[]): CapabilityDecision {
  if (doc.capabilities !== undefined && doc.capabilities_mask !== undefined) {
    issues.push({
      path: 'capabilities_mask',
      message:
        'both capabilities and capabilities_mask are given; a 2014 container.json has one or the other',
    });
  }
  const markers = laterEraMarkers(doc);

  if (doc.capabilities_mask !== undefined) {
    return dropDecision(
      'capabilities_mask',
      entriesOf(doc.capabilities_mask, 'capabilities_mask'),
      issues,
      'capabilities_mask is a drop list',
    );
  }
  if (doc.capabilities === undefined) {
    // Never "everything" for a key left out, whatever the era: an old file would otherwise run
    // with CAP_SYS_ADMIN and CAP_SYS_MODULE, i.e. as the host's root.
    if (markers.length > 0) {
      return {
        semantics: 'keep',
        reason: `no capabilities and later-era keys (${markers.join(', ')}): keep none`,
        keep: [],
      };
    }
    return {
      semantics: 'keep',
      reason: 'no capabilities: keep none (an early-2014 nsinit kept all)',
      keep: [],
      warning:
        'no "capabilities": the container gets no capabilities, where an early-2014 nsinit gave it every one. ' +
        'List those it needs in "capabilities" (e.g. ["CHOWN", "KILL"]), or drop from all of them with "capabilities_mask" (e.g. ["SYS_ADMIN"])',
    };
  }
  const entries = entriesOf(doc.capabilities, 'capabilities');
  if (!Array.isArray(doc.capabilities) || entries.some((e) => e.enabled !== undefined)) {
    return dropDecision(
      'capabilities',
      entries,
      issues,
      'object and map forms existed only while capabilities was a drop list',
    );
  }
  const outsideVocabulary = entries.filter((e) => !FEB_2014_DROP_VOCABULARY.has(bareName(e.name)));
  if (outsideVocabulary.length > 0 || markers.length > 0) {
    const keep = new Set<CapabilityName>();
    for (const entry of entries) {
      const name = capabilityNameOf(entry, issues);
      if (name !== undefined) keep.add(name);
    }
    const reason =
      outsideVocabulary.length > 0
        ? `names outside the February 2014 drop vocabulary (${outsideVocabulary.map((e) => e.name).join(', ')})`
        : `later-era keys (${markers.join(', ')})`;
    return {
      semantics: 'keep',
      reason: `keep list: ${reason}`,
      keep: CAPABILITY_NAMES.filter((n) => keep.has(n)),
    };
  }
  return dropDecision(
    'capabilities',
    entries,
    issues,
    'only February 2014 drop-list names and no later-era keys',
  );
}

function dropDecision(
  key: 'capabilities' | 'capabilities_mask',
  entries: NamedEntry[],
  issues: ConfigIssue[],
  reason: string,
): CapabilityDecision {
  const dropped = new Set<CapabilityName>();
  for (const entry of entries) {
    const name = capabilityNameOf(entry, issues);
    if (name !== undefined && entry.enabled !== true) dropped.add(name);
  }
  const decision: CapabilityDecision = {
    semantics: 'drop',
    reason: `drop list: ${reason}`,
    keep: allBut(dropped),
  };
  if (dropped.size === 0) {
    decision.warning =
      `"${key}" is a drop list that drops nothing, so the container keeps every capability (CAP_SYS_ADMIN and CAP_SYS_MODULE included), as in 2014. ` +
      `List the capabilities to drop, or remove "${key}" to give the container none`;
  }
  return decision;
}

// What `state` and `list` print, byte for byte as runc 1.1 does (engines parse both):
// - state: json.MarshalIndent with two spaces, no newline at the end;
// - list --format json: json.Encoder (compact, a newline), `null` when there is no container;
// - list: text/tabwriter (minwidth 12, tabwidth 1, padding 3, spaces), the last column unpadded;
// - list --quiet: the ids, one a line.
// The fields come in runc's order, annotations (sorted, left out when empty) before the owner.
import { readFileSync } from 'node:fs';
import { marshalGo, sortedKeys } from './go-json.js';
import type { ListFlags } from './verbs.js';
import { SPEC_VERSION } from './version.js';

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

/** One container as runc shows it. */
export interface ContainerListing {
  /** The bundle config's ociVersion (runc prints the config's); default: the spec version nsinit implements. */
  ociVersion?: string;
  id: string;
  /** The init's pid; printed as 0 for a stopped container, whatever is given (runc's rule). */
  pid: number;
  status: ContainerStatus;
  /** The bundle's absolute path. */
  bundle: string;
  /** The rootfs' absolute path. */
  rootfs: string;
  /** ISO 8601 in UTC (`toISOString()` or with nanoseconds); printed as Go's RFC3339Nano. */
  created: string;
  /**
   * The state directory owner's user name (`#uid` when it has none: see ownerName). runc 1.1's
   * `state` prints "" here and `list` prints the name: give what the verb's runc prints.
   */
  owner: string;
  annotations?: Readonly<Record<string, string>>;
}

/** Go's RFC3339Nano: the fraction of a second without trailing zeros, none at all when zero. */
export function rfc3339Nano(iso: string): string {
  return iso.replace(/\.(\d+)(?=Z$|[+-]\d\d:\d\d$)/, (_whole, digits: string) => {
    const trimmed = digits.replace(/0+$/, '');
    return trimmed === '' ? '' : `.${trimmed}`;
  });
}

/** runc's containerState struct, field for field. */
function goContainerState(listing: ContainerListing) {
  return {
    ociVersion: listing.ociVersion ?? SPEC_VERSION,
    id: listing.id,
    pid: listing.status === 'stopped' ? 0 : listing.pid,
    status: listing.status,
    bundle: listing.bundle,
    rootfs: listing.rootfs,
    created: rfc3339Nano(listing.created),
    ...(listing.annotations && Object.keys(listing.annotations).length > 0
      ? { annotations: sortedKeys(listing.annotations) }
      : {}),
    owner: listing.owner,
  };
}

/** `nsinit state ID`: runc's bytes, without a newline at the end (runc writes none). */
export function formatState(listing: ContainerListing): string {
  return marshalGo(goContainerState(listing), '  ');
}

/**
 * Go's text/tabwriter as runc's list uses it (minwidth 12, tabwidth 1, padding 3, padchar ' ',
 * no flags) for rows that all have the same number of cells: every cell but a row's last is
 * padded to its column's width, the widest cell (in characters) plus the padding.
 */
export function tabwrite(rows: readonly (readonly string[])[], minWidth = 12, padding = 3): string {
  const length = (cell: string) => [...cell].length;
  const widths: number[] = [];
  for (const row of rows)
    row.slice(0, -1).forEach((cell, column) => {
      widths[column] = Math.max(widths[column] ?? minWidth, length(cell) + padding);
    });
  return rows
    .map(
      (row) =>
        `${row.map((cell, column) => (column < row.length - 1 ? cell + ' '.repeat(widths[column]! - length(cell)) : cell)).join('')}\n`,
    )
    .join('');
}

/** `nsinit list`: the table, the JSON array or the ids, as runc prints them. */
export function formatList(listings: readonly ContainerListing[], flags: ListFlags): string {
  if (flags.quiet) return listings.map((listing) => `${listing.id}\n`).join('');
  if (flags.format === 'json')
    return `${listings.length === 0 ? 'null' : marshalGo(listings.map(goContainerState))}\n`;
  return tabwrite([
    ['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'],
    ...listings.map((listing) => {
      const state = goContainerState(listing);
      return [state.id, String(state.pid), state.status, state.bundle, state.created, state.owner];
    }),
  ]);
}

/**
 * The owner runc's list shows: the user name of `uid` in /etc/passwd (Go's os/user without
 * cgo reads that file), `#uid` when it names none.
 */
export function ownerName(uid: number, passwd?: string): string {
  let text = passwd;
  if (text === undefined) {
    try {
      text = readFileSync('/etc/passwd', 'utf8');
    } catch {
      text = '';
    }
  }
  for (const line of text.split('\n')) {
    const fields = line.split(':');
    if (fields.length >= 3 && fields[2] === String(uid) && fields[0]) return fields[0];
  }
  return `#${uid}`;
}

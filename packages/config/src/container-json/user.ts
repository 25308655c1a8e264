import path from 'node:path';
import type { OciUser } from '../oci.js';
import { RootfsFileError, readRootfsFile } from '../rootfs-file.js';
import {
  type GroupEntry,
  isDecimalId,
  MAX_ID,
  type PasswdEntry,
  parseGroup,
  parseNumericId,
  parsePasswd,
} from './passwd.js';

/** Why a 2014 `user` string could not be turned into ids. */
export class UserResolutionError extends Error {
  readonly code = 'ERR_NSINIT_USER_UNRESOLVED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UserResolutionError';
  }
}

/** A decimal uid or gid, undefined for a name; an id no process can have is an error. */
function numericId(text: string): number | undefined {
  const id = parseNumericId(text);
  if (id === undefined && isDecimalId(text)) {
    throw new UserResolutionError(`${text} is not a valid id (0 to ${MAX_ID})`);
  }
  return id;
}

function readDatabase<T>(rootfs: string, file: string, parse: (text: string) => T[]): T[] {
  try {
    return parse(readRootfsFile(rootfs, file) ?? '');
  } catch (error) {
    if (error instanceof RootfsFileError) throw new UserResolutionError(error.message, { cause: error });
    throw error;
  }
}

/**
 * Resolve a 2014 `user` — "", "uid", "uid:gid", "name", "name:group" (any mix) — against the
 * rootfs's /etc/passwd and /etc/group, as 2014 nsinit did inside the container. Without a
 * group, the gid is the passwd entry's (0 for a uid passwd does not list); supplementary
 * groups are the /etc/group entries that list the user by name.
 */
export function resolveUser2014(spec: string, rootfs: string): OciUser {
  if (spec === '') return { uid: 0, gid: 0 };
  const parts = spec.split(':');
  const [userPart = '', groupPart] = parts;
  if (parts.length > 2 || userPart === '' || groupPart === '') {
    throw new UserResolutionError(
      `expected "user", "uid", "user:group" or "uid:gid", got ${JSON.stringify(spec)}`,
    );
  }
  const passwdFile = path.join(rootfs, 'etc/passwd');
  const groupFile = path.join(rootfs, 'etc/group');
  const numericUid = numericId(userPart);
  const numericGid = groupPart === undefined ? undefined : numericId(groupPart);
  const passwd = readDatabase<PasswdEntry>(rootfs, '/etc/passwd', parsePasswd);

  const entry =
    numericUid === undefined
      ? passwd.find((e) => e.name === userPart)
      : passwd.find((e) => e.uid === numericUid);
  if (numericUid === undefined && entry === undefined) {
    throw new UserResolutionError(
      `user ${JSON.stringify(userPart)} not found in ${passwdFile}; add it there or give a numeric uid[:gid]`,
    );
  }
  const uid = numericUid ?? entry!.uid;

  let groups: GroupEntry[] | undefined;
  const loadGroups = () => {
    groups ??= readDatabase<GroupEntry>(rootfs, '/etc/group', parseGroup);
    return groups;
  };

  let gid = entry?.gid ?? 0;
  if (groupPart !== undefined) {
    if (numericGid !== undefined) {
      gid = numericGid;
    } else {
      const group = loadGroups().find((g) => g.name === groupPart);
      if (group === undefined) {
        throw new UserResolutionError(
          `group ${JSON.stringify(groupPart)} not found in ${groupFile}; add it there or give a numeric gid`,
        );
      }
      gid = group.gid;
    }
  }

  if (entry === undefined) return { uid, gid };
  const additionalGids = [
    ...new Set(
      loadGroups()
        .filter((g) => g.members.includes(entry.name) && g.gid !== gid)
        .map((g) => g.gid),
    ),
  ];
  return additionalGids.length > 0 ? { uid, gid, additionalGids } : { uid, gid };
}

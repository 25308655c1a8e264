// Minimal parsers for the rootfs's /etc/passwd and /etc/group (passwd(5), group(5)), used to
// resolve a 2014 container.json `user` such as "daemon" or "www-data:adm" to numeric ids.

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

const DECIMAL_ID = /^\d+$/;
/**
 * The largest uid or gid a process can have: 4294967295 is (uid_t)-1, which setuid, setgid
 * and chown read as "leave it unchanged", so a container asking for it would keep root's ids.
 */
export const MAX_ID = 0xffff_fffe;

/** True for an id written in decimal, valid or not. */
export function isDecimalId(text: string): boolean {
  return DECIMAL_ID.test(text);
}

/** A valid uid or gid (0 to MAX_ID) in decimal, or undefined. */
export function parseNumericId(text: string): number | undefined {
  if (!DECIMAL_ID.test(text)) return undefined;
  const value = Number(text);
  return value <= MAX_ID ? value : undefined;
}

function dataLines(text: string): string[][] {
  return text
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

/**
 * Entries of an /etc/passwd file; malformed lines are skipped, as libc does, and so are entries
 * with an id beyond MAX_ID, which no process can take.
 */
export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const fields of dataLines(text)) {
    if (fields.length < 7) continue;
    const [name = '', , uidText = '', gidText = '', , home = '', shell = ''] = fields;
    const uid = parseNumericId(uidText);
    const gid = parseNumericId(gidText);
    if (name === '' || uid === undefined || gid === undefined) continue;
    entries.push({ name, uid, gid, home, shell });
  }
  return entries;
}

/** Entries of an /etc/group file; malformed lines and gids beyond MAX_ID are skipped. */
export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const fields of dataLines(text)) {
    if (fields.length < 4) continue;
    const [name = '', , gidText = '', memberText = ''] = fields;
    const gid = parseNumericId(gidText);
    if (name === '' || gid === undefined) continue;
    const members = memberText
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m !== '');
    entries.push({ name, gid, members });
  }
  return entries;
}

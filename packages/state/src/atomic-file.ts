import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** Temp files are `.<name>.<random hex>.tmp` beside their target; remove() cleans up stray ones. */
export const TEMP_FILE_PATTERN = /^\.[^/]+\.[0-9a-f]{12}\.tmp$/;

/**
 * Replace `dir/name` with `data` so that readers see the old content or the new, never a part:
 * write a temp file in the same directory (same filesystem, so rename is atomic), fsync, rename.
 * The temp file is removed on any failure.
 */
export async function writeFileAtomically(
  dir: string,
  name: string,
  data: string,
  mode: number,
): Promise<void> {
  const tempPath = join(dir, `.${name}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  let created = false;
  try {
    handle = await open(
      tempPath,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    );
    created = true;
    // The mode given to open() is reduced by the umask; the file's mode is part of the contract.
    await handle.chmod(mode);
    await handle.writeFile(data, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tempPath, join(dir, name));
    created = false;
  } finally {
    await handle?.close();
    // The original error matters more than a failed cleanup of the temp file.
    if (created) await unlink(tempPath).catch(() => undefined);
  }
}

import { InvalidIdError } from './errors.js';

/**
 * An id names two directories: `<state root>/<id>` and the cgroup `nsinit-<id>`. Both are
 * single path components, limited to 255 bytes (NAME_MAX); the id is ASCII, one byte a character.
 */
export const MAX_CONTAINER_ID_LENGTH = 255 - 'nsinit-'.length;

const ID_PATTERN = /^[A-Za-z0-9_+.-]+$/;
const FORBIDDEN_CHARACTER = /[^A-Za-z0-9_+.-]/u;

/**
 * Throw InvalidIdError unless `id` can name a container: `[A-Za-z0-9_+.-]+`, not `.` or `..`,
 * at most MAX_CONTAINER_ID_LENGTH (248) characters. The id is a directory name under the state root, so this is also what
 * keeps it from escaping the root.
 */
export function validateContainerId(id: unknown): asserts id is string {
  if (typeof id !== 'string') {
    throw new InvalidIdError(String(id), `must be a string, got ${typeof id}`);
  }
  if (id.length === 0) throw new InvalidIdError(id, 'must not be empty');
  if (id.length > MAX_CONTAINER_ID_LENGTH) {
    throw new InvalidIdError(id, `is ${id.length} characters long, the limit is ${MAX_CONTAINER_ID_LENGTH}`);
  }
  if (id === '.' || id === '..') throw new InvalidIdError(id, 'must not be "." or ".."');
  if (!ID_PATTERN.test(id)) {
    const bad = FORBIDDEN_CHARACTER.exec(id)?.[0] ?? '';
    throw new InvalidIdError(
      id,
      `contains ${JSON.stringify(bad)}; only letters A-Z a-z, digits and _ + . - are allowed`,
    );
  }
}

export function isValidContainerId(id: string): boolean {
  return id.length <= MAX_CONTAINER_ID_LENGTH && id !== '.' && id !== '..' && ID_PATTERN.test(id);
}

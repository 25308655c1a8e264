import * as z from 'zod/mini';
import { ConfigError, type ConfigIssue, formatJsonPath } from './errors.js';

// Shared building blocks for the OCI and the 2014 schemas, and the translation of zod's
// issues into ConfigIssue messages that read like runc's ("expected ...", "must ...").

/** Any string handed to the kernel: runc rejects NUL bytes, since C would silently truncate there. */
export const safeString = z
  .string()
  .check(z.refine((s) => !s.includes('\0'), { message: 'must not contain a NUL byte', abort: true }));

export const absolutePath = safeString.check(
  z.refine((s) => s.startsWith('/'), { message: 'expected an absolute path (starting with "/")' }),
);

/** An environment entry: KEY=VALUE with a non-empty KEY. */
export const envEntry = safeString.check(
  z.refine((s) => s.indexOf('=') > 0, { message: 'expected an environment entry of the form KEY=VALUE' }),
);

const NON_NEGATIVE = 'expected a non-negative integer';

function integerSchema(
  min: number,
  max: number,
  typeMessage: string,
  rangeMessage: string | ((value: number) => string),
) {
  return z
    .number({ error: (issue) => (issue.input === undefined ? `required: ${typeMessage}` : typeMessage) })
    .check(
      z.superRefine((value, ctx) => {
        // A negative value for an unsigned field is a type mismatch in Go's (and the spec's) terms.
        if (!Number.isInteger(value) || (min === 0 && value < 0))
          ctx.addIssue({ code: 'custom', message: typeMessage });
        else if (value < min || value > max)
          ctx.addIssue({
            code: 'custom',
            message: typeof rangeMessage === 'string' ? rangeMessage : rangeMessage(value),
          });
      }),
    );
}

function unsigned(max: number, bits: number) {
  return integerSchema(0, max, NON_NEGATIVE, `${NON_NEGATIVE} no larger than ${max} (uint${bits})`);
}

export const uint16 = unsigned(0xffff, 16);
export const uint32 = unsigned(0xffff_ffff, 32);
/**
 * uint64 as a JS number: exact up to 2^53. JSON.parse turns 18446744073709551615
 * (RLIM_INFINITY, "unlimited") into 2^64, so 2^64 is accepted and means the maximum.
 */
export const uint64 = integerSchema(
  0,
  2 ** 64,
  NON_NEGATIVE,
  `${NON_NEGATIVE} no larger than 2^64-1 (uint64)`,
);
export const int32 = integerSchema(-(2 ** 31), 2 ** 31 - 1, 'expected an integer', 'expected an int32');
export const int64 = integerSchema(-(2 ** 63), 2 ** 63, 'expected an integer', 'expected an int64');

export function integerBetween(min: number, max: number) {
  return integerSchema(min, max, 'expected an integer', `expected an integer from ${min} to ${max}`);
}

/** The largest uid or gid: 4294967295 is (uid_t)-1, which setresuid and chown read as "leave unchanged". */
const MAX_ID = 0xffff_fffe;

/** A uid or gid for setresuid/setresgid/setgroups. */
export const processId = integerSchema(
  0,
  MAX_ID,
  NON_NEGATIVE,
  (value) => `${value} is not a valid id (ids go from 0 to ${MAX_ID})`,
);

/** The kernel's __NEW_UTS_LEN: sethostname and setdomainname refuse longer names with EINVAL. */
const MAX_UTS_NAME_BYTES = 64;

/** A hostname or NIS domain name, checked against the kernel's limit in bytes (UTF-8), not in characters. */
export const utsName = safeString.check(
  z.superRefine((name, ctx) => {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes > MAX_UTS_NAME_BYTES) {
      ctx.addIssue({
        code: 'custom',
        message: `${bytes} bytes long (UTF-8), more than the kernel's limit of ${MAX_UTS_NAME_BYTES} bytes; use a shorter name`,
      });
    }
  }),
);

const TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  boolean: 'a boolean',
  object: 'an object',
  record: 'an object',
  array: 'an array',
};

function describeType(expected: string): string {
  return TYPE_NAMES[expected] ?? expected;
}

function describeInput(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  return describeType(typeof input);
}

/** Per-parse error map: wording for the issues zod raises itself (types, enums, sizes). */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = describeType(issue.expected);
      return issue.input === undefined
        ? `required: expected ${expected}`
        : `expected ${expected}, got ${describeInput(issue.input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(issue.input)}`;
    case 'too_small':
      return (issue.origin === 'array' || issue.origin === 'string') && issue.minimum === 1
        ? 'must not be empty'
        : undefined;
    default:
      return undefined;
  }
};

type RawIssue = z.core.$ZodIssue;

function isTypeMismatchAtRoot(branch: readonly RawIssue[]): boolean {
  return branch.length > 0 && branch.every((i) => i.code === 'invalid_type' && i.path.length === 0);
}

/**
 * Unions in the schemas are told apart by the input's JSON type, so the branch whose type
 * matched explains the failure; when none matched, list the types that would have.
 */
function flatten(issue: RawIssue, prefix: readonly PropertyKey[], out: ConfigIssue[]): void {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const matched = issue.errors.filter((branch) => !isTypeMismatchAtRoot(branch));
    const [only] = matched;
    if (matched.length === 1 && only !== undefined) {
      for (const inner of only) flatten(inner, path, out);
      return;
    }
    if (matched.length === 0) {
      const expected = [
        ...new Set(
          issue.errors.flatMap((b) =>
            b.map((i) => (i.code === 'invalid_type' ? describeType(i.expected) : '')),
          ),
        ),
      ].filter((s) => s !== '');
      const got = 'input' in issue ? `, got ${describeInput(issue.input)}` : '';
      out.push({ path: formatJsonPath(path), message: `expected ${expected.join(' or ')}${got}` });
      return;
    }
  }
  if (issue.code === 'invalid_key') {
    for (const inner of issue.issues)
      out.push({ path: formatJsonPath(path), message: `key ${inner.message}` });
    return;
  }
  if (issue.code === 'unrecognized_keys') {
    for (const key of issue.keys)
      out.push({ path: formatJsonPath([...path, key]), message: 'unexpected key here' });
    return;
  }
  out.push({ path: formatJsonPath(path), message: issue.message });
}

export function toConfigIssues(issues: readonly RawIssue[]): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) flatten(issue, [], out);
  return out;
}

/** Validate `input` against `schema`; throw ConfigError naming `source` and the JSON path of each issue. */
export function parseOrThrow<S extends z.ZodMiniType>(
  schema: S,
  input: unknown,
  source: string,
): z.output<S> {
  const result = schema.safeParse(input, { error: errorMap, reportInput: true });
  if (result.success) return result.data;
  throw new ConfigError(source, toConfigIssues(result.error.issues));
}

/** Add `message` at `path` (relative to the refined value) for every entry whose key repeats. */
export function reportDuplicates<T>(
  entries: readonly T[],
  keyOf: (entry: T) => string,
  ctx: z.core.$RefinementCtx<unknown>,
  field: string,
  what: string,
): void {
  const firstIndex = new Map<string, number>();
  entries.forEach((entry, index) => {
    const key = keyOf(entry);
    const seen = firstIndex.get(key);
    if (seen === undefined) firstIndex.set(key, index);
    else
      ctx.addIssue({
        code: 'custom',
        path: [index, field],
        message: `duplicated ${what} ${JSON.stringify(key)} (first at index ${seen})`,
      });
  });
}

/** One problem found in a configuration document. */
export interface ConfigIssue {
  /** JSON path of the offending value in dotted/bracket form, e.g. `mounts[2].destination`; '' for the whole document. */
  path: string;
  message: string;
}

export interface JsonPosition {
  /** 0-based UTF-16 offset into the text. */
  offset: number;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

export interface ConfigErrorOptions {
  cause?: unknown;
  position?: JsonPosition;
}

/**
 * A configuration that cannot be read, parsed or validated. `source` names the document
 * (the file path, or a label such as `config.json`); the message names the first issue.
 */
export class ConfigError extends Error {
  readonly code = 'ERR_NSINIT_CONFIG_INVALID';
  readonly source: string;
  readonly issues: ConfigIssue[];
  /** Where the JSON text stops being valid, for syntax errors. */
  readonly position: JsonPosition | undefined;

  constructor(source: string, issues: ConfigIssue[], options: ConfigErrorOptions = {}) {
    super(describeIssues(source, issues), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConfigError';
    this.source = source;
    this.issues = issues;
    this.position = options.position;
  }
}

function describeIssues(source: string, issues: ConfigIssue[]): string {
  const [first] = issues;
  if (first === undefined) return `${source}: invalid configuration`;
  const where = first.path === '' ? '' : `${first.path}: `;
  const more =
    issues.length > 1 ? ` (and ${issues.length - 1} more issue${issues.length > 2 ? 's' : ''})` : '';
  return `${source}: ${where}${first.message}${more}`;
}

/** Render a path of keys and indexes as `linux.namespaces[1].type` / `annotations["a.b"]`. */
export function formatJsonPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') {
      out += `[${segment}]`;
    } else {
      const key = String(segment);
      if (/^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
      else out += `[${JSON.stringify(key)}]`;
    }
  }
  return out;
}

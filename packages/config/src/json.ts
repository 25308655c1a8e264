import { ConfigError, type JsonPosition } from './errors.js';

// JSON.parse in Node 20 names the failing offset for some errors but not others
// ("Unexpected token '}', ... is not valid JSON"), so on failure the text is scanned
// again by a strict RFC 8259 checker whose only job is to find where it stops being JSON.

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const HEX = /^[0-9A-Fa-f]{4}$/;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

class SyntaxStop {
  constructor(readonly offset: number) {}
}

/** The offset of the first character that makes `text` invalid JSON, or undefined if it is valid. */
export function findJsonSyntaxError(text: string): number | undefined {
  let pos = 0;
  // Open containers; iterative so deeply nested input cannot exhaust the call stack.
  const stack: ('{' | '[')[] = [];

  const skipWhitespace = () => {
    while (pos < text.length && WHITESPACE.has(text.charAt(pos))) pos++;
  };
  const fail = (): never => {
    throw new SyntaxStop(pos);
  };
  const scanString = () => {
    pos++; // opening quote
    for (;;) {
      if (pos >= text.length) fail();
      const code = text.charCodeAt(pos);
      if (code === 0x22) {
        pos++;
        return;
      }
      if (code < 0x20) fail();
      if (code === 0x5c) {
        const escaped = text.charAt(pos + 1);
        if (escaped === 'u') {
          if (!HEX.test(text.slice(pos + 2, pos + 6))) {
            pos += 2;
            fail();
          }
          pos += 6;
        } else if (ESCAPES.has(escaped)) {
          pos += 2;
        } else {
          pos++;
          fail();
        }
      } else {
        pos++;
      }
    }
  };
  const scanLiteral = (word: string) => {
    for (const ch of word) {
      if (text.charAt(pos) !== ch) fail();
      pos++;
    }
  };
  /** Scan one value; returns true when it opened a container whose contents follow. */
  const scanValue = (): boolean => {
    skipWhitespace();
    const ch = text.charAt(pos);
    if (ch === '{' || ch === '[') {
      stack.push(ch);
      pos++;
      return true;
    }
    if (ch === '"') scanString();
    else if (ch === 't') scanLiteral('true');
    else if (ch === 'f') scanLiteral('false');
    else if (ch === 'n') scanLiteral('null');
    else {
      NUMBER.lastIndex = pos;
      const match = NUMBER.exec(text);
      if (match === null) fail();
      pos = NUMBER.lastIndex;
    }
    return false;
  };
  const scanKey = () => {
    skipWhitespace();
    if (text.charAt(pos) !== '"') fail();
    scanString();
    skipWhitespace();
    if (text.charAt(pos) !== ':') fail();
    pos++;
  };

  try {
    // `opened` is true right after '{' or '[' (an immediate close is allowed there).
    let opened = scanValue();
    for (;;) {
      const top = stack.at(-1);
      if (top === undefined) break;
      skipWhitespace();
      const ch = text.charAt(pos);
      const close = top === '{' ? '}' : ']';
      if (ch === close) {
        pos++;
        stack.pop();
        opened = false;
        continue;
      }
      if (!opened) {
        if (ch !== ',') fail();
        pos++;
      }
      if (top === '{') scanKey();
      opened = scanValue();
    }
    skipWhitespace();
    if (pos < text.length) fail();
    return undefined;
  } catch (error) {
    if (error instanceof SyntaxStop) return error.offset;
    throw error;
  }
}

/**
 * How deep a configuration may nest arrays and objects. Real ones need about six levels; the
 * limit is far above that and far below what code that recurses over the decoded document
 * (zod, the container.json conversion) could survive.
 */
const MAX_JSON_DEPTH = 256;

/**
 * The offset of the first `[` or `{` nested deeper than `limit` in `text`, or undefined. Only
 * strings are understood (their brackets do not count); other syntax is JSON.parse's to judge.
 */
function findNestingBeyond(text: string, limit: number): number | undefined {
  let depth = 0;
  for (let pos = 0; pos < text.length; pos++) {
    const code = text.charCodeAt(pos);
    if (code === 0x22) {
      for (pos++; pos < text.length && text.charCodeAt(pos) !== 0x22; pos++) {
        if (text.charCodeAt(pos) === 0x5c) pos++;
      }
    } else if (code === 0x5b || code === 0x7b) {
      depth++;
      if (depth > limit) return pos;
    } else if (code === 0x5d || code === 0x7d) {
      depth--;
    }
  }
  return undefined;
}

function tooDeep(source: string, where: string, position?: JsonPosition): ConfigError {
  const message = `nested deeper than ${MAX_JSON_DEPTH} levels${where}; a container configuration needs only a few`;
  return new ConfigError(source, [{ path: '', message }], { position });
}

/**
 * Throw a ConfigError when an already decoded document nests arrays and objects deeper than
 * MAX_JSON_DEPTH, before anything recursive walks it. The walk itself is iterative.
 */
export function checkNestingDepth(value: unknown, source: string): void {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item !== 'object') continue;
    if (depth > MAX_JSON_DEPTH) throw tooDeep(source, '');
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
}

export function positionAt(text: string, offset: number): JsonPosition {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

/** JSON.parse that reports failures as ConfigError with the line, column and offset of the error. */
export function parseJsonText(text: string, source: string): unknown {
  // A UTF-8 byte order mark is not JSON, but editors add it; tolerate it.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // Checked on the text, before anything is decoded: JSON.parse would build the whole tower
  // (about 100 bytes of heap per level) only for later steps to overflow the stack on it.
  const deepAt = findNestingBeyond(body, MAX_JSON_DEPTH);
  if (deepAt !== undefined) {
    const position = positionAt(body, deepAt);
    throw tooDeep(
      source,
      ` at line ${position.line}, column ${position.column} (offset ${deepAt})`,
      position,
    );
  }
  try {
    return JSON.parse(body);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const offset = findJsonSyntaxError(body);
    if (offset === undefined) {
      throw new ConfigError(source, [{ path: '', message: `invalid JSON: ${detail}` }], { cause: error });
    }
    const position = positionAt(body, offset);
    const what =
      offset >= body.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(body.charAt(offset))}`;
    throw new ConfigError(
      source,
      [
        {
          path: '',
          message: `invalid JSON at line ${position.line}, column ${position.column} (offset ${offset}): ${what} (${detail})`,
        },
      ],
      { cause: error, position },
    );
  }
}

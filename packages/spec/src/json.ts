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

// JSON as Go's encoding/json writes it, for the outputs engines parse from runc (state, list,
// events, features, log lines): the layout is JSON.stringify's (Go's indented form is the
// same), the strings are Go's — <, > and & as \u003c \u003e \u0026 (Go's HTML-safe default),
// U+2028 and U+2029 escaped, \b and \f as \u0008 and \u000c (Go 1.19, runc 1.1's Go), and a
// lone surrogate (no Go string holds one) as U+FFFD. A bigint is written as its digits, for
// the uint64 values a double cannot hold (18446744073709551615). Object keys keep their
// insertion order, as a Go struct's fields do; a Go map's keys are sorted: see sortedKeys.

/** One escape (or a character JSON.stringify left as it is) → Go's spelling of it. */
function goEscape(match: string): string {
  switch (match) {
    case '<':
      return '\\u003c';
    case '>':
      return '\\u003e';
    case '&':
      return '\\u0026';
    case '\u2028':
      return '\\u2028';
    case '\u2029':
      return '\\u2029';
    case '\\b':
      return '\\u0008';
    case '\\f':
      return '\\u000c';
    default:
      // JSON.stringify escapes only lone surrogates as \udxxx; a pair it writes as it is.
      return /^\\ud[89a-f]/.test(match) ? '\\ufffd' : match;
  }
}

/**
 * `value` as Go's json.Marshal (no indent) or json.MarshalIndent(value, "", indent) writes it.
 * No trailing newline: Go's Encoder adds one, MarshalIndent does not.
 */
export function marshalGo(value: unknown, indent?: string): string {
  // Escape pairs are consumed whole, so an escaped backslash followed by "b" stays as it is.
  const marker = `\u0000bigint-${Math.random().toString(36).slice(2)}:`;
  const text = JSON.stringify(
    value,
    (_key, item: unknown) => (typeof item === 'bigint' ? `${marker}${item}` : item),
    indent,
  );
  if (text === undefined) throw new TypeError('marshalGo: the value has no JSON form');
  const markerInJson = JSON.stringify(marker).slice(1, -1);
  return text
    .replaceAll(new RegExp(`"${markerInJson.replaceAll('\\', '\\\\')}(-?\\d+)"`, 'g'), '$1')
    .replace(/\\(?:u[0-9a-f]{4}|.)|[<>&\u2028\u2029]/g, goEscape);
}

/** A Go map's keys come out sorted by their bytes (UTF-8), whatever order they were added in. */
export function sortedKeys<T>(map: Readonly<Record<string, T>>): Record<string, T> {
  const keys = Object.keys(map).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Object.fromEntries(keys.map((key) => [key, map[key] as T]));
}

/** Go's unicode.IsPrint, near enough: letters, marks, numbers, punctuation, symbols and the ASCII space. */
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

const QUOTE_ESCAPES: Readonly<Record<string, string>> = {
  '\x07': '\\a',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\v': '\\v',
};

/** Go's strconv.Quote (what %q prints): the quoting of logrus' text format. */
export function goQuote(text: string): string {
  let out = '"';
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === '"' || char === '\\') out += `\\${char}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += '\ufffd';
    else if (PRINTABLE.test(char)) out += char;
    else {
      out +=
        QUOTE_ESCAPES[char] ??
        (code < 0x80
          ? `\\x${code.toString(16).padStart(2, '0')}`
          : code <= 0xffff
            ? `\\u${code.toString(16).padStart(4, '0')}`
            : `\\U${code.toString(16).padStart(8, '0')}`);
    }
  }
  return `${out}"`;
}

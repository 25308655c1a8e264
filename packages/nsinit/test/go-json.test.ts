import { describe, expect, it } from 'vitest';
import { goQuote, marshalGo, sortedKeys } from '../src/go-json.js';

describe('marshalGo', () => {
  it("escapes strings as Go's encoding/json (checked against runc's state output)", () => {
    // runc 1.1.5 printed this annotation value as "v\u003c\u0026\u003e\u2028\u0008\u000c\u0001é".
    expect(marshalGo('v<&>\u2028\b\f\u0001é')).toBe('"v\\u003c\\u0026\\u003e\\u2028\\u0008\\u000c\\u0001é"');
    expect(marshalGo('\u2029 \n\r\t "\\')).toBe('"\\u2029 \\n\\r\\t \\"\\\\"');
    // An escaped backslash followed by b or f stays as it is.
    expect(marshalGo('\\b\\f')).toBe('"\\\\b\\\\f"');
    // No Go string holds a lone surrogate: U+FFFD, as Go writes invalid UTF-8.
    expect(marshalGo('a\ud800b')).toBe('"a\\ufffdb"');
    expect(marshalGo('😀')).toBe('"😀"');
  });

  it('writes bigints as their digits, and indents as MarshalIndent', () => {
    expect(marshalGo({ limit: 18446744073709551615n, n: [1, -2n] })).toBe(
      '{"limit":18446744073709551615,"n":[1,-2]}',
    );
    expect(marshalGo({ a: [], b: {}, c: [1] }, '  ')).toBe(
      '{\n  "a": [],\n  "b": {},\n  "c": [\n    1\n  ]\n}',
    );
  });

  it('sorts map keys by their bytes', () => {
    expect(Object.keys(sortedKeys({ b: 1, a: 2, B: 3, é: 4, z: 5 }))).toEqual(['B', 'a', 'b', 'z', 'é']);
  });
});

describe('goQuote', () => {
  it("quotes as Go's %q (logrus' text format; checked against runc's log line)", () => {
    // runc 1.1.5 logged: msg="unknown signal \"<&>\\\"\\nx\""
    expect(goQuote('unknown signal "<&>\\"\\nx"')).toBe('"unknown signal \\"<&>\\\\\\"\\\\nx\\""');
    expect(goQuote('a\u0007\b\f\n\r\t\v\u0001\u007fé\u00a0\u2028😀')).toBe(
      '"a\\a\\b\\f\\n\\r\\t\\v\\x01\\x7fé\\u00a0\\u2028😀"',
    );
  });
});

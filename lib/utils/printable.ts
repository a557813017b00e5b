/**
 * Text for a terminal or a log line: control characters and bidi overrides from a config value or
 * a request must not reach either raw (a CR or ESC rewrites what the operator sees), nor split one
 * event over several lines.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** The text with every unprintable character written as an escape (\n, \t, \u001b, \u202e…). */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) =>
    c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

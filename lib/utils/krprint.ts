/**
 * Decoding kresd's answers for Lua strings (krprint: single quotes, every byte outside printable
 * ASCII, `'` and `\` as \ddd): the inverse of lib/utils/lua-literal.ts's escaping. No socket is
 * involved, so the manager and the tests read answers however they got them.
 */

/**
 * The bytes of kresd's answer for a Lua string: `'...'` with every byte outside printable ASCII,
 * and `'` and `\`, written as `\ddd` (decimal). Throws when the answer is not such a string.
 */
export function luaStringAnswer(answer: string | undefined): Buffer {
  const m = /^'(.*)'$/s.exec(answer ?? "");
  if (!m) throw new Error(`not a Lua string answer: ${answer}`);
  const body = m[1] as string;
  const bytes: number[] = [];
  // Sticky: each escape is matched where the scan stands, without copying the rest of the body.
  const escape = /\\(\d{3})/y;
  for (let i = 0; i < body.length; i++) {
    escape.lastIndex = i;
    const esc = escape.exec(body);
    if (esc) {
      bytes.push(Number(esc[1]));
      i += 3;
    } else bytes.push(body.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** luaStringAnswer() read as UTF-8. */
export function luaStringAnswerText(answer: string | undefined): string {
  return luaStringAnswer(answer).toString("utf8");
}

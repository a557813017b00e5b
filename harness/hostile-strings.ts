/**
 * Strings built to break out of a Lua string literal, a Lua comment, a line-based protocol or a
 * naive escaper. Deterministic (seeded), so a failure names a reproducible input.
 */
const FRAGMENTS = [
  '"',
  "'",
  "\\",
  "\\\\",
  '\\"',
  "]]",
  "[[",
  "]=]",
  "[==[",
  "--",
  "--[[",
  "\n",
  "\r\n",
  "\t",
  "\0",
  "\x01",
  "\x1b[31m",
  "\x7f",
  "é",
  "ß",
  "日本",
  "🎉",
  "\u202e",
  "\u2028",
  "\ufeff",
  "%s%n",
  "${x}",
  "..",
  ")",
  "(",
  "); os.exit(1) --",
  '"); os.execute("touch /tmp/pwned") --',
  "]]; os.exit(1) --[[",
  "\\ddd",
  "\\0",
  "\\x41",
  "\\u{41}",
  "\\z",
  "\\\n",
  "nil",
  "end",
  " ",
  "a",
  "Z9",
  "-",
  "_",
];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `count` distinct hostile strings: every fragment alone, then random mixes of 2–6 fragments. */
export function hostileStrings(count: number, seed = 6): string[] {
  const rnd = mulberry32(seed);
  const out = new Set<string>(FRAGMENTS);
  while (out.size < count) {
    const n = 2 + Math.floor(rnd() * 5);
    let s = "";
    for (let i = 0; i < n; i++) s += FRAGMENTS[Math.floor(rnd() * FRAGMENTS.length)];
    out.add(s);
  }
  return [...out].slice(0, count);
}

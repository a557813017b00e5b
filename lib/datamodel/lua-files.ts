import * as fs from "node:fs";

/**
 * Static Lua lives in real `.lua` files beside the renderer that uses it (syntax-checked by
 * `npm run check`, copied to dist/ by the build). Each file is a chunk that takes its parameters
 * through `...` and returns what the generated config calls, so no config value is ever pasted
 * into its text: parameters arrive as escaped literals (utils/lua-literal.ts).
 */

/**
 * The text of a `.lua` file, by its path relative to lib/datamodel/ (this module's folder), e.g.
 * "sections/views/views.lua". Resolved against this module's own URL, which holds in each layout:
 * the sources (jest), dist/lib/datamodel/ (tsc) and dist/bundle/, where this code sits in a chunk and
 * scripts/bundle.mjs puts the Lua files at the same relative paths beside it.
 */
export function readLuaFile(relativePath: string): string {
  return fs.readFileSync(new URL(relativePath, import.meta.url), "utf8");
}

/** A Lua expression that runs a chunk with `args` (Lua expressions) and gives what it returns. */
export function callChunk(chunk: string, args: readonly string[] = []): string {
  return `(function(...)\n${chunk.trimEnd()}\nend)(${args.join(", ")})`;
}

/**
 * The same as one line, for kresd's control socket (one expression per line). Only for chunks
 * whose lines hold no comment after code and no multi-line string: full-line comments are
 * dropped, the rest is joined with spaces. Throws on a line it cannot join safely.
 */
export function callChunkOneLine(chunk: string, args: readonly string[] = []): string {
  const lines: string[] = [];
  for (const raw of chunk.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("--")) continue;
    if (line.includes("--") || line.includes("[[") || line.includes("]]"))
      throw new Error(`cannot put this Lua line on one line safely: ${line}`);
    lines.push(line);
  }
  return `(function(...) ${lines.join(" ")} end)(${args.join(", ")})`;
}

import * as fs from "node:fs";
import { fileURLToPath } from "node:url";

/**
 * Static Lua lives in real `.lua` files beside the renderer that uses it (syntax-checked by
 * `npm run check`, copied to dist/ by the build). Each file is a chunk that takes its parameters
 * through `...` and returns what the generated config calls, so no config value is ever pasted
 * into its text: parameters arrive as escaped literals (utils/lua-literal.ts).
 */

/** Set to true by scripts/bundle.mjs (esbuild's `define`); undeclared in the unbundled code. */
declare const KRES_BUNDLED: boolean | undefined;

/**
 * lib/, where the `.lua` files sit beside their modules: this module's parent folder in the
 * sources (jest) and in dist/lib/ (tsc); in the bundle, dist/bundle/lib/, where scripts/bundle.mjs
 * copies them (this code then runs from a chunk in dist/bundle/).
 */
const LIB_DIR = new URL(typeof KRES_BUNDLED === "undefined" ? "../" : "./lib/", import.meta.url);

/** Where a `.lua` file is, by its path under lib/ (for a program that runs it, e.g. luajit). */
export function luaFilePath(pathInLib: string): string {
  return fileURLToPath(new URL(pathInLib, LIB_DIR));
}

/** The text of a `.lua` file by its path under lib/, e.g. "datamodel/sections/views/views.lua". */
export function readLuaFile(pathInLib: string): string {
  return fs.readFileSync(new URL(pathInLib, LIB_DIR), "utf8");
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

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { describeError, mapStack } from "../../../lib/utils/stack-map.js";
import { tmpDir } from "../../../harness/tmp.js";

describe("mapStack", () => {
  const dir = tmpDir("krm-stack-map-");
  const source = path.join(dir, "failing.ts");
  const bundle = path.join(dir, "out", "bundle.js");
  fs.writeFileSync(
    source,
    [
      "export function deep(n: number): number {",
      "  if (n > 0) return deep(n - 1) + 1;",
      '  throw new Error("the error of the test");',
      "}",
      "deep(2);",
      "",
    ].join("\n"),
  );
  // Bundled as scripts/bundle.mjs does: minified whitespace, a linked map without the sources' text.
  esbuild.buildSync({
    entryPoints: [source],
    bundle: true,
    format: "esm",
    platform: "node",
    outfile: bundle,
    sourcemap: "linked",
    sourcesContent: false,
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "silent",
  });

  /** The stack node prints when the bundle throws (no source maps enabled). */
  function bundledStack(): string {
    try {
      execFileSync(process.execPath, [bundle], { stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
    } catch (e) {
      return (e as { stderr: string }).stderr;
    }
    throw new Error("the bundle did not throw");
  }

  it("names the TypeScript source and line of each bundled frame, read from the map beside the bundle", () => {
    const stack = bundledStack();
    expect(stack).toMatch(/bundle\.js:1:\d+/); // one minified line: useless as it is
    const mapped = mapStack(stack);
    expect(mapped).toContain(`${source}:3:`);
    expect(mapped).toContain(`${source}:2:`);
    expect(mapped).toContain(`${source}:5:`);
    expect(mapped).not.toMatch(/bundle\.js:\d+:\d+/);
  });

  it("leaves positions without a map beside them as they are", () => {
    const stack = "Error: x\n    at f (file:///nowhere/plain.js:10:5)\n    at node:internal/main:1:1";
    expect(mapStack(stack)).toBe(stack);
  });

  it("describes an error by its mapped stack, anything else as text", () => {
    expect(describeError("just text")).toBe("just text");
    const e = new Error("boom");
    expect(describeError(e)).toContain("boom");
  });
});

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

let cached: string | undefined;

/** This package's version, from the package.json above this module (in lib/ or in dist/lib/). */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === "knot-resolver-manager") return (cached = pkg.version ?? "unknown");
    }
    const parent = path.dirname(dir);
    if (parent === dir) return (cached = "unknown");
    dir = parent;
  }
}

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

/**
 * The installed project's root (where package.json, supervisord-plugins/ and dist/ live), found
 * from this module's location so it works from sources (tests) and from the compiled dist/.
 */
export function projectRoot(): string {
  if (root) return root;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (
      fs.existsSync(path.join(dir, "package.json")) &&
      fs.existsSync(path.join(dir, "supervisord-plugins"))
    ) {
      return (root = dir);
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error("cannot find the knot-resolver-manager installation directory");
    dir = up;
  }
}

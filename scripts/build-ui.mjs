// The dashboard (ui/) bundled for the browser by esbuild into dist/ui/: app.js (preact, uPlot, the
// yaml parser; minified), app.css, index.html, and a gzip copy of each that the manager sends to
// clients that accept gzip (lib/manager/ui-assets.ts). Run by scripts/build after tsc.
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = path.join(root, "dist/ui");
fs.rmSync(out, { recursive: true, force: true });

await build({
  entryPoints: { app: path.join(root, "ui/main.tsx") },
  outdir: out,
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "eof",
  logLevel: "warning",
});
fs.copyFileSync(path.join(root, "ui/index.html"), path.join(out, "index.html"));

for (const name of fs.readdirSync(out)) {
  const file = path.join(out, name);
  fs.writeFileSync(`${file}.gz`, zlib.gzipSync(fs.readFileSync(file), { level: 9 }));
}

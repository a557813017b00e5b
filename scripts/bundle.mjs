#!/usr/bin/env node
// scripts/build's second half: the entry points the launchers (bin/) and the packages run, bundled
// with their dependencies by esbuild into dist/bundle/ (ESM, code split: the supervised manager and
// yargs are chunks loaded on demand). Node then reads a few files instead of some 400 modules, which
// halves the manager's start-up and saves it ~10 MB (bench/startup.ts, bench/memory.ts).
//
//   dist/bundle/manager.js     lib/manager/main.ts (bin/knot-resolver)
//   dist/bundle/kresctl.js     lib/cli/main.ts (bin/kresctl)
//   dist/bundle/*.js           shared and on-demand chunks; *.js.map their source maps
//   dist/bundle/lib/**/*.lua   the Lua files of lib/, at their paths under lib/ (see
//                              lib/datamodel/lua-files.ts)
//
// Source maps are written but not loaded at start-up (--enable-source-maps parses them all, which
// costs more than the bundle saves): lib/utils/stack-map.ts maps a stack when one is printed.
import * as esbuild from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
process.chdir(root);
const outdir = "dist/bundle";

/**
 * zod's `z.locales` namespace: its error messages in some 60 languages, 290 kB of the bundle's
 * 570 kB of zod, parsed at every start. Nothing here reads it (zod's own English messages come
 * from locales/en.js, imported directly by zod/v4/classic), so it is bundled as an empty namespace.
 */
const noZodLocales = {
  name: "no-zod-locales",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)[\\/]/.test(args.importer)
        ? { path: "zod-locales", namespace: "no-zod-locales" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "no-zod-locales" }, () => ({
      contents: "export {};",
      loader: "js",
    }));
  },
};

fs.rmSync(outdir, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: { manager: "lib/manager/main.ts", kresctl: "lib/cli/main.ts" },
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  outdir,
  // chunks beside the entry points: lua-files.ts finds lib/ relative to its own chunk
  chunkNames: "[name]-[hash]",
  sourcemap: "linked",
  sourcesContent: false,
  minifyWhitespace: true,
  minifySyntax: true,
  metafile: true,
  logLevel: "warning",
  plugins: [noZodLocales],
  // etcd3 (the fleet extension only) reads its .proto files next to its own modules (__dirname):
  // it stays a package loaded from node_modules, and only by a manager in a fleet (a dynamic import).
  external: ["etcd3"],
  // lib/datamodel/lua-files.ts: the Lua files are in dist/bundle/lib/
  define: { KRES_BUNDLED: "true" },
  // CommonJS dependencies (express, winston, xmlrpc…) require() node's own modules: give every chunk
  // a real require (esbuild's ESM output has none).
  banner: {
    js: 'import{createRequire as __kresCreateRequire}from"node:module";const require=__kresCreateRequire(import.meta.url);',
  },
});
fs.writeFileSync(path.join(outdir, "meta.json"), JSON.stringify(result.metafile));

// The Lua files, at their paths under lib/ in dist/bundle/lib/ (see lib/datamodel/lua-files.ts).
for (const entry of fs.readdirSync("lib", { recursive: true })) {
  const rel = String(entry);
  if (!rel.endsWith(".lua")) continue;
  const to = path.join(outdir, "lib", rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(path.join("lib", rel), to);
}

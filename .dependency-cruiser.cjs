// Import rules checked by `npm run check` (scripts/check runs `depcruise`). The layers of lib/ only
// point down: utils ← datamodel ← controller ← manager; cli uses datamodel and utils and talks HTTP.
// Tests, benchmarks and their harness sit outside lib/ and lib/ never reaches for them.
// Type-only imports count (tsPreCompilationDeps): a type pulled across a layer is a dependency too.
// CommonJS (.cjs) because package.json says "type": "module" and depcruise loads its config with require.

/** Paths under lib/ other than the given layers, as one regular expression. */
const libExcept = (...layers) => `^lib/(?!(${layers.join("|")})/)`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "utils-imports-no-lib",
      comment: "lib/utils holds pure helpers: it imports nothing else of lib/.",
      severity: "error",
      from: { path: "^lib/utils/" },
      to: { path: libExcept("utils") },
    },
    {
      name: "datamodel-imports-utils-only",
      comment: "lib/datamodel (schema, validation, Lua rendering) may import lib/utils only.",
      severity: "error",
      from: { path: "^lib/datamodel/" },
      to: { path: libExcept("datamodel", "utils") },
    },
    {
      name: "controller-imports-datamodel-utils-only",
      comment: "lib/controller may import lib/datamodel and lib/utils only.",
      severity: "error",
      from: { path: "^lib/controller/" },
      to: { path: libExcept("controller", "datamodel", "utils") },
    },
    {
      name: "manager-not-to-cli",
      comment: "lib/manager may import any layer below it, never lib/cli (kresctl talks to it over HTTP).",
      severity: "error",
      from: { path: "^lib/manager/" },
      to: { path: "^lib/cli/" },
    },
    {
      name: "cli-imports-datamodel-utils-only",
      comment:
        "lib/cli (kresctl) may import lib/datamodel and lib/utils only: it talks to the manager over HTTP.",
      severity: "error",
      from: { path: "^lib/cli/" },
      to: { path: libExcept("cli", "datamodel", "utils") },
    },
    {
      name: "ui-talks-http",
      comment:
        "ui/ (the dashboard, bundled for the browser) talks HTTP to the API like kresctl: of lib/ it may take pure helpers (lib/utils) and the API's types (type-only), never the manager's, controller's or datamodel's code.",
      severity: "error",
      from: { path: "^ui/" },
      to: { path: "^lib/(?!utils/)", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "ui-not-from-lib",
      comment: "lib/ is the server side: it serves the built dashboard's files, never imports its sources.",
      severity: "error",
      from: { path: "^(lib|harness|bench)/" },
      to: { path: "^ui/" },
    },
    {
      name: "lib-not-to-tests",
      comment: "lib/ is what ships: it never imports tests, benchmarks or their harness.",
      severity: "error",
      from: { path: "^lib/" },
      to: { path: "^(test|bench|harness)/" },
    },
    {
      name: "lib-not-to-dev-dep",
      comment:
        "The packages ship lib/ with the production dependencies only (npm prune --omit=dev): a devDependency it imports would be missing there. Types only are fine (gone once compiled).",
      severity: "error",
      from: { path: "^lib/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "harness-not-to-test-or-bench",
      comment: "harness/ serves tests and benchmarks alike, so it imports neither.",
      severity: "error",
      from: { path: "^harness/" },
      to: { path: "^(test|bench)/" },
    },
    {
      name: "bench-not-to-test",
      comment: "Benchmarks are compiled to dist/ without the tests: take shared code from harness/.",
      severity: "error",
      from: { path: "^bench/" },
      to: { path: "^test/" },
    },
    {
      name: "no-circular",
      comment:
        "No import cycles: in a cycle one module runs before what it imports is initialized, and neither can be understood or moved without the other.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "not-to-unresolvable",
      comment: "Every import resolves to a file or a package on disk.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Resolve packages through their "exports" the way node does for this ESM code.
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types", "typings"],
    },
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};

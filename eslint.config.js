import js from "@eslint/js";
import regexp from "eslint-plugin-regexp";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", "debian/", "rpm/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    // Patterns that backtrack super-linearly freeze the manager's only thread on a crafted value
    // (issue 16). Everywhere: a pattern copied from a test or a benchmark into lib/ stays safe.
    files: ["**/*.ts", "**/*.js", "**/*.mjs", "**/*.cjs"],
    plugins: { regexp },
    rules: { "regexp/no-super-linear-backtracking": ["error", { report: "potential" }] },
  },
  {
    // lib/ also gets the rule on unanchored patterns that rescan from every start position (quadratic
    // on a long non-match); elsewhere such patterns only read trusted output.
    files: ["lib/**/*.ts"],
    rules: { "regexp/no-super-linear-move": ["error", { report: "potential" }] },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  {
    // .dependency-cruiser.cjs: depcruise loads its config with require().
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
);

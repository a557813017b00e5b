import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigParseError, ConfigValidationError, problemsFromIssues } from "./errors.js";
import { kresConfigSchema, type KresConfig } from "./config.js";
import { withValidationContext, type ValidationContext } from "./context.js";
import { OLD_TOP_LEVEL_KEYS } from "./old-spellings.js";
import { deepMerge, parseYamlOrJson } from "../utils/parsing.js";

/** Validates already-parsed data; throws ConfigValidationError listing every problem. */
export function validateConfig(data: unknown, ctx: Partial<ValidationContext> = {}): KresConfig {
  const result = withValidationContext(ctx, () => kresConfigSchema.safeParse(data ?? {}));
  if (!result.success) {
    // An old top-level key is unknown to the root object: say what became of it.
    const problems = problemsFromIssues(result.error.issues).map((p) => {
      const old = p.message === "unknown key" ? OLD_TOP_LEVEL_KEYS.get(p.pointer.slice(1)) : undefined;
      return old ? { ...p, message: old } : p;
    });
    throw new ConfigValidationError(problems);
  }
  return result.data;
}

/** Parses YAML or JSON text; throws ConfigParseError naming the source and position. */
export function parseConfigText(text: string, source?: string): unknown {
  try {
    return parseYamlOrJson(text);
  } catch (e) {
    const err = e as { reason?: string; mark?: { line: number; column: number }; message?: string };
    const where = err.mark ? ` at line ${err.mark.line + 1}, column ${err.mark.column + 1}` : "";
    throw new ConfigParseError(`invalid YAML: ${err.reason ?? err.message ?? String(e)}${where}`, source);
  }
}

export function readConfigFile(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new ConfigParseError(`cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, file);
  }
  return parseConfigText(text, file);
}

/**
 * Reads one or more config files, later ones overriding earlier ones, and validates the merge.
 * Relative paths inside are resolved against the first file's directory.
 */
export function loadConfigFiles(
  files: readonly string[],
  ctx: Partial<ValidationContext> = {},
): { raw: unknown; config: KresConfig } {
  const raw = readConfigFiles(files);
  return { raw, config: validateAsFrom(files, raw, ctx) };
}

/** The files' documents merged (later ones override earlier ones), not validated. */
export function readConfigFiles(files: readonly string[]): unknown {
  let raw: unknown = {};
  for (const f of files) raw = deepMerge(raw, readConfigFile(f) ?? {});
  return raw;
}

/**
 * Validates a document as if it had been read from `files` (an API edit of them, a saved running
 * config): relative paths inside resolve against the first file's directory, as loadConfigFiles does.
 */
export function validateAsFrom(
  files: readonly string[],
  document: unknown,
  ctx: Partial<ValidationContext> = {},
): KresConfig {
  const baseDir = files[0] ? path.dirname(path.resolve(files[0])) : process.cwd();
  return validateConfig(document, { baseDir, ...ctx });
}

import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { resolveConfigPath, validationContext } from "../context.js";

type Check = (absolute: string) => string | undefined;

/**
 * A path in the config. Relative paths are resolved against the validation context's base
 * directory (the config file's), so the validated value is always absolute. File-system
 * checks run only under strict validation.
 */
function pathType(description: string, check: Check) {
  return z
    .string({ error: "expected a path" })
    .min(1, { error: "expected a non-empty path" })
    .refine((p) => !p.includes("\0"), { error: "a path must not contain a NUL character" })
    .transform((p, ctx) => {
      const absolute = resolveConfigPath(p);
      const problem = validationContext().strict ? check(absolute) : undefined;
      if (problem) ctx.addIssue({ code: "custom", message: problem, input: p });
      return absolute;
    })
    .meta({ description });
}

function stat(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p);
  } catch {
    return undefined;
  }
}

function accessible(p: string, mode: number): boolean {
  try {
    fs.accessSync(p, mode);
    return true;
  } catch {
    return false;
  }
}

const isDir: Check = (p) => (stat(p)?.isDirectory() ? undefined : `'${p}' is not an existing directory`);
const isFile: Check = (p) => {
  const st = stat(p);
  if (!st) return `file '${p}' does not exist`;
  return st.isFile() ? undefined : `'${p}' is not a file`;
};
const inDir: Check = (p) => {
  if (!stat(path.dirname(p))?.isDirectory()) return `'${p}' does not point inside an existing directory`;
  return stat(p)?.isDirectory() ? `'${p}' is a directory, expected a file` : undefined;
};
const all =
  (...checks: Check[]): Check =>
  (p) => {
    for (const c of checks) {
      const problem = c(p);
      if (problem) return problem;
    }
    return undefined;
  };

export const uncheckedPath = pathType("path", () => undefined);
export const filePath = pathType("path of a file in an existing directory", inDir);
export const readableFile = pathType(
  "readable file",
  all(isFile, (p) => (accessible(p, fs.constants.R_OK) ? undefined : `'${p}' is not readable`)),
);
export const writableDir = pathType(
  "writable directory",
  all(isDir, (p) =>
    accessible(p, fs.constants.W_OK | fs.constants.X_OK) ? undefined : `directory '${p}' is not writable`,
  ),
);
export const writableFilePath = pathType(
  "writable file path",
  all(inDir, (p) => {
    const dir = path.dirname(p);
    if (!accessible(dir, fs.constants.W_OK | fs.constants.X_OK)) return `directory '${dir}' is not writable`;
    if (stat(p) && !accessible(p, fs.constants.W_OK)) return `'${p}' is not writable`;
    return undefined;
  }),
);

/**
 * Validation helpers for the datamodel unit tests: a temporary rundir per test file, and short
 * `valid` / `problems` functions for one top-level section.
 *
 *   const rundir = testRundir("kres-options-");
 *   const { valid, problems } = section("options", { rundir, ctx: { strict: false } });
 *   expect(valid({ minimize: false }).options.minimize).toBe(false);
 *   expect(problems({ minimize: 1 })[0]?.pointer).toBe("/options/minimize");
 *
 * Not exported from ./index.js: the integration harness does not need it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { KresConfig } from "../lib/datamodel/config.js";
import type { ValidationContext } from "../lib/datamodel/context.js";
import { ConfigValidationError, type Problem } from "../lib/datamodel/errors.js";
import { validateConfig } from "../lib/datamodel/load.js";
import { tmpDir } from "./tmp.js";

export type Ctx = Partial<ValidationContext>;

/** A new temporary directory for this test file, removed after it (afterAll). */
export function testRundir(prefix = "kres-unit-"): string {
  return tmpDir(prefix);
}

/**
 * A new temporary directory `tmp` (removed after the test file) holding an empty `run` subdirectory
 * for the rundir, so that files a test writes into `tmp` stay apart from the rundir.
 */
export function testDirs(prefix = "kres-unit-"): { tmp: string; rundir: string } {
  const tmp = tmpDir(prefix);
  const rundir = path.join(tmp, "run");
  fs.mkdirSync(rundir);
  return { tmp, rundir };
}

/** validateConfig: the validated config, or a thrown ConfigValidationError. */
export function validate(data: unknown, ctx: Ctx = {}): KresConfig {
  return validateConfig(data, ctx);
}

/** The problems validateConfig reports; throws when the config is unexpectedly valid. */
export function problemsOf(data: unknown, ctx: Ctx = {}): Problem[] {
  try {
    validateConfig(data, ctx);
  } catch (e) {
    if (e instanceof ConfigValidationError) return e.problems;
    throw e;
  }
  throw new Error(`expected the config to be refused, but it is valid: ${JSON.stringify(data)}`);
}

export interface SectionOptions {
  /** The rundir of every config. */
  rundir: string;
  /** Keys put under the section's value when that is an object or absent (e.g. a cache storage). */
  defaults?: Record<string, unknown>;
  /** Other top-level keys of every config. */
  base?: Record<string, unknown>;
  /** The validation context of every call; a call's own context is merged over it. */
  ctx?: Ctx;
}

export interface Section {
  /** The whole config for this section value (the section key is left out when `value` is undefined). */
  data(value: unknown): Record<string, unknown>;
  valid(value: unknown, ctx?: Ctx): KresConfig;
  problems(value: unknown, ctx?: Ctx): Problem[];
  /** The same section with more top-level keys in every config. */
  with(extra: Record<string, unknown>): Section;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Validation of configs that differ in the value of the top-level key `name` only. */
export function section(name: string, opts: SectionOptions): Section {
  const { rundir, defaults, base = {}, ctx: baseCtx = {} } = opts;
  const withDefaults = (value: unknown): unknown =>
    defaults && (value === undefined || isPlainObject(value)) ? { ...defaults, ...value } : value;
  const data = (value: unknown): Record<string, unknown> => {
    const v = withDefaults(value);
    return v === undefined ? { rundir, ...base } : { rundir, ...base, [name]: v };
  };
  return {
    data,
    valid: (value, ctx = {}) => validate(data(value), { ...baseCtx, ...ctx }),
    problems: (value, ctx = {}) => problemsOf(data(value), { ...baseCtx, ...ctx }),
    with: (extra) => section(name, { ...opts, base: { ...base, ...extra } }),
  };
}

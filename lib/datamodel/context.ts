import * as os from "node:os";
import * as path from "node:path";

/**
 * What validation may look at beyond the data itself. zod has no per-parse context, and
 * parsing is synchronous, so the context is set around one parse by `withValidationContext`.
 */
export interface ValidationContext {
  /** Directory that relative paths in the config are resolved against (the config file's). */
  baseDir: string;
  /** Check the file system (files exist and are readable, dirs writable). Off for schema export. */
  strict: boolean;
  /** Usable CPUs, for `workers: auto` and the workers sanity limit. */
  cpuCount: number;
  /** Hostname used when `hostname` is not configured. */
  hostname: string;
}

export function defaultValidationContext(): ValidationContext {
  return {
    baseDir: process.cwd(),
    strict: true,
    cpuCount: os.availableParallelism(),
    hostname: os.hostname(),
  };
}

let current: ValidationContext | undefined;

export function validationContext(): ValidationContext {
  return current ?? defaultValidationContext();
}

export function withValidationContext<T>(ctx: Partial<ValidationContext>, fn: () => T): T {
  const saved = current;
  current = { ...validationContext(), ...ctx };
  try {
    return fn();
  } finally {
    current = saved;
  }
}

/** Resolves a configured path against the context's base directory. */
export function resolveConfigPath(p: string): string {
  return path.resolve(validationContext().baseDir, p);
}

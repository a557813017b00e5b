import type { z } from "zod";
import { KresError } from "../utils/errors.js";
import { toPointer } from "../utils/json-pointer.js";
import { printable } from "../utils/printable.js";

/** One problem in a config: where (JSON pointer) and what. */
export interface Problem {
  pointer: string;
  message: string;
}

/** The base of lib/datamodel/'s errors. */
export class DataModelError extends KresError {}

/** The config did not validate; holds every problem found (HTTP 422). */
export class ConfigValidationError extends DataModelError {
  override readonly status = 422;

  constructor(readonly problems: Problem[]) {
    super(formatProblems(problems));
  }

  override get publicMessage(): string {
    return "the configuration is invalid";
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return {
      // One line per problem, without the heading.
      details: formatProblems(this.problems)
        .split("\n")
        .slice(1)
        .map((l) => l.trim()),
      problems: this.problems,
    };
  }
}

/** The config text could not be parsed as YAML/JSON at all (HTTP 422). */
export class ConfigParseError extends DataModelError {
  override readonly status = 422;

  constructor(
    message: string,
    readonly source?: string,
  ) {
    super(source ? `${source}: ${message}` : message);
  }
}

/** A cache clear request that did not validate; problems point into the request body (HTTP 400). */
export class InvalidCacheClearRequest extends DataModelError {
  override readonly status = 400;
  /** One line per problem, `pointer: message`, nothing unprintable. */
  readonly details: string[];

  constructor(readonly problems: Problem[]) {
    const details = problems.map((p) => `${printable(p.pointer || "/")}: ${printable(p.message)}`);
    super(`invalid cache clear request: ${details.join("; ")}`);
    this.details = details;
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return { details: this.details, problems: this.problems };
  }
}

/** Problems as text for a terminal or log: one line each, nothing unprintable. */
export function formatProblems(problems: Problem[]): string {
  const lines = problems.map((p) => `  ${printable(p.pointer || "/")}: ${printable(p.message)}`);
  return `configuration is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${lines.join("\n")}`;
}

type Issue = z.core.$ZodIssue;
type Path = readonly PropertyKey[];

// How far a union branch got: a wrong type or literal at the value itself means "not this branch";
// a failed check or a problem deeper inside means "this branch, but wrong".
function depth(issues: readonly Issue[]): number {
  const shallow = (i: Issue) => i.code === "invalid_type" || i.code === "invalid_value";
  return Math.max(...issues.map((i) => i.path.length + (shallow(i) ? 0 : 0.5)));
}

/** Turns zod issues into problems with pointers, unfolding unions to the branch that got furthest. */
export function problemsFromIssues(issues: readonly Issue[], prefix: Path = []): Problem[] {
  const out: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === "invalid_union" && issue.errors.length > 0) {
      const branches = issue.errors.filter((b) => b.length > 0);
      const best = [...branches].sort((a, b) => depth(b) - depth(a) || a.length - b.length)[0];
      if (best && depth(best) > 0) {
        out.push(...problemsFromIssues(best, path));
        continue;
      }
      // Every branch failed on the value itself: the union's own message if it has one, else
      // what each branch would have wanted.
      const wanted = [...new Set(branches.flat().map((i) => i.message))].join("; or ");
      const message = issue.message && issue.message !== "Invalid input" ? issue.message : wanted;
      out.push({ pointer: toPointer(path), message: message || "invalid value" });
      continue;
    }
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) out.push({ pointer: toPointer([...path, key]), message: "unknown key" });
      continue;
    }
    out.push({ pointer: toPointer(path), message: issue.message });
  }
  return out;
}

/**
 * Reading a Prometheus text exposition in tests: its samples, and what `promtool check metrics`
 * (Debian package prometheus) finds wrong with it.
 */
import { spawnSync } from "node:child_process";

/** The sample lines of an exposition as "name{labels}" → value. */
export function samples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const sp = line.lastIndexOf(" ");
    out.set(line.slice(0, sp), line.slice(sp + 1));
  }
  return out;
}

/** promtool is installed (scripts/ensure-deps installs it). */
export const hasPromtool = (): boolean => spawnSync("promtool", ["--version"]).status === 0;

/**
 * `promtool check metrics` problems with the exposition, lint about help texts left out: those are
 * upstream's wording, not errors of the format.
 */
export function promtoolProblems(text: string): string[] {
  const res = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  if (res.error) throw res.error;
  return (res.stdout + res.stderr).split("\n").filter((l) => l.trim() !== "" && !/help text/i.test(l));
}

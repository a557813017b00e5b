/** The man pages in doc/: they render without warnings, and kresctl(8) describes every command and option. */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { cliShape } from "../../../lib/cli/main.js";
import type { CommandSpec } from "../../../lib/cli/completion/spec.js";
import { REPO_ROOT } from "../../../harness/repo.js";

const KRESCTL_8 = path.join(REPO_ROOT, "doc/kresctl.8");
const KNOT_RESOLVER_8 = path.join(REPO_ROOT, "doc/knot-resolver.8");

/** The page as text: wide lines, no hyphenation, no overstriking. */
function render(page: string): string {
  return execFileSync("groff", ["-man", "-Tutf8", "-rHY=0", "-rLL=250n", "-P-cbou", "-ww", page], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
}

describe.each([KRESCTL_8, KNOT_RESOLVER_8])("%s", (page) => {
  it("renders with man -l, and groff has no warning", () => {
    const shown = execFileSync("man", ["-l", page], {
      encoding: "utf8",
      env: { ...process.env, MANPAGER: "cat", MANWIDTH: "80" },
    });
    expect(shown).toMatch(/^NAME$/m);
    const warnings = execFileSync("sh", ["-c", 'groff -man -Tutf8 -ww -z "$1" 2>&1', "sh", page], {
      encoding: "utf8",
    });
    expect(warnings).toBe("");
  });
});

describe("kresctl(8)", () => {
  const text = render(KRESCTL_8);
  const { root } = cliShape();

  function paths(spec: CommandSpec, prefix: string[] = []): { path: string; spec: CommandSpec }[] {
    return spec.subcommands.flatMap((s) => {
      const p = [...prefix, s.name];
      return s.subcommands.length > 0 ? paths(s, p) : [{ path: p.join(" "), spec: s }];
    });
  }

  /** The text of the subsection whose heading starts with the command, up to the next heading. */
  function section(cmd: string): string | undefined {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => l === `   ${cmd}` || l.startsWith(`   ${cmd} `));
    if (start < 0) return undefined;
    const end = lines.findIndex((l, i) => i > start && /^( {3})?\S/.test(l));
    return lines.slice(start, end < 0 ? undefined : end).join("\n");
  }

  const described = (flag: string, where: string) => new RegExp(`(^|[\\s,\\[(|])${flag}\\b`).test(where);
  const flagsOf = (spec: CommandSpec) =>
    spec.options.flatMap((o) => [o.name, ...o.aliases].map((n) => (n.length === 1 ? `-${n}` : `--${n}`)));

  it("has a section for every command describing each of its options", () => {
    for (const { path: cmd, spec } of paths(root)) {
      const body = section(cmd);
      expect({ cmd, section: body !== undefined }).toEqual({ cmd, section: true });
      for (const flag of flagsOf(spec))
        expect({ cmd, flag, described: described(flag, body ?? "") }).toEqual({ cmd, flag, described: true });
    }
  });

  it("describes the global options where it says how kresctl finds the API", () => {
    const start = text.indexOf("CONNECTING TO THE MANAGEMENT API");
    const body = text.slice(start, text.indexOf("\nCOMMANDS", start));
    for (const flag of flagsOf(root))
      expect({ flag, described: described(flag, body) }).toEqual({ flag, described: true });
  });
});

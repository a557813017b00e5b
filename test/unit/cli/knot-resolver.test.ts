import { execFileSync } from "node:child_process";
import { shellQuote } from "../../../lib/utils/shell.js";

describe("shellQuote (the exec request the launcher evals)", () => {
  it("makes any word survive `eval set --` unchanged", () => {
    const words = ["plain", "", "two words", "it's", "'", "$HOME `id` $(id) \\n", "line\nbreak", "*", "-e"];
    const script = `eval "set -- $1"; for w in "$@"; do printf '%s\\0' "$w"; done`;
    const out = execFileSync("/bin/sh", ["-c", script, "sh", words.map(shellQuote).join(" ")], {
      encoding: "utf8",
    });
    expect(out.split("\0").slice(0, -1)).toEqual(words);
  });
});

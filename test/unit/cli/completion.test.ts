/**
 * The shell completion scripts: generated from the CLI's own builders, kept in etc/completion/
 * (regenerate with `npm run completion`), and completing what a user types in bash, zsh and fish.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { REPO_ROOT } from "../../../harness/repo.js";
import { kresctl } from "./fake-manager.js";

const BASH_FILE = path.join(REPO_ROOT, "etc/completion/kresctl.bash");
const ZSH_FILE = path.join(REPO_ROOT, "etc/completion/_kresctl");
const FISH_FILE = path.join(REPO_ROOT, "etc/completion/kresctl.fish");
const ZSH = "/usr/bin/zsh";
const FISH = "/usr/bin/fish";

describe("kresctl completion", () => {
  it("prints the bash script by default and with --bash, the zsh one with --zsh, the fish one with --fish", async () => {
    const bash = await kresctl(["completion", "--bash"]);
    expect(bash).toMatchObject({ code: 0, err: "" });
    expect(bash.out).toContain("complete -F _kresctl kresctl");
    expect((await kresctl(["completion"])).out).toBe(bash.out);
    const zsh = await kresctl(["completion", "--zsh"]);
    expect(zsh.out.split("\n")[0]).toBe("#compdef kresctl");
    expect((await kresctl(["completion", "--bash", "--zsh"])).code).toBe(1);
    const fish = await kresctl(["completion", "--fish"]);
    expect(fish.out.split("\n")[0]).toBe("# fish completion for kresctl");
    expect(fish.out).toContain("complete -c kresctl ");
    for (const both of [
      ["--fish", "--bash"],
      ["--fish", "--zsh"],
    ])
      expect((await kresctl(["completion", ...both])).code).toBe(1);
  });

  it("matches the files in etc/completion/ (run `npm run completion` after changing the CLI)", async () => {
    expect(fs.readFileSync(BASH_FILE, "utf8")).toBe((await kresctl(["completion", "--bash"])).out);
    expect(fs.readFileSync(ZSH_FILE, "utf8")).toBe((await kresctl(["completion", "--zsh"])).out);
    expect(fs.readFileSync(FISH_FILE, "utf8")).toBe((await kresctl(["completion", "--fish"])).out);
  });

  it("knows every command kresctl --help lists", async () => {
    const help = (await kresctl(["--help"])).out;
    const commands = [...help.matchAll(/^ {2}kresctl (\S+)/gm)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThan(10);
    const script = fs.readFileSync(BASH_FILE, "utf8");
    const top = /^ {8}''\) echo '([^']*)' ;;$/m.exec(script)?.[1]?.split(" ");
    expect(top).toEqual(commands);
  });
});

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-unit-completion-"));
  for (const f of ["config.yaml", "config.json", "other.txt"]) fs.writeFileSync(path.join(dir, f), "");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** What bash offers for the words typed so far (the last one is being completed), as a sorted list. */
function bashComplete(line: string): string[] {
  const words = line.split(" ");
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _kresctl; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync("/bin/bash", ["-c", script, "bash", BASH_FILE, ...words], {
    cwd: dir,
    encoding: "utf8",
  });
  return out.split("\n").filter(Boolean).sort();
}

describe("the bash script", () => {
  it("completes commands and subcommands", () => {
    expect(bashComplete("kresctl co")).toEqual(["completion", "config", "convert"]);
    expect(bashComplete("kresctl config ")).toEqual(["delete", "get", "set"]);
    expect(bashComplete("kresctl -s /run/x.sock cache ")).toEqual(["clear"]);
  });

  it("completes the options of the command typed, global ones included", () => {
    expect(bashComplete("kresctl cache clear --")).toEqual(
      [
        "--chunk-size",
        "--config",
        "--exact-name",
        "--help",
        "--json",
        "--rr-type",
        "--socket",
        "--yaml",
      ].sort(),
    );
    expect(bashComplete("kresctl reload --f")).toEqual(["--force"]);
    expect(bashComplete("kresctl validate --s")).toEqual(["--socket", "--strict"]);
    expect(bashComplete("kresctl convert --")).toContain("--output");
  });

  it("completes values: choices, config pointers, file names, nothing for free text", () => {
    expect(bashComplete("kresctl pids ")).toEqual(["all", "gc", "kresd"]);
    expect(bashComplete("kresctl pids kresd ")).toEqual([]);
    expect(bashComplete("kresctl config get -p /w")).toEqual(["/workers"]);
    expect(bashComplete("kresctl config set /lo")).toEqual(["/local-data", "/logging"]);
    expect(bashComplete("kresctl -s con")).toEqual(["config.json", "config.yaml"]);
    expect(bashComplete("kresctl validate config.y")).toEqual(["config.yaml"]);
    expect(bashComplete("kresctl validate config.yaml config.j")).toEqual(["config.json"]);
    expect(bashComplete("kresctl cache clear --rr-type ")).toEqual([]);
  });

  it("skips option values when finding the command, and stops at --", () => {
    expect(bashComplete("kresctl --socket config.yaml config get --j")).toEqual(["--json"]);
    expect(bashComplete("kresctl debug -- ")).toEqual([]);
  });
});

/** What zsh offers, driving an interactive zsh with the script on $fpath (zpty), sorted. */
function zshComplete(line: string): string[] {
  const fpath = path.join(dir, "fpath");
  fs.mkdirSync(fpath, { recursive: true });
  fs.copyFileSync(ZSH_FILE, path.join(fpath, "_kresctl"));
  const out = path.join(dir, "zsh-out");
  fs.rmSync(out, { force: true });
  const driver = [
    "zmodload zsh/zpty",
    "zpty z zsh -f -i",
    `zpty -w z "PS1=''; fpath=(${fpath} \\$fpath); autoload -Uz compinit; compinit -u -D"`,
    // Every candidate offered goes to the out file, and is offered as usual.
    `zpty -w z 'compadd () { local -a __h; builtin compadd -O __h "$@"; print -r -l -- $__h >> ${out}; builtin compadd "$@" }'`,
    `zpty -w -n z ${JSON.stringify(line)}$'\\t'`,
    // Wait until candidates come, then until no more come (a fixed sleep was too short on a
    // busy machine; keys typed meanwhile would cut the completion short).
    `for i in {1..200}; do [[ -s ${out} ]] && break; sleep 0.1; done`,
    `prev=-1; for i in {1..50}; do n=$(wc -c < ${out} 2>/dev/null); [[ $n == $prev ]] && break; prev=$n; sleep 0.3; done`,
    "zpty -d z",
  ].join("\n");
  execFileSync(ZSH, ["-f", "-c", driver], { cwd: dir, timeout: 30000 });
  const text = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
  return [...new Set(text.split("\n").filter(Boolean))].sort();
}

// zsh is the Debian package `zsh`; without it these tests cannot run and say so in their names.
const withZsh = fs.existsSync(ZSH) ? describe : describe.skip;
withZsh(`the zsh script (needs ${ZSH})`, () => {
  it("loads without a syntax error", () => {
    expect(() => execFileSync(ZSH, ["-n", ZSH_FILE])).not.toThrow();
  });

  it("completes commands, subcommands, options and values", () => {
    expect(zshComplete("kresctl co")).toEqual(["completion", "config", "convert"]);
    expect(zshComplete("kresctl config ")).toEqual(["delete", "get", "set"]);
    expect(zshComplete("kresctl -s /tmp/x cache clear --r")).toEqual(["--rr-type"]);
    expect(zshComplete("kresctl pids ")).toEqual(["all", "gc", "kresd"]);
    expect(zshComplete("kresctl config set -p /wo")).toEqual(["/workers"]);
  });
});

/** What fish offers for the line typed so far (`complete -C`), sorted, without descriptions. */
function fishComplete(line: string): string[] {
  const out = execFileSync(
    FISH,
    ["--no-config", "-c", "source $argv[1]; complete -C $argv[2]", FISH_FILE, line],
    {
      cwd: dir,
      encoding: "utf8",
    },
  );
  return out
    .split("\n")
    .filter(Boolean)
    .map((l) => l.split("\t")[0] as string)
    .sort();
}

// fish is the Debian package `fish`; without it these tests cannot run and say so in their names.
const withFish = fs.existsSync(FISH) ? describe : describe.skip;
withFish(`the fish script (needs ${FISH})`, () => {
  it("loads without a syntax error", () => {
    expect(() => execFileSync(FISH, ["--no-execute", FISH_FILE])).not.toThrow();
  });

  it("completes commands and subcommands, after global options too", () => {
    expect(fishComplete("kresctl co")).toEqual(["completion", "config", "convert"]);
    expect(fishComplete("kresctl config ")).toEqual(["delete", "get", "set"]);
    expect(fishComplete("kresctl -s /run/x.sock cache ")).toEqual(["clear"]);
  });

  it("completes the options of the command typed, global ones included", () => {
    expect(fishComplete("kresctl cache clear --")).toEqual(
      [
        "--chunk-size",
        "--config",
        "--exact-name",
        "--help",
        "--json",
        "--rr-type",
        "--socket",
        "--yaml",
      ].sort(),
    );
    expect(fishComplete("kresctl completion --")).toEqual(
      ["--bash", "--config", "--fish", "--help", "--socket", "--zsh"].sort(),
    );
  });

  it("completes values: choices, config pointers, file names, nothing for free text", () => {
    expect(fishComplete("kresctl pids ")).toEqual(["all", "gc", "kresd"]);
    expect(fishComplete("kresctl pids kresd ")).toEqual([]);
    expect(fishComplete("kresctl convert --type ")).toEqual(["policy-loader", "worker"]);
    expect(fishComplete("kresctl config get -p /w")).toEqual(["/workers"]);
    expect(fishComplete("kresctl validate config.y")).toEqual(["config.yaml"]);
    expect(fishComplete("kresctl validate --strict config.yaml config.j")).toEqual(["config.json"]);
    expect(fishComplete("kresctl -s con")).toEqual(["config.json", "config.yaml"]);
    expect(fishComplete("kresctl cache clear --rr-type ")).toEqual([]);
  });

  it("stops at --", () => {
    expect(fishComplete("kresctl debug -- ")).toEqual([]);
  });
});

import * as fs from "node:fs";
import * as path from "node:path";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../../lib/datamodel/worker-lua.js";
import { DEFAULT_API_SOCKET } from "../../../lib/datamodel/sections/management/schema.js";
import {
  MIN_TOKEN_LENGTH,
  readTokenFile,
  TokenFileError,
  tokenFileWarning,
} from "../../../lib/datamodel/sections/management/token.js";
import { section, testDirs } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kr-mgmt-unit-");

const { valid: config, problems } = section("management", { rundir, ctx: { strict: true, baseDir: tmp } });

function expectRefused(management: unknown, pointer: string, text: string) {
  expect(problems(management)).toEqual([{ pointer, message: expect.stringContaining(text) }]);
}

describe("management", () => {
  it("defaults to upstream's API socket in the default rundir", () => {
    expect(DEFAULT_API_SOCKET).toBe("/run/knot-resolver/kres-api.sock");
    expect(config(undefined).management).toEqual({ "unix-socket": DEFAULT_API_SOCKET });
  });

  it("takes the default as is in strict mode; the same path written out is checked", () => {
    expect(() => config(undefined, { strict: true })).not.toThrow();
    if (!fs.existsSync(path.dirname(DEFAULT_API_SOCKET))) {
      expectRefused({ "unix-socket": DEFAULT_API_SOCKET }, "/management/unix-socket", "existing directory");
    }
  });

  it("accepts a unix socket, resolving a relative path against the config file's directory", () => {
    expect(config({ "unix-socket": "api.sock" }).management).toEqual({
      "unix-socket": path.join(tmp, "api.sock"),
    });
    expect(config({ "unix-socket": path.join(rundir, "kres-api.sock") }).management["unix-socket"]).toBe(
      path.join(rundir, "kres-api.sock"),
    );
  });

  it("checks a written socket path against the file system in strict mode", () => {
    expectRefused(
      { "unix-socket": "/nonexistent-dir/kres-api.sock" },
      "/management/unix-socket",
      "does not point inside an existing directory",
    );
    expect(
      config({ "unix-socket": "/nonexistent-dir/kres-api.sock" }, { strict: false }).management[
        "unix-socket"
      ],
    ).toBe("/nonexistent-dir/kres-api.sock");
  });

  it.each(["127.0.0.1@5000", "::1@5000", "0.0.0.0@8453"])(
    "accepts the interface %s, kept as written",
    (iface) => {
      expect(config({ interface: iface }).management).toEqual({ interface: iface });
    },
  );

  it("refuses an interface without a port, with a name instead of an address, or a bad port", () => {
    expectRefused({ interface: "127.0.0.1" }, "/management/interface", "expected '<ip-address>@<port>'");
    expectRefused({ interface: "lo@5000" }, "/management/interface", "expected an IP address, got 'lo'");
    expectRefused({ interface: "127.0.0.1@70000" }, "/management/interface", "invalid port number '70000'");
  });

  it("refuses both a socket and an interface, pointing at the interface", () => {
    expectRefused(
      { "unix-socket": path.join(rundir, "a.sock"), interface: "127.0.0.1@5000" },
      "/management/interface",
      "'interface' and 'unix-socket' are both set; configure exactly one of them",
    );
  });

  it("refuses neither (an empty object, as upstream does)", () => {
    expectRefused({}, "/management", "configure exactly one of 'unix-socket' or 'interface'");
  });

  it("refuses unknown keys and non-objects", () => {
    expectRefused(
      { "unix-socket": path.join(rundir, "a.sock"), port: 5000 },
      "/management/port",
      "unknown key",
    );
    expect(problems("127.0.0.1@5000")).toEqual([{ pointer: "/management", message: expect.any(String) }]);
  });

  it("contributes nothing to the kresd worker Lua", () => {
    const base = validateConfig({ rundir, hostname: "h" }, { strict: false });
    const withApi = validateConfig(
      { rundir, hostname: "h", management: { interface: "127.0.0.1@5000" } },
      { strict: false },
    );
    expect(renderWorkerLua(withApi)).toBe(renderWorkerLua(base));
    expect(renderWorkerLua(withApi)).not.toContain("5000");
  });

  describe("token-file (an extension of this project)", () => {
    const TOKEN = "0123456789abcdef0123456789abcdef";
    const tokenFile = (name: string, text: string): string => {
      const p = path.join(tmp, name);
      fs.writeFileSync(p, text, { mode: 0o600 });
      return p;
    };

    it("is taken with an interface, resolved against the config file's directory", () => {
      tokenFile("api.token", `${TOKEN}\n`);
      expect(config({ interface: "127.0.0.1@5000", "token-file": "api.token" }).management).toEqual({
        interface: "127.0.0.1@5000",
        "token-file": path.join(tmp, "api.token"),
      });
    });

    it("is refused with the unix socket, which its file permissions guard", () => {
      expectRefused(
        { "unix-socket": path.join(rundir, "a.sock"), "token-file": tokenFile("u.token", TOKEN) },
        "/management/token-file",
        "a token guards 'interface' only",
      );
    });

    it.each([
      ["missing", () => path.join(tmp, "none.token"), "does not exist"],
      ["a directory", () => tmp, "is not a file"],
      ["empty", () => tokenFile("empty.token", " \n"), "cannot be used: it is empty"],
      ["short", () => tokenFile("short.token", "abc\n"), `at least ${MIN_TOKEN_LENGTH}`],
      ["two words", () => tokenFile("words.token", `${TOKEN} ${TOKEN}`), "other than visible ASCII"],
    ])("refuses a token file that is %s, at start (strict validation)", (_what, file, text) => {
      expectRefused({ interface: "127.0.0.1@5000", "token-file": file() }, "/management/token-file", text);
    });

    it("is not read when validating without the file system (kresctl validate)", () => {
      const file = path.join(tmp, "none.token");
      expect(
        config({ interface: "127.0.0.1@5000", "token-file": file }, { strict: false }).management,
      ).toMatchObject({ "token-file": file });
    });

    it("warns about a token file other users may read", () => {
      const file = tokenFile("mode.token", TOKEN);
      expect(tokenFileWarning(file)).toBeUndefined();
      fs.chmodSync(file, 0o640);
      expect(tokenFileWarning(file)).toBe(
        `the API token file ${file} is readable by its group (mode 640); chmod 600 it`,
      );
      fs.chmodSync(file, 0o644);
      expect(tokenFileWarning(file)).toMatch(/readable by every user \(mode 644\)/);
    });

    it("readTokenFile gives the token without surrounding white space, or a TokenFileError naming the file", () => {
      expect(readTokenFile(tokenFile("ok.token", `  ${TOKEN}\r\n`))).toBe(TOKEN);
      expect(() => readTokenFile(tmp)).toThrow(TokenFileError);
      expect(() => readTokenFile(tmp)).toThrow(`cannot read the API token file ${tmp}: EISDIR`);
      expect(() => readTokenFile(tokenFile("e.token", ""))).toThrow(/e\.token cannot be used: it is empty/);
    });
  });
});

/** Which management API kresctl talks to: -s, then --config's management section, then the default. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CliError } from "../../../lib/cli/common.js";
import { describeTarget, parseSocketArg, resolveEndpoint } from "../../../lib/cli/socket.js";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-unit-socket-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const NO_DEFAULT = { KRES_MANAGER_CONFIG: "/nonexistent/config.yaml" };

describe("parseSocketArg (-s/--socket)", () => {
  it("takes a unix socket path, relative ones from the current directory", () => {
    expect(parseSocketArg("/run/knot-resolver/kres-api.sock")).toEqual({
      kind: "unix",
      path: "/run/knot-resolver/kres-api.sock",
    });
    expect(parseSocketArg("run/api.sock")).toEqual({ kind: "unix", path: path.resolve("run/api.sock") });
    expect(parseSocketArg("api.sock")).toEqual({ kind: "unix", path: path.resolve("api.sock") });
  });

  it("takes HOST:PORT, [IPv6]:PORT, ADDRESS@PORT and http://HOST:PORT", () => {
    expect(parseSocketArg("127.0.0.1:5000")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 5000 });
    expect(parseSocketArg("localhost:5000")).toEqual({ kind: "tcp", host: "localhost", port: 5000 });
    expect(parseSocketArg("[::1]:5000")).toEqual({ kind: "tcp", host: "::1", port: 5000 });
    expect(parseSocketArg("::1@5000")).toEqual({ kind: "tcp", host: "::1", port: 5000 });
    expect(parseSocketArg("127.0.0.1@5000")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 5000 });
    expect(parseSocketArg("http://localhost:5000")).toEqual({ kind: "tcp", host: "localhost", port: 5000 });
    expect(parseSocketArg("http://[::1]:5000/")).toEqual({ kind: "tcp", host: "::1", port: 5000 });
  });

  it("takes upstream's http+unix:// form with a percent-encoded path", () => {
    expect(parseSocketArg("http+unix://%2Frun%2Fkres%20api.sock/")).toEqual({
      kind: "unix",
      path: "/run/kres api.sock",
    });
  });

  it("refuses bad ports, other schemes and empty values with a one-line CliError", () => {
    for (const bad of ["127.0.0.1:0", "127.0.0.1:70000", "localhost:", ":53", "https://localhost:5000", ""]) {
      expect(() => parseSocketArg(bad)).toThrow(CliError);
      expect(() => parseSocketArg(bad)).toThrow(/^invalid --socket '.*': [^\n]+$/);
    }
  });

  it("describes targets as the user would write them", () => {
    expect(describeTarget({ kind: "unix", path: "/x.sock" })).toBe("unix socket /x.sock");
    expect(describeTarget({ kind: "tcp", host: "::1", port: 53 })).toBe("http://[::1]:53");
  });
});

describe("resolveEndpoint", () => {
  it("prefers -s/--socket", () => {
    expect(resolveEndpoint({ socket: "/a.sock", config: "/ignored" }, NO_DEFAULT)).toEqual({
      target: { kind: "unix", path: "/a.sock" },
      source: "--socket",
    });
  });

  it("reads --config FILE's management/unix-socket, relative to the file's directory", () => {
    const abs = file("abs.yaml", "workers: 2\nmanagement:\n  unix-socket: /run/x/api.sock\n");
    expect(resolveEndpoint({ config: abs }, NO_DEFAULT)).toEqual({
      target: { kind: "unix", path: "/run/x/api.sock" },
      source: `/management/unix-socket in ${abs}`,
    });
    const rel = file("rel.yaml", "management:\n  unix-socket: sub/api.sock\n");
    expect(resolveEndpoint({ config: rel }, NO_DEFAULT).target).toEqual({
      kind: "unix",
      path: path.join(dir, "sub/api.sock"),
    });
  });

  it("reads --config FILE's management/interface", () => {
    const f = file("iface.yaml", "management:\n  interface: 127.0.0.1@5001\n");
    expect(resolveEndpoint({ config: f }, NO_DEFAULT)).toEqual({
      target: { kind: "tcp", host: "127.0.0.1", port: 5001 },
      source: `/management/interface in ${f}`,
    });
  });

  it("takes the API token's file from --config FILE's management/token-file, relative to the file", () => {
    const f = file("token.yaml", "management:\n  interface: 127.0.0.1@5001\n  token-file: api.token\n");
    expect(resolveEndpoint({ config: f }, NO_DEFAULT)).toEqual({
      target: { kind: "tcp", host: "127.0.0.1", port: 5001 },
      source: `/management/interface in ${f}`,
      token: { file: path.join(dir, "api.token"), source: `/management/token-file in ${f}` },
    });
  });

  it("takes $KRES_MANAGER_TOKEN_FILE before the config's, and with -s", () => {
    const f = file("token2.yaml", "management:\n  interface: 127.0.0.1@5001\n  token-file: api.token\n");
    const env = { ...NO_DEFAULT, KRES_MANAGER_TOKEN_FILE: "/etc/kr/env.token" };
    const fromEnv = { file: "/etc/kr/env.token", source: "$KRES_MANAGER_TOKEN_FILE" };
    expect(resolveEndpoint({ config: f }, env).token).toEqual(fromEnv);
    expect(resolveEndpoint({ socket: "127.0.0.1:5001" }, env)).toEqual({
      target: { kind: "tcp", host: "127.0.0.1", port: 5001 },
      source: "--socket",
      token: fromEnv,
    });
    expect(resolveEndpoint({ socket: "127.0.0.1:5001" }, NO_DEFAULT).token).toBeUndefined();
  });

  it("validates the management section like the manager (ignoring the rest of the file)", () => {
    const both = file(
      "both.yaml",
      "workers: lots\nmanagement:\n  unix-socket: /a.sock\n  interface: 127.0.0.1@5000\n",
    );
    expect(() => resolveEndpoint({ config: both }, NO_DEFAULT)).toThrow(
      `${both}: configuration is invalid (1 problem):\n  /management/interface: 'interface' and 'unix-socket' are both set; configure exactly one of them`,
    );
    const badPort = file("bad-port.yaml", "management:\n  interface: 127.0.0.1@99999\n");
    expect(() => resolveEndpoint({ config: badPort }, NO_DEFAULT)).toThrow(/\/management\/interface: /);
  });

  it("falls back to the packaged default socket when --config has no management section", () => {
    const f = file("none.yaml", "workers: 1\n");
    expect(resolveEndpoint({ config: f }, NO_DEFAULT)).toEqual({
      target: { kind: "unix", path: "/run/knot-resolver/kres-api.sock" },
      source: "the default",
    });
  });

  it("refuses an unreadable --config FILE, or one that is not YAML", () => {
    expect(() => resolveEndpoint({ config: path.join(dir, "missing.yaml") }, NO_DEFAULT)).toThrow(
      `${path.join(dir, "missing.yaml")}: cannot read: ENOENT`,
    );
    expect(() => resolveEndpoint({ config: file("broken.yaml", "management: [1\n") }, NO_DEFAULT)).toThrow(
      /broken\.yaml: invalid YAML/,
    );
  });

  it("without options reads the default config ($KRES_MANAGER_CONFIG) when it is readable, else the default socket", () => {
    const f = file("default.yaml", "management:\n  unix-socket: /run/env/api.sock\n");
    expect(resolveEndpoint({}, { KRES_MANAGER_CONFIG: f })).toEqual({
      target: { kind: "unix", path: "/run/env/api.sock" },
      source: `/management/unix-socket in ${f}`,
    });
    expect(resolveEndpoint({}, NO_DEFAULT)).toEqual({
      target: { kind: "unix", path: "/run/knot-resolver/kres-api.sock" },
      source: "the default",
    });
  });
});

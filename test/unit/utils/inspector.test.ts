import { checkInspector, isLoopbackHost } from "../../../lib/utils/inspector.js";

describe("the node inspector (KRES_NODE_INSPECT)", () => {
  it("loopback hosts are 127.0.0.0/8, ::1 and localhost", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "[::1]", "::1", "localhost", "LOCALHOST"])
      expect([host, isLoopbackHost(host)]).toEqual([host, true]);
    for (const host of [
      "0.0.0.0",
      "192.0.2.1",
      "[::]",
      "[2001:db8::1]",
      "127.example.com",
      "localhost.example",
    ])
      expect([host, isLoopbackHost(host)]).toEqual([host, false]);
  });

  it("none open: nothing to say", () => {
    expect(checkInspector({}, undefined)).toEqual({ verdict: "none" });
  });

  it("open on loopback: a warning naming the address and the risk", () => {
    const check = checkInspector({}, "ws://127.0.0.1:5678/0f2c");
    expect(check).toEqual({
      verdict: "warn",
      message: expect.stringContaining("node inspector open on 127.0.0.1:5678"),
    });
    expect(check.verdict === "warn" && check.message).toMatch(
      /runs code as this process, without authentication/,
    );
  });

  it("open on another address: refused, unless KRES_NODE_INSPECT_FORCE=1 (then a warning)", () => {
    const refused = checkInspector({}, "ws://0.0.0.0:5678/0f2c");
    expect(refused).toEqual({ verdict: "refuse", message: expect.stringContaining("0.0.0.0:5678") });
    expect(refused.verdict === "refuse" && refused.message).toMatch(
      /not a loopback address.*KRES_NODE_INSPECT_FORCE=1/,
    );
    expect(checkInspector({ KRES_NODE_INSPECT_FORCE: "1" }, "ws://[2001:db8::1]:5678/0f2c")).toEqual({
      verdict: "warn",
      message: expect.stringContaining("node inspector open on [2001:db8::1]:5678"),
    });
  });
});

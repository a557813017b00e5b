/**
 * How a real kresd 5.6 retires (lib/controller/kresd/retire.lua): it stops reading UDP at once but
 * closes its listeners only a moment later, so the answers libuv still queues for UDP are sent, not
 * cancelled by the close (what lost a few UDP queries per rolling restart at 8000 q/s; the figure
 * is bench/zero-loss). The moment is stretched to seconds here so each stage can be looked at.
 */
import * as fs from "node:fs";
import { jest } from "@jest/globals";
import { retireLua, RETIRING_BUSY_LUA } from "../../lib/controller/kresd/retire.js";
import { kdigAt, startKresd, type Kresd } from "../../harness/index.js";

jest.setTimeout(60_000);

const CLOSE_AFTER_MS = 6000;

/** Bytes waiting in the receive queue of the UDP socket bound to 127.0.0.1:port (/proc/net/udp). */
function udpQueued(port: number): number | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of fs.readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local) return parseInt((f[4] as string).split(":")[1] as string, 16);
  }
  return undefined;
}

let kresd: Kresd;
beforeAll(async () => {
  kresd = await startKresd({ lua: "" });
});
afterAll(async () => {
  await kresd?.stop();
});

it("stops reading UDP first, keeps what arrives queued on the socket, and closes its listeners a moment later", async () => {
  const port = kresd.port as number;
  expect((await kdigAt(port, "localhost", "A")).answers.map((a) => a.data)).toEqual(["127.0.0.1"]);

  const started = Date.now();
  const answer = await kresd.control(retireLua(CLOSE_AFTER_MS));
  // The endpoints it had (UDP and TCP on the port), then how UDP was stopped: through libuv, not
  // by the fallback that closes at once.
  expect(answer).toBe(`'inet4:${port} inet4:${port} udp:stopped'`);

  // Not read any more: a UDP query gets no answer and stays on the socket for other workers...
  await expect(kdigAt(port, "localhost", "A", "+timeout=1")).rejects.toThrow(/timed out|timeout/i);
  expect(udpQueued(port)).toBeGreaterThan(0);
  // ...while nothing is closed yet: TCP still answers and the drain sees it as busy.
  expect((await kdigAt(port, "localhost", "A", "+tcp")).answers.map((a) => a.data)).toEqual(["127.0.0.1"]);
  expect(await kresd.control(RETIRING_BUSY_LUA)).toBe("1");
  expect(Date.now() - started).toBeLessThan(CLOSE_AFTER_MS); // the checks above ran inside the window

  // Then every listener is closed (only the control socket is left) and the drain sees it idle.
  await new Promise((r) => setTimeout(r, CLOSE_AFTER_MS - (Date.now() - started) + 500));
  expect(await kresd.control("#net.list()")).toBe("1");
  expect(await kresd.control("net.list()[1].kind")).toBe("'control'");
  expect(await kresd.control(RETIRING_BUSY_LUA)).toBe("0");
  expect(udpQueued(port)).toBeUndefined(); // its only holder closed it
});

/**
 * How a real kresd 5.6 retires (lib/controller/kresd/retire.lua): it stops reading UDP at once but
 * closes its listeners only a moment later, so the answers libuv still queues for UDP are sent, not
 * cancelled by the close (what lost a few UDP queries per rolling restart at 8000 q/s; the figure
 * is bench/zero-loss). The moment is stretched to seconds here so each stage can be looked at.
 * Legacy DoH (the http module) stops accepting without dropping the connections it serves.
 */
import * as fs from "node:fs";
import * as http2 from "node:http2";
import * as net from "node:net";
import { jest } from "@jest/globals";
import { retireLua, RETIRING_BUSY_LUA } from "../../lib/controller/kresd/retire.js";
import { luaStr } from "../../lib/utils/lua-literal.js";
import { dnsQuery } from "../../harness/dns-probe.js";
import { selfSignedCert } from "../../harness/tls.js";
import { freePort, kdigAt, startKresd, tmpDir, type Kresd } from "../../harness/index.js";

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

/** One DoH GET for 'localhost' A on `session`: the HTTP status, 0 when nothing came within 3 s. */
function dohGet(session: http2.ClientHttp2Session): Promise<number> {
  return new Promise((resolve) => {
    const path = `/doh?dns=${dnsQuery("localhost", 0).toString("base64url")}`;
    const req = session.request({ ":method": "GET", ":path": path }, { endStream: true });
    let status = 0;
    const timer = setTimeout(() => req.close(), 3000);
    req.on("response", (h) => (status = Number(h[":status"])));
    req.on("data", () => undefined);
    req.on("error", () => undefined);
    req.on("close", () => {
      clearTimeout(timer);
      resolve(status);
    });
  });
}

it("stops reading UDP first, keeps what arrives queued on the socket, and closes its listeners a moment later", async () => {
  const port = kresd.port as number;
  expect((await kdigAt(port, "localhost", "A")).answers.map((a) => a.data)).toEqual(["127.0.0.1"]);

  const started = Date.now();
  const answer = await kresd.control(retireLua(CLOSE_AFTER_MS));
  // The endpoints it had (UDP and TCP on the port), then how UDP was stopped: through libuv, not
  // by the fallback that closes at once.
  expect(answer).toBe(`'inet4:${port} inet4:${port} udp:stopped doh-legacy:0'`);

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

describe("legacy DoH (kresd's http module)", () => {
  let legacy: Kresd;
  let port: number;
  let ca: Buffer;
  beforeAll(async () => {
    const tls = await selfSignedCert(tmpDir("krm-retire-legacy-doh-"));
    ca = fs.readFileSync(tls.cert);
    port = await freePort();
    legacy = await startKresd({
      lua: [
        "modules.load('http')",
        `http.config({cert = ${luaStr(tls.cert)}, key = ${luaStr(tls.key)}}, 'doh_legacy')`,
        `net.listen('127.0.0.1', ${port}, {kind = 'doh_legacy'})`,
      ].join("\n"),
    });
  });
  afterAll(async () => {
    await legacy?.stop();
  });

  it("stops accepting but keeps serving the connections it holds (the module's own close drops them)", async () => {
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca, servername: "localhost" });
    session.on("error", () => undefined);
    try {
      expect(await dohGet(session)).toBe(200);

      const answer = await legacy.control(retireLua(10));
      expect(answer).toMatch(/ udp:stopped doh-legacy:1'$/);
      await new Promise((r) => setTimeout(r, 300)); // past the moment the other listeners close

      // The connection it holds is still answered...
      expect(await dohGet(session)).toBe(200);
      // ...while its listener left: nothing else listens on the port here, so a new one is refused.
      const refused = await new Promise<string>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port }, () => resolve("connected"));
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      expect(refused).toBe("ECONNREFUSED");
      expect(await legacy.control(RETIRING_BUSY_LUA)).toBe("0");
    } finally {
      session.destroy();
    }
  });
});

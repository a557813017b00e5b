import * as fs from "node:fs";
import * as path from "node:path";
import { renderNetwork } from "../../../lib/datamodel/sections/network/render.js";
import { listenSockets } from "../../../lib/datamodel/sections/network/sockets.js";
import type { ValidationContext } from "../../../lib/datamodel/context.js";
import { hostileStrings } from "../../../harness/hostile-strings.js";
import { section, testDirs } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kr-net-unit-");
const certFile = path.join(tmp, "cert.pem");
const keyFile = path.join(tmp, "key.pem");
const ticketFile = path.join(tmp, "ticket.bin");
for (const f of [certFile, keyFile, ticketFile]) fs.writeFileSync(f, "x");

const { valid: config, problems } = section("network", { rundir, ctx: { strict: false, baseDir: tmp } });

function network(value: unknown, ctx: Partial<ValidationContext> = {}) {
  return config(value, ctx).network;
}

/** Refused with exactly one problem, at `pointer`, whose message contains `text`. */
function expectRefused(value: unknown, pointer: string, text: string, ctx: Partial<ValidationContext> = {}) {
  const found = problems(value, ctx);
  expect(found).toEqual([{ pointer, message: expect.stringContaining(text) }]);
}

const lua = (value: unknown, ctx: Partial<ValidationContext> = {}) => renderNetwork(config(value, ctx));

describe("defaults", () => {
  it("match upstream: both IP families, pipeline 100, keepalive, 1232 B buffers, localhost listeners", () => {
    expect(network(undefined)).toEqual({
      "do-ipv4": true,
      "do-ipv6": true,
      "tcp-pipeline": 100,
      "edns-tcp-keepalive": true,
      "edns-buffer-size": { upstream: "1232B", downstream: "1232B" },
      tls: { watchdog: "auto", padding: true },
      "proxy-protocol": { enable: false },
      quic: { "max-conns": 1024, "max-streams": 1024, "require-retry": false },
      listen: [
        { interface: ["127.0.0.1"], port: 53, kind: "dns", freebind: false },
        { interface: ["::1"], port: 53, kind: "dns", freebind: true },
      ],
    });
  });

  it("an empty section gets the same defaults", () => {
    expect(network({})).toEqual(network(undefined));
  });

  it("render as explicit kresd 5.6 calls", () => {
    expect(lua({})).toBe(
      [
        "net.ipv4 = true",
        "net.ipv6 = true",
        "net.tcp_pipeline(100)",
        "modules.load('edns_keepalive')",
        "net.bufsize(1232, 1232)",
        "net.tls_padding(true)",
        'net.listen("127.0.0.1", 53, {kind = "dns", freebind = false})',
        'net.listen("::1", 53, {kind = "dns", freebind = true})',
      ].join("\n"),
    );
  });
});

describe("listen", () => {
  // Upstream's own valid examples (tests/manager/datamodel/test_network_schema.py), minus unix sockets.
  it.each([
    [{ interface: "::1" }],
    [{ interface: "::1@5353" }],
    [{ interface: "::1", port: 5353 }],
    [{ interface: ["127.0.0.1", "::1"] }],
    [{ interface: ["127.0.0.1@5353", "::1@5353"] }],
    [{ interface: ["127.0.0.1", "::1"], port: 5353 }],
    [{ interface: "lo" }],
    [{ interface: "lo@5353" }],
    [{ interface: "lo", port: 5353 }],
    [{ interface: ["lo", "eth0"] }],
    [{ interface: ["lo@5353", "eth0@5353"] }],
    [{ interface: ["lo", "eth0"], port: 5353 }],
    [{ interface: "eth0", kind: "xdp" }],
    [{ interface: "192.0.2.1", kind: "xdp" }],
  ])("accepts %j", (entry) => {
    expect(network({ listen: [entry] }).listen).toHaveLength(1);
  });

  it("turns a single interface into a list", () => {
    expect(network({ listen: [{ interface: "::1" }] }).listen[0]?.interface).toEqual(["::1"]);
  });

  it.each([
    ["dns", 53],
    ["xdp", 53],
    ["dot", 853],
    ["doh2", 443],
    ["doh-legacy", 443],
  ])("fills the port of kind %s with %d", (kind, port) => {
    expect(network({ listen: [{ interface: "127.0.0.1", kind }] }).listen[0]?.port).toBe(port);
  });

  it("keeps an explicit port", () => {
    expect(network({ listen: [{ interface: "127.0.0.1", kind: "dot", port: 8853 }] }).listen[0]?.port).toBe(
      8853,
    );
  });

  it("refuses an entry with neither interface nor unix-socket, pointing at the entry", () => {
    expectRefused(
      { listen: [{ kind: "dns" }] },
      "/network/listen/0",
      "exactly one of 'interface' or 'unix-socket'",
    );
  });

  it("refuses an entry with both interface and unix-socket", () => {
    const found = problems({ listen: [{ interface: "::1", "unix-socket": "/tmp/kresd.sock" }] });
    expect(found).toContainEqual({
      pointer: "/network/listen/0/unix-socket",
      message: "'interface' and 'unix-socket' are both set; configure exactly one of them",
    });
  });

  it("refuses a port given both with '@' and in 'port', pointing at the interface", () => {
    expectRefused(
      { listen: [{ interface: ["127.0.0.1@5353"], port: 5353 }] },
      "/network/listen/0/interface/0",
      "'127.0.0.1@5353' gives a port and so does 'port' (5353)",
    );
    expectRefused(
      { listen: [{ interface: "lo@5353", port: 5353 }] },
      "/network/listen/0/interface/0",
      "give the port in one place only",
    );
  });

  it("refuses '@<port>' on some interfaces of a list but not all", () => {
    expectRefused(
      { listen: [{ interface: ["127.0.0.1", "::1@5353"] }] },
      "/network/listen/0/interface/1",
      "use the '@<port>' syntax for all interfaces of the list or for none of them",
    );
    expectRefused(
      { listen: [{ interface: ["lo", "eth0@5353"] }] },
      "/network/listen/0/interface/1",
      "'@<port>' syntax",
    );
  });

  it("refuses bad addresses, interface names and ports", () => {
    expectRefused({ listen: [{ interface: "127.0.0.1@0" }] }, "/network/listen/0/interface", "invalid port");
    expectRefused(
      { listen: [{ interface: ["::1", "not/an/if"] }] },
      "/network/listen/0/interface/1",
      "not/an/if",
    );
    expectRefused({ listen: [{ interface: "::1", port: 65536 }] }, "/network/listen/0/port", "at most 65535");
  });

  it("refuses an unknown kind, naming the kinds there are", () => {
    expectRefused({ listen: [{ interface: "::1", kind: "tls" }] }, "/network/listen/0/kind", "'dot'");
  });

  it("refuses unknown keys", () => {
    expectRefused(
      { listen: [{ interface: "::1", address: "::1" }] },
      "/network/listen/0/address",
      "unknown key",
    );
  });

  it("refuses an empty list for kresd 5.6, which would then listen on its own defaults", () => {
    expectRefused({ listen: [] }, "/network/listen", "not supported by kresd 5.6: with nothing to listen on");
  });

  it("refuses unix sockets for kresd 5.6, which serves DNS only on IP sockets", () => {
    expectRefused(
      { listen: [{ "unix-socket": "/tmp/kresd.sock" }] },
      "/network/listen/0/unix-socket",
      "not supported by kresd 5.6: it serves DNS on IP addresses and network interfaces only",
    );
    expectRefused(
      { listen: [{ "unix-socket": ["/tmp/a.sock", "/tmp/b.sock"], kind: "doh-legacy" }] },
      "/network/listen/0/unix-socket",
      "not supported by kresd 5.6",
    );
  });

  it("refuses 'port' with a unix socket", () => {
    const found = problems({ listen: [{ "unix-socket": "/tmp/kresd.sock", port: 53 }] });
    expect(found).toContainEqual({
      pointer: "/network/listen/0/port",
      message: "'port' cannot be used with 'unix-socket', only with 'interface'",
    });
  });

  it("refuses xdp on a unix socket: XDP needs a network interface", () => {
    expectRefused(
      { listen: [{ "unix-socket": "/tmp/kresd.sock", kind: "xdp" }] },
      "/network/listen/0/kind",
      "kind 'xdp' works on network interfaces",
    );
  });

  it("refuses DNS-over-QUIC for kresd 5.6", () => {
    expectRefused(
      { listen: [{ interface: "::1", kind: "doq" }] },
      "/network/listen/0/kind",
      "not supported by kresd 5.6: it has no DNS-over-QUIC",
    );
  });

  it("refuses DoH without TLS ('doh2-insecure', port 80 by default) for kresd 5.6", () => {
    expectRefused(
      { listen: [{ interface: "::1", kind: "doh2-insecure" }] },
      "/network/listen/0/kind",
      "not supported by kresd 5.6: its DNS-over-HTTPS ('doh2') always uses TLS",
    );
  });

  it("checks unix socket paths against the file system in strict mode", () => {
    const found = problems({ listen: [{ "unix-socket": "/nonexistent-dir/k.sock" }] }, { strict: true });
    expect(found).toContainEqual({
      pointer: "/network/listen/0/unix-socket",
      message: expect.stringContaining("does not point inside an existing directory"),
    });
  });

  describe("clashing listeners", () => {
    it("refuses the same address and port twice, pointing at the second", () => {
      expectRefused(
        { listen: [{ interface: "127.0.0.1@5353" }, { interface: "127.0.0.1", port: 5353 }] },
        "/network/listen/1/interface/0",
        "'127.0.0.1' port 5353 (UDP) is already listened on by listen entry 0",
      );
    });

    it("compares addresses, not their spelling", () => {
      expectRefused(
        { listen: [{ interface: "::1" }, { interface: "0:0:0:0:0:0:0:1@53" }] },
        "/network/listen/1/interface/0",
        "already listened on",
      );
    });

    it("refuses DoT on the TCP port of plain DNS, and one address twice in a list", () => {
      expectRefused(
        {
          listen: [
            { interface: "::1", port: 5300 },
            { interface: "::1", port: 5300, kind: "dot" },
          ],
        },
        "/network/listen/1/interface/0",
        "(TCP)",
      );
      expectRefused(
        { listen: [{ interface: ["lo", "lo"] }] },
        "/network/listen/0/interface/1",
        "earlier in this entry",
      );
    });

    it("accepts XDP next to plain DNS on the same address and port, as kresd recommends", () => {
      expect(
        network({ listen: [{ interface: "192.0.2.1", kind: "xdp" }, { interface: "192.0.2.1" }] }).listen,
      ).toHaveLength(2);
    });

    it("accepts DoT and DoH on different ports of one address", () => {
      const listen = [
        { interface: "::1", kind: "dot" },
        { interface: "::1", kind: "doh2" },
        { interface: "::1" },
      ];
      expect(network({ listen }).listen.map((l) => l.port)).toEqual([853, 443, 53]);
    });
  });

  describe("rendered", () => {
    const listenLua = (listen: unknown[]) =>
      lua({ listen })
        .split("\n")
        .filter((l) => l.includes("net.listen"));

    it("maps kinds to kresd 5.6's names (dot is 'tls', doh-legacy is 'doh_legacy')", () => {
      expect(
        listenLua([
          { interface: "127.0.0.1" },
          { interface: "127.0.0.1", kind: "dot" },
          { interface: "127.0.0.1", kind: "doh2" },
          { interface: "127.0.0.1", kind: "doh-legacy", port: 4443 },
          { interface: "192.0.2.1", kind: "xdp" },
        ]),
      ).toEqual([
        'net.listen("127.0.0.1", 53, {kind = "dns", freebind = false})',
        'net.listen("127.0.0.1", 853, {kind = "tls", freebind = false})',
        'net.listen("127.0.0.1", 443, {kind = "doh2", freebind = false})',
        'net.listen("127.0.0.1", 4443, {kind = "doh_legacy", freebind = false})',
        'net.listen("192.0.2.1", 53, {kind = "xdp", freebind = false})',
      ]);
    });

    it("one call per interface, the '@<port>' of each winning", () => {
      expect(listenLua([{ interface: ["127.0.0.1@5353", "::1@5354"], freebind: true }])).toEqual([
        'net.listen("127.0.0.1", 5353, {kind = "dns", freebind = true})',
        'net.listen("::1", 5354, {kind = "dns", freebind = true})',
      ]);
    });

    it("an interface name becomes its net.interfaces() entry, failing loudly if it is missing", () => {
      expect(listenLua([{ interface: "eth0", port: 5353 }])).toEqual([
        'net.listen((net.interfaces()["eth0"] or error("network interface \\039eth0\\039 not found")), 5353, {kind = "dns", freebind = false})',
      ]);
    });

    it("XDP gets the interface name itself (it works on whole interfaces)", () => {
      expect(listenLua([{ interface: "eth0", kind: "xdp" }])).toEqual([
        'net.listen("eth0", 53, {kind = "xdp", freebind = false})',
      ]);
    });

    it("legacy DoH loads the http module before listening", () => {
      const out = lua({ listen: [{ interface: "::1", kind: "doh-legacy" }] });
      expect(out).toContain("modules.load('http')");
      expect(out.indexOf("modules.load('http')")).toBeLessThan(out.indexOf("net.listen"));
      expect(out).not.toContain("http.config");
    });

    it("legacy DoH gets the configured certificate through http.config", () => {
      const out = lua({
        listen: [{ interface: "::1", kind: "doh-legacy" }],
        tls: { "cert-file": certFile, "key-file": keyFile },
      });
      expect(out).toContain(`http.config({cert = "${certFile}", key = "${keyFile}"}, 'doh_legacy')`);
      expect(out.indexOf("http.config")).toBeLessThan(out.indexOf("net.listen"));
    });
  });
});

describe("outgoing connections", () => {
  it("renders do-ipv4/do-ipv6 and the source addresses", () => {
    const out = lua({ "do-ipv6": false, "out-interface-v4": "192.0.2.7", "out-interface-v6": "2001:db8::7" });
    expect(out).toContain("net.ipv4 = true\nnet.ipv6 = false");
    expect(out).toContain('net.outgoing_v4("192.0.2.7")\nnet.outgoing_v6("2001:db8::7")');
  });

  it("refuses an address of the wrong family", () => {
    expectRefused({ "out-interface-v4": "::1" }, "/network/out-interface-v4", "not a valid IPv4 address");
    expectRefused(
      { "out-interface-v6": "127.0.0.1" },
      "/network/out-interface-v6",
      "not a valid IPv6 address",
    );
  });

  it("refuses a non-boolean do-ipv4", () => {
    expectRefused({ "do-ipv4": "yes" }, "/network/do-ipv4", "boolean");
  });
});

describe("tcp-pipeline, edns-tcp-keepalive, edns-buffer-size", () => {
  it("renders the pipeline limit and the keepalive module switch", () => {
    const out = lua({ "tcp-pipeline": 0, "edns-tcp-keepalive": false });
    expect(out).toContain("net.tcp_pipeline(0)");
    expect(out).toContain("modules.unload('edns_keepalive')");
  });

  it("refuses a pipeline limit outside 0-65535", () => {
    expectRefused({ "tcp-pipeline": 65536 }, "/network/tcp-pipeline", "at most 65535");
    expectRefused({ "tcp-pipeline": -1 }, "/network/tcp-pipeline", "at least 0");
  });

  it("keeps sizes as written and renders bytes, downstream first as net.bufsize() wants", () => {
    const net = network({ "edns-buffer-size": { upstream: "1400B", downstream: "4K" } });
    expect(net["edns-buffer-size"]).toEqual({ upstream: "1400B", downstream: "4K" });
    expect(lua({ "edns-buffer-size": { upstream: "1400B", downstream: "4K" } })).toContain(
      "net.bufsize(4096, 1400)",
    );
  });

  it("fills the side left out with 1232B", () => {
    expect(network({ "edns-buffer-size": { downstream: "512B" } })["edns-buffer-size"]).toEqual({
      upstream: "1232B",
      downstream: "512B",
    });
  });

  it("refuses sizes kresd rejects (below 512 B or above 65535 B) and malformed ones", () => {
    expectRefused(
      { "edns-buffer-size": { downstream: "511B" } },
      "/network/edns-buffer-size/downstream",
      "'511B' is out of range: an EDNS buffer size is 512B to 65535B",
    );
    expectRefused({ "edns-buffer-size": { upstream: "64K" } }, "/network/edns-buffer-size/upstream", "'64K'");
    expectRefused({ "edns-buffer-size": { upstream: "1232" } }, "/network/edns-buffer-size/upstream", "size");
    expectRefused(
      { "edns-buffer-size": { sideways: "1K" } },
      "/network/edns-buffer-size/sideways",
      "unknown key",
    );
  });
});

describe("address-renumbering", () => {
  it("renders the renumber module with source/destination pairs", () => {
    const out = lua({
      "address-renumbering": [
        { source: "10.10.10.0/24", destination: "192.168.1.0" },
        { source: "10.10.20.0/24", destination: "192.168.2.1!" },
        { source: "2001:db8::/32", destination: "fd00::" },
      ],
    });
    expect(out).toContain(
      "modules.load('renumber')\n" +
        'renumber.config({{"10.10.10.0/24", "192.168.1.0"}, {"10.10.20.0/24", "192.168.2.1!"}, {"2001:db8::/32", "fd00::"}})',
    );
  });

  it("renders nothing when absent", () => {
    expect(lua({})).not.toContain("renumber");
    expect(network({})["address-renumbering"]).toBeUndefined();
  });

  it("refuses a source with host bits set and a destination that is no address", () => {
    expectRefused(
      { "address-renumbering": [{ source: "10.0.0.1/8", destination: "10.0.0.0" }] },
      "/network/address-renumbering/0/source",
      "'10.0.0.1/8' has host bits set",
    );
    expectRefused(
      { "address-renumbering": [{ source: "10.0.0.0/8", destination: "example.com" }] },
      "/network/address-renumbering/0/destination",
      "'example.com' is not an IP address (optionally followed by '!')",
    );
  });

  it("refuses mixing address families, which renumber cannot map", () => {
    expectRefused(
      { "address-renumbering": [{ source: "10.0.0.0/8", destination: "fd00::1!" }] },
      "/network/address-renumbering/0/destination",
      "'fd00::1!' is IPv6 but the source '10.0.0.0/8' is IPv4",
    );
  });

  it("refuses an entry without destination", () => {
    expectRefused(
      { "address-renumbering": [{ source: "10.0.0.0/8" }] },
      "/network/address-renumbering/0/destination",
      "",
    );
  });
});

describe("tls", () => {
  it("renders certificate, session ticket secret and padding", () => {
    const out = lua({
      tls: {
        "cert-file": certFile,
        "key-file": keyFile,
        "sticket-secret": "0123456789abcdef0123456789abcdef",
        padding: 64,
      },
    });
    expect(out).toContain(`net.tls("${certFile}", "${keyFile}")`);
    expect(out).toContain('net.tls_sticket_secret("0123456789abcdef0123456789abcdef")');
    expect(out).toContain("net.tls_padding(64)");
  });

  it("renders a ticket secret file and padding off", () => {
    const out = lua({ tls: { "sticket-secret-file": ticketFile, padding: false } });
    expect(out).toContain(`net.tls_sticket_secret_file("${ticketFile}")`);
    expect(out).toContain("net.tls_padding(false)");
  });

  it("resolves relative paths against the config file's directory", () => {
    const tls = network({ tls: { "cert-file": "cert.pem", "key-file": "key.pem" } }, { strict: true }).tls;
    expect(tls["cert-file"]).toBe(certFile);
    expect(tls["key-file"]).toBe(keyFile);
  });

  it("checks that the files exist in strict mode only", () => {
    const missing = path.join(tmp, "missing.pem");
    expectRefused(
      { tls: { "cert-file": missing, "key-file": keyFile } },
      "/network/tls/cert-file",
      "does not exist",
      { strict: true },
    );
    expect(network({ tls: { "cert-file": missing, "key-file": keyFile } }).tls["cert-file"]).toBe(missing);
  });

  it("refuses a certificate without its key and a key without its certificate", () => {
    expectRefused(
      { tls: { "cert-file": certFile } },
      "/network/tls/key-file",
      "'cert-file' is set, so 'key-file' must be too",
    );
    expectRefused(
      { tls: { "key-file": keyFile } },
      "/network/tls/cert-file",
      "'key-file' is set, so 'cert-file' must be too",
    );
  });

  it("refuses both ticket secret forms at once, and a short secret", () => {
    expectRefused(
      { tls: { "sticket-secret": "x".repeat(32), "sticket-secret-file": ticketFile } },
      "/network/tls/sticket-secret-file",
      "'sticket-secret' and 'sticket-secret-file' are both set",
    );
    expectRefused({ tls: { "sticket-secret": "short" } }, "/network/tls/sticket-secret", "at least 32 bytes");
  });

  it("in strict mode refuses a ticket secret file shorter than 32 bytes, as kresd would", () => {
    expectRefused(
      { tls: { "sticket-secret-file": ticketFile } },
      "/network/tls/sticket-secret-file",
      "is shorter than 32 bytes",
      { strict: true },
    );
    const longFile = path.join(tmp, "ticket-long.bin");
    fs.writeFileSync(longFile, Buffer.alloc(32, 7));
    expect(
      network({ tls: { "sticket-secret-file": longFile } }, { strict: true }).tls["sticket-secret-file"],
    ).toBe(longFile);
  });

  it("refuses padding outside 0-512 or of another type", () => {
    expectRefused({ tls: { padding: 513 } }, "/network/tls/padding", "at most 512");
    expectRefused({ tls: { padding: "yes" } }, "/network/tls/padding", "expected true, false or an integer");
  });

  it("watchdog defaults to 'auto' and takes booleans; renders nothing (the manager watches files)", () => {
    expect(network({ tls: {} }).tls.watchdog).toBe("auto");
    expect(network({ tls: { watchdog: false } }).tls.watchdog).toBe(false);
    expect(lua({ tls: { watchdog: true } })).not.toMatch(/watchdog/);
    expectRefused({ tls: { watchdog: "sometimes" } }, "/network/tls/watchdog", "'auto', true or false");
  });

  it("takes every watchdog value with certificate files; the Lua is the same for all (toggling restarts nothing)", () => {
    const files = { "cert-file": certFile, "key-file": keyFile };
    const rendered = (["auto", true, false] as const).map((watchdog) => {
      expect(network({ tls: { watchdog, ...files } }).tls.watchdog).toBe(watchdog);
      return lua({ tls: { watchdog, ...files } });
    });
    expect(rendered[0]).toContain(`net.tls(${JSON.stringify(certFile)}, ${JSON.stringify(keyFile)})`);
    expect(new Set(rendered).size).toBe(1);
  });

  it("refuses the 6.0 spellings files-watchdog and auto-discovery, naming the way forward", () => {
    expectRefused(
      { tls: { "files-watchdog": false } },
      "/network/tls/files-watchdog",
      "renamed to 'network/tls/watchdog' in Knot Resolver 6.x; 'kresctl migrate'",
    );
    expectRefused(
      { tls: { "auto-discovery": true } },
      "/network/tls/auto-discovery",
      "removed in Knot Resolver 6.x; 'kresctl migrate'",
    );
  });

  it("never lets a ticket secret out of its Lua string", () => {
    for (const s of hostileStrings(200)) {
      const secret = `${s}${"x".repeat(32)}`.replace(/\0/g, "");
      const line = lua({ tls: { "sticket-secret": secret } })
        .split("\n")
        .find((l) => l.startsWith("net.tls_sticket_secret("));
      expect(line).toMatch(/^net\.tls_sticket_secret\("(?:[^"\\\n]|\\\d{3})*"\)$/);
    }
  });
});

describe("proxy-protocol", () => {
  it("is off by default and renders nothing", () => {
    expect(network({})["proxy-protocol"]).toEqual({ enable: false });
    expect(lua({})).not.toContain("proxy_allowed");
    expect(lua({ "proxy-protocol": { enable: false } })).not.toContain("proxy_allowed");
  });

  it("an allow list without 'enable: true' leaves it off, as upstream 6.1+ (it was on in 6.0)", () => {
    const value = { allow: ["172.22.0.1", "172.18.1.0/24"] };
    expect(network({ "proxy-protocol": value })["proxy-protocol"]).toEqual({ enable: false, ...value });
    expect(lua({ "proxy-protocol": value })).not.toContain("proxy_allowed");
  });

  it("'enable: true' turns it on for the allowed clients", () => {
    const value = { enable: true, allow: ["172.22.0.1", "172.18.1.0/24", "fe80::/10", "::/0", "0.0.0.0/0"] };
    expect(lua({ "proxy-protocol": value })).toContain(
      'net.proxy_allowed({"172.22.0.1", "172.18.1.0/24", "fe80::/10", "::/0", "0.0.0.0/0"})',
    );
    expect(lua({ "proxy-protocol": { enable: true, allow: [] } })).toContain("net.proxy_allowed({})");
  });

  it("refuses turning it on without an allow list (upstream cannot render it either)", () => {
    expectRefused(
      { "proxy-protocol": { enable: true } },
      "/network/proxy-protocol/allow",
      "list the addresses",
    );
  });

  it("refuses the 6.0 form 'false' naming the new one, and true, bad networks and unknown keys", () => {
    expectRefused(
      { "proxy-protocol": false },
      "/network/proxy-protocol",
      "6.0 spelling of 'proxy-protocol: {enable: false}'; 'kresctl migrate'",
    );
    expectRefused({ "proxy-protocol": true }, "/network/proxy-protocol", "expected an object with 'enable'");
    expectRefused(
      { "proxy-protocol": { allow: ["10.0.0.0/8", "10.0.0.1/8"] } },
      "/network/proxy-protocol/allow/1",
      "host bits set",
    );
    expectRefused({ "proxy-protocol": { deny: ["::/0"] } }, "/network/proxy-protocol/deny", "unknown key");
  });
});

describe("quic", () => {
  it("takes upstream's defaults, written or not, and renders nothing (kresd 5.6 has no DoQ)", () => {
    const defaults = { "max-conns": 1024, "max-streams": 1024, "require-retry": false };
    expect(network({ quic: defaults }).quic).toEqual(defaults);
    expect(lua({ quic: defaults })).toBe(lua({}));
  });

  it("refuses other values, naming kresd 5.6", () => {
    expectRefused({ quic: { "max-conns": 100 } }, "/network/quic/max-conns", "not supported by kresd 5.6");
    expectRefused(
      { quic: { "require-retry": true } },
      "/network/quic/require-retry",
      "not supported by kresd 5.6",
    );
  });

  it("checks the ranges first, as upstream", () => {
    expectRefused({ quic: { "max-streams": 4097 } }, "/network/quic/max-streams", "at most 4096");
    expectRefused({ quic: { "max-conns": 0 } }, "/network/quic/max-conns", "at least 1");
  });
});

describe("the whole section rendered", () => {
  it("puts every setting in kresd 5.6 order: switches, TLS, modules, proxy, then listeners", () => {
    const out = lua({
      "do-ipv4": true,
      "do-ipv6": false,
      "out-interface-v4": "192.0.2.7",
      "tcp-pipeline": 50,
      "edns-tcp-keepalive": false,
      "edns-buffer-size": { upstream: "1K", downstream: "2K" },
      "address-renumbering": [{ source: "10.0.0.0/8", destination: "172.16.0.0" }],
      tls: { "cert-file": certFile, "key-file": keyFile, padding: 128 },
      "proxy-protocol": { enable: true, allow: ["127.0.0.1"] },
      listen: [
        { interface: "127.0.0.1", port: 5353 },
        { interface: "127.0.0.1", kind: "dot" },
        { interface: "127.0.0.1", kind: "doh-legacy" },
      ],
    });
    expect(out).toBe(
      [
        "net.ipv4 = true",
        "net.ipv6 = false",
        'net.outgoing_v4("192.0.2.7")',
        "net.tcp_pipeline(50)",
        "modules.unload('edns_keepalive')",
        "net.bufsize(2048, 1024)",
        `net.tls("${certFile}", "${keyFile}")`,
        "net.tls_padding(128)",
        "modules.load('renumber')",
        'renumber.config({{"10.0.0.0/8", "172.16.0.0"}})',
        'net.proxy_allowed({"127.0.0.1"})',
        "modules.load('http')",
        `http.config({cert = "${certFile}", key = "${keyFile}"}, 'doh_legacy')`,
        'net.listen("127.0.0.1", 5353, {kind = "dns", freebind = false})',
        'net.listen("127.0.0.1", 853, {kind = "tls", freebind = false})',
        'net.listen("127.0.0.1", 443, {kind = "doh_legacy", freebind = false})',
      ].join("\n"),
    );
  });

  it("refuses unknown keys at the section level", () => {
    expectRefused({ "edns-keep-alive": true }, "/network/edns-keep-alive", "unknown key");
  });
});

describe("listening sockets handed over by the supervisor", () => {
  const listen = [
    { interface: ["127.0.0.1@5353", "::1@5300"] },
    { interface: "127.0.0.1", kind: "dot", freebind: true },
    { interface: "127.0.0.1", kind: "doh2" },
    { interface: "lo", port: 5400 },
    { interface: "127.0.0.1", kind: "doh-legacy", port: 8443 },
  ];

  it("lists one socket per address, port and protocol for dns and dot on IP addresses", () => {
    expect(listenSockets(config({ listen }))).toEqual([
      { addr: "127.0.0.1", port: 5353, proto: "udp", kind: "dns", freebind: false },
      { addr: "127.0.0.1", port: 5353, proto: "tcp", kind: "dns", freebind: false },
      { addr: "::1", port: 5300, proto: "udp", kind: "dns", freebind: false },
      { addr: "::1", port: 5300, proto: "tcp", kind: "dns", freebind: false },
      { addr: "127.0.0.1", port: 853, proto: "tcp", kind: "tls", freebind: true },
    ]);
  });

  it("leaves net.listen() only for what cannot be handed over, and names the rest in a comment", () => {
    const out = renderNetwork(config({ listen }), { socketsHandedOver: true });
    expect(out.match(/^net\.listen\(.*$/gm)).toEqual([
      `net.listen("127.0.0.1", 443, {kind = "doh2", freebind = false})`,
      `net.listen((net.interfaces()["lo"] or error("network interface \\039lo\\039 not found")), 5400, {kind = "dns", freebind = false})`,
      `net.listen("127.0.0.1", 8443, {kind = "doh_legacy", freebind = false})`,
    ]);
    expect(out).toContain("-- 127.0.0.1@853 (tls, freebind): socket handed over by the supervisor");
    expect(renderNetwork(config({ listen }))).toContain(
      `net.listen("127.0.0.1", 5353, {kind = "dns", freebind = false})`,
    );
  });
});

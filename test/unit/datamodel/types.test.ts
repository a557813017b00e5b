import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { z } from "zod";
import { withValidationContext } from "../../../lib/datamodel/context.js";
import * as t from "../../../lib/datamodel/types/index.js";

function accepts(schema: z.ZodType, values: unknown[]): void {
  for (const v of values) {
    const r = schema.safeParse(v);
    if (!r.success) throw new Error(`expected ${JSON.stringify(v)} to be accepted: ${r.error.message}`);
  }
}

function rejects(schema: z.ZodType, values: unknown[]): void {
  for (const v of values) {
    const r = schema.safeParse(v);
    if (r.success) throw new Error(`expected ${JSON.stringify(v)} to be rejected`);
    expect(r.error.issues[0]?.message).toBeTruthy();
  }
}

function messageOf(schema: z.ZodType, v: unknown): string {
  const r = schema.safeParse(v);
  if (r.success) throw new Error(`expected ${JSON.stringify(v)} to be rejected`);
  return r.error.issues.map((i) => i.message).join("; ");
}

describe("integer ranges", () => {
  it.each([
    ["intNonNegative", t.intNonNegative, [0, 1, 2 ** 40], [-1, 1.5, "1", null]],
    ["intPositive", t.intPositive, [1, 100], [0, -5, 2.5, "3"]],
    ["int0_512", t.int0_512, [0, 512], [-1, 513]],
    ["int0_65535", t.int0_65535, [0, 65535], [-1, 65536]],
    ["percent", t.percent, [0, 50, 100], [-1, 101]],
    ["portNumber", t.portNumber, [1, 53, 65535], [0, 65536, "53"]],
  ] as const)("%s", (_name, schema, good, bad) => {
    accepts(schema, [...good]);
    rejects(schema, [...bad]);
  });

  it("names the bound that was crossed", () => {
    expect(messageOf(t.portNumber, 70000)).toBe("must be at most 65535");
    expect(messageOf(t.intPositive, 0)).toBe("must be at least 1");
    expect(messageOf(t.intPositive, 1.5)).toBe("expected an integer");
  });

  it("upstream's Int1_4096 and Float0_65535", () => {
    accepts(t.int1_4096, [1, 1024, 4096]);
    rejects(t.int1_4096, [0, 4097, 1.5, "8"]);
    accepts(t.float0_65535, [0, 0.5, 65535]);
    rejects(t.float0_65535, [-0.1, 65535.5, "1"]);
  });

  it("floatNonNegative takes fractions but not negatives", () => {
    accepts(t.floatNonNegative, [0, 0.5, 3]);
    rejects(t.floatNonNegative, [-0.1, "1"]);
  });
});

describe("units", () => {
  it("sizes: integer and B/K/M/G, kept as written", () => {
    accepts(t.sizeUnit, ["0B", "100M", "1G", "512K"]);
    rejects(t.sizeUnit, ["100", "1.5M", "10MB", "10 M", "-1M", "M", 100, "100m"]);
    expect(t.sizeUnit.parse("100M")).toBe("100M");
    expect(t.sizeBytes("2K")).toBe(2048);
    expect(t.sizeMBytes("1G")).toBe(1024);
  });

  it("times: integer and us/ms/s/m/h/d", () => {
    accepts(t.timeUnit, ["10s", "1us", "5ms", "2m", "1h", "7d"]);
    rejects(t.timeUnit, ["10", "1.5s", "10sec", "s", 10, "10S"]);
    expect(t.timeMillis("2s")).toBe(2000);
    expect(t.timeSeconds("1m")).toBe(60);
    expect(t.timeMicros("3ms")).toBe(3000);
    expect(t.timeMinutes("2h")).toBe(120);
    // checks that see a value which failed validation get NaN, never an exception
    expect(t.timeSeconds("ten")).toBeNaN();
    expect(t.sizeBytes("")).toBeNaN();
  });

  it("explains the expected format", () => {
    expect(messageOf(t.timeUnit, "10x")).toContain("us, ms, s, m, h, d");
  });
});

describe("strings", () => {
  it("free text takes anything but NUL", () => {
    accepts(t.freeText, ["", "a b", "quote\"'", "]]--", "\\n", "\n", "ünïcødé 🎉"]);
    expect(messageOf(t.freeText, "a\0b")).toBe("must not contain a NUL character");
    rejects(t.freeText, [1, null]);
  });

  it("free text or an integer (upstream's EscapedStr): an integer is taken as its digits", () => {
    expect(t.freeTextOrInteger.parse(12)).toBe("12");
    expect(t.freeTextOrInteger.parse("x")).toBe("x");
    rejects(t.freeTextOrInteger, [true, 1.5, null, "a\0b"]);
  });

  it("32-byte free text counts bytes", () => {
    accepts(t.freeText32B, ["x".repeat(32), "é".repeat(16)]);
    rejects(t.freeText32B, ["x".repeat(31)]);
  });

  it("domain names: labels, root, trailing dot, IDN, as upstream", () => {
    const label63 = "a".repeat(63);
    // 253 octets without the trailing dot: four labels of 63 and one of 1.
    const name253 = `${label63}.${label63}.${label63}.${"b".repeat(61)}`;
    expect(name253).toHaveLength(253);
    accepts(t.domainName, [
      ".",
      "com",
      "example.com",
      "example.com.",
      "a-b.c0",
      "xn--bcher-kva.example",
      "bücher.example",
      `${label63}.com`,
      // service labels (SRV, SVCB) and wildcards: any character but the dot
      "_8443._https.example.com.",
      "a_b.com",
      "*.example.com",
      name253,
      `${name253}.`,
    ]);
    rejects(t.domainName, [
      "",
      "..",
      ".com",
      "-a.com",
      "a.-b.com",
      "a-.com",
      "a..b",
      "exa mple.com",
      `${"a".repeat(64)}.com`,
      `${name253}c`,
      5,
    ]);
    expect(messageOf(t.domainName, "a..b")).toBe("'a..b' is not a valid domain name");
    expect(messageOf(t.domainName, "-a.example")).toBe("'-a.example' is not a valid domain name");
  });

  // Inputs on which a backtracking pattern takes exponential or quadratic time (issue 16). Only
  // the verdicts are tested here; bench/validation.ts prints the time per input length.
  it("hostile domain names get the right verdict: a run of letters, then what breaks the rule", () => {
    rejects(t.domainName, [
      "a".repeat(63) + "!", // one label of 64
      "a".repeat(63) + " ",
      "a".repeat(24) + " ",
      "a-".repeat(5000) + ".", // last label ends with '-'
      "a.".repeat(50_000) + "-", // 100 001 characters, over 253
      "a".repeat(200_000),
    ]);
    accepts(t.domainName, [
      "a".repeat(62) + "!",
      "a".repeat(24) + "!",
      `${"a-".repeat(31)}a.${"b".repeat(63)}`,
    ]);
  });

  it("domain names are rendered absolute and in punycode", () => {
    expect(t.absoluteName("Bücher.Example")).toBe("xn--bcher-kva.example.");
    expect(t.absoluteName("example.com.")).toBe("example.com.");
    expect(t.absoluteName(".")).toBe(".");
  });

  it("hostile tags: 20 000 characters get the right verdict (upstream's pattern is quadratic on them)", () => {
    accepts(t.idPattern, ["a".repeat(20_000), "a-".repeat(10_000) + "a"]);
    rejects(t.idPattern, [
      "a".repeat(20_000) + "-",
      "a".repeat(20_000) + "A",
      "a-".repeat(10_000),
      "-" + "a".repeat(20_000),
    ]);
  });

  it("hostile interface names get the right verdict", () => {
    accepts(t.interfaceName, ["a_".repeat(10_000) + "a"]);
    rejects(t.interfaceName, ["a_".repeat(10_000), "a".repeat(20_000) + "!", "a-_".repeat(5000) + "a"]);
  });

  it("interface names, ids and pins", () => {
    accepts(t.interfaceName, ["eth0", "lo", "br-lan", "wlp3s0_1"]);
    rejects(t.interfaceName, ["", "eth 0", "-eth", "eth-", "a/b"]);
    accepts(t.idPattern, ["main", "kresd-1", "a", "a--b", "0"]);
    rejects(t.idPattern, ["", "-", "-a", "a-", "A", "a_b", "a--"]);
    expect(messageOf(t.idPattern, "a-")).toBe("expected lowercase letters, digits and inner hyphens");
    accepts(t.pinSha256, ["47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="]);
    rejects(t.pinSha256, ["47DEQpj8HBSa", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"]);
  });
});

describe("IP addresses and networks", () => {
  it("addresses", () => {
    accepts(t.ipv4Address, ["127.0.0.1", "0.0.0.0", "255.255.255.255"]);
    rejects(t.ipv4Address, ["256.0.0.1", "1.2.3", "::1", "localhost", 1]);
    accepts(t.ipv6Address, ["::1", "::", "2001:db8::1", "::ffff:192.0.2.1", "fe80::1%eth0"]);
    rejects(t.ipv6Address, ["127.0.0.1", "2001:db8:::1", "gggg::1"]);
    accepts(t.ipAddress, ["127.0.0.1", "::1"]);
    rejects(t.ipAddress, ["example.com", "1.2.3.4/32"]);
    accepts(t.ipAddressEM, ["127.0.0.1!", "::1!"]);
    rejects(t.ipAddressEM, ["127.0.0.1", "127.0.0.1!!", "x!"]);
  });

  it("parses IPv6 into bytes, including :: and embedded IPv4", () => {
    const hex = (a: string) => Buffer.from(t.ipBytes(a) as Uint8Array).toString("hex");
    expect(hex("::1")).toBe("0".repeat(31) + "1");
    expect(hex("2001:db8::")).toBe("20010db8" + "0".repeat(24));
    expect(hex("64:ff9b::192.0.2.33")).toBe("0064ff9b" + "0".repeat(16) + "c0000221");
    expect(hex("1:2:3:4:5:6:7:8")).toBe("00010002000300040005000600070008");
    expect(hex("::ffff:1.2.3.4")).toBe("0".repeat(20) + "ffff01020304");
    expect(t.ipBytes("nope")).toBeUndefined();
  });

  it("networks must have their host bits clear", () => {
    accepts(t.ipNetwork, [
      "10.0.0.0/8",
      "0.0.0.0/0",
      "192.0.2.1",
      "192.0.2.1/32",
      "2001:db8::/32",
      "::/0",
      "::1/128",
    ]);
    rejects(t.ipNetwork, [
      "10.0.0.1/8",
      "10.0.0.0/33",
      "2001:db8::1/32",
      "::/129",
      "10.0.0.0/",
      "10.0.0.0/8/8",
      "x/8",
    ]);
    expect(messageOf(t.ipNetwork, "10.0.0.1/8")).toBe("'10.0.0.1/8' has host bits set");
    accepts(t.ipv4Network, ["192.168.0.0/16"]);
    rejects(t.ipv4Network, ["fd00::/8"]);
    accepts(t.ipv6Network, ["fd00::/8"]);
    rejects(t.ipv6Network, ["10.0.0.0/8"]);
    accepts(t.ipv6Network96, ["64:ff9b::/96", "2001:db8::/64"]);
    expect(messageOf(t.ipv6Network96, "2001:db8::/112")).toBe("expected a prefix of at most /96, got /112");
  });

  it("host@port forms", () => {
    accepts(t.interfacePort, ["127.0.0.1@53", "::1@5353", "eth0@53"]);
    rejects(t.interfacePort, [
      "127.0.0.1",
      "127.0.0.1@0",
      "127.0.0.1@65536",
      "eth 0@53",
      "a@b@c",
      "1.2.3.4@x",
    ]);
    accepts(t.interfaceOptionalPort, ["127.0.0.1", "eth0", "::1@53"]);
    rejects(t.interfaceOptionalPort, ["127.0.0.1@", "a@1@2"]);
    accepts(t.ipAddressPort, ["192.0.2.1@853"]);
    rejects(t.ipAddressPort, ["eth0@53", "192.0.2.1"]);
    accepts(t.ipAddressOptionalPort, ["192.0.2.1", "2001:db8::1@5353"]);
    rejects(t.ipAddressOptionalPort, ["eth0", "example.com@53"]);
    expect(messageOf(t.interfacePort, "127.0.0.1")).toBe(
      "expected '<ip-address|interface-name>@<port>', got '127.0.0.1'",
    );
    expect(t.hostPortOf("eth0@53")).toEqual({ ifName: "eth0", port: 53 });
    expect(t.hostPortOf("::1")).toEqual({ addr: "::1" });
  });
});

describe("paths", () => {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "kres-types-"));
  const file = path.join(base, "file.txt");
  fs.writeFileSync(file, "x");
  fs.mkdirSync(path.join(base, "dir"));
  afterAll(() => fs.rmSync(base, { recursive: true, force: true }));
  const inBase = <T>(fn: () => T, strict = true) => withValidationContext({ baseDir: base, strict }, fn);

  it("resolves relative paths against the base directory", () => {
    expect(inBase(() => t.readableFile.parse("file.txt"))).toBe(file);
    expect(inBase(() => t.writableDir.parse("dir"))).toBe(path.join(base, "dir"));
    expect(inBase(() => t.uncheckedPath.parse("/abs/x"))).toBe("/abs/x");
  });

  it("checks existence and kind under strict validation", () => {
    expect(inBase(() => messageOf(t.readableFile, "missing"))).toBe(
      `file '${path.join(base, "missing")}' does not exist`,
    );
    expect(inBase(() => messageOf(t.readableFile, "dir"))).toContain("is not a file");
    expect(inBase(() => messageOf(t.writableDir, "file.txt"))).toContain("is not an existing directory");
    expect(inBase(() => messageOf(t.filePath, "nodir/x"))).toContain(
      "does not point inside an existing directory",
    );
    expect(inBase(() => messageOf(t.filePath, "dir"))).toContain("is a directory");
    expect(inBase(() => t.writableFilePath.parse("dir/new.sock"))).toBe(path.join(base, "dir/new.sock"));
    expect(inBase(() => messageOf(t.uncheckedPath, ""))).toBe("expected a non-empty path");
  });

  it("refuses NUL in a path even when not strict (kresd would cut the path there)", () => {
    expect(inBase(() => messageOf(t.uncheckedPath, "a\0b"), false)).toBe(
      "a path must not contain a NUL character",
    );
  });

  it("skips file-system checks when not strict", () => {
    expect(inBase(() => t.readableFile.parse("missing"), false)).toBe(path.join(base, "missing"));
  });
});

describe("listOrItem", () => {
  const s = t.listOrItem(t.portNumber);
  it("always yields a list", () => {
    expect(s.parse(53)).toEqual([53]);
    expect(s.parse([53, 853])).toEqual([53, 853]);
  });
  it("rejects empty lists and bad items", () => {
    rejects(s, [[], 0, [53, 0], "53"]);
  });
});

import { ednsOptions, parseKdigJson, KdigError } from "../../../harness/kdig.js";

// Real `kdig +json` output of Knot DNS 3.2.6 (trimmed of fields the parser ignores).
const LOCALHOST_A = JSON.stringify({
  ID: 11083,
  QR: 1,
  AA: 1,
  TC: 0,
  RD: 1,
  RA: 1,
  AD: 0,
  CD: 0,
  RCODE: 0,
  QNAME: "localhost.",
  answerRRs: [
    {
      NAME: "localhost.",
      TYPE: 1,
      TYPEname: "A",
      CLASS: 1,
      CLASSname: "IN",
      TTL: 900,
      rdataA: "127.0.0.1",
      RDLENGTH: 4,
      RDATAHEX: "7F000001",
    },
  ],
  additionalRRs: [
    {
      NAME: ".",
      TYPE: 41,
      TYPEname: "OPT",
      CLASS: 1232,
      TTL: 0,
      RDLENGTH: 13,
      RDATAHEX: "00030009746573742D6E736964",
    },
  ],
});

const NXDOMAIN_TXT = JSON.stringify({
  QR: 1,
  AA: 1,
  TC: 0,
  RD: 1,
  RA: 1,
  AD: 0,
  CD: 0,
  RCODE: 3,
  authorityRRs: [
    {
      NAME: "nonexistent.test.",
      TYPE: 6,
      TYPEname: "SOA",
      CLASS: 1,
      CLASSname: "IN",
      TTL: 10800,
      rdataSOA: "nonexistent.test. nobody.invalid. 1 3600 1200 604800 10800",
    },
  ],
  additionalRRs: [
    {
      NAME: "explanation.invalid.",
      TYPE: 16,
      TYPEname: "TXT",
      CLASS: 1,
      CLASSname: "IN",
      TTL: 10800,
      rdataTXT: '"Blocking is mandated by standards"',
    },
    { NAME: ".", TYPE: 41, TYPEname: "OPT", CLASS: 1232, TTL: 0, RDLENGTH: 0 },
  ],
});

describe("parseKdigJson", () => {
  it("reads the rcode, the flags and the answer records with their presentation data", () => {
    const r = parseKdigJson(LOCALHOST_A);
    expect(r.rcode).toBe("NOERROR");
    expect(r.flags).toEqual({ aa: true, tc: false, rd: true, ra: true, ad: false, cd: false });
    expect(r.answers).toEqual([{ name: "localhost.", ttl: 900, type: "A", class: "IN", data: "127.0.0.1" }]);
    expect(r.raw).toBe(LOCALHOST_A);
  });

  it("takes the NSID from the OPT record and leaves OPT out of the additional section", () => {
    const r = parseKdigJson(LOCALHOST_A);
    expect(r.nsid).toBe("test-nsid");
    expect(r.additional).toEqual([]);
  });

  it("names NXDOMAIN and keeps authority and additional records (TXT with its quotes)", () => {
    const r = parseKdigJson(NXDOMAIN_TXT);
    expect(r.rcode).toBe("NXDOMAIN");
    expect(r.answers).toEqual([]);
    expect(r.authority[0]).toMatchObject({
      type: "SOA",
      data: expect.stringMatching(/^nonexistent\.test\. /),
    });
    expect(r.additional).toEqual([
      {
        name: "explanation.invalid.",
        ttl: 10800,
        type: "TXT",
        class: "IN",
        data: '"Blocking is mandated by standards"',
      },
    ]);
    expect(r.nsid).toBeUndefined();
    expect(r.ede).toBeUndefined();
  });

  it("reads an Extended DNS Error (code and text) from the OPT record", () => {
    const ede = Buffer.concat([Buffer.from([0, 15, 0, 9, 0, 15]), Buffer.from("blocked")]).toString("hex");
    const r = parseKdigJson(
      JSON.stringify({ RCODE: 0, additionalRRs: [{ TYPE: 41, TYPEname: "OPT", TTL: 0, RDATAHEX: ede }] }),
    );
    expect(r.ede).toEqual({ code: 15, text: "blocked" });
  });

  it("combines the OPT record's upper bits into the extended rcode (BADVERS)", () => {
    const r = parseKdigJson(
      JSON.stringify({ RCODE: 0, additionalRRs: [{ TYPE: 41, TYPEname: "OPT", TTL: 0x01000000 }] }),
    );
    expect(r.rcode).toBe("BADVERS");
  });

  it("falls back to generic RDATA and TYPE<n> when kdig has no text form", () => {
    const r = parseKdigJson(
      JSON.stringify({
        RCODE: 0,
        answerRRs: [
          { NAME: "x.", TYPE: 65280, CLASS: 1, CLASSname: "IN", TTL: 5, RDLENGTH: 2, RDATAHEX: "ABCD" },
        ],
      }),
    );
    expect(r.answers).toEqual([{ name: "x.", ttl: 5, type: "TYPE65280", class: "IN", data: "\\# 2 ABCD" }]);
  });

  it("refuses output without a response (kdig prints {} on a timeout) and non-JSON", () => {
    expect(() => parseKdigJson("{\n}\n")).toThrow(KdigError);
    expect(() => parseKdigJson(";; ->>HEADER<<-")).toThrow(KdigError);
  });
});

describe("ednsOptions", () => {
  it("splits OPT RDATA into options and stops at a truncated one", () => {
    expect(ednsOptions("0003000161000A0000").map((o) => [o.code, o.data.toString("hex")])).toEqual([
      [3, "61"],
      [10, ""],
    ]);
    expect(ednsOptions("000300")).toEqual([]);
  });
});

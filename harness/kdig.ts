import { execFile } from "node:child_process";

export const KDIG = "/usr/bin/kdig";

export interface DnsRecord {
  /** Owner name, absolute, as kdig prints it (e.g. "localhost."). */
  name: string;
  ttl: number;
  /** Type mnemonic ("A", "TXT"…), or "TYPE<n>" when kdig has none. */
  type: string;
  class: string;
  /** RDATA in presentation format (TXT keeps its quotes), or "\# LEN HEX" when kdig has no text form. */
  data: string;
}

export interface KdigResult {
  /** Response code name: NOERROR, NXDOMAIN, SERVFAIL, REFUSED… (extended codes included). */
  rcode: string;
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean; ad: boolean; cd: boolean };
  answers: DnsRecord[];
  authority: DnsRecord[];
  /** Additional section without the OPT pseudo-record. */
  additional: DnsRecord[];
  /** NSID (RFC 5001) of the response, if the server sent one (ask with +nsid). */
  nsid?: string;
  /** Extended DNS Error (RFC 8914), if present. */
  ede?: { code: number; text: string };
  /** kdig's standard output, as is. */
  raw: string;
}

export class KdigError extends Error {
  constructor(
    message: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(message);
    this.name = "KdigError";
  }
}

const RCODES = [
  "NOERROR",
  "FORMERR",
  "SERVFAIL",
  "NXDOMAIN",
  "NOTIMP",
  "REFUSED",
  "YXDOMAIN",
  "YXRRSET",
  "NXRRSET",
  "NOTAUTH",
  "NOTZONE",
];
const EXTENDED_RCODES: Record<number, string> = { 16: "BADVERS" };

function rcodeName(code: number): string {
  return RCODES[code] ?? EXTENDED_RCODES[code] ?? `RCODE${code}`;
}

type JsonRr = Record<string, unknown>;

function toRecord(rr: JsonRr): DnsRecord {
  const type = typeof rr.TYPEname === "string" ? rr.TYPEname : `TYPE${String(rr.TYPE)}`;
  const text = rr[`rdata${type}`];
  const hex = typeof rr.RDATAHEX === "string" ? rr.RDATAHEX : "";
  return {
    name: String(rr.NAME),
    ttl: Number(rr.TTL),
    type,
    class: typeof rr.CLASSname === "string" ? rr.CLASSname : `CLASS${String(rr.CLASS)}`,
    data: typeof text === "string" ? text : `\\# ${Number(rr.RDLENGTH ?? hex.length / 2)} ${hex}`.trimEnd(),
  };
}

/** EDNS options in an OPT record's RDATA (hex): [{code, data}]. */
export function ednsOptions(hex: string): { code: number; data: Buffer }[] {
  const buf = Buffer.from(hex, "hex");
  const out: { code: number; data: Buffer }[] = [];
  for (let i = 0; i + 4 <= buf.length;) {
    const code = buf.readUInt16BE(i);
    const len = buf.readUInt16BE(i + 2);
    out.push({ code, data: buf.subarray(i + 4, i + 4 + len) });
    i += 4 + len;
  }
  return out;
}

/** Parses the output of `kdig +json` (RFC 8427 format of Knot DNS 3.2) for one response. */
export function parseKdigJson(raw: string): KdigResult {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(raw) as Record<string, unknown>;
  } catch {
    throw new KdigError("kdig output is not JSON", raw, "");
  }
  if (typeof msg.RCODE !== "number") throw new KdigError("no response in kdig output", raw, "");
  const list = (key: string): JsonRr[] => (Array.isArray(msg[key]) ? (msg[key] as JsonRr[]) : []);
  const additionalRaw = list("additionalRRs");
  const opt = additionalRaw.find((rr) => rr.TYPEname === "OPT" || rr.TYPE === 41);
  let rcode = msg.RCODE;
  const result: KdigResult = {
    rcode: "",
    flags: {
      aa: msg.AA === 1,
      tc: msg.TC === 1,
      rd: msg.RD === 1,
      ra: msg.RA === 1,
      ad: msg.AD === 1,
      cd: msg.CD === 1,
    },
    answers: list("answerRRs").map(toRecord),
    authority: list("authorityRRs").map(toRecord),
    additional: additionalRaw.filter((rr) => rr !== opt).map(toRecord),
    raw,
  };
  if (opt) {
    rcode += ((Number(opt.TTL) >>> 24) & 0xff) << 4; // upper 8 bits of the extended RCODE
    for (const { code, data } of ednsOptions(typeof opt.RDATAHEX === "string" ? opt.RDATAHEX : "")) {
      if (code === 3) result.nsid = data.toString("utf8");
      if (code === 15 && data.length >= 2)
        result.ede = { code: data.readUInt16BE(0), text: data.subarray(2).toString("utf8") };
    }
  }
  result.rcode = rcodeName(rcode);
  return result;
}

export interface KdigOptions {
  /** Seconds to wait for the response (kdig +timeout; default 2). One try: +retry=0. */
  timeoutS?: number;
}

/**
 * Runs kdig with `args` (server, -p, name, type, +options…) and parses the response. Defaults come
 * first (+timeout=2 +retry=0), so `args` can override them. Throws KdigError when there is no
 * response (timeout, connection refused, bad arguments).
 */
export function kdig(args: readonly string[], opts: KdigOptions = {}): Promise<KdigResult> {
  const argv = [`+timeout=${opts.timeoutS ?? 2}`, "+retry=0", ...args, "+json"];
  return new Promise((resolve, reject) => {
    execFile(KDIG, argv, { timeout: ((opts.timeoutS ?? 2) + 5) * 1000 }, (err, stdout, stderr) => {
      if (err) {
        const why = stderr.trim().split("\n").pop() || err.message;
        reject(new KdigError(`kdig ${args.join(" ")}: ${why}`, stdout, stderr));
        return;
      }
      try {
        resolve(parseKdigJson(stdout));
      } catch (e) {
        reject(new KdigError(`kdig ${args.join(" ")}: ${(e as Error).message}`, stdout, stderr));
      }
    });
  });
}

/** kdig against 127.0.0.1:`port`: `kdigAt(port, "localhost", "A", "+tcp")`. */
export function kdigAt(port: number, ...args: string[]): Promise<KdigResult> {
  return kdig(["@127.0.0.1", "-p", String(port), ...args]);
}

import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { checkTlsPair, TlsPairRefused } from "../../../lib/manager/tls-pair.js";
import { REPO_ROOT } from "../../../harness/repo.js";
import { tmpDir } from "../../../harness/tmp.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/tls");
const fixture = (name: string) => path.join(FIXTURES, name);
const A = { cert: fixture("a-cert.pem"), key: fixture("a-key.pem") };
const B = { cert: fixture("b-cert.pem"), key: fixture("b-key.pem") };
const RSA = { cert: fixture("rsa-cert.pem"), key: fixture("rsa-key.pem") };
const dir = tmpDir("krm-tls-pair-");

function refusal(files: { cert: string; key: string }): { file: string; reason: string } {
  try {
    checkTlsPair(files);
  } catch (e) {
    if (e instanceof TlsPairRefused) return { file: e.file, reason: e.reason };
    throw e;
  }
  throw new Error("the pair was accepted");
}

function write(name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

describe("checkTlsPair", () => {
  it("accepts a matching pair and says what it is: subject, expiry, SHA-256 fingerprint", () => {
    const pair = checkTlsPair(A);
    const cert = new X509Certificate(fs.readFileSync(A.cert));
    expect(pair).toEqual({
      subject: "CN=a.tls.test",
      validTo: cert.validTo,
      fingerprint: cert.fingerprint256,
      digest: expect.stringMatching(/^[0-9a-f]{64}:[0-9a-f]{64}$/),
    });
    expect(checkTlsPair(RSA).subject).toBe("CN=rsa.tls.test");
  });

  it("gives equal digests for equal bytes only", () => {
    const copy = {
      cert: write("copy-cert.pem", fs.readFileSync(A.cert)),
      key: write("copy-key.pem", fs.readFileSync(A.key)),
    };
    expect(checkTlsPair(copy).digest).toBe(checkTlsPair(A).digest);
    expect(checkTlsPair(B).digest).not.toBe(checkTlsPair(A).digest);
  });

  it("takes a full chain (the server's certificate first), as certbot's fullchain.pem", () => {
    const chain = write("fullchain.pem", fs.readFileSync(A.cert, "utf8") + fs.readFileSync(B.cert, "utf8"));
    expect(checkTlsPair({ cert: chain, key: A.key }).subject).toBe("CN=a.tls.test");
  });

  it("refuses a key that belongs to another certificate, naming the key file", () => {
    expect(refusal({ cert: A.cert, key: B.key })).toEqual({
      file: B.key,
      reason: `does not match the certificate in ${A.cert}`,
    });
    expect(refusal({ cert: RSA.cert, key: A.key }).file).toBe(A.key);
  });

  it("refuses a file that is not PEM, naming it", () => {
    const garbage = write("garbage.pem", "this is not a certificate\n");
    expect(refusal({ cert: garbage, key: A.key })).toEqual({
      file: garbage,
      reason: expect.stringMatching(/^is not a PEM certificate \(.+\)$/),
    });
    expect(refusal({ cert: A.cert, key: garbage })).toEqual({
      file: garbage,
      reason: expect.stringMatching(/^is not an unencrypted PEM private key \(.+\)$/),
    });
    // Half a file, as a reader sees one being written.
    const half = write("half.pem", fs.readFileSync(A.cert, "utf8").slice(0, 200));
    expect(refusal({ cert: half, key: A.key }).file).toBe(half);
  });

  it("refuses a file that cannot be read, naming it and why", () => {
    const missing = path.join(dir, "missing.pem");
    expect(refusal({ cert: missing, key: A.key })).toEqual({
      file: missing,
      reason: "cannot be read (ENOENT)",
    });
    expect(refusal({ cert: A.cert, key: dir })).toEqual({ file: dir, reason: "cannot be read (EISDIR)" });
    expect(new TlsPairRefused(dir, "x").message).toBe(`${dir}: x`);
  });
});

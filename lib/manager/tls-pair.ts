import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import * as fs from "node:fs";
import { ManagerError } from "./errors.js";

/** The certificate and key files of `network.tls`, as the workers' Lua names them. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** A pair that loads: what the log says about it, and a digest of both files' bytes. */
export interface CheckedPair {
  subject: string;
  validTo: string;
  /** SHA-256 fingerprint of the certificate, as openssl prints it (AB:CD:…). */
  fingerprint: string;
  /** Digest of the two files' contents: equal digests, nothing new to load. */
  digest: string;
}

/** A certificate/key pair that would not load: `file` names the culprit. */
export class TlsPairRefused extends ManagerError {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
  }
}

function read(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new TlsPairRefused(file, `cannot be read (${err.code ?? err.message})`);
  }
}

/**
 * Reads and checks the pair the way a worker would load it, before any worker is asked to: both
 * files readable, the first certificate and the key parse, and the key belongs to the certificate.
 * Throws TlsPairRefused naming the file at fault.
 */
export function checkTlsPair(files: TlsFiles): CheckedPair {
  const certPem = read(files.cert);
  const keyPem = read(files.key);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (e) {
    throw new TlsPairRefused(files.cert, `is not a PEM certificate (${(e as Error).message})`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch (e) {
    throw new TlsPairRefused(files.key, `is not an unencrypted PEM private key (${(e as Error).message})`);
  }
  if (!cert.checkPrivateKey(key)) {
    throw new TlsPairRefused(files.key, `does not match the certificate in ${files.cert}`);
  }
  const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
  return {
    subject: cert.subject.replace(/\n/g, ", "),
    validTo: cert.validTo,
    fingerprint: cert.fingerprint256,
    digest: `${sha256(certPem)}:${sha256(keyPem)}`,
  };
}

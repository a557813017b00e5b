/**
 * TLS material for tests, made by openssl: self-signed certificates, and the certificate a TLS
 * server really presents (openssl s_client), so a test sees which one is served.
 */
import { X509Certificate } from "node:crypto";
import * as path from "node:path";
import { run } from "./repo.js";

export interface TlsFiles {
  cert: string;
  key: string;
}

export interface SelfSignedOptions {
  /** Common name, also the DNS subjectAltName (default 'localhost'). */
  cn?: string;
  /** Files are BASE-cert.pem and BASE-key.pem (default 'server'). */
  base?: string;
}

/** A self-signed certificate for `cn` / 127.0.0.1 / ::1 (EC P-256, valid two days) in `dir`. */
export async function selfSignedCert(dir: string, opts: SelfSignedOptions = {}): Promise<TlsFiles> {
  const cn = opts.cn ?? "localhost";
  const base = opts.base ?? "server";
  const cert = path.join(dir, `${base}-cert.pem`);
  const key = path.join(dir, `${base}-key.pem`);
  const r = await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
    "-addext",
    `subjectAltName=DNS:${cn},IP:127.0.0.1,IP:::1`,
    "-keyout",
    key,
    "-out",
    cert,
  ]);
  if (r.code !== 0) throw new Error(`openssl failed (${r.code}): ${r.stderr}`);
  return { cert, key };
}

/** The certificate the TLS server on 127.0.0.1:port presents in a fresh handshake. */
export async function servedCertificate(port: number): Promise<X509Certificate> {
  const r = await run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost"], {
    timeoutMs: 10_000,
  });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout);
  if (!pem) throw new Error(`no certificate from 127.0.0.1:${port} (openssl ${r.code}): ${r.stderr}`);
  return new X509Certificate(pem[0]);
}

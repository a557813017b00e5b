/**
 * The dashboard's files (built by scripts/build into dist/ui/: index.html, app.js, app.css and a
 * gzip copy of each), served at /ui/ by the manager itself. They are read once, on first use, and
 * only the files of that one directory are ever served: a request names one of them or nothing.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { Request, Response } from "express";

/** Set to true by scripts/bundle.mjs (esbuild's `define`); undeclared in the unbundled code. */
declare const KRES_BUNDLED: boolean | undefined;

/**
 * dist/ui, where scripts/build-ui.mjs writes the dashboard: beside dist/bundle, whose chunks run
 * this code in the launchers and the packages (as lua-files.ts finds the Lua files), or beside
 * dist/lib when tsc's output runs (this module is then dist/lib/manager/ui-assets.js).
 */
export const DEFAULT_UI_DIR = fileURLToPath(
  new URL(typeof KRES_BUNDLED === "undefined" ? "../../ui/" : "../ui/", import.meta.url),
);

const TYPES: Readonly<Record<string, string>> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

// Everything the page needs comes from here; no inline script, nothing from elsewhere, no framing.
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

interface Asset {
  type: string;
  body: Buffer;
  gzip?: Buffer;
  etag: string;
}

/** The dashboard's files by name ('index.html', 'app.js' …). */
export class UiAssets {
  private assets: Map<string, Asset> | undefined;

  constructor(private readonly dir: string = DEFAULT_UI_DIR) {}

  private load(): Map<string, Asset> {
    if (this.assets) return this.assets;
    const out = new Map<string, Asset>();
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir);
    } catch {
      names = []; // not built: /ui/ answers 404 naming the build
    }
    for (const name of names) {
      const type = TYPES[path.extname(name)];
      if (type === undefined) continue;
      const body = fs.readFileSync(path.join(this.dir, name));
      const gz = path.join(this.dir, `${name}.gz`);
      const gzip = fs.existsSync(gz) ? fs.readFileSync(gz) : undefined;
      const etag = `"${crypto.createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
      out.set(name, { type, body, etag, ...(gzip ? { gzip } : {}) });
    }
    this.assets = out;
    return out;
  }

  /** Answers GET/HEAD for `name` (the path after /ui/; '' is index.html); false when there is no such file. */
  serve(name: string, req: Request, res: Response): boolean {
    const asset = this.load().get(name === "" ? "index.html" : name);
    if (asset === undefined) return false;
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    res.setHeader("Content-Type", asset.type);
    // Revalidated each time (one small 304): a manager upgraded in place never serves a stale app.
    res.setHeader("Cache-Control", "no-cache");
    res.setHeader("ETag", asset.etag);
    res.setHeader("Vary", "Accept-Encoding");
    if (req.headers["if-none-match"] === asset.etag) {
      res.status(304).end();
      return true;
    }
    const gzip = asset.gzip !== undefined && acceptsGzip(req.headers["accept-encoding"]);
    const body = gzip ? (asset.gzip as Buffer) : asset.body;
    if (gzip) res.setHeader("Content-Encoding", "gzip");
    res.setHeader("Content-Length", String(body.length));
    res.status(200);
    if (req.method === "HEAD") res.end();
    else res.end(body);
    return true;
  }
}

/** Whether an Accept-Encoding header takes gzip (and does not refuse it with q=0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined) return false;
  for (const part of header.split(",")) {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    if (coding !== "gzip" && coding !== "*") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

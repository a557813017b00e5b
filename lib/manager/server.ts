import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import type { ManagementConfig } from "../datamodel/sections/management/schema.js";
import { hostPortOf } from "../datamodel/types/net.js";
import { parseBody } from "../utils/body.js";
import { INTERNAL_ERROR_MESSAGE, KresError, type ErrorBody } from "../utils/errors.js";
import { checkPreconditions, formatEtag, type Preconditions } from "../utils/etag.js";
import { accessChecks, type AccessPolicy } from "./access.js";
import type { ChangePlan, ConfigOperation, DryRunMode, ManagerApi, ProcessFilter } from "./api.js";
import { DRY_RUN_MODES } from "../datamodel/change-plan.js";
import { ManagerError } from "./errors.js";
import { logger } from "./logger.js";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics/index.js";
import { describeError } from "../utils/stack-map.js";
import type { LiveEvent } from "./metrics/live.js";
import { UiAssets } from "./ui-assets.js";

/** Largest request body taken; a config with big local-data fits many times over. */
export const BODY_LIMIT = "4mb";

/** An answer the server gives by itself: no such endpoint, a method a path does not take… */
class HttpError extends ManagerError {
  constructor(
    override readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (req: Request, res: Response) => Promise<void> | void;

function methodNotAllowed(allowed: string[]): Handler {
  return (req, res) => {
    res.setHeader("Allow", allowed.join(", "));
    throw new HttpError(405, `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(", ")}`);
  };
}

const CONFIG_PREFIX = "/v1/config";

/** The JSON pointer a /v1/config… path names ('' for the whole config). */
function pointerOf(req: Request): string {
  const raw = req.path.slice(CONFIG_PREFIX.length).replace(/\/$/, "");
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, `the path ${JSON.stringify(req.path)} is not valid percent-encoding`);
  }
}

function header(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

/** What PATCH /v1/config… takes, as RFC 5789's Accept-Patch says it. */
export const ACCEPT_PATCH = "application/json-patch+json, application/merge-patch+json";

/**
 * Which patch a PATCH body is: its media type says, else its shape does, as upstream's server reads
 * it: a JSON array is an RFC 6902 JSON Patch, anything else an RFC 7396 merge patch.
 */
function patchKind(req: Request, body: unknown): "json-patch" | "merge-patch" {
  const mediaType = (header(req, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType === "application/json-patch+json") return "json-patch";
  if (mediaType === "application/merge-patch+json") return "merge-patch";
  return Array.isArray(body) ? "json-patch" : "merge-patch";
}

/** `?NAME=true|false`; undefined when absent. */
function booleanQuery(req: Request, name: string): boolean | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (v === "true" || v === "false") return v === "true";
  throw new HttpError(400, `the query parameter '${name}' must be true or false, not ${JSON.stringify(v)}`);
}

/** `?persist=true|false`: write the change into the config file (absent: the config's default). */
function persistOf(req: Request): boolean | undefined {
  return booleanQuery(req, "persist");
}

/**
 * `?dry-run=true|canary`: plan the change instead of making it (canary: and try its Lua on a canary
 * worker); `false` or absent: make it.
 */
function dryRunOf(req: Request): DryRunMode | undefined {
  const v = req.query["dry-run"];
  if (v === undefined || v === "false") return undefined;
  if ((DRY_RUN_MODES as readonly unknown[]).includes(v)) return v as DryRunMode;
  throw new HttpError(
    400,
    `the query parameter 'dry-run' must be true, canary or false, not ${JSON.stringify(v)}`,
  );
}

/** A dry run's answer: the plan, under the ETag of the config that still runs. */
function sendPlan(res: Response, plan: ChangePlan): void {
  res.setHeader("ETag", formatEtag(plan.etag));
  res.status(200).json(plan);
}

/** A query parameter that must be digits (`?limit=`, `?before=`), as `as` makes it; undefined when absent. */
function digitsOf<T>(req: Request, name: string, as: (digits: string) => T): T | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^\d{1,12}$/.test(v))
    throw new HttpError(400, `the query parameter '${name}' must be a number, not ${JSON.stringify(v)}`);
  return as(v);
}

function preconditionsOf(req: Request): Preconditions {
  return { ifMatch: header(req, "if-match"), ifNoneMatch: header(req, "if-none-match") };
}

/**
 * Translates HTTP to ManagerApi calls and their errors back to HTTP. Nothing else. Express 5 hands
 * what a handler throws or rejects with to the error handler at the end. `access` says how the API
 * is reached: its checks (access.ts) run before any body is read.
 */
export function createApp(
  api: ManagerApi,
  access: AccessPolicy,
  ui: UiAssets = new UiAssets(),
): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag"); // ours is the config's, not the body's
  app.use(accessChecks(access));
  app.use(express.text({ type: () => true, limit: BODY_LIMIT }));

  app.get("/", (_req, res) => {
    res.json({
      msg: "Knot Resolver manager is running; the configuration is at /v1/config",
      ...api.status(),
    });
  });

  const configRoute = new RegExp(`^${CONFIG_PREFIX}(/.*)?$`);
  app.all(configRoute, async (req, res) => {
    const pointer = pointerOf(req);
    const method = req.method.toUpperCase();
    if (method === "GET" || method === "HEAD") {
      const { value, etag } = api.getConfig(pointer);
      res.setHeader("ETag", formatEtag(etag));
      res.setHeader("Accept-Patch", ACCEPT_PATCH);
      if (checkPreconditions(etag, preconditionsOf(req), "read") === "not-modified") {
        res.status(304).end();
        return;
      }
      res.json(value);
      return;
    }
    if (method !== "PUT" && method !== "PATCH" && method !== "DELETE")
      return methodNotAllowed(["GET", "HEAD", "PUT", "PATCH", "DELETE"])(req, res);
    // The whole config can be replaced or patched, not deleted.
    if (method === "DELETE" && pointer === "")
      return methodNotAllowed(["GET", "HEAD", "PUT", "PATCH"])(req, res);
    const body =
      method === "DELETE"
        ? undefined
        : parseBody(typeof req.body === "string" ? req.body : "", req.headers["content-type"]);
    const op: ConfigOperation =
      method === "PUT" ? "put" : method === "DELETE" ? "delete" : patchKind(req, body);
    const persist = persistOf(req);
    const dryRun = dryRunOf(req);
    const source = `${method} ${req.path}`;
    if (dryRun) {
      sendPlan(res, await api.planChange(op, pointer, body, preconditionsOf(req), dryRun, source));
      return;
    }
    const result = await api.changeConfig(op, pointer, body, preconditionsOf(req), source, persist);
    // 200 for every change, as upstream (its kresctl wants exactly 200): the new value when the
    // pointer still names one, an empty body when it does not (after DELETE, as upstream).
    res.setHeader("ETag", formatEtag(result.etag));
    if (result.value === undefined) res.status(200).end();
    else res.json(result.value);
  });

  const post = (route: string, h: Handler) => {
    app
      .route(route)
      .post(h)
      .all(methodNotAllowed(["POST"]));
  };
  const get = (route: string | RegExp, h: Handler) => {
    app
      .route(route)
      .get(h)
      .all(methodNotAllowed(["GET", "HEAD"]));
  };

  for (const force of [false, true]) {
    const suffix = force ? "/force" : "";
    post(`/reload${suffix}`, async (req, res) => {
      const dryRun = dryRunOf(req);
      if (dryRun) sendPlan(res, await api.planReload(force, dryRun, `POST ${req.path}`));
      else res.json(await api.reload(force, `POST ${req.path}`));
    });
    post(`/renew${suffix}`, async (req, res) => {
      res.json(await api.renew(force, `POST ${req.path}`));
    });
  }
  post("/stop", (_req, res) => {
    res.json({ msg: "stopping the resolver" });
    res.on("finish", () => api.stop());
  });
  get("/schema", (_req, res) => {
    res.json(api.jsonSchema());
  });
  // Upstream sends the browser to an external viewer; the dashboard's schema page is local.
  get("/schema/ui", (_req, res) => {
    res.redirect(302, "/ui/#schema");
  });
  get(/^\/ui$/, (_req, res) => {
    res.redirect(301, "/ui/");
  });
  get(/^\/ui\/(.*)$/, (req, res) => {
    const name = (req.params as Record<string, string>)[0] ?? "";
    if (!ui.serve(name, req, res))
      throw new HttpError(
        404,
        `no such dashboard file: ${req.path} (built by 'npm run build' into dist/ui/)`,
      );
  });
  get("/v1/stream", (req, res) => stream(api, req, res));
  // As upstream: /metrics moves permanently to the JSON.
  get("/metrics", (_req, res) => {
    res.redirect(301, "/metrics/json");
  });
  get("/metrics/json", async (_req, res) => {
    res.json(await api.metricsJson());
  });
  get("/metrics/prometheus", async (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(await api.metricsPrometheus());
  });
  post("/cache/clear", async (req, res) => {
    // No body: every default, i.e. the whole cache (as `kresctl cache clear` without a name).
    const text = typeof req.body === "string" ? req.body : "";
    const body = text.trim() === "" ? undefined : parseBody(text, req.headers["content-type"]);
    res.json(await api.clearCache(body));
  });
  get("/processes", async (_req, res) => {
    res.json(await api.processes("all"));
  });
  get("/processes/:filter", async (req, res) => {
    const filter = req.params.filter;
    if (filter !== "all" && filter !== "kresd" && filter !== "gc")
      throw new HttpError(404, `unknown process filter '${filter}'; use kresd, gc or all`);
    res.json(await api.processes(filter as ProcessFilter));
  });

  // The fleet (an extension): this node's view of it, and changes to the fleet document in etcd.
  get("/v1/fleet", async (_req, res) => {
    res.json(await api.fleetStatus());
  });
  get("/v1/fleet/history", async (_req, res) => {
    res.json(await api.fleetHistory());
  });
  app
    .route("/v1/fleet/config")
    .put(async (req, res) => {
      const text = typeof req.body === "string" ? req.body : "";
      const dryRun = booleanQuery(req, "dry-run") ?? false;
      res.json(await api.fleetApply(text, dryRun, `PUT ${req.path}`));
    })
    .all(methodNotAllowed(["PUT"]));
  post("/v1/fleet/rollback", async (req, res) => {
    const raw = req.query.revision;
    if (raw !== undefined && (typeof raw !== "string" || !/^[1-9]\d{0,15}$/.test(raw)))
      throw new HttpError(
        400,
        `the query parameter 'revision' must be a revision number, not ${JSON.stringify(raw)}`,
      );
    res.json(await api.fleetRollback(raw === undefined ? undefined : Number(raw), `POST ${req.path}`));
  });
  get("/v1/history", (req, res) => {
    res.json(api.listHistory(digitsOf(req, "limit", Number), digitsOf(req, "before", String)));
  });
  get("/v1/history/:etag", (req, res) => {
    res.json(api.historyEntry(req.params.etag as string));
  });
  post("/v1/history/:etag/restore", async (req, res) => {
    const dryRun = dryRunOf(req);
    const source = `POST ${req.path}`;
    if (dryRun) {
      persistOf(req); // checked as the real restore checks it
      sendPlan(res, await api.planRestore(req.params.etag as string, preconditionsOf(req), dryRun, source));
      return;
    }
    const result = await api.restoreHistory(
      req.params.etag as string,
      preconditionsOf(req),
      source,
      persistOf(req),
    );
    res.setHeader("ETag", formatEtag(result.etag));
    res.json({ etag: formatEtag(result.etag), "restored-from": result["restored-from"] });
  });

  app.use((req: Request) => {
    throw new HttpError(404, `no such endpoint: ${req.method} ${req.path}`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const { status, body } = answerTo(err);
    if (status >= 500) logger.error(`${req.method} ${req.path}: ${describeError(err)}`);
    else logger.info(`${req.method} ${req.path}: ${status} ${body.error}`);
    if (res.headersSent) return;
    res.status(status).json(body);
  });
  return app;
}

/** A client this far behind on the stream is cut off rather than buffered for. */
const STREAM_BACKLOG_LIMIT = 1 << 20;

/**
 * GET /v1/stream: server-sent events for the dashboard. First `backlog` (the samples kept, oldest
 * first) and the last `state`, then a `sample` every tick and a `state` whenever the status or the
 * processes change. Every open stream shares one sampler (api.liveStatistics()).
 */
function stream(api: ManagerApi, _req: Request, res: Response): void {
  const feed = api.liveStatistics();
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
  });
  const send = (event: string, data: unknown) => {
    if (res.writableLength > STREAM_BACKLOG_LIMIT) {
      res.destroy();
      return;
    }
    res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const { samples, state } = feed.backlog();
  send("backlog", { samples });
  if (state !== undefined) send("state", state);
  const unsubscribe = feed.subscribe((e: LiveEvent) =>
    e.kind === "sample" ? send("sample", e.sample) : send("state", e.state),
  );
  res.on("close", unsubscribe);
}

/** Every error as the answer a client gets: a status and a JSON body (never a stack). */
function answerTo(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof KresError) return { status: err.status, body: err.body() };
  // Express's body parser fails with http-errors: a body over the limit, a bad charset…
  const bodyError = err as { type?: string; status?: number; message?: string } | null | undefined;
  if (bodyError?.type === "entity.too.large")
    return { status: 413, body: { error: `request body larger than the limit of ${BODY_LIMIT}` } };
  if (typeof bodyError?.status === "number" && bodyError.status >= 400 && bodyError.status < 500)
    return { status: bodyError.status, body: { error: bodyError.message ?? "bad request" } };
  return { status: 500, body: { error: INTERNAL_ERROR_MESSAGE } };
}

/** What one client may hold of the API server: time to send a request, connections at once. */
export interface HttpLimits {
  /** Until the request's headers are in. */
  headersTimeoutMs: number;
  /** Until the whole request (body included) is in; answering it may take longer. */
  requestTimeoutMs: number;
  /** Open connections; more are closed at once. */
  maxConnections: number;
  /** How often the server looks for requests past their timeouts. */
  checkIntervalMs: number;
}

// Node's defaults (60 s for headers, 300 s per request, no connection cap) let a few idle or
// trickling clients hold the manager's only API for minutes, and a flood of connections use up
// the descriptors the manager needs for supervisord and the workers' control sockets. The cap
// stays well above real use (the hostile-API test opens 1050 at once, all answered).
export const HTTP_LIMITS: HttpLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  maxConnections: 2048,
  checkIntervalMs: 1_000,
};

/** The HTTP server on the management socket or address. */
export class ApiServer {
  private server: http.Server | undefined;
  private socketPath: string | undefined;

  constructor(
    private readonly app: express.Express,
    private readonly limits: HttpLimits = HTTP_LIMITS,
  ) {}

  async listen(management: ManagementConfig): Promise<string> {
    const server = http.createServer(
      {
        headersTimeout: this.limits.headersTimeoutMs,
        requestTimeout: this.limits.requestTimeoutMs,
        connectionsCheckingInterval: this.limits.checkIntervalMs,
      },
      this.app,
    );
    server.maxConnections = this.limits.maxConnections;
    const socket = management["unix-socket"];
    if (socket !== undefined) {
      await removeStaleSocket(socket);
      await listenOn(server, { path: socket });
      fs.chmodSync(socket, 0o660);
      this.socketPath = socket;
      this.server = server;
      return `unix socket ${socket}`;
    }
    const { addr, port } = hostPortOf(management.interface as string);
    await listenOn(server, { host: addr, port });
    this.server = server;
    return `http://${addr?.includes(":") ? `[${addr}]` : addr}:${port}`;
  }

  /** Stops listening (open requests are cut) and removes the socket file. */
  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
    if (this.socketPath && isSocket(this.socketPath)) fs.rmSync(this.socketPath, { force: true });
    this.server = undefined;
  }
}

function listenOn(server: http.Server, where: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(where, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** A socket file nobody answers on is left over from a dead manager; a live one is refused. */
async function removeStaleSocket(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  // Only a socket can be a dead manager's leftover: any other file there is somebody's data (a
  // mistyped path could name the cache's data.mdb), so it is left alone and start-up stops.
  if (!st.isSocket())
    throw new Error(
      `${file} exists and is ${fileKind(st)}, not a socket; refusing to replace it (remove it or set another management.unix-socket)`,
    );
  const alive = await new Promise<boolean>((resolve) => {
    const c = net.connect({ path: file });
    c.once("connect", () => {
      c.destroy();
      resolve(true);
    });
    c.once("error", () => resolve(false));
  });
  if (alive) throw new Error(`the management socket ${file} is in use by another process`);
  fs.rmSync(file, { force: true });
}

function fileKind(st: fs.Stats): string {
  if (st.isSymbolicLink()) return "a symbolic link";
  if (st.isDirectory()) return "a directory";
  if (st.isFile()) return "a regular file";
  return "a special file";
}

function isSocket(file: string): boolean {
  try {
    return fs.lstatSync(file).isSocket();
  } catch {
    return false;
  }
}

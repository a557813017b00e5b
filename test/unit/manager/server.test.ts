/**
 * The HTTP layer alone: every route of createApp driven with supertest against a fake ManagerApi,
 * no sockets listening and no processes. What needs real workers is in test/integration/api*.
 */
import { jest } from "@jest/globals";
import request from "supertest";
import { ControllerUnavailable, SubprocessError, WorkerGone } from "../../../lib/controller/interface.js";
import { SupervisordFault, SupervisordUnreachable } from "../../../lib/controller/supervisord/rpc.js";
import {
  ConfigParseError,
  ConfigValidationError,
  InvalidCacheClearRequest,
} from "../../../lib/datamodel/errors.js";
import { CacheClearFailed } from "../../../lib/manager/cache-clear.js";
import {
  ApplyFailed,
  ChangeRefused,
  FleetUnavailable,
  NotInFleet,
  PersistIncomplete,
  PersistRefused,
} from "../../../lib/manager/errors.js";
import { logger } from "../../../lib/manager/logger.js";
import { PROMETHEUS_CONTENT_TYPE } from "../../../lib/manager/metrics/index.js";
import { StatisticsFormatError } from "../../../lib/manager/metrics/statistics.js";
import { createApp } from "../../../lib/manager/server.js";
import { ACCEPTED_MEDIA_TYPES, BodyParseError, UnsupportedMediaType } from "../../../lib/utils/body.js";
import { PreconditionFailed } from "../../../lib/utils/etag.js";
import { InvalidJsonPatch, JsonPatchConflict, JsonPatchTestFailed } from "../../../lib/utils/json-patch.js";
import { JsonPointerError, ReservedKeyError } from "../../../lib/utils/json-pointer.js";
import { NestingTooDeep, TooManyValues } from "../../../lib/utils/parsing.js";
import { FakeApi, FLEET_STATUS, METRICS, PROCESSES, PROMETHEUS_TEXT, SCHEMA } from "./fake-api.js";

logger.silent = true;

let api: FakeApi;
let app: ReturnType<typeof createApp>;
beforeEach(() => {
  api = new FakeApi();
  app = createApp(api, { kind: "unix" });
});

const quoted = (tag: string) => `"${tag}"`;
const json = { "content-type": "application/json" };

describe("GET /", () => {
  it("answers 200 with a greeting and the manager's status", async () => {
    const res = await request(app).get("/");
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      msg: "Knot Resolver manager is running; the configuration is at /v1/config",
      status: "RUNNING",
      version: "9.9.9",
      pid: 4242,
      workers: 2,
      etag: api.etag,
      "config-source": { from: "files", files: ["/etc/knot-resolver/config.yaml"] },
    });
  });
});

describe("reading /v1/config", () => {
  it("answers GET /v1/config with the whole config and its quoted ETag", async () => {
    const res = await request(app).get("/v1/config");
    expect(res.status).toBe(200);
    expect(res.body).toEqual(api.document);
    expect(res.headers.etag).toBe(quoted(api.etag));
    expect(api.callsTo("getConfig")).toEqual([[""]]);
  });

  it("takes /v1/config/ with a trailing slash as the whole config", async () => {
    await request(app).get("/v1/config/").expect(200);
    expect(api.callsTo("getConfig")).toEqual([[""]]);
  });

  it("answers GET /v1/config/<pointer> with the value there and the config's ETag", async () => {
    const res = await request(app).get("/v1/config/cache/size-max");
    expect([res.status, res.body, res.headers.etag]).toEqual([200, "100M", quoted(api.etag)]);
    expect(api.callsTo("getConfig")).toEqual([["/cache/size-max"]]);
  });

  it("percent-decodes the pointer", async () => {
    api.document["local-data"] = { addresses: { "my host.": "192.0.2.1" } };
    const res = await request(app).get("/v1/config/local-data/addresses/my%20host.");
    expect([res.status, res.body]).toEqual([200, "192.0.2.1"]);
    expect(api.callsTo("getConfig")).toEqual([["/local-data/addresses/my host."]]);
  });

  it("answers 400 to a path that is not valid percent-encoding", async () => {
    const res = await request(app).get("/v1/config/%ZZ");
    expect(res.status).toBe(400);
    // Express's router refuses it before the route runs, in its own words.
    expect(res.body).toEqual({ error: "Failed to decode param '/%ZZ'" });
    expect(api.calls).toEqual([]);
  });

  it("answers 404 to a pointer that names nothing", async () => {
    const res = await request(app).get("/v1/config/no-such-key");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({
      error: "no such configuration path: /no-such-key: no value at 'no-such-key'",
    });
  });

  it("says what PATCH takes in Accept-Patch", async () => {
    const res = await request(app).get("/v1/config/cache");
    expect(res.headers["accept-patch"]).toBe("application/json-patch+json, application/merge-patch+json");
  });

  it("answers HEAD with the ETag and no body", async () => {
    const res = await request(app).head("/v1/config/workers");
    expect([res.status, res.headers.etag, res.text]).toEqual([200, quoted(api.etag), undefined]);
  });

  it("answers 304 with the ETag and no body when If-None-Match names the current ETag", async () => {
    const res = await request(app).get("/v1/config/workers").set("If-None-Match", quoted(api.etag));
    expect([res.status, res.headers.etag, res.text]).toEqual([304, quoted(api.etag), ""]);
  });

  it("answers 304 when If-None-Match is *", async () => {
    await request(app).get("/v1/config").set("If-None-Match", "*").expect(304);
  });

  it("answers 304 to HEAD when If-None-Match names the current ETag", async () => {
    await request(app).head("/v1/config").set("If-None-Match", quoted(api.etag)).expect(304);
  });

  it("answers 200 when If-None-Match names another ETag", async () => {
    const res = await request(app).get("/v1/config/workers").set("If-None-Match", '"other"');
    expect([res.status, res.body]).toEqual([200, 2]);
  });

  it("answers 412 with the current ETag when If-Match does not match", async () => {
    const res = await request(app).get("/v1/config/workers").set("If-Match", '"stale"');
    expect(res.status).toBe(412);
    expect(res.headers.etag).toBe(quoted(api.etag));
    expect(res.body).toEqual({
      error: `If-Match does not match the current configuration (ETag "${api.etag}")`,
    });
  });

  it("answers 200 when If-Match names the current ETag", async () => {
    const res = await request(app)
      .get("/v1/config/workers")
      .set("If-Match", `"x", ${quoted(api.etag)}`);
    expect([res.status, res.body]).toEqual([200, 2]);
  });

  it("answers 304 rather than 412 when If-None-Match matches and If-Match does not", async () => {
    await request(app)
      .get("/v1/config")
      .set("If-None-Match", quoted(api.etag))
      .set("If-Match", '"stale"')
      .expect(304);
  });
});

describe("changing /v1/config", () => {
  it("PUT passes the operation, pointer, parsed body, conditions and source; answers 200 with the new value and ETag", async () => {
    const res = await request(app).put("/v1/config/workers").set(json).send("3");
    expect(res.status).toBe(200);
    expect(res.body).toBe(3);
    expect(res.headers.etag).toBe(quoted(api.etag));
    expect(api.callsTo("changeConfig")).toEqual([
      ["put", "/workers", 3, { ifMatch: undefined, ifNoneMatch: undefined }, "PUT /v1/config/workers"],
    ]);
  });

  it("PUT /v1/config replaces the whole config", async () => {
    const res = await request(app).put("/v1/config").set(json).send('{"workers": 1}');
    expect([res.status, res.body]).toEqual([200, { workers: 1 }]);
    expect(api.callsTo("changeConfig")[0]?.slice(0, 3)).toEqual(["put", "", { workers: 1 }]);
  });

  it("PATCH with an object passes 'merge-patch' and a YAML body parsed", async () => {
    const res = await request(app)
      .patch("/v1/config/cache")
      .set("Content-Type", "application/yaml")
      .send("size-max: 200M\n");
    expect([res.status, res.body]).toEqual([200, { "size-max": "200M" }]);
    expect(api.callsTo("changeConfig")[0]?.slice(0, 3)).toEqual([
      "merge-patch",
      "/cache",
      { "size-max": "200M" },
    ]);
  });

  it("reads a body without Content-Type as YAML or JSON", async () => {
    // supertest would label a string as a form; this request has no Content-Type at all.
    await request(app).put("/v1/config/workers").send("4").unset("Content-Type").expect(200);
    expect(api.callsTo("changeConfig")[0]?.[2]).toBe(4);
  });

  it("DELETE answers 200 (as upstream: its kresctl wants exactly 200) with the new ETag and an empty body", async () => {
    const res = await request(app).delete("/v1/config/cache");
    expect([res.status, res.headers.etag, res.text]).toEqual([200, quoted(api.etag), ""]);
    expect(res.headers["content-length"]).toBe("0");
    expect(api.callsTo("changeConfig")).toEqual([
      [
        "delete",
        "/cache",
        undefined,
        { ifMatch: undefined, ifNoneMatch: undefined },
        "DELETE /v1/config/cache",
      ],
    ]);
    expect(api.document).not.toHaveProperty("cache");
  });

  it("percent-decodes the pointer of a change, and names the change by its raw path", async () => {
    await request(app).put("/v1/config/local-data/a%20b").set(json).send('"x"').expect(200);
    expect(api.callsTo("changeConfig")[0]?.[1]).toBe("/local-data/a b");
    expect(api.callsTo("changeConfig")[0]?.[4]).toBe("PUT /v1/config/local-data/a%20b");
  });

  it("answers 400 to a change on a path that is not valid percent-encoding", async () => {
    const res = await request(app).put("/v1/config/%E0%A4%A").set(json).send("1");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "Failed to decode param '/%E0%A4%A'" });
    expect(api.calls).toEqual([]);
  });

  it.each(["__proto__", "constructor", "prototype"])(
    "answers 400 to a PUT that would write the key %s",
    async (key) => {
      const res = await request(app).put(`/v1/config/${key}`).set(json).send('{"workers": 9}');
      expect([res.status, res.body]).toEqual([
        400,
        { error: `/${key}: '${key}' is reserved and cannot be written` },
      ]);
      expect(Object.keys(api.document)).not.toContain(key);
      expect(api.document.workers).toBe(2);
    },
  );

  it("answers 405 with Allow to DELETE of the whole config", async () => {
    const res = await request(app).delete("/v1/config");
    expect([res.status, res.headers.allow]).toEqual([405, "GET, HEAD, PUT, PATCH"]);
    expect(res.body).toEqual({
      error: "DELETE is not allowed on /v1/config; allowed: GET, HEAD, PUT, PATCH",
    });
    expect(api.calls).toEqual([]);
  });

  it.each(["POST", "OPTIONS"])("answers 405 with Allow to %s on a config path", async (method) => {
    const res = await request(app)[method.toLowerCase() as "post" | "options"]("/v1/config/workers");
    expect([res.status, res.headers.allow]).toEqual([405, "GET, HEAD, PUT, PATCH, DELETE"]);
    expect(api.calls).toEqual([]);
  });

  it("passes If-Match and If-None-Match on as the change's conditions", async () => {
    await request(app)
      .put("/v1/config/workers")
      .set(json)
      .set("If-Match", quoted(api.etag))
      .set("If-None-Match", '"other"')
      .send("3")
      .expect(200);
    expect(api.callsTo("changeConfig")[0]?.[3]).toEqual({
      ifMatch: expect.stringMatching(/^"/),
      ifNoneMatch: '"other"',
    });
  });

  it("answers 412 when If-Match does not match", async () => {
    const etag = api.etag;
    const res = await request(app).put("/v1/config/workers").set(json).set("If-Match", '"stale"').send("3");
    expect(res.status).toBe(412);
    expect(res.body).toEqual({ error: `If-Match does not match the current configuration (ETag "${etag}")` });
    expect(api.document.workers).toBe(2);
  });

  it("answers 412 to a change when If-None-Match is *", async () => {
    const res = await request(app).put("/v1/config/workers").set(json).set("If-None-Match", "*").send("3");
    expect(res.status).toBe(412);
    expect(res.body.error).toMatch(/^If-None-Match matches the current configuration/);
  });

  it("answers 413 to a body over the limit, before anything is parsed", async () => {
    const res = await request(app)
      .put("/v1/config/nsid")
      .set(json)
      .send(JSON.stringify("x".repeat(4 * 1024 * 1024)));
    expect(res.status).toBe(413);
    expect(res.body).toEqual({ error: "request body larger than the limit of 4mb" });
    expect(api.calls).toEqual([]);
  });

  it("answers 415 to an unsupported content type", async () => {
    const res = await request(app)
      .put("/v1/config/workers")
      .set("Content-Type", "application/xml")
      .send("<w/>");
    expect(res.status).toBe(415);
    expect(res.body).toEqual({
      error: `unsupported media type 'application/xml'; accepted: ${ACCEPTED_MEDIA_TYPES.join(", ")}`,
    });
    expect(api.calls).toEqual([]);
  });

  it("answers 400 with line and column to malformed JSON", async () => {
    const res = await request(app).put("/v1/config/workers").set(json).send('{"a":\n  nope}');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: expect.stringMatching(/^malformed request body: invalid JSON at line 2, column 4: /),
      line: 2,
      column: 4,
    });
    expect(api.calls).toEqual([]);
  });

  it("answers 400 with line and column to malformed YAML", async () => {
    const res = await request(app)
      .put("/v1/config/cache")
      .set("Content-Type", "application/yaml")
      .send("a: 1\nb: [\n");
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: expect.stringMatching(/^malformed request body: invalid YAML at line \d+, column \d+: /),
      line: expect.any(Number),
      column: expect.any(Number),
    });
  });

  it("answers 400 to an empty body", async () => {
    const res = await request(app).put("/v1/config/workers").set(json).send("");
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: "malformed request body: empty body", line: 1, column: 1 });
  });

  it("passes the body parser's own 4xx on with its message", async () => {
    const res = await request(app)
      .put("/v1/config/workers")
      .set(json)
      .set("Content-Encoding", "bogus")
      .send("3");
    expect(res.status).toBe(415);
    expect(res.body).toEqual({ error: 'unsupported content encoding "bogus"' });
    expect(api.calls).toEqual([]);
  });
});

describe("PATCH: a JSON Patch (RFC 6902) or a merge patch (RFC 7396)", () => {
  const patchJson = { "content-type": "application/json-patch+json" };

  /** The config and its ETag, to see that a refused patch changed neither. */
  const state = () => ({ document: structuredClone(api.document), etag: api.etag });

  it("takes a JSON array as a JSON Patch relative to the path, and answers 200 with the new value and ETag", async () => {
    const before = api.etag;
    const res = await request(app)
      .patch("/v1/config/cache")
      .set(json)
      .send(
        '[{"op": "test", "path": "/size-max", "value": "100M"}, {"op": "replace", "path": "/size-max", "value": "1G"}]',
      );
    expect([res.status, res.body]).toEqual([200, { "size-max": "1G" }]);
    expect(res.headers.etag).toBe(quoted(api.etag));
    expect(res.headers.etag).not.toBe(quoted(before));
    expect(api.callsTo("changeConfig")[0]?.slice(0, 3)).toEqual([
      "json-patch",
      "/cache",
      [
        { op: "test", path: "/size-max", value: "100M" },
        { op: "replace", path: "/size-max", value: "1G" },
      ],
    ]);
  });

  it("takes upstream's form: PATCH /v1/config with paths from the config's root", async () => {
    const res = await request(app)
      .patch("/v1/config")
      .set(json)
      .send(
        '[{"op": "add", "path": "/local-data/addresses", "value": {"a.test.": "192.0.2.1"}}, {"op": "remove", "path": "/cache"}]',
      );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ workers: 2, "local-data": { addresses: { "a.test.": "192.0.2.1" } } });
  });

  it("takes application/json-patch+json, and a YAML list without a Content-Type, as a JSON Patch", async () => {
    await request(app)
      .patch("/v1/config/workers")
      .set(patchJson)
      .send('[{"op": "replace", "path": "", "value": 3}]')
      .expect(200, "3");
    await request(app)
      .patch("/v1/config/workers")
      .send("- op: replace\n  path: ''\n  value: 4\n")
      .unset("Content-Type")
      .expect(200, "4");
    expect(api.callsTo("changeConfig").map((c) => c[0])).toEqual(["json-patch", "json-patch"]);
  });

  it("takes application/merge-patch+json as a merge patch, even an array (which replaces the value)", async () => {
    api.document.list = [1];
    await request(app)
      .patch("/v1/config/list")
      .set("Content-Type", "application/merge-patch+json")
      .send('[{"op": "remove", "path": ""}]')
      .expect(200, [{ op: "remove", path: "" }]);
    expect(api.callsTo("changeConfig")[0]?.[0]).toBe("merge-patch");
  });

  it("answers 200 with the ETag and an empty body when the patch removed what the path names", async () => {
    const res = await request(app).patch("/v1/config/cache").set(json).send('[{"op": "remove", "path": ""}]');
    expect([res.status, res.text, res.headers.etag]).toEqual([200, "", quoted(api.etag)]);
    expect(api.document).not.toHaveProperty("cache");
  });

  it("answers a failed test with 409 naming the operation and its path; nothing changes", async () => {
    const before = state();
    const res = await request(app)
      .patch("/v1/config")
      .set(json)
      .send(
        '[{"op": "replace", "path": "/workers", "value": 4}, {"op": "test", "path": "/workers", "value": 2}]',
      );
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      error: "JSON Patch operation 1 (test /workers) failed: /workers is 4, not 2",
      operation: 1,
      op: "test",
      path: "/workers",
    });
    expect(state()).toEqual(before);
  });

  it("answers an operation that cannot apply with 409 and the pointer's reason; nothing changes", async () => {
    const before = state();
    const res = await request(app)
      .patch("/v1/config")
      .set(json)
      .send('[{"op": "replace", "path": "/workers", "value": 4}, {"op": "remove", "path": "/nope"}]');
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      error: "JSON Patch operation 1 (remove /nope) failed: /nope: no value at 'nope'",
      operation: 1,
      op: "remove",
      path: "/nope",
    });
    expect(state()).toEqual(before);
  });

  it.each([
    [
      "an unknown op",
      '[{"op": "merge", "path": "/workers"}]',
      "JSON Patch operation 0: 'op' must be one of add, remove, replace, move, copy, test, not \"merge\"",
    ],
    [
      "an op without its value",
      '[{"op": "test", "path": "/workers", "value": 2}, {"op": "add", "path": "/workers"}]',
      "JSON Patch operation 1 (add /workers): 'value' is missing",
    ],
    [
      "a path that is no pointer",
      '[{"op": "remove", "path": "workers"}]',
      "JSON Patch operation 0 (remove): 'path' \"workers\" is not a JSON pointer (it must be empty or start with '/')",
    ],
    [
      "a reserved key",
      '[{"op": "add", "path": "/__proto__", "value": {"workers": 9}}]',
      "JSON Patch operation 0 (add /__proto__): /__proto__: '__proto__' is reserved and cannot be written",
    ],
  ])(
    "answers a malformed patch (%s) with 400 naming the operation; nothing changes",
    async (_name, patch, error) => {
      const before = state();
      const res = await request(app).patch("/v1/config").set(json).send(patch);
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error, operation: expect.any(Number) });
      expect(error).toContain(`operation ${res.body.operation}`);
      expect(state()).toEqual(before);
    },
  );

  it("answers application/json-patch+json that is no array with 400", async () => {
    const res = await request(app).patch("/v1/config").set(patchJson).send('{"workers": 3}');
    expect([res.status, res.body]).toEqual([
      400,
      { error: "a JSON Patch must be an array of operations (RFC 6902)" },
    ]);
    expect(api.document.workers).toBe(2);
  });

  it("answers a JSON Patch whose If-Match is stale with 412, before any operation runs", async () => {
    const res = await request(app)
      .patch("/v1/config")
      .set(json)
      .set("If-Match", '"stale"')
      .send('[{"op": "test", "path": "/workers", "value": 99}]');
    expect(res.status).toBe(412);
  });
});

describe("actions", () => {
  it.each([
    ["/reload", "reload", false],
    ["/reload/force", "reload", true],
    ["/renew", "renew", false],
    ["/renew/force", "renew", true],
  ] as const)(
    "POST %s calls %s(force: %s) named by the request and answers its result",
    async (path, method, force) => {
      const res = await request(app).post(path);
      expect(res.status).toBe(200);
      expect(res.body).toEqual(method === "reload" ? { changed: force, etag: api.etag } : { etag: api.etag });
      expect(api.calls).toEqual([[method, force, `POST ${path}`]]);
    },
  );

  it("POST /stop answers 200, then calls stop once", async () => {
    const res = await request(app).post("/stop");
    expect([res.status, res.body]).toEqual([200, { msg: "stopping the resolver" }]);
    // stop() runs when the answer is finished, which may be a moment after the client has it.
    for (let i = 0; i < 100 && api.calls.length === 0; i++) await new Promise((r) => setImmediate(r));
    expect(api.calls).toEqual([["stop"]]);
  });

  it("POST /cache/clear without a body clears with every default (undefined)", async () => {
    const res = await request(app).post("/cache/clear");
    expect([res.status, res.body]).toEqual([200, { count: 7 }]);
    expect(api.calls).toEqual([["clearCache", undefined]]);
  });

  it("POST /cache/clear with a blank body is the same as none", async () => {
    await request(app).post("/cache/clear").set(json).send("  \n").expect(200);
    expect(api.calls).toEqual([["clearCache", undefined]]);
  });

  it("POST /cache/clear passes a JSON or YAML body parsed", async () => {
    await request(app).post("/cache/clear").set(json).send('{"name": "example.com."}').expect(200);
    await request(app)
      .post("/cache/clear")
      .set("Content-Type", "text/yaml")
      .send("exact-name: true\n")
      .expect(200);
    expect(api.callsTo("clearCache")).toEqual([[{ name: "example.com." }], [{ "exact-name": true }]]);
  });

  it("POST /cache/clear passes null members on as sent (the service takes them as absent)", async () => {
    const body = { "exact-name": false, name: null, "rr-type": null, "chunk-size": 100 };
    await request(app).post("/cache/clear").set(json).send(JSON.stringify(body)).expect(200, { count: 7 });
    expect(api.callsTo("clearCache")).toEqual([[body]]);
  });

  it("POST /cache/clear answers 400 to a malformed body and 415 to an unsupported type", async () => {
    await request(app).post("/cache/clear").set(json).send("{").expect(400);
    await request(app).post("/cache/clear").set("Content-Type", "image/png").send("x").expect(415);
    expect(api.calls).toEqual([]);
  });
});

describe("reports", () => {
  it("GET /schema answers the JSON Schema", async () => {
    const res = await request(app).get("/schema");
    expect([res.status, res.body]).toEqual([200, SCHEMA]);
  });

  it("GET /metrics moves permanently (301) to /metrics/json", async () => {
    const res = await request(app).get("/metrics");
    expect([res.status, res.headers.location]).toEqual([301, "/metrics/json"]);
    expect(api.calls).toEqual([]);
  });

  it("GET /metrics/json answers the workers' statistics", async () => {
    const res = await request(app).get("/metrics/json");
    expect([res.status, res.body]).toEqual([200, METRICS]);
  });

  it("GET /metrics/prometheus answers the text exposition format with its content type", async () => {
    const res = await request(app).get("/metrics/prometheus");
    expect([res.status, res.headers["content-type"], res.text]).toEqual([
      200,
      PROMETHEUS_CONTENT_TYPE,
      PROMETHEUS_TEXT,
    ]);
  });

  it("GET /processes lists all processes", async () => {
    const res = await request(app).get("/processes");
    expect([res.status, res.body]).toEqual([200, PROCESSES]);
    expect(api.calls).toEqual([["processes", "all"]]);
  });

  it.each(["kresd", "gc", "all"] as const)("GET /processes/%s lists those processes", async (filter) => {
    const res = await request(app).get(`/processes/${filter}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual(PROCESSES.filter((p) => filter === "all" || p.type === filter));
    expect(api.calls).toEqual([["processes", filter]]);
  });

  it("answers 404 to an unknown process filter", async () => {
    const res = await request(app).get("/processes/nope");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: "unknown process filter 'nope'; use kresd, gc or all" });
    expect(api.calls).toEqual([]);
  });
});

describe("routes and methods", () => {
  const postOnly = ["/reload", "/reload/force", "/renew", "/renew/force", "/stop", "/cache/clear"];
  const getOnly = [
    "/schema",
    "/metrics",
    "/metrics/json",
    "/metrics/prometheus",
    "/processes",
    "/processes/kresd",
  ];

  it.each(postOnly.flatMap((path) => ["GET", "PUT", "DELETE"].map((method) => [method, path])))(
    "answers 405 with Allow: POST to %s %s",
    async (method, path) => {
      const res = await request(app)[method.toLowerCase() as "get" | "put" | "delete"](path);
      expect([res.status, res.headers.allow]).toEqual([405, "POST"]);
      expect(res.body).toEqual({ error: `${method} is not allowed on ${path}; allowed: POST` });
      expect(api.calls).toEqual([]);
    },
  );

  it.each(getOnly.flatMap((path) => ["POST", "PUT", "DELETE"].map((method) => [method, path])))(
    "answers 405 with Allow: GET, HEAD to %s %s",
    async (method, path) => {
      const res = await request(app)[method.toLowerCase() as "post" | "put" | "delete"](path);
      expect([res.status, res.headers.allow]).toEqual([405, "GET, HEAD"]);
      expect(api.calls).toEqual([]);
    },
  );

  it.each([
    ["GET", "/no/such/endpoint"],
    ["POST", "/v1"],
    ["GET", "/v1/configuration"],
    ["GET", "/reload/now"],
  ])("answers 404 to %s %s", async (method, path) => {
    const res = await request(app)[method.toLowerCase() as "get" | "post"](path);
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: `no such endpoint: ${method} ${path}` });
  });

  it("sends no X-Powered-By header", async () => {
    const res = await request(app).get("/");
    expect(res.headers["x-powered-by"]).toBeUndefined();
  });
});

describe("errors from the API", () => {
  const problems = [{ pointer: "/workers", message: "expected a number" }];
  const answers: [string, unknown, number, Record<string, unknown>][] = [
    [
      "ConfigValidationError",
      new ConfigValidationError(problems),
      422,
      { error: "the configuration is invalid", details: ["/workers: expected a number"], problems },
    ],
    [
      "ConfigParseError",
      new ConfigParseError("bad YAML", "config.yaml"),
      422,
      { error: "config.yaml: bad YAML" },
    ],
    ["ChangeRefused", new ChangeRefused("refused"), 422, { error: "refused" }],
    [
      "ChangeRefused with problems",
      new ChangeRefused("cannot change at run time", [{ pointer: "/rundir", message: "fixed" }]),
      422,
      {
        error: "cannot change at run time",
        details: ["/rundir: fixed"],
        problems: [{ pointer: "/rundir", message: "fixed" }],
      },
    ],
    [
      "ChangeRefused with the worker's output",
      new ChangeRefused("canary kresd: no", [{ pointer: "/lua", message: "x" }], ["line 1", "line 2"]),
      422,
      {
        error: "canary kresd: no",
        details: ["line 1", "line 2"],
        problems: [{ pointer: "/lua", message: "x" }],
      },
    ],
    [
      "PreconditionFailed",
      new PreconditionFailed("If-Match does not match"),
      412,
      { error: "If-Match does not match" },
    ],
    ["ApplyFailed", new ApplyFailed("kresd1 died", true), 500, { error: "kresd1 died", restored: true }],
    [
      "ControllerUnavailable",
      new ControllerUnavailable("ECONNREFUSED"),
      503,
      { error: "cannot reach supervisord: ECONNREFUSED" },
    ],
    ["CacheClearFailed", new CacheClearFailed("no running worker"), 500, { error: "no running worker" }],
    [
      "InvalidCacheClearRequest",
      new InvalidCacheClearRequest([{ pointer: "/rr-type", message: "unknown" }]),
      400,
      {
        error: "invalid cache clear request: /rr-type: unknown",
        details: ["/rr-type: unknown"],
        problems: [{ pointer: "/rr-type", message: "unknown" }],
      },
    ],
    [
      "BodyParseError",
      new BodyParseError("invalid YAML", 3, 4),
      400,
      { error: "malformed request body: invalid YAML", line: 3, column: 4 },
    ],
    [
      "UnsupportedMediaType",
      new UnsupportedMediaType("text/html"),
      415,
      { error: `unsupported media type 'text/html'; accepted: ${ACCEPTED_MEDIA_TYPES.join(", ")}` },
    ],
    [
      "JsonPointerError",
      new JsonPointerError("/a", "no value at 'a'"),
      404,
      { error: "no such configuration path: /a: no value at 'a'" },
    ],
    [
      "ReservedKeyError",
      new ReservedKeyError("/__proto__", "__proto__"),
      400,
      { error: "/__proto__: '__proto__' is reserved and cannot be written" },
    ],
    [
      "InvalidJsonPatch",
      new InvalidJsonPatch("JSON Patch operation 2: bad", 2),
      400,
      { error: "JSON Patch operation 2: bad", operation: 2 },
    ],
    [
      "JsonPatchConflict",
      new JsonPatchConflict(1, "remove", "/a", "/a: no value at 'a'"),
      409,
      {
        error: "JSON Patch operation 1 (remove /a) failed: /a: no value at 'a'",
        operation: 1,
        op: "remove",
        path: "/a",
      },
    ],
    [
      "JsonPatchTestFailed",
      new JsonPatchTestFailed(0, "test", "", "the value is 1, not 2"),
      409,
      {
        error: 'JSON Patch operation 0 (test "") failed: the value is 1, not 2',
        operation: 0,
        op: "test",
        path: "",
      },
    ],
  ];

  it.each(answers)("answers %s with its status and body", async (_name, error, status, body) => {
    api.failWith = error;
    const res = await request(app).post("/reload");
    expect([res.status, res.body]).toEqual([status, body]);
  });

  it("maps an error a synchronous call throws the same way", async () => {
    api.failWith = new ControllerUnavailable("gone");
    const res = await request(app).get("/schema");
    expect([res.status, res.body]).toEqual([503, { error: "cannot reach supervisord: gone" }]);
  });

  it.each([
    ["SubprocessError", new SubprocessError("kresd:kresd0", "spawn error")],
    ["SupervisordFault", new SupervisordFault("supervisor.startProcess", 50, "SPAWN_ERROR")],
    ["SupervisordUnreachable", new SupervisordUnreachable("supervisor.getState", "ECONNREFUSED")],
    ["WorkerGone", new WorkerGone("kresd0 is gone")],
    ["StatisticsFormatError", new StatisticsFormatError("not statistics")],
    ["NestingTooDeep", new NestingTooDeep()],
    ["TooManyValues", new TooManyValues()],
    ["an Error", new Error("secret detail")],
    ["a thrown string", "secret detail"],
  ])("answers %s with 500 and no detail, and logs it", async (_name, error) => {
    const logged = jest.spyOn(logger, "error");
    try {
      api.failWith = error;
      const res = await request(app).get("/metrics/json");
      expect([res.status, res.body]).toEqual([500, { error: "internal error; see the manager's log" }]);
      expect(logged).toHaveBeenCalledTimes(1);
      const line = String(logged.mock.calls[0]?.[0]);
      expect(line).toContain("GET /metrics/json: ");
      expect(line).toContain(error instanceof Error ? error.message : String(error));
    } finally {
      logged.mockRestore();
    }
  });

  it("logs a client's error at info level, not as an error", async () => {
    const info = jest.spyOn(logger, "info");
    const error = jest.spyOn(logger, "error");
    try {
      await request(app).get("/v1/config/nope").expect(404);
      expect(info).toHaveBeenCalledWith(
        "GET /v1/config/nope: 404 no such configuration path: /nope: no value at 'nope'",
      );
      expect(error).not.toHaveBeenCalled();
    } finally {
      info.mockRestore();
      error.mockRestore();
    }
  });
});

describe("persisting a change (?persist=)", () => {
  it("passes ?persist=true and ?persist=false on to the change, on PUT, PATCH and DELETE", async () => {
    await request(app).put("/v1/config/workers?persist=true").set(json).send("3").expect(200);
    await request(app)
      .patch("/v1/config/cache?persist=false")
      .set(json)
      .send('{"size-max":"1G"}')
      .expect(200);
    await request(app).delete("/v1/config/cache?persist=true").expect(200);
    expect(api.callsTo("changeConfig").map(([op, , , , source, persist]) => [op, source, persist])).toEqual([
      ["put", "PUT /v1/config/workers", true],
      ["merge-patch", "PATCH /v1/config/cache", false],
      ["delete", "DELETE /v1/config/cache", true],
    ]);
  });

  it("leaves the default to the manager when the request says nothing", async () => {
    await request(app).put("/v1/config/workers").set(json).send("3").expect(200);
    expect(api.callsTo("changeConfig")[0]).toHaveLength(5);
  });

  it("answers 400 to a persist value other than true or false, changing nothing", async () => {
    const res = await request(app).put("/v1/config/workers?persist=yes").set(json).send("3");
    expect(res.status).toBe(400);
    expect(res.body.message ?? res.body.error).toMatch(/persist.*true or false/);
    expect(api.callsTo("changeConfig")).toEqual([]);
  });

  it("answers 507 naming the file when the file cannot take the change, 500 with the new ETag when it ran but was not written", async () => {
    api.failWith = new PersistRefused(
      "not changed: cannot write /etc/kr/config.yaml: EROFS (read-only file system)",
    );
    const refused = await request(app).put("/v1/config/workers?persist=true").set(json).send("3");
    expect(refused.status).toBe(507);
    expect(JSON.stringify(refused.body)).toContain("/etc/kr/config.yaml: EROFS");
    api.failWith = new PersistIncomplete(
      "the change was applied and runs (ETag abc), but it is not persisted",
      "abc",
    );
    const incomplete = await request(app).put("/v1/config/workers?persist=true").set(json).send("3");
    expect(incomplete.status).toBe(500);
    expect(incomplete.body).toMatchObject({ applied: true, etag: "abc" });
  });
});

describe("dry runs (?dry-run=)", () => {
  it("answer 200 with the plan under the current ETag, on PUT, PATCH and DELETE, and change nothing", async () => {
    const etag = api.etag;
    const document = structuredClone(api.document);
    const put = await request(app).put("/v1/config/workers?dry-run=true").set(json).send("3");
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe(quoted(etag));
    expect(put.body).toMatchObject({
      "dry-run": "true",
      etag,
      changed: true,
      changes: [{ pointer: "/workers", op: "replace", old: 2, new: 3 }],
    });
    expect(put.body["new-etag"]).not.toBe(etag);
    const patch = await request(app)
      .patch("/v1/config/cache?dry-run=canary")
      .set(json)
      .send('{"size-max":"1G"}');
    expect(patch.status).toBe(200);
    expect(patch.body).toMatchObject({ "dry-run": "canary", canary: { ok: true } });
    const del = await request(app).delete("/v1/config/local-data?dry-run=true");
    expect(del.status).toBe(200);
    expect(del.body.changes).toEqual([{ pointer: "/local-data", op: "remove", old: {} }]);
    expect(
      api.callsTo("planChange").map(([op, pointer, , , mode, source]) => [op, pointer, mode, source]),
    ).toEqual([
      ["put", "/workers", "true", "PUT /v1/config/workers"],
      ["merge-patch", "/cache", "canary", "PATCH /v1/config/cache"],
      ["delete", "/local-data", "true", "DELETE /v1/config/local-data"],
    ]);
    expect(api.callsTo("changeConfig")).toEqual([]);
    expect(api.document).toEqual(document);
  });

  it("pass the request's conditions on, and answer their failure as the change would (412)", async () => {
    const res = await request(app)
      .put("/v1/config/workers?dry-run=true")
      .set({ ...json, "if-match": '"stale"' })
      .send("3");
    expect(res.status).toBe(412);
    expect(api.callsTo("planChange")[0]?.[3]).toEqual({ ifMatch: '"stale"', ifNoneMatch: undefined });
  });

  it("answer the errors of the change (a body that does not parse: 400, before any plan)", async () => {
    const res = await request(app).put("/v1/config/workers?dry-run=true").set(json).send("{");
    expect(res.status).toBe(400);
    expect(api.callsTo("planChange")).toEqual([]);
  });

  it("are a change again with ?dry-run=false", async () => {
    await request(app).put("/v1/config/workers?dry-run=false").set(json).send("3").expect(200);
    expect(api.callsTo("changeConfig")).toHaveLength(1);
    expect(api.callsTo("planChange")).toEqual([]);
  });

  it("answer 400 naming the parameter to any other value, changing nothing", async () => {
    for (const [method, url] of [
      ["put", "/v1/config/workers?dry-run=yes"],
      ["post", "/reload?dry-run=1"],
      ["post", "/reload/force?dry-run="],
    ] as const) {
      const res = await request(app)[method](url).set(json).send("3");
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/'dry-run' must be true, canary or false/);
    }
    expect(api.calls.map(([m]) => m)).toEqual([]);
  });

  it("of POST /reload and /reload/force plan the reload, forced or not", async () => {
    const res = await request(app).post("/reload?dry-run=true");
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe(quoted(api.etag));
    expect(res.body).toMatchObject({ "dry-run": "true", changed: false, changes: [] });
    const forced = await request(app).post("/reload/force?dry-run=canary");
    expect(forced.body).toMatchObject({ "dry-run": "canary", changed: true });
    expect(api.callsTo("planReload")).toEqual([
      [false, "true", "POST /reload"],
      [true, "canary", "POST /reload/force"],
    ]);
    expect(api.callsTo("reload")).toEqual([]);
  });

  it("answer a plan refused by the manager with its status (422)", async () => {
    api.failWith = new ChangeRefused("the change touches settings fixed at start: /rundir");
    const res = await request(app).put("/v1/config/rundir?dry-run=true").set(json).send('"/x"');
    expect(res.status).toBe(422);
    expect(res.body.error).toMatch(/fixed at start/);
  });
});

describe("the fleet (/v1/fleet…)", () => {
  it("GET /v1/fleet answers the fleet status", async () => {
    const res = await request(app).get("/v1/fleet");
    expect(res.status).toBe(200);
    expect(res.body).toEqual(FLEET_STATUS);
  });

  it("PUT /v1/fleet/config takes the document as text, ?dry-run=true only validates", async () => {
    const yamlText = "workers: 2\n";
    const put = await request(app)
      .put("/v1/fleet/config")
      .set("content-type", "application/yaml")
      .send(yamlText);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ revision: 8, "dry-run": false });
    const dry = await request(app)
      .put("/v1/fleet/config?dry-run=true")
      .set("content-type", "text/plain")
      .send(yamlText);
    expect(dry.body).toMatchObject({ "dry-run": true });
    expect(dry.body.revision).toBeUndefined();
    expect(api.callsTo("fleetApply")).toEqual([
      [yamlText, false, "PUT /v1/fleet/config"],
      [yamlText, true, "PUT /v1/fleet/config"],
    ]);
    const bad = await request(app).put("/v1/fleet/config?dry-run=maybe").send(yamlText);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/'dry-run' must be true or false/);
  });

  it("POST /v1/fleet/rollback takes an optional ?revision=N", async () => {
    expect((await request(app).post("/v1/fleet/rollback")).status).toBe(200);
    expect((await request(app).post("/v1/fleet/rollback?revision=5")).status).toBe(200);
    const bad = await request(app).post("/v1/fleet/rollback?revision=-1");
    expect(bad.status).toBe(400);
    expect(api.callsTo("fleetRollback")).toEqual([
      [undefined, "POST /v1/fleet/rollback"],
      [5, "POST /v1/fleet/rollback"],
    ]);
  });

  it("GET /v1/fleet/history lists the revisions; other methods are 405", async () => {
    expect((await request(app).get("/v1/fleet/history")).body).toEqual([
      expect.objectContaining({ revision: 7, current: true }),
    ]);
    expect((await request(app).get("/v1/fleet/config")).status).toBe(405);
    expect((await request(app).delete("/v1/fleet")).status).toBe(405);
  });

  it("answers 404 on a resolver in no fleet and 503 while etcd is away, with the reason", async () => {
    api.failWith = new NotInFleet("this resolver is in no fleet (its configuration has no 'fleet' section)");
    const none = await request(app).get("/v1/fleet");
    expect(none.status).toBe(404);
    expect(none.body.error).toMatch(/in no fleet/);
    api.failWith = new FleetUnavailable("etcd cannot be reached: timeout; DNS is not affected");
    const away = await request(app).put("/v1/fleet/config").send("workers: 1\n");
    expect(away.status).toBe(503);
    expect(away.body.error).toMatch(/etcd cannot be reached/);
  });
});

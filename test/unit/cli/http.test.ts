/** kresctl's HTTP client against throwaway servers: answers, error answers, and nobody answering. */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { CliError } from "../../../lib/cli/common.js";
import { ApiClient, ApiError, clientFor, ManagerUnreachable } from "../../../lib/cli/http.js";
import type { ApiEndpoint } from "../../../lib/cli/socket.js";

let dir: string;
const servers: net.Server[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-unit-http-"));
});
afterAll(async () => {
  for (const s of servers) {
    if (s instanceof http.Server) s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

function listen<T extends net.Server>(server: T, where: string | { host: string; port: number }): Promise<T> {
  servers.push(server);
  return new Promise((resolve) => server.listen(where, () => resolve(server)));
}

/** An HTTP server on a fresh unix socket, answering with `handler`. */
async function unixServer(name: string, handler: http.RequestListener): Promise<ApiEndpoint> {
  const socket = path.join(dir, name);
  await listen(http.createServer(handler), socket);
  return { target: { kind: "unix", path: socket }, source: "a test" };
}

/** The error a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("ApiClient", () => {
  let echo: ApiEndpoint;
  beforeAll(async () => {
    echo = await unixServer("echo.sock", (req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(
          JSON.stringify({
            method: req.method,
            url: req.url,
            type: req.headers["content-type"] ?? null,
            body,
          }),
        );
      });
    });
  });

  it("sends a JSON body over a unix socket and parses the JSON answer", async () => {
    expect(await new ApiClient(echo).json("PUT", "/v1/config/workers", { body: 3 })).toEqual({
      method: "PUT",
      url: "/v1/config/workers",
      type: "application/json",
      body: "3",
    });
  });

  it("sends a text body with its content type, and no body at all for a bodiless request", async () => {
    const client = new ApiClient(echo);
    expect(await client.json("POST", "/x", { body: "a: 1", contentType: "application/yaml" })).toMatchObject({
      type: "application/yaml",
      body: "a: 1",
    });
    expect(await client.json("GET", "/y")).toMatchObject({ type: null, body: "" });
  });

  it("talks TCP to HOST:PORT", async () => {
    const server = await listen(
      http.createServer((_req, res) => res.end('"over tcp"')),
      { host: "127.0.0.1", port: 0 },
    );
    const { port } = server.address() as net.AddressInfo;
    const client = new ApiClient({ target: { kind: "tcp", host: "127.0.0.1", port }, source: "a test" });
    expect(await client.json("GET", "/")).toBe("over tcp");
  });

  describe("on an error answer", () => {
    let errors: ApiEndpoint;
    beforeAll(async () => {
      errors = await unixServer("errors.sock", (req, res) => {
        if (req.url === "/details") {
          res.writeHead(422, { "content-type": "application/json" });
          res.end(
            JSON.stringify({
              error: "the configuration is invalid",
              details: ["/workers: must be at least 1", "/x: unknown key"],
            }),
          );
        } else if (req.url === "/plain") {
          res.writeHead(502, { "content-type": "text/html" });
          res.end("<html>Bad Gateway</html>\nmore");
        } else {
          res.writeHead(404, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: "no such endpoint: GET /nope" }));
        }
      });
    });

    it("rejects with the server's error and its details, one per line", async () => {
      const e = await failure(new ApiClient(errors).call("PUT", "/details"));
      expect(e).toBeInstanceOf(ApiError);
      expect(e).toBeInstanceOf(CliError);
      expect(e.message).toBe(
        "the configuration is invalid\n  /workers: must be at least 1\n  /x: unknown key",
      );
      expect((e as ApiError).status).toBe(422);
      expect((await failure(new ApiClient(errors).json("GET", "/nope"))).message).toBe(
        "no such endpoint: GET /nope",
      );
    });

    it("names the status and the first line of a body that is not the API's JSON", async () => {
      expect((await failure(new ApiClient(errors).call("GET", "/plain"))).message).toBe(
        "HTTP 502 Bad Gateway: <html>Bad Gateway</html>",
      );
    });

    it("send() resolves with error answers as they are", async () => {
      expect(await new ApiClient(errors).send("GET", "/nope")).toMatchObject({ status: 404 });
    });
  });

  it("rejects a 2xx answer that should be JSON and is not", async () => {
    const ep = await unixServer("not-json.sock", (_req, res) => res.end("hello"));
    expect((await failure(new ApiClient(ep).json("GET", "/"))).message).toBe(
      "GET /: the manager answered with something that is not JSON",
    );
  });

  describe("when no manager answers", () => {
    it("says which socket it tried, why, and where the choice came from (missing socket)", async () => {
      const socket = path.join(dir, "missing.sock");
      const e = await failure(
        new ApiClient({ target: { kind: "unix", path: socket }, source: "the default" }).call("GET", "/"),
      );
      expect(e).toBeInstanceOf(ManagerUnreachable);
      expect(e.message).toBe(
        `cannot reach the management API at unix socket ${socket} (the default): no such socket (ENOENT); is the resolver running?`,
      );
    });

    it("reports a socket file nobody listens on (left by a dead manager) as connection refused", async () => {
      const socket = path.join(dir, "stale.sock");
      // Bound, never listened on: the file a killed server leaves (node removes its own on close).
      execFileSync("/usr/bin/python3", [
        "-c",
        "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])",
        socket,
      ]);
      const e = await failure(
        new ApiClient({ target: { kind: "unix", path: socket }, source: "--socket" }).call("GET", "/"),
      );
      expect(e).toBeInstanceOf(ManagerUnreachable);
      expect(e.message).toBe(
        `cannot reach the management API at unix socket ${socket} (--socket): connection refused (ECONNREFUSED); is the resolver running?`,
      );
    });

    it("reports a closed TCP port as connection refused", async () => {
      const probe = await listen(net.createServer(), { host: "127.0.0.1", port: 0 });
      const { port } = probe.address() as net.AddressInfo;
      await new Promise((resolve) => probe.close(resolve));
      servers.splice(servers.indexOf(probe), 1);
      const e = await failure(
        new ApiClient({ target: { kind: "tcp", host: "127.0.0.1", port }, source: "--socket" }).call(
          "GET",
          "/",
        ),
      );
      expect(e.message).toBe(
        `cannot reach the management API at http://127.0.0.1:${port} (--socket): connection refused (ECONNREFUSED); is the resolver running?`,
      );
    });

    it("gives up on a manager that accepts but never answers, after the timeout", async () => {
      const ep = await unixServer("silent.sock", () => {});
      // Without the timeout this would wait forever: the test's own timeout would fail it.
      const e = await failure(new ApiClient(ep, 300).call("POST", "/reload"));
      expect(e).toBeInstanceOf(CliError);
      expect(e.message).toBe(
        `no answer to POST /reload from unix socket ${path.join(dir, "silent.sock")} within 0.3 s; the operation may still complete, see the resolver's log`,
      );
    });

    it("reports a connection cut before the answer", async () => {
      const ep = await unixServer("cut.sock", (req) => req.socket.destroy());
      const e = await failure(new ApiClient(ep).call("GET", "/"));
      expect(e).toBeInstanceOf(CliError);
      expect(e.message).toMatch(/^connection to unix socket .*cut\.sock lost: /);
    });
  });
});

describe("clientFor: the API token", () => {
  const TOKEN = "0123456789abcdef0123456789abcdef";
  let tcpAt: string;
  let unixAt: string;
  const seen: (string | null)[] = [];
  beforeAll(async () => {
    const handler: http.RequestListener = (req, res) => {
      seen.push(req.headers.authorization ?? null);
      res.end("{}");
    };
    const server = await listen(http.createServer(handler), { host: "127.0.0.1", port: 0 });
    tcpAt = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    unixAt = path.join(dir, "token.sock");
    await listen(http.createServer(handler), unixAt);
  });
  beforeEach(() => (seen.length = 0));

  const tokenFile = (text: string): string => {
    const p = path.join(dir, "api.token");
    fs.writeFileSync(p, text);
    return p;
  };

  it("sends 'Authorization: Bearer <token>' over TCP, read from the token file", async () => {
    const env = { KRES_MANAGER_TOKEN_FILE: tokenFile(`${TOKEN}\n`) };
    await clientFor({ socket: tcpAt }, env).json("GET", "/");
    expect(seen).toEqual([`Bearer ${TOKEN}`]);
  });

  it("sends no token on the unix socket", async () => {
    const env = { KRES_MANAGER_TOKEN_FILE: tokenFile(TOKEN) };
    await clientFor({ socket: unixAt }, env).json("GET", "/");
    expect(seen).toEqual([null]);
  });

  it("refuses an unusable token file with a CliError naming it and who named it", () => {
    const env = { KRES_MANAGER_TOKEN_FILE: tokenFile("") };
    expect(() => clientFor({ socket: tcpAt }, env)).toThrow(CliError);
    expect(() => clientFor({ socket: tcpAt }, env)).toThrow(
      /api\.token cannot be used: it is empty \(named by \$KRES_MANAGER_TOKEN_FILE\)/,
    );
  });
});

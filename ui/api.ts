/**
 * The dashboard talks to the management API over HTTP like kresctl: same routes, same token. The
 * token (needed on a TCP interface with management/token-file, and by `kresctl ui`'s proxy) comes
 * in the URL's fragment (`/ui/#token=…`, never sent to any server), is kept for this tab only
 * (sessionStorage) and removed from the address bar at once.
 */

const TOKEN_KEY = "knot-resolver-token";

/** Moves a `token=` from the URL fragment to sessionStorage; the rest of the fragment stays. */
export function takeTokenFromUrl(): void {
  const params = new URLSearchParams(location.hash.slice(1));
  const token = params.get("token");
  if (token === null) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  params.delete("token");
  const rest = [...params.keys()].map((k) => (params.get(k) === "" ? k : `${k}=${params.get(k)}`)).join("&");
  history.replaceState(null, "", `${location.pathname}${location.search}${rest ? `#${rest}` : ""}`);
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

function authHeaders(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** An answer of the API: status, ETag, the parsed JSON body (undefined when there is none). */
export interface Answer<T = unknown> {
  status: number;
  ok: boolean;
  etag: string | null;
  body: T;
}

/** The API's error body (lib/utils/errors.ts ErrorBody and what its subclasses add). */
export interface ErrorBody {
  error: string;
  details?: string[];
  problems?: { pointer: string; message: string }[];
  line?: number;
  column?: number;
}

export interface RequestOptions {
  body?: string;
  contentType?: string;
  ifMatch?: string;
}

/** Listeners told when the API wants a token (401). */
const unauthorized = new Set<() => void>();
export function onUnauthorized(f: () => void): () => void {
  unauthorized.add(f);
  return () => unauthorized.delete(f);
}

export async function call<T = unknown>(
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<Answer<T>> {
  const headers: Record<string, string> = { Accept: "application/json", ...authHeaders() };
  if (opts.body !== undefined) headers["Content-Type"] = opts.contentType ?? "application/json";
  if (opts.ifMatch !== undefined) headers["If-Match"] = opts.ifMatch;
  const res = await fetch(path, { method, headers, body: opts.body, cache: "no-store" });
  const text = await res.text();
  let body: unknown = undefined;
  if (text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      body = { error: text.slice(0, 500) };
    }
  }
  if (res.status === 401) for (const f of unauthorized) f();
  return { status: res.status, ok: res.ok, etag: res.headers.get("ETag"), body: body as T };
}

/** An ETag without its quotes: GET / reports it bare, the ETag header quoted. */
export function bareEtag(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"|"$/g, "");
}

/** The message of an error answer, with its detail lines. */
export function errorText(a: Answer): string {
  const b = a.body as ErrorBody | undefined;
  if (b && typeof b.error === "string") return [b.error, ...(b.details ?? [])].join("\n");
  return `HTTP ${a.status}`;
}

/**
 * GET /v1/stream read with fetch (an EventSource cannot send the token), reconnecting after a
 * pause when the connection drops. Returns the function that closes it.
 */
export function openStream(
  onEvent: (event: string, data: unknown) => void,
  onConnected: (connected: boolean) => void,
): () => void {
  let closed = false;
  let controller: AbortController | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const connect = async () => {
    controller = new AbortController();
    try {
      const res = await fetch("/v1/stream", {
        headers: { Accept: "text/event-stream", ...authHeaders() },
        signal: controller.signal,
        cache: "no-store",
      });
      if (res.status === 401) for (const f of unauthorized) f();
      if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
      onConnected(true);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) event = line.slice(7);
            else if (line.startsWith("data: ")) data.push(line.slice(6));
          }
          if (data.length) onEvent(event, JSON.parse(data.join("\n")));
        }
      }
    } catch {
      // dropped or refused: try again below
    }
    if (closed) return;
    onConnected(false);
    retry = setTimeout(() => void connect(), 2000);
  };
  void connect();
  return () => {
    closed = true;
    clearTimeout(retry);
    controller?.abort();
  };
}

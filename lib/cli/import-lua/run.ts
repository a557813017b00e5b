import { spawnSync } from "node:child_process";
import { luaFilePath } from "../../datamodel/lua-files.js";
import { z } from "zod";
import { CliError } from "../common.js";

/**
 * Runs a kresd 5 config in LuaJIT with the recording stand-ins (sandbox.lua beside this module) and
 * returns what it recorded. The Lua side bounds instructions and memory; this side bounds the wall
 * clock (the child is killed) and the size of what it prints. Nothing the config prints is parsed
 * as Lua: the sandbox speaks JSON only.
 */

export const LUAJIT = "luajit";

export interface SandboxLimits {
  /** Virtual-machine instructions the config may run (default 20 million, about a second). */
  instructions: number;
  /** Lua heap bound in KiB (default 256 MiB). */
  kbytes: number;
  /** Wall-clock bound in milliseconds (default 10 s). */
  timeoutMs: number;
}

const DEFAULT_LIMITS: SandboxLimits = { instructions: 20_000_000, kbytes: 256 * 1024, timeoutMs: 10_000 };

const eventSchema = z
  .looseObject({
    op: z.string(),
    line: z.number().int().optional(),
    top: z.number().int().optional(),
  })
  .transform((e) => e as RecordedEvent);

const spansSchema = z.array(z.tuple([z.number().int(), z.number().int()]));

const resultSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), events: z.array(eventSchema), spans: spansSchema, printed: z.number() }),
  z.object({
    ok: z.literal(false),
    stage: z.enum(["read", "syntax", "runtime", "limit", "unsupported"]),
    message: z.string(),
    line: z.number().int().optional(),
    events: z.array(eventSchema).optional(),
    spans: spansSchema.optional(),
  }),
]);

/** One call a stand-in recorded: `op` names it; its fields depend on `op` (see stand-ins.lua). */
export interface RecordedEvent {
  op: string;
  /** The line of FILE that made the call (the innermost frame in FILE). */
  line?: number;
  /** The line of FILE's top-level statement that led to the call. */
  top?: number;
  [field: string]: unknown;
}

export type Recording = z.output<typeof resultSchema>;

/** Strings from the sandbox are bytes sent as \u00XX: back to UTF-8 text. */
function utf8(value: unknown): unknown {
  if (typeof value === "string")
    return /[\u0080-\u00ff]/.test(value) ? Buffer.from(value, "latin1").toString("utf8") : value;
  if (Array.isArray(value)) return value.map(utf8);
  if (value !== null && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, utf8(v)]));
  return value;
}

/**
 * Runs `file` (shown as `displayName` in messages) with `env` as its environment (what os.getenv
 * and `env.X` read). Throws a CliError when LuaJIT cannot run or the sandbox's answer is unreadable;
 * a config that fails comes back as a Recording with `ok: false`.
 */
export function runSandbox(
  file: string,
  displayName: string,
  env: NodeJS.ProcessEnv,
  limits: Partial<SandboxLimits> = {},
): Recording {
  const lim = { ...DEFAULT_LIMITS, ...limits };
  const script = luaFilePath("cli/import-lua/sandbox.lua");
  const child = spawnSync(LUAJIT, [script, file, displayName, String(lim.instructions), String(lim.kbytes)], {
    env,
    encoding: "utf8",
    timeout: lim.timeoutMs,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.error) {
    const code = (child.error as NodeJS.ErrnoException).code;
    if (code === "ENOENT")
      throw new CliError("import-lua needs LuaJIT (Debian package luajit): luajit not found");
    if (code === "ETIMEDOUT")
      throw new CliError(
        `${displayName}: import-lua: the config ran longer than ${lim.timeoutMs / 1000} s; stopped`,
      );
    throw new CliError(`${displayName}: import-lua: luajit failed: ${child.error.message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(child.stdout);
  } catch {
    const why = child.signal ? `killed by ${child.signal}` : `exit status ${child.status}`;
    throw new CliError(
      `${displayName}: import-lua: the Lua sandbox gave no result (${why})${child.stderr ? `: ${child.stderr.trim()}` : ""}`,
    );
  }
  const parsed = resultSchema.safeParse(utf8(data));
  if (!parsed.success)
    throw new CliError(`${displayName}: import-lua: unreadable result from the Lua sandbox`);
  return parsed.data;
}

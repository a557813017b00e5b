/** The error tree: every error is a KresError through its layer's base and carries its HTTP status. */
import { ApiError, ManagerUnreachable } from "../../../lib/cli/http.js";
import { CliError } from "../../../lib/cli/common.js";
import { ControllerError } from "../../../lib/controller/errors.js";
import { ControllerUnavailable, SubprocessError, WorkerGone } from "../../../lib/controller/interface.js";
import { SupervisordFault, SupervisordUnreachable } from "../../../lib/controller/supervisord/rpc.js";
import {
  ConfigParseError,
  ConfigValidationError,
  DataModelError,
  InvalidCacheClearRequest,
} from "../../../lib/datamodel/errors.js";
import { CacheClearFailed } from "../../../lib/manager/cache-clear.js";
import { ApplyFailed, ChangeRefused, ManagerError } from "../../../lib/manager/errors.js";
import { StatisticsFormatError } from "../../../lib/manager/metrics/statistics.js";
import { GaveUp, StartupError } from "../../../lib/manager/startup.js";
import { BodyParseError, UnsupportedMediaType } from "../../../lib/utils/body.js";
import { INTERNAL_ERROR_MESSAGE, KresError, UtilsError } from "../../../lib/utils/errors.js";
import { PreconditionFailed } from "../../../lib/utils/etag.js";
import { InvalidJsonPatch, JsonPatchConflict, JsonPatchTestFailed } from "../../../lib/utils/json-patch.js";
import { JsonPointerError, ReservedKeyError } from "../../../lib/utils/json-pointer.js";
import { ExpandsTooLarge, NestingTooDeep, TooManyValues } from "../../../lib/utils/parsing.js";

type Base = abstract new (...args: never[]) => KresError;

// [error, its layer's base, the HTTP status, whether a client reads its message]
const tree: [KresError, Base, number, boolean][] = [
  [new JsonPointerError("/a", "no value"), UtilsError, 404, true],
  [new ReservedKeyError("/__proto__", "__proto__"), UtilsError, 400, true],
  [new InvalidJsonPatch("bad", 0), UtilsError, 400, true],
  [new JsonPatchConflict(0, "remove", "/a", "no value"), UtilsError, 409, true],
  [new JsonPatchTestFailed(0, "test", "/a", "1, not 2"), UtilsError, 409, true],
  [new BodyParseError("bad", 1, 1), UtilsError, 400, true],
  [new UnsupportedMediaType("text/html"), UtilsError, 415, true],
  [new PreconditionFailed("stale"), UtilsError, 412, true],
  [new NestingTooDeep(), UtilsError, 500, false],
  [new TooManyValues(), UtilsError, 500, false],
  [new ExpandsTooLarge(), UtilsError, 413, true],

  [new ConfigValidationError([]), DataModelError, 422, true],
  [new ConfigParseError("bad"), DataModelError, 422, true],
  [new InvalidCacheClearRequest([]), DataModelError, 400, true],
  [new SubprocessError("kresd:kresd0", "spawn error"), ControllerError, 500, false],
  [new ControllerUnavailable("ECONNREFUSED"), ControllerError, 503, true],
  [new WorkerGone("gone"), ControllerError, 500, false],
  [new SupervisordFault("m", 10, "BAD_NAME"), ControllerError, 500, false],
  [new SupervisordUnreachable("m", "timeout"), ControllerError, 500, false],
  [new ChangeRefused("no"), ManagerError, 422, true],
  [new ApplyFailed("died", false), ManagerError, 500, true],
  [new CacheClearFailed("no worker"), ManagerError, 500, true],
  [new StatisticsFormatError("junk"), ManagerError, 500, false],
  [new StartupError("no"), ManagerError, 500, false],
  [new GaveUp("no"), ManagerError, 500, false],
  [new CliError("no"), CliError, 500, false],
  [new ApiError(404, "nope", []), CliError, 404, true],
  [
    new ManagerUnreachable({ target: { kind: "unix", path: "/x.sock" }, source: "default" }, "ENOENT"),
    CliError,
    500,
    false,
  ],
];

describe("the error tree", () => {
  it.each(tree.map(([e, base, status, expose]) => [e.name, base.name, status, expose, e, base] as const))(
    "%s is a %s answered with %i (message for the client: %s)",
    (name, _baseName, status, expose, e, base) => {
      expect(e).toBeInstanceOf(base);
      expect(e).toBeInstanceOf(KresError);
      expect(e).toBeInstanceOf(Error);
      expect(e.constructor.name).toBe(name); // the name the log shows is the class's
      expect([e.status, e.expose]).toEqual([status, expose]);
    },
  );

  it("answers an error a client may not read with the internal-error line only", () => {
    const e = new SubprocessError("kresd:kresd0", "secret");
    expect(e.body()).toEqual({ error: INTERNAL_ERROR_MESSAGE });
  });

  it("answers an error a client may read with its public message and details", () => {
    expect(new BodyParseError("bad", 2, 3).body()).toEqual({
      error: "malformed request body: bad",
      line: 2,
      column: 3,
    });
  });

  it("keeps the message as thrown for logs and the CLI", () => {
    expect(new JsonPointerError("/a", "no value").message).toBe("/a: no value");
    expect(new ControllerUnavailable("ECONNREFUSED").message).toBe("ECONNREFUSED");
  });
});

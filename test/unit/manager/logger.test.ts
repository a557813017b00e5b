import { Writable } from "node:stream";
import winston from "winston";
import { configureLogging, logger } from "../../../lib/manager/logger.js";
import { testRundir, validate } from "../../../harness/validation.js";

/** What the manager's logger writes for one event, captured instead of printed. */
function logged(message: string): string {
  let out = "";
  const sink = new winston.transports.Stream({
    stream: new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    }),
  });
  const saved = logger.transports.slice();
  logger.clear().add(sink);
  try {
    logger.notice(message);
  } finally {
    logger.clear();
    for (const t of saved) logger.add(t);
  }
  return out;
}

describe("the manager's log lines", () => {
  it("are one line per event with every control character escaped", () => {
    // What a request for /v1/config/%0d%1b[2J... would put in a message.
    const line = logged("PUT /v1/config/\r\u001b[2Jfake: 404 no such path\nnotice: forged line");
    expect(line).toBe(
      "notice: PUT /v1/config/\\u000d\\u001b[2Jfake: 404 no such path\\nnotice: forged line\n",
    );
  });
});

const rundir = testRundir("kres-logger-");
const cfg = (logging: Record<string, unknown>) =>
  validate({ rundir, logging: { target: "stdout", ...logging } }, { strict: false });

describe("the manager's log level", () => {
  afterAll(() => configureLogging(cfg({})));

  it("is logging.level", () => {
    configureLogging(cfg({ level: "warning" }));
    expect(logger.level).toBe("warning");
    configureLogging(cfg({ level: "err" }));
    expect(logger.level).toBe("error");
  });

  it("is debug with the 'manager' group whatever the level, as upstream", () => {
    configureLogging(cfg({ level: "warning", groups: ["manager"] }));
    expect(logger.level).toBe("debug");
    configureLogging(cfg({ level: "warning", groups: ["kresd", "cache"] }));
    expect(logger.level).toBe("warning");
  });
});

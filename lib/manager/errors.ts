import type { Problem } from "../datamodel/errors.js";
import { KresError } from "../utils/errors.js";

/** The base of lib/manager/'s errors. */
export class ManagerError extends KresError {}

/** Refusal to start, with the reason for the operator. */
export class StartupError extends ManagerError {}

/** The manager gave up and said why in the log; nothing more to report. */
export class GaveUp extends ManagerError {}

/**
 * A configuration change that was refused before anything moved: a key that cannot change at run
 * time, or a canary worker that would not start. The running config and workers are untouched
 * (HTTP 422).
 */
export class ChangeRefused extends ManagerError {
  override readonly status = 422;

  constructor(
    message: string,
    /** What in the config was refused, with pointers. */
    readonly problems: Problem[] = [],
    /** What the refusing worker printed, oldest line first. */
    readonly output: string[] = [],
  ) {
    super(message);
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return {
      ...(this.problems.length > 0
        ? { details: this.problems.map((p) => `${p.pointer}: ${p.message}`), problems: this.problems }
        : {}),
      // The worker's own words say more than the pointers, so they win the `details` member.
      ...(this.output.length > 0 ? { details: this.output } : {}),
    };
  }
}

/**
 * An accepted change could not be rolled out (a worker failed after the canary passed). The
 * previous config was put back; `restored` says whether that worked (HTTP 500, told to the client:
 * it has to know its change did not happen).
 */
export class ApplyFailed extends ManagerError {
  override readonly status = 500;

  constructor(
    message: string,
    readonly restored: boolean,
  ) {
    super(message);
  }

  override get expose(): boolean {
    return true;
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return { restored: this.restored };
  }
}

/** Too many changes are waiting already: this one is turned away at once, nothing queued (HTTP 503). */
export class ChangesBacklogged extends ManagerError {
  override readonly status = 503;
  override get expose(): boolean {
    return true;
  }
}

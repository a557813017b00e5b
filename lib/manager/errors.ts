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

/** Something the manager cannot do now, its reason told to the client (HTTP 503). */
export abstract class ServiceUnavailable extends ManagerError {
  override readonly status = 503;
  override get expose(): boolean {
    return true;
  }
}

/** Too many changes are waiting already: this one is turned away at once, nothing queued (HTTP 503). */
export class ChangesBacklogged extends ServiceUnavailable {}

/**
 * A change asked to be persisted, but its file(s) cannot take it: the file names the file and the
 * reason. Found before any worker moved, so nothing changed. 507 Insufficient Storage (RFC 4918
 * §11.5: the server cannot store what the request needs) for a file system failure, which is the
 * server's to fix, not the client's; 409 when the files cannot be edited to say the new config.
 */
export class PersistRefused extends ManagerError {
  constructor(
    message: string,
    override readonly status = 507,
  ) {
    super(message);
  }

  override get expose(): boolean {
    return true;
  }
}

/**
 * The change runs (the workers took it, the running config is the new one) but putting it into the
 * file failed at the last step: the file still holds the old text (HTTP 500, told to the client:
 * it must know its change is not persisted).
 */
export class PersistIncomplete extends ManagerError {
  override readonly status = 500;

  constructor(
    message: string,
    readonly etag: string,
  ) {
    super(message);
  }

  override get expose(): boolean {
    return true;
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return { applied: true, etag: this.etag };
  }
}

/** A fleet request to a manager that is in no fleet (no `fleet` section): HTTP 404. */
export class NotInFleet extends ManagerError {
  override readonly status = 404;
}

/** A fleet request that needs etcd while it cannot be reached (HTTP 503); DNS is not affected. */
export class FleetUnavailable extends ServiceUnavailable {}

/** No history entry has the ETag asked for (HTTP 404). */
export class HistoryEntryNotFound extends ManagerError {
  override readonly status = 404;
}

/** A history request that cannot be answered as asked (a bad limit or position; HTTP 400). */
export class InvalidHistoryRequest extends ManagerError {
  override readonly status = 400;
}

/** The history is off: its directory could not be used at start (HTTP 503, with the reason). */
export class HistoryUnavailable extends ServiceUnavailable {}

/** A fleet revision asked for (rollback) that the fleet's history does not hold (HTTP 404). */
export class UnknownRevision extends ManagerError {
  override readonly status = 404;
}

import type { Problem } from "../datamodel/errors.js";

/**
 * A configuration change that was refused before anything moved: a key that cannot change at run
 * time, or a canary worker that would not start. The running config and workers are untouched.
 */
export class ChangeRefused extends Error {
  constructor(
    message: string,
    /** What in the config was refused, with pointers. */
    readonly problems: Problem[] = [],
    /** What the refusing worker printed, oldest line first. */
    readonly output: string[] = [],
  ) {
    super(message);
    this.name = "ChangeRefused";
  }
}

/** The change was conditional (If-Match / If-None-Match) and the condition does not hold. */
export class PreconditionFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreconditionFailed";
  }
}

/**
 * An accepted change could not be rolled out (a worker failed after the canary passed). The
 * previous config was put back; `restored` says whether that worked.
 */
export class ApplyFailed extends Error {
  constructor(
    message: string,
    readonly restored: boolean,
  ) {
    super(message);
    this.name = "ApplyFailed";
  }
}

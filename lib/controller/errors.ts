import { KresError } from "../utils/errors.js";

/** The base of lib/controller/'s errors. */
export class ControllerError extends KresError {}

/** A setting supervisord's config file cannot carry unchanged (a path with an inline comment…). */
export class UnrepresentableSetting extends ControllerError {
  override readonly status = 422;
  override get expose(): boolean {
    return true;
  }
}

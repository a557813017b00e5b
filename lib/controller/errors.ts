import { KresError } from "../utils/errors.js";

/** The base of lib/controller/'s errors. */
export class ControllerError extends KresError {}

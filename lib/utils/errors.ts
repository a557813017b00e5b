/**
 * The root of the error tree. Every error the project throws on purpose is a KresError, through
 * one base class per layer (UtilsError here, DataModelError, ControllerError, ManagerError,
 * CliError), and says itself how the API answers it, so the HTTP server maps them in a few lines.
 */

/** The `error` line of the answer to an error whose message is for the manager's log only. */
export const INTERNAL_ERROR_MESSAGE = "internal error; see the manager's log";

/** The JSON body of an error answer: one line for the client and the error's details. */
export interface ErrorBody {
  error: string;
  [member: string]: unknown;
}

export class KresError extends Error {
  /** The HTTP status the API answers with when this error reaches it. */
  readonly status: number = 500;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }

  /**
   * Whether an API client may read the message (as http-errors' `expose`). By default only errors
   * of the client's (4xx) are: a 5xx one is a fault of ours, answered as an internal error and
   * told in full in the log.
   */
  get expose(): boolean {
    return this.status < 500;
  }

  /** The `error` line of the answer: the message, unless the class words it for an API client. */
  get publicMessage(): string {
    return this.message;
  }

  /** More members of the answer's JSON body (problems, line and column…); none by default. */
  get publicDetails(): Readonly<Record<string, unknown>> {
    return {};
  }

  /** The answer's body: what the client may know of this error. */
  body(): ErrorBody {
    if (!this.expose) return { error: INTERNAL_ERROR_MESSAGE };
    return { error: this.publicMessage, ...this.publicDetails };
  }
}

/** The base of lib/utils/'s errors. */
export class UtilsError extends KresError {}

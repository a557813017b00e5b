import * as fs from "node:fs";
import { DataModelError } from "../../errors.js";

/** Shorter tokens can be guessed; `openssl rand -hex 32` gives 64 characters. */
export const MIN_TOKEN_LENGTH = 16;

/** The token file named by management/token-file cannot be used (missing, unreadable, empty, bad). */
export class TokenFileError extends DataModelError {}

/**
 * The problem with a token, or undefined when it can be used: it goes in an HTTP header, so it is
 * visible ASCII only (no spaces, no control characters), and long enough not to be guessed.
 */
export function tokenProblem(token: string): string | undefined {
  if (token === "") return "it is empty";
  if (!/^[\x21-\x7e]+$/.test(token))
    return "it holds a character other than visible ASCII (a token is one word, e.g. from `openssl rand -hex 32`)";
  if (token.length < MIN_TOKEN_LENGTH)
    return `it is ${token.length} characters long; a token has at least ${MIN_TOKEN_LENGTH}`;
  return undefined;
}

/**
 * The bearer token of the management API's TCP interface: the file's content without the
 * surrounding white space (a trailing newline is usual). TokenFileError says why it cannot be used.
 */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new TokenFileError(`cannot read the API token file ${file}: ${code}`);
  }
  const token = text.trim();
  const problem = tokenProblem(token);
  if (problem) throw new TokenFileError(`the API token file ${file} cannot be used: ${problem}`);
  return token;
}

/** A warning when other users may read the token file (group or others have read access). */
export function tokenFileWarning(file: string): string | undefined {
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
  } catch {
    return undefined; // readTokenFile reports it
  }
  if ((mode & 0o044) === 0) return undefined;
  return `the API token file ${file} is readable by ${mode & 0o004 ? "every user" : "its group"} (mode ${(mode & 0o777).toString(8)}); chmod 600 it`;
}

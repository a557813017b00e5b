/** Request bodies of the config API: text to data by Content-Type, with errors that say where. */
import * as yaml from "js-yaml";
import { UtilsError } from "./errors.js";
import {
  checkBounds,
  ExpandsTooLarge,
  MAX_NESTING,
  NestingTooDeep,
  parseYamlOrJson,
  TooManyValues,
} from "./parsing.js";

const JSON_TYPES = ["application/json"];
const YAML_TYPES = ["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"];
// YAML is a superset of JSON, so types that say nothing about the syntax get the YAML parser.
const EITHER_TYPES = ["text/plain", "application/octet-stream"];

/** What parseBody accepts, for a 415 answer's message or an Accept-Patch header. */
export const ACCEPTED_MEDIA_TYPES: readonly string[] = [
  ...JSON_TYPES,
  "application/*+json",
  ...YAML_TYPES,
  ...EITHER_TYPES,
];

/** A Content-Type parseBody does not read (HTTP 415). */
export class UnsupportedMediaType extends UtilsError {
  override readonly status = 415;

  constructor(readonly mediaType: string) {
    super(`unsupported media type '${mediaType}'; accepted: ${ACCEPTED_MEDIA_TYPES.join(", ")}`);
  }
}

/** A body that is not valid JSON/YAML (HTTP 400); line and column are 1-based. */
export class BodyParseError extends UtilsError {
  override readonly status = 400;

  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
  }

  override get publicMessage(): string {
    return `malformed request body: ${this.message}`;
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return { line: this.line, column: this.column };
  }
}

/** 1-based line and column of a UTF-16 offset; \n, \r\n and \r all end a line, as in YAML. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const breaks = before.match(/\r\n|\r|\n/g) ?? [];
  const lineStart = Math.max(before.lastIndexOf("\n"), before.lastIndexOf("\r")) + 1;
  return { line: breaks.length + 1, column: offset - lineStart + 1 };
}

/**
 * Offset of the first JSON syntax error in text (text.length when it ends too early), for the
 * errors where V8 gives no position: Node 20 says only "Unexpected token 'x', "…" is not valid JSON".
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  // Each returns false at the offending character, with i left on it.
  const literal = (word: string): boolean => {
    for (const ch of word) {
      if (text[i] !== ch) return false;
      i++;
    }
    return true;
  };
  const digits = (): boolean => {
    const start = i;
    while (i < text.length && text[i]! >= "0" && text[i]! <= "9") i++;
    return i > start;
  };
  const number = (): boolean => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else if (!digits()) return false;
    if (text[i] === ".") {
      i++;
      if (!digits()) return false;
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      if (!digits()) return false;
    }
    return true;
  };
  const string = (): boolean => {
    i++; // the opening quote
    while (i < text.length) {
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        return true;
      }
      if (ch < " ") return false;
      if (ch === "\\") {
        i++;
        if (text[i] === "u") {
          i++;
          for (let n = 0; n < 4; n++, i++) if (!/[0-9a-fA-F]/.test(text[i] ?? "")) return false;
        } else if (i < text.length && '"\\/bfnrt'.includes(text[i]!)) i++;
        else return false;
      } else i++;
    }
    return false;
  };
  // An object or array: the opening bracket, items separated by commas, the closing one.
  const sequence = (close: string, item: () => boolean): boolean => {
    i++;
    ws();
    for (let first = true; ; first = false) {
      if (first && text[i] === close) break;
      if (!item()) return false;
      ws();
      if (text[i] === close) break;
      if (text[i] !== ",") return false;
      i++;
      ws();
    }
    i++;
    return true;
  };
  const member = (): boolean => {
    if (text[i] !== '"' || !string()) return false;
    ws();
    if (text[i] !== ":") return false;
    i++;
    ws();
    return value();
  };
  const value = (): boolean => {
    switch (text[i]) {
      case "{":
        return sequence("}", member);
      case "[":
        return sequence("]", value);
      case '"':
        return string();
      case "t":
        return literal("true");
      case "f":
        return literal("false");
      case "n":
        return literal("null");
      default:
        return number();
    }
  };
  ws();
  if (value()) {
    ws();
    if (i === text.length) return text.length; // valid: nothing to point at
  }
  return Math.min(i, text.length);
}

/** Where a JSON.parse error happened: V8's "(line L column C)" or "position N" if given, else our scan. */
function jsonErrorPlace(text: string, message: string): { line: number; column: number } {
  const lc = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lc) return { line: Number(lc[1]), column: Number(lc[2]) };
  const pos = /at position (\d+)/.exec(message);
  return lineColumn(text, pos ? Number(pos[1]) : jsonErrorOffset(text));
}

/** V8's reason without the place (we give it as line and column) or the echo of the whole input. */
function jsonErrorReason(message: string): string {
  return message
    .replace(/, (?:\.\.\.)?"[\s\S]*" is not valid JSON$/, "")
    .replace(/ in JSON at position \d+/, "")
    .replace(/ \(line \d+ column \d+\)/, "");
}

/** Where data first gets nested too deep: the opening bracket past MAX_NESTING (or the end). */
function tooDeep(text: string): BodyParseError {
  let depth = 0;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") {
      if (++depth > MAX_NESTING) {
        const { line, column } = lineColumn(text, i);
        return new BodyParseError(
          `${new NestingTooDeep().message}, at line ${line}, column ${column}`,
          line,
          column,
        );
      }
    } else if (c === "]" || c === "}") depth--;
  }
  const { line, column } = lineColumn(text, text.length);
  return new BodyParseError(new NestingTooDeep().message, line, column);
}

/** The refusal of data over a bound other than nesting: too many values, or too large expanded. */
function tooLarge(text: string, e: TooManyValues | ExpandsTooLarge, syntax: string): UtilsError {
  if (e instanceof ExpandsTooLarge) return new ExpandsTooLarge("the request body");
  const { line, column } = lineColumn(text, text.length);
  return new BodyParseError(`invalid ${syntax}: ${e.message}`, line, column);
}

function parseJson(text: string): unknown {
  try {
    const data: unknown = JSON.parse(text);
    checkBounds(data);
    return data;
  } catch (e) {
    if (e instanceof RangeError || e instanceof NestingTooDeep) throw tooDeep(text);
    if (e instanceof TooManyValues || e instanceof ExpandsTooLarge) throw tooLarge(text, e, "JSON");
    if (!(e instanceof SyntaxError)) throw e;
    const { line, column } = jsonErrorPlace(text, e.message);
    throw new BodyParseError(
      `invalid JSON at line ${line}, column ${column}: ${jsonErrorReason(e.message)}`,
      line,
      column,
    );
  }
}

function parseYaml(text: string): unknown {
  try {
    return parseYamlOrJson(text);
  } catch (e) {
    if (e instanceof NestingTooDeep) throw tooDeep(text);
    if (e instanceof TooManyValues || e instanceof ExpandsTooLarge) throw tooLarge(text, e, "YAML");
    if (!(e instanceof yaml.YAMLException)) throw e;
    // Some errors (an input that is all comments, several documents) come without a mark.
    const { line, column } = e.mark
      ? { line: e.mark.line + 1, column: e.mark.column + 1 }
      : lineColumn(text, text.length);
    throw new BodyParseError(`invalid YAML at line ${line}, column ${column}: ${e.reason}`, line, column);
  }
}

function parserFor(mediaType: string): ((text: string) => unknown) | undefined {
  if (JSON_TYPES.includes(mediaType) || /^application\/[^/]+\+json$/.test(mediaType)) return parseJson;
  // YAML types, and the ones that do not say (YAML reads JSON too): the same parser.
  if (YAML_TYPES.includes(mediaType) || EITHER_TYPES.includes(mediaType) || mediaType === "")
    return parseYaml;
  return undefined;
}

/**
 * The data in a request body, read by its Content-Type: JSON types (and any +json) as JSON, YAML
 * types as YAML, no type, text/plain and application/octet-stream as either. Parameters (charset…)
 * are ignored: the text is already decoded. Throws UnsupportedMediaType, BodyParseError, or
 * ExpandsTooLarge (HTTP 413) for a body whose YAML aliases stand for more than MAX_EXPANDED_BYTES.
 */
export function parseBody(text: string, contentType: string | undefined): unknown {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const parse = parserFor(mediaType);
  if (parse === undefined) throw new UnsupportedMediaType(mediaType);
  // A UTF-8 byte order mark is no part of the data (RFC 8259 §8.1 lets parsers ignore it).
  const body = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (body.trim() === "") {
    const { line, column } = lineColumn(body, body.length);
    throw new BodyParseError("empty body", line, column);
  }
  return parse(body);
}

import { createTwoFilesPatch, FILE_HEADERS_ONLY } from "diff";

/**
 * A unified diff (`--- old`, `+++ new`, `@@` hunks with 3 lines of context) turning `oldText` into
 * `newText`, or '' when they are equal, so "nothing changes" needs no special reading. Only the
 * file headers are kept (no `Index:` / `====` lines): the output reads like `diff -u`.
 */
export function unifiedDiff(oldText: string, newText: string, oldLabel: string, newLabel: string): string {
  if (oldText === newText) return "";
  return createTwoFilesPatch(oldLabel, newLabel, oldText, newText, undefined, undefined, {
    headerOptions: FILE_HEADERS_ONLY,
  });
}

/**
 * A word as a POSIX shell reads it back: bare when it holds only characters no shell treats
 * specially (so printed commands stay readable), else single-quoted with ' written as '\''.
 * Used for commands a shell evaluates (the launcher's exec request) and commands shown to a user
 * to copy (kresctl debug --print-only).
 */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

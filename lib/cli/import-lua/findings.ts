import type { RecordedEvent } from "./run.js";

/**
 * What the translation found: each recorded event ends up translated or not; an untranslated one
 * carries a warning naming the construct and why (printed as FILE:LINE: …) and, with --keep-lua,
 * its statement is carried into `lua.script`.
 */
export interface Warning {
  line: number | undefined;
  /** The top-level statement of the file it came from (for --keep-lua). */
  top: number | undefined;
  message: string;
  /** False for notes about a translated construct (e.g. an environment variable read now). */
  untranslated: boolean;
}

export class Findings {
  readonly warnings: Warning[] = [];
  /** Events the YAML holds. */
  readonly translatedEvents = new Set<RecordedEvent>();
  /** Events it does not. */
  readonly untranslatedEvents = new Set<RecordedEvent>();

  translated(ev: RecordedEvent): void {
    this.translatedEvents.add(ev);
  }

  /** `ev` (or the part of it named in `message`) is not in the YAML: say so. */
  untranslated(ev: RecordedEvent, message: string): void {
    this.warnings.push({ line: ev.line, top: ev.top, message, untranslated: true });
    this.untranslatedEvents.add(ev);
  }

  /** A remark about a translated construct. */
  note(ev: RecordedEvent, message: string): void {
    this.warnings.push({ line: ev.line, top: ev.top, message, untranslated: false });
  }
}

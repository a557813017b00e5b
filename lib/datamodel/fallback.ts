import { z } from "zod";

// STUB: to be replaced by the real 'fallback' section.
export const fallbackSchema = z.strictObject({}).prefault({});
export type FallbackConfig = z.output<typeof fallbackSchema>;

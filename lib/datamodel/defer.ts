import { z } from "zod";

// STUB: to be replaced by the real 'defer' section.
export const deferSchema = z.strictObject({}).prefault({});
export type DeferConfig = z.output<typeof deferSchema>;

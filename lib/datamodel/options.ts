import { z } from "zod";

// STUB: to be replaced by the real 'options' section.
export const optionsSchema = z.strictObject({}).prefault({});
export type OptionsConfig = z.output<typeof optionsSchema>;

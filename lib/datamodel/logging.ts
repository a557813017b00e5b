import { z } from "zod";

// STUB: to be replaced by the real 'logging' section.
export const loggingSchema = z.strictObject({}).prefault({});
export type LoggingConfig = z.output<typeof loggingSchema>;

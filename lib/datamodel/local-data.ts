import { z } from "zod";

// STUB: to be replaced by the real 'local-data' section.
export const localDataSchema = z.strictObject({}).prefault({});
export type LocalDataConfig = z.output<typeof localDataSchema>;

import { z } from "zod";

// STUB: to be replaced by the real 'management' section.
export const managementSchema = z.strictObject({}).prefault({});
export type ManagementConfig = z.output<typeof managementSchema>;

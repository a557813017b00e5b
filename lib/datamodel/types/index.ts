// Value types of the config schema; each section module builds on these.
export * from "./numbers.js";
export * from "./units.js";
export * from "./strings.js";
export * from "./net.js";
export * from "./files.js";
export * from "./collections.js";

/** The Wharf registry client: fetch only, for Node 20+ and Workers. */
export * from "./auth";
export * from "./errors";
export * from "./hash";
export * from "./reference";
export * from "./registry";
export * from "./transport";
export * from "./upload";

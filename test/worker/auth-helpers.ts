// Moved to ./harness (issue #11). This re-export only keeps tests of branches still in flight compiling;
// import from "./harness" (or "../harness" from a subfolder) instead. Delete once nothing imports it.
export * from "./harness";

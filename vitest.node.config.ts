// Node-side unit tests (archive readers and writers, client helpers): plain Node, no server.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    testTimeout: 60_000,
  },
});

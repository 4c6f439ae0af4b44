// End-to-end tests: Node drives the real local server (scripts/start.mjs) with real clients.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    // Run on its own (`npm run test:e2e:held`, WHARF_E2E_ALL=1) and kept out of `npm test` until fixed:
    // - proxy.test.ts: its 200 MB concurrent-fill case did not finish within CI's budget (issue 12).
    exclude: process.env.WHARF_E2E_ALL === "1" ? [] : ["test/e2e/proxy.test.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});

// Whole-Worker and unit tests, inside workerd with the real R2 and Durable Object simulators.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          BLOB_URL_SECRET: "test-secret",
          UPLOAD_PART_SIZE: String(5 * 1024 * 1024),
          UPLOAD_SESSION_TTL_SECONDS: "3600",
          // Like `npm start` with no auth settings: anyone may push. Auth tests pass their own settings
          // (test/worker/auth-helpers.ts).
          AUTH_ANONYMOUS_PUSH: "true",
          AUTH_SIGNING_SECRET: "test-signing-secret-0123456789abcdef",
          // One JSON line per request is for wrangler tail, not for test output.
          LOG_REQUESTS: "false",
        },
      },
    }),
  ],
  test: {
    include: ["test/worker/**/*.test.ts"],
    testTimeout: 60_000,
  },
});

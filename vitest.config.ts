// Whole-Worker and unit tests, inside workerd with the real R2 and Durable Object simulators.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { freePort } from "./scripts/lib/net.mjs";

// The loopback webhook receiver (test/setup/webhook-receiver.global.mjs) that events tests deliver to.
process.env.WHARF_TEST_RECEIVER_PORT ??= String(await freePort());
export const RECEIVER = `http://127.0.0.1:${process.env.WHARF_TEST_RECEIVER_PORT}`;
export const TEST_WEBHOOK_SECRET = "test-webhook-secret-0123456789";

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
          // Pushes to hooked/* are delivered, through the real queue, to the receiver.
          WEBHOOKS: JSON.stringify([
            { url: `${RECEIVER}/ok/queued`, secret: TEST_WEBHOOK_SECRET, repositories: ["hooked/*"], actions: ["push", "delete", "pull"] },
            { url: `${RECEIVER}/ok/pushes`, secret: TEST_WEBHOOK_SECRET, repositories: ["hooked/*"] },
            { url: `${RECEIVER}/ok/team`, secret: TEST_WEBHOOK_SECRET, repositories: ["hooked/team/*"], actions: ["push"] },
          ]),
          TEST_RECEIVER: RECEIVER,
          // One JSON line per request is for wrangler tail, not for test output.
          LOG_REQUESTS: "false",
        },
      },
    }),
  ],
  test: {
    include: ["test/worker/**/*.test.ts"],
    globalSetup: ["test/setup/webhook-receiver.global.mjs"],
    testTimeout: 60_000,
  },
});

// Whole-Worker and unit tests, inside workerd with the real R2 and Durable Object simulators.
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { fakeRegistry } from "./test/upstream/fake-registry.ts";

/**
 * Upstreams of the pull-through cache tests: each prefix is its own fake registry host, served in Node by
 * test/upstream/fake-registry.ts as the Worker's outbound service (nothing leaves the machine).
 */
const UPSTREAMS = JSON.stringify([
  { prefix: "up", url: "http://up.test", tagTtlSeconds: 3600 },
  { prefix: "ttl0", url: "http://ttl0.test", tagTtlSeconds: 0 },
  { prefix: "tok", url: "http://tok.test", username: "u", password: "p" },
  { prefix: "basic", url: "http://basic.test", username: "u", password: "p" },
  { prefix: "lie", url: "http://lie.test" },
  { prefix: "fill", url: "http://fill.test" },
  { prefix: "hub", url: "http://hub.test", library: true, repositories: ["library/*", "team/*"] },
]);
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
          UPSTREAMS,
          // Pushes to hooked/* are delivered, through the real queue, to the receiver.
          WEBHOOKS: JSON.stringify([
            { url: `${RECEIVER}/ok/queued`, secret: TEST_WEBHOOK_SECRET, repositories: ["hooked/*"], actions: ["push", "delete", "pull"] },
            { url: `${RECEIVER}/ok/pushes`, secret: TEST_WEBHOOK_SECRET, repositories: ["hooked/*"] },
            { url: `${RECEIVER}/ok/team`, secret: TEST_WEBHOOK_SECRET, repositories: ["hooked/team/*"], actions: ["push"] },
          ]),
          TEST_RECEIVER: RECEIVER,
          // One JSON line per request is for wrangler tail, not for test output.
          LOG_REQUESTS: "false",
          // Garbage collection (test/worker/gc-*.test.ts): no grace and no wait, so a test decides what is
          // old by what it did before the run; the smallest step budget, so runs take many steps; and steps
          // never fire by themselves (a day apart): tests run each alarm with runDurableObjectAlarm.
          GC_GRACE_SECONDS: "0",
          GC_CONDEMN_SECONDS: "0",
          GC_STEP_OPERATIONS: "50",
          GC_STEP_PAUSE_SECONDS: "86400",
          RETENTION: JSON.stringify([
            { repositories: ["retain/last/*"], keepLast: 2 },
            { repositories: ["retain/old/*"], olderThanSeconds: 0, keep: ["latest", "v*"] },
            { repositories: ["retain/untagged/*"], untaggedOlderThanSeconds: 0 },
          ]),
          // Pull-through cache eviction (test/worker/gc-proxy-evict.test.ts fakes pulls older than this).
          PROXY_EVICT_AFTER_SECONDS: "3600",
          IMMUTABLE_TAGS: JSON.stringify([
            { repositories: ["locked/*"], tags: ["v*"] },
            { repositories: ["retain/*"], tags: ["release-*"] },
          ]),
        },
        outboundService: fakeRegistry,
      },
    }),
  ],
  test: {
    include: ["test/worker/**/*.test.ts", "test/oci/**/*.test.ts"],
    globalSetup: ["test/setup/webhook-receiver.global.mjs"],
    testTimeout: 60_000,
  },
});

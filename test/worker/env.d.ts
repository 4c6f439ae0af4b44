// The bindings `env` from cloudflare:test carries: the Worker's own Env.
import type { Env as WharfEnv } from "../../src/worker/config";

declare global {
  namespace Cloudflare {
    interface Env extends WharfEnv {
      /** The loopback webhook receiver (vitest.config.ts). */
      TEST_RECEIVER?: string;
    }
  }
}
